"""Each extra sampler against a direct transcription of its published definition (llama.cpp's
loops, text-generation-webui's DRY), and through vLLM's own logits-processor machinery."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate

from server.protocol.samplers import SamplerConfig
from server.sampling.samplers.config import SamplerArgs
from server.sampling.samplers.dry import DryState
from server.sampling.samplers.processors import DryProcessor, TruncationProcessor
from server.sampling.samplers.truncation import (
    LateState,
    coin,
    mirostat_cut,
    top_n_sigma,
    typical,
    xtc,
)
from server.sampling.stages import Filters, run_step


def naive_dry(context, multiplier, base, allowed, last_n, breakers):
    """text-generation-webui's DRY loop, token by token."""
    if last_n > 0:
        context = context[-last_n:]
    if multiplier == 0 or last_n == 0 or len(context) < 2 or context[-1] in breakers:
        return {}
    last, n, lengths = context[-1], len(context), {}
    for i in range(n - 1):
        if context[i] != last or context[i + 1] in breakers:
            continue
        length = 1
        while length <= i:
            a, b = context[i - length], context[n - 1 - length]
            if a != b or a in breakers:
                break
            length += 1
        following = context[i + 1]
        lengths[following] = max(lengths.get(following, 0), length)
    return {t: multiplier * base ** (m - allowed) for t, m in lengths.items() if m >= allowed}


def as_dict(ids, amounts):
    return {int(t): float(a) for t, a in zip(ids, amounts, strict=True)}


@settings(max_examples=300, deadline=None)
@given(
    tokens=st.lists(st.integers(0, 4), min_size=1, max_size=60),
    split=st.integers(0, 60),
    allowed=st.integers(1, 4),
    last_n=st.integers(-1, 40),
    breakers=st.sets(st.integers(0, 4), max_size=2),
)
def test_dry_matches_the_direct_loop_step_by_step(tokens, split, allowed, last_n, breakers):
    """A small alphabet makes long repeats common; the state is built from the prompt and then
    extended token by token, as the engine feeds it."""
    config = SamplerConfig(
        dry_multiplier=0.8, dry_base=1.75, dry_allowed_length=allowed, dry_penalty_last_n=last_n
    )
    prompt, rest = tokens[: min(split, len(tokens))], tokens[min(split, len(tokens)) :]
    state = DryState(config, frozenset(breakers))
    for k in range(len(rest) + 1):
        got = as_dict(*state.penalties(prompt, rest[:k]))
        want = naive_dry(prompt + rest[:k], 0.8, 1.75, allowed, last_n, breakers)
        assert got.keys() == want.keys()
        for t in want:
            assert got[t] == pytest.approx(want[t], rel=1e-12)


def test_dry_penalises_the_token_that_would_repeat_a_phrase():
    config = SamplerConfig(dry_multiplier=1.0, dry_allowed_length=2)
    state = DryState(config, frozenset())
    # "a b c d ... a b c" -> "d" would continue a repeat of length 3: 1.75 ** (3 - 2)
    ids, amounts = state.penalties([1, 2, 3, 4, 9, 1, 2, 3], [])
    assert as_dict(ids, amounts) == pytest.approx({4: 1.75})


def test_dry_exponent_is_capped_so_a_long_loop_cannot_overflow():
    config = SamplerConfig(dry_multiplier=1.0, dry_base=8.0, dry_allowed_length=1)
    ids, amounts = DryState(config, frozenset()).penalties([7] * 3000, [])
    assert ids.tolist() == [7] and math.isfinite(amounts[0]) and amounts[0] > 1e30


def naive_top_n_sigma(x, n):
    finite = x[np.isfinite(x)]
    keep = x >= finite.max() - n * finite.std()
    return np.where(keep, x, -np.inf)


def naive_typical(x, p):
    """llama.cpp's llama_sampler_typical_apply."""
    probs = np.exp(x - np.logaddexp.reduce(x))
    logp = np.log(probs, where=probs > 0, out=np.full_like(probs, -np.inf))
    entropy = -sum(q * lq for q, lq in zip(probs, logp, strict=True) if q > 0)
    shifted = [abs(-lq - entropy) if q > 0 else math.inf for q, lq in zip(probs, logp, strict=True)]
    order = sorted(range(len(x)), key=lambda i: shifted[i])
    cumulative, last = 0.0, len(order)
    for i, token in enumerate(order):
        cumulative += probs[token]
        if cumulative > p:
            last = i + 1
            break
    keep = np.zeros(len(x), dtype=bool)
    keep[order[:last]] = True
    return np.where(keep & np.isfinite(x), x, -np.inf)


def naive_xtc(x, threshold):
    """llama.cpp's llama_sampler_xtc_apply once the coin has fired (ties aside)."""
    probs = np.exp(x - np.logaddexp.reduce(x))
    order = np.argsort(-probs, kind="stable")
    pos_last = 0
    for i, token in enumerate(order):
        if probs[token] >= threshold:
            pos_last = i
        else:
            break
    keep = np.ones(len(x), dtype=bool)
    if pos_last > 0:
        keep[order[:pos_last]] = False
    return np.where(keep, x, -np.inf)


def naive_mirostat(x, mu):
    probs = np.exp(x - np.logaddexp.reduce(x))
    order = np.argsort(-probs, kind="stable")
    too_surprising = (i for i, t in enumerate(order) if probs[t] == 0 or -math.log2(probs[t]) > mu)
    size = next(too_surprising, len(order))
    keep = np.zeros(len(x), dtype=bool)
    keep[order[: max(size, 1)]] = True
    return np.where(keep, x, -np.inf)


def logits(seed, size=300, cut=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=float(rng.uniform(0.5, 4.0)), size=size)
    if cut:
        x[rng.choice(size, cut, replace=False)] = -np.inf  # as min_p leaves them
    return x


def same_cut(got: torch.Tensor, want: np.ndarray):
    assert (torch.isfinite(got).numpy() == np.isfinite(want)).all()


@pytest.mark.parametrize("seed", range(30))
def test_truncations_match_their_definitions(seed):
    x = logits(seed, cut=seed % 3 * 40)
    rng = np.random.default_rng(seed + 100)
    row = torch.from_numpy(x)
    n = float(rng.uniform(0.1, 3.0))
    same_cut(top_n_sigma(row, n), naive_top_n_sigma(x, n))
    p = float(rng.uniform(0.05, 0.99))
    same_cut(typical(row, p), naive_typical(x, p))
    threshold = float(rng.uniform(0.001, 0.3))
    same_cut(xtc(row, threshold, fires=True), naive_xtc(x, threshold))
    assert torch.equal(xtc(row, threshold, fires=False), row)
    mu = float(rng.uniform(0.5, 12.0))
    same_cut(mirostat_cut(row, mu), naive_mirostat(x, mu))


def test_top_n_sigma_keeps_the_same_tokens_at_any_temperature():
    x = torch.from_numpy(logits(3))
    kept = [torch.isfinite(top_n_sigma(x / t, 1.0)) for t in (0.3, 1.0, 3.0)]
    assert torch.equal(kept[0], kept[1]) and torch.equal(kept[1], kept[2])


def test_xtc_coin_is_reproducible_and_uniform():
    draws = [coin(42, i) for i in range(20_000)]
    assert draws == [coin(42, i) for i in range(20_000)]
    assert draws != [coin(43, i) for i in range(20_000)]
    assert min(draws) >= 0 and max(draws) < 1
    assert abs(np.mean(draws) - 0.5) < 0.01
    assert abs(np.mean(np.array(draws) < 0.3) - 0.3) < 0.01


def test_mirostat_learns_towards_its_target_surprise():
    """mu moves by -eta * (observed surprisal - tau) after each token, from 2 tau."""
    config = SamplerConfig(mirostat=2, mirostat_tau=3.0, mirostat_eta=0.1)
    state = LateState(config)
    x = torch.from_numpy(logits(5))
    output: list[int] = []
    mu = 6.0
    for _ in range(10):
        cut = state.apply(x.clone(), output)
        assert state.mu == pytest.approx(mu)  # what this step was cut with
        same_cut(cut, naive_mirostat(x.numpy(), mu))
        token = int(torch.argmin(torch.where(torch.isfinite(cut), cut, math.inf)))
        p = float(torch.softmax(cut, dim=-1)[token])
        output.append(token)
        mu -= 0.1 * (-math.log2(p) - 3.0)
    state.apply(x.clone(), output)
    assert state.mu == pytest.approx(mu)


def test_extra_args_round_trip():
    args = SamplerArgs(SamplerConfig(dry_multiplier=0.5, xtc_probability=0.5), (1, 2), 7)
    assert SamplerArgs.from_extra_args(args.to_extra_args()) == args
    assert SamplerArgs.from_extra_args(None) is None


def batch(params_by_row, prompts, outputs):
    added = [(i, p, prompts[i], outputs[i]) for i, p in enumerate(params_by_row)]
    return BatchUpdate(batch_size=len(added), removed=[], added=added, moved=[])


def test_vllms_processor_machinery_applies_them_per_row_in_float32():
    """Rows through vLLM's AdapterLogitsProcessor in float32, against the inspector's
    float64 recomputation of the same step (server/sampling/stages.py)."""
    config = SamplerConfig(dry_multiplier=0.8, top_n_sigma=2.0, typical_p=0.9, xtc_probability=1.0)
    args = SamplerArgs(config, (), 11)
    plain = SamplingParams()
    used = SamplingParams(extra_args=args.to_extra_args())
    prompts = [[1, 2, 3, 1, 2], [1, 2, 3, 1, 2]]
    outputs: list[list[int]] = [[], []]
    dry, late = DryProcessor(None, "cpu", False), TruncationProcessor(None, "cpu", False)
    for processor in (dry, late):
        processor.update_state(batch([plain, used], prompts, outputs))
    x = logits(9, size=50)
    raw = x - np.logaddexp.reduce(x)
    rows = torch.from_numpy(np.stack([raw, raw])).float()
    temperature = 0.7
    rows = late.apply(dry.apply(rows) / temperature)
    assert torch.equal(rows[0], torch.from_numpy(raw).float() / temperature)  # untouched
    engine = torch.softmax(rows[1].double(), dim=-1).numpy()
    inspector = run_step(
        raw,
        Filters(temperature=temperature, samplers=config),
        dry=DryState(config, frozenset()).penalties(prompts[1], []),
        late=LateState(config, 11),
    )
    assert np.abs(engine - inspector.final_probs).max() < 1e-6
    assert inspector.stage("xtc").fired


def test_xtc_at_threshold_zero_keeps_the_least_likely_token_in_play():
    """Every token clears a threshold of 0: only the least likely one still in play stays
    (found by the schema-bounds property test: the cut ones must not count)."""
    x = logits(4, size=20, cut=5)
    kept = torch.isfinite(xtc(torch.from_numpy(x), 0.0, fires=True)).numpy()
    finite = np.flatnonzero(np.isfinite(x))
    assert kept.sum() == 1 and kept[finite[np.argmin(x[finite])]]
