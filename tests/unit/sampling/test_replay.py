"""The chain replayed on whole raw distributions (server/sampling/replay.py): the inspector's
stages and the post-sampling logprobs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from server.protocol.chat import ChatCompletionRequest
from server.protocol.samplers import LLAMA_CPP_ORDER
from server.sampling.outputs import LOGPROB_FLOOR
from server.sampling.params import resolve
from server.sampling.replay import PostSampling, Replay, distributions, top_logprobs
from server.sampling.samplers.chain import ChainState
from server.sampling.stages import Filters, run_step, softmax
from server.sampling.vocabulary import Vocabulary
from server.services.samplers import sampler_args
from server.settings import SamplingDefaults

SIZE = 24
VOCAB = Vocabulary(tuple(b"\n" if i == 5 else f"t{i}".encode() for i in range(SIZE)))
PROMPT = [1, 2, 3, 1, 2, 3, 4]


def sampling(**fields):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    return resolve(ChatCompletionRequest(**body), SamplingDefaults())


def raw_rows(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        x = rng.normal(scale=2.5, size=SIZE)
        rows.append(x - np.logaddexp.reduce(x))
    return rows


CHAINED = {
    "samplers": "llama.cpp",
    "temperature": 0.8,
    "top_k": 8,
    "top_p": 0.9,
    "min_p": 0.02,
    "frequency_penalty": 0.3,
    "presence_penalty": 0.2,
    "dry_multiplier": 0.8,
    "dry_allowed_length": 1,
    "typical_p": 0.95,
    "xtc_probability": 0.5,
    "xtc_threshold": 0.1,
    "seed": 3,
}


@pytest.mark.parametrize(
    "fields",
    [
        CHAINED,
        {"samplers": ["top_k", "temperature"], "temperature": 1.5, "top_k": 5},
        {"samplers": ["temperature", "adaptive_p"], "temperature": 0.7, "adaptive_target": 0.2},
        {"samplers": ["min_p", "temperature"], "temperature": 0.0, "min_p": 0.1},
    ],
)
def test_replay_in_the_chain_path_is_the_chain(fields):
    effective = sampling(**fields)
    args = sampler_args(effective, VOCAB)
    assert args is not None and args.chain is not None
    replay = Replay(effective, args, PROMPT)
    direct = ChainState(
        args.chain, effective.samplers, frozenset(args.dry_breaker_ids), args.xtc_seed
    )
    output: list[int] = []
    rng = np.random.default_rng(1)
    for raw in raw_rows(2, 6):
        want = softmax(direct.apply(PROMPT, output, torch.from_numpy(raw.copy())).numpy())
        token = int(rng.choice(SIZE, p=want))
        got = replay.step(token, raw)
        assert np.abs(got.final_probs - want).max() < 1e-12
        assert [s.name for s in got.stages] == list(args.chain.order)
        output.append(token)


def test_replay_without_a_chain_is_run_step():
    """The other path, for contrast: vLLM's own order, recomputed by run_step."""
    effective = sampling(temperature=0.7, top_k=6, frequency_penalty=0.5)
    assert sampler_args(effective, VOCAB) is None
    replay = Replay(effective, None, PROMPT)
    counts: dict[int, int] = {}
    for i, raw in enumerate(raw_rows(4, 4)):
        want = run_step(raw, Filters(temperature=0.7, top_k=6, frequency_penalty=0.5), counts)
        assert np.abs(replay.step(i, raw).final_probs - want.final_probs).max() < 1e-12
        counts[i] = 1


def test_the_chain_path_tells_greedy_only_when_temperature_is_in_the_order():
    raw = raw_rows(5, 1)[0]
    greedy = sampling(samplers=["top_k", "temperature"], temperature=0.0, top_k=3)
    stages = Replay(greedy, sampler_args(greedy, VOCAB), PROMPT).step(0, raw)
    assert stages.greedy and stages.final_probs.max() == 1.0
    assert int(np.argmax(stages.final_probs)) == int(np.argmax(raw))


def test_top_logprobs_best_first_with_a_floor():
    logprobs = np.array([-1.0, -np.inf, -0.5, -2.0, -0.5])
    got = top_logprobs(1, logprobs, 4)
    assert got.token_id == 1 and got.logprob == LOGPROB_FLOOR == -9999.0
    assert got.top == ((2, -0.5), (4, -0.5), (0, -1.0), (3, -2.0))
    assert top_logprobs(3, logprobs, 0).top == ()
    assert top_logprobs(0, logprobs, 5).top[-1] == (1, -9999.0)


def flat_of(rows: list[np.ndarray], rng: np.random.Generator, keep: int = SIZE) -> SimpleNamespace:
    """vLLM's FlatLogprobs: each position's (token, logprob) pairs in one list, in any order."""
    starts, ends, ids, values = [], [], [], []
    for row in rows:
        order = rng.permutation(SIZE)[:keep]
        starts.append(len(ids))
        ids.extend(order.tolist())
        values.extend(row[order].tolist())
        ends.append(len(ids))
    return SimpleNamespace(start_indices=starts, end_indices=ends, token_ids=ids, logprobs=values)


def test_distributions_put_each_logprob_at_its_token():
    rng = np.random.default_rng(0)
    rows = raw_rows(6, 3)
    got = distributions(flat_of(rows, rng), SIZE)
    assert all(np.array_equal(g, r) for g, r in zip(got, rows, strict=True))
    partial = distributions(flat_of(rows, rng, keep=5), SIZE)
    assert all(int(np.isfinite(p).sum()) == 5 for p in partial)


def test_post_sampling_reports_the_replayed_distribution():
    effective = sampling(**CHAINED)
    args = sampler_args(effective, VOCAB)
    direct = ChainState(
        args.chain, effective.samplers, frozenset(args.dry_breaker_ids), args.xtc_seed
    )
    rows = raw_rows(7, 5)
    tokens = [int(np.argmax(r)) for r in rows]
    post = PostSampling(Replay(effective, args, PROMPT), SIZE)
    got = post(tokens, flat_of(rows, np.random.default_rng(1)), 3)
    assert got is not None and len(got) == len(rows)
    for i, (raw, logprob) in enumerate(zip(rows, got, strict=True)):
        probs = softmax(direct.apply(PROMPT, tokens[:i], torch.from_numpy(raw.copy())).numpy())
        assert logprob.token_id == tokens[i]
        assert np.exp(logprob.logprob) == pytest.approx(probs[tokens[i]], rel=1e-9)
        assert [t for t, _ in logprob.top] == np.argsort(-probs, kind="stable")[:3].tolist()
        assert [np.exp(v) for _, v in logprob.top] == pytest.approx(
            np.sort(probs)[::-1][:3].tolist(), rel=1e-9
        )
    # The chain cut something somewhere (top_k 8 of 24): cut tokens read -9999.
    fresh = PostSampling(Replay(effective, args, PROMPT), SIZE)
    wide = fresh(tokens[:1], flat_of(rows[:1], np.random.default_rng(2)), SIZE)
    assert wide[0].top[-1][1] == LOGPROB_FLOOR
    assert post(tokens, None, 3) is None


def test_the_named_llama_cpp_order_reaches_the_replay():
    effective = sampling(**CHAINED)
    assert effective.order == LLAMA_CPP_ORDER and not effective.native


def test_allowed_tokens_mask_before_every_stage():
    """allowed_token_ids as vLLM applies it, before the chain: only those tokens can be
    drawn, renormalised among themselves."""
    raw = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    final = Replay(sampling(temperature=1.0), None, [1], allowed=[1, 3]).step(1, raw).final_probs
    assert final == pytest.approx([0.0, 0.75, 0.0, 0.25])
