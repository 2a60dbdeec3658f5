"""The whole chain in any order (server/sampling/samplers/chain.py): in vLLM's order it is the
inspector's recomputation of vLLM's sampler (server/sampling/stages.py), stage for stage."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from vllm.model_executor.layers.utils import apply_penalties

from server.protocol.samplers import LLAMA_CPP_ORDER, STAGES, VLLM_ORDER, SamplerConfig
from server.sampling.samplers.chain import ChainState, StageRow, penalties, stage_active
from server.sampling.samplers.config import ChainValues, SamplerArgs
from server.sampling.samplers.dry import DryState
from server.sampling.samplers.truncation import LateState
from server.sampling.stages import Filters, run_step, softmax


def log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.logaddexp.reduce(x)


def raw_row(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return log_softmax(rng.normal(scale=float(rng.uniform(0.5, 4.0)), size=size))


P = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
RAW = np.log(P)


def chain(order, **values) -> ChainState:
    return ChainState(ChainValues(order=tuple(order), **values), SamplerConfig())


def final(state: ChainState, row: np.ndarray, output=(), prompt=()) -> np.ndarray:
    out = state.apply(list(prompt), list(output), torch.from_numpy(row.copy()))
    return softmax(out.numpy())


# (1) vLLM's order is run_step ------------------------------------------------------------


PENALTY = st.floats(-1.5, 1.5, allow_nan=False)


def maybe(draw, off, strategy):
    return draw(st.one_of(st.just(off), strategy))


@st.composite
def requests(draw):
    size = draw(st.integers(4, 60))
    floats = st.floats
    values = {
        "temperature": maybe(draw, 1.0, floats(0.2, 2.0) | st.just(0.0) | st.just(1e-6)),
        "min_p": maybe(draw, 0.0, floats(0.01, 0.6)),
        "top_k": maybe(draw, 0, st.integers(1, size + 2)),
        "top_p": maybe(draw, 1.0, floats(0.05, 0.99)),
        "frequency_penalty": maybe(draw, 0.0, floats(-1.5, 1.5)),
        "presence_penalty": maybe(draw, 0.0, PENALTY),
    }
    config = SamplerConfig(
        dry_multiplier=maybe(draw, 0.0, floats(0.3, 1.5)),
        dry_allowed_length=draw(st.integers(1, 3)),
        top_n_sigma=maybe(draw, -1.0, floats(0.3, 3.0)),
        typical_p=maybe(draw, 1.0, floats(0.2, 0.99)),
        xtc_probability=maybe(draw, 0.0, floats(0.1, 1.0)),
        xtc_threshold=draw(floats(0.02, 0.5)),
        mirostat=draw(st.sampled_from([0, 2])),
        mirostat_tau=draw(floats(1.0, 8.0)),
    )
    return size, values, config


@settings(max_examples=250, deadline=None)
@given(
    request=requests(),
    seed=st.integers(0, 2**32 - 1),
    xtc_seed=st.integers(0, 2**63),
    steps=st.integers(1, 5),
)
def test_vllms_order_is_run_step(request, seed, xtc_seed, steps):
    """Step by step, with the output growing (penalties, DRY, XTC's coin and Mirostat's mu
    all move), the chain in vLLM's order gives run_step's final distribution."""
    size, values, config = request
    rng = np.random.default_rng(seed)
    prompt = [int(t) for t in rng.integers(0, min(size, 6), size=8)]
    breakers = frozenset({1})
    state = ChainState(ChainValues(order=VLLM_ORDER, **values), config, breakers, xtc_seed)
    filters = Filters(**values, samplers=config)
    dry = DryState(config, breakers)
    late = LateState(config, xtc_seed)
    output: list[int] = []
    for _ in range(steps):
        raw = raw_row(int(rng.integers(2**32)), size)
        got = final(state, raw, output, prompt)
        want = run_step(
            raw,
            filters,
            Counter(output),
            dry=dry.penalties(prompt, output) if config.dry else None,
            late=late,
            output=output,
        ).final_probs
        assert np.abs(got - want).max() < 1e-12
        output.append(int(rng.choice(size, p=want)))


# (2) the order matters -------------------------------------------------------------------


def test_top_p_before_temperature_keeps_another_set_than_after():
    """top_p 0.6 on [.5 .2 .15 .1 .05] keeps two tokens; at temperature 3 first the
    distribution is flatter ([.29 .21 .19 .17 .13]) and the nucleus needs three."""
    before = final(chain(["top_p", "temperature"], top_p=0.6, temperature=3.0), RAW)
    after = final(chain(["temperature", "top_p"], top_p=0.6, temperature=3.0), RAW)
    assert (before > 0).tolist() == [True, True, False, False, False]
    assert (after > 0).tolist() == [True, True, True, False, False]
    flat = P ** (1 / 3)
    assert before[:2] == pytest.approx(flat[:2] / flat[:2].sum(), rel=1e-12)
    assert after[:3] == pytest.approx(flat[:3] / flat[:3].sum(), rel=1e-12)


def test_min_p_before_and_after_temperature():
    """min_p 0.25 of the raw top (0.125) keeps three tokens; after temperature 0.5
    ([.61 .10 .05 .02 .01]) only two clear a quarter of the top."""
    before = final(chain(["min_p", "temperature"], min_p=0.25, temperature=0.5), RAW)
    after = final(chain(["temperature", "min_p"], min_p=0.25, temperature=0.5), RAW)
    assert int((before > 0).sum()) == 3
    assert int((after > 0).sum()) == 1


def test_inactive_stages_commute():
    """With only penalties, DRY and temperature on, llama.cpp's order and vLLM's give the
    same distribution (subtractions commute, temperature divides them all)."""
    config = SamplerConfig(dry_multiplier=0.8, dry_allowed_length=1)
    values = {"temperature": 0.7, "frequency_penalty": 0.4, "presence_penalty": 0.3}
    raw = raw_row(3, 12)
    prompt, output = [1, 2, 3, 1, 2], [3, 1, 2]
    vllm = final(ChainState(ChainValues(VLLM_ORDER, **values), config), raw, output, prompt)
    llama = final(ChainState(ChainValues(LLAMA_CPP_ORDER, **values), config), raw, output, prompt)
    assert np.abs(vllm - llama).max() < 1e-12
    assert np.abs(vllm - softmax(raw / 0.7)).max() > 1e-3  # the penalties did something


# (3) greedy ------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [0.0, 1e-6, 9.99e-6])
def test_temperature_below_1e_5_keeps_only_the_most_likely(t):
    raw = raw_row(5, 30)
    out = chain(["temperature"], temperature=t).apply([], [], torch.from_numpy(raw))
    kept = torch.isfinite(out).numpy()
    assert kept.sum() == 1 and kept[int(np.argmax(raw))]
    assert softmax(out.numpy())[int(np.argmax(raw))] == 1.0


def test_temperature_1e_5_samples():
    raw = np.log(np.array([0.5, 0.4999, 0.0001]))
    out = final(chain(["temperature"], temperature=1e-5), raw)
    assert out[0] == pytest.approx(1.0) and np.isfinite(np.log(out[1]))


def test_greedy_after_a_cut_picks_the_best_survivor():
    """In llama.cpp's order a cut runs before temperature 0: penalties move the argmax."""
    state = chain(["penalties", "temperature"], temperature=0.0, presence_penalty=1.0)
    assert final(state, RAW, output=[0]).tolist() == [0, 1, 0, 0, 0]


# (4) inactive stages ---------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_at_its_neutral_value_is_off_and_leaves_the_row(stage):
    raw = torch.from_numpy(raw_row(7, 20))
    trace: list[StageRow] = []
    out = chain([stage]).apply([1, 2, 1, 2], [1, 2, 1], raw, trace)
    assert torch.equal(out, raw)
    assert [(t.name, t.active) for t in trace] == [(stage, False)]
    assert not stage_active(stage, ChainValues(order=(stage,)), SamplerConfig())


@pytest.mark.parametrize(
    ("stage", "values", "config"),
    [
        ("penalties", {"presence_penalty": 0.5}, {}),
        ("penalties", {"repetition_penalty": 1.3}, {}),
        ("dry", {}, {"dry_multiplier": 1.0, "dry_allowed_length": 1}),
        ("top_n_sigma", {}, {"top_n_sigma": 0.5}),
        ("top_k", {"top_k": 3}, {}),
        ("typ_p", {}, {"typical_p": 0.3}),
        ("top_p", {"top_p": 0.5}, {}),
        ("min_p", {"min_p": 0.5}, {}),
        ("xtc", {}, {"xtc_probability": 1.0, "xtc_threshold": 0.01}),
        ("temperature", {"temperature": 0.5}, {}),
        ("mirostat", {}, {"mirostat": 2, "mirostat_tau": 1.0}),
        ("adaptive_p", {}, {"adaptive_target": 0.1}),
    ],
)
def test_the_same_stage_on_changes_the_row(stage, values, config):
    """The counterpart of the test above: each stage does act when on."""
    raw = torch.from_numpy(raw_row(7, 20))
    trace: list[StageRow] = []
    state = ChainState(ChainValues(order=(stage,), **values), SamplerConfig(**config))
    out = state.apply([1, 2, 1, 2], [1, 2, 1], raw, trace)
    assert [(t.name, t.active) for t in trace] == [(stage, True)]
    assert not torch.equal(out, raw)


def test_the_trace_holds_each_stage_with_its_number():
    trace: list[StageRow] = []
    state = chain(VLLM_ORDER, temperature=0.5, min_p=0.1, top_p=0.9)
    out = state.apply([], [], torch.from_numpy(RAW), trace)
    assert [t.name for t in trace] == list(VLLM_ORDER)
    on = {t.name for t in trace if t.active}
    assert on == {"temperature", "min_p", "top_p"}
    tempered = P**2 / (P**2).sum()
    assert trace[VLLM_ORDER.index("min_p")].value == pytest.approx(0.1 * tempered[0])
    assert torch.equal(trace[-1].row, out)


# (5) penalties ---------------------------------------------------------------------------


def test_penalties_by_hand():
    """repetition 2 on prompt [0 1] + output [2 2 3]: positive logits halve, negative ones
    double; then the output loses 0.5 per occurrence and 0.25 once."""
    row = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.0], dtype=torch.float64)
    values = ChainValues(
        order=("penalties",),
        repetition_penalty=2.0,
        frequency_penalty=0.5,
        presence_penalty=0.25,
    )
    out = penalties(row, [0, 1], [2, 2, 3], values)
    assert out.tolist() == [1.0, -2.0, 0.25 - 1.25, -6.0 - 0.75, 1.0, 0.0]
    assert row.tolist() == [2.0, -1.0, 0.5, -3.0, 1.0, 0.0]  # not in place


def test_frequency_and_presence_leave_the_prompt_alone():
    row = torch.zeros(4, dtype=torch.float64)
    values = ChainValues(order=("penalties",), frequency_penalty=1.0, presence_penalty=1.0)
    assert penalties(row, [0, 1], [], values).tolist() == [0, 0, 0, 0]
    assert penalties(row, [0, 1], [1, 3, 3], values).tolist() == [0, -2, 0, -3]


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(2, 30),
    seed=st.integers(0, 2**32 - 1),
    prompt_len=st.integers(0, 10),
    output_len=st.integers(0, 10),
    repetition=st.floats(0.5, 2.0),
    frequency=st.floats(-2.0, 2.0),
    presence=PENALTY,
)
def test_penalties_are_vllms(size, seed, prompt_len, output_len, repetition, frequency, presence):
    rng = np.random.default_rng(seed)
    row = torch.from_numpy(rng.normal(scale=3.0, size=size))
    prompt = rng.integers(0, size, prompt_len).tolist()
    output = rng.integers(0, size, output_len).tolist()
    values = ChainValues(
        order=("penalties",),
        repetition_penalty=repetition,
        frequency_penalty=frequency,
        presence_penalty=presence,
    )
    got = penalties(row, prompt, output, values)
    # vLLM pads with vocab_size; an empty list is one row of padding.
    pad = [size]
    want = apply_penalties(
        row.clone().unsqueeze(0),
        torch.tensor([prompt or pad]),
        torch.tensor([output or pad]),
        torch.tensor([presence], dtype=torch.float64),
        torch.tensor([frequency], dtype=torch.float64),
        torch.tensor([repetition], dtype=torch.float64),
    )[0]
    assert torch.allclose(got, want, rtol=0, atol=1e-12)


def test_presence_penalty_keeps_float64_precision():
    row = torch.zeros(2, dtype=torch.float64)
    values = ChainValues(order=("penalties",), presence_penalty=0.1)
    assert penalties(row, [], [1], values).tolist() == [0.0, -0.1]


def test_repetition_penalty_is_not_shift_invariant():
    """Why the replay refuses it: on logprobs (all negative) it multiplies, on logits it
    may divide, so the two give different distributions."""
    logits = torch.tensor([3.0, 1.0, -1.0], dtype=torch.float64)
    values = ChainValues(order=("penalties",), repetition_penalty=2.0)
    on_logits = torch.softmax(penalties(logits, [0], [], values), -1)
    on_logprobs = torch.softmax(penalties(torch.log_softmax(logits, -1), [0], [], values), -1)
    assert not torch.allclose(on_logits, on_logprobs, atol=1e-3)


# extra_args ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chain_values",
    [
        None,
        ChainValues(order=LLAMA_CPP_ORDER, temperature=0.7, top_k=40, top_p=0.9, min_p=0.05),
        ChainValues(
            order=("temperature", "adaptive_p"),
            presence_penalty=0.5,
            frequency_penalty=-0.25,
            repetition_penalty=1.1,
        ),
    ],
)
def test_extra_args_round_trip_with_and_without_a_chain(chain_values):
    args = SamplerArgs(
        SamplerConfig(dry_multiplier=0.5, adaptive_target=0.3, dry_sequence_breakers=("x",)),
        (1, 2),
        7,
        chain_values,
    )
    extra = args.to_extra_args()
    assert SamplerArgs.from_extra_args(extra) == args
    # Across the engine's process boundary only plain data travels.
    travelled = SamplerArgs.from_extra_args(json.loads(json.dumps(extra)))
    assert travelled == args
    if chain_values is not None:
        assert isinstance(travelled.chain.order, tuple)


def test_extra_args_without_ours_is_none():
    assert SamplerArgs.from_extra_args(None) is None
    assert SamplerArgs.from_extra_args({"other": 1}) is None


def test_mirostat_learns_in_the_chain_as_in_late_state():
    """Mirostat's mu after a drawn token: -eta * (surprisal - tau), from 2 tau."""
    config = SamplerConfig(mirostat=2, mirostat_tau=2.0, mirostat_eta=0.1)
    state = ChainState(ChainValues(order=("mirostat",)), config)
    raw = raw_row(11, 40)
    trace: list[StageRow] = []
    out = state.apply([], [], torch.from_numpy(raw), trace)
    assert trace[0].value == 4.0
    token = int(np.argmax(raw))
    p = softmax(out.numpy())[token]
    trace = []
    state.apply([], [token], torch.from_numpy(raw), trace)
    assert trace[0].value == pytest.approx(4.0 - 0.1 * (-math.log2(p) - 2.0), rel=1e-12)
