"""The sampler chain's order (server/protocol/order.py): parsing llama.cpp's `samplers` and
deciding whether vLLM's own sampler can run it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from server.protocol.chat import ChatCompletionRequest
from server.protocol.inspect import Inspection
from server.protocol.samplers import (
    LLAMA_CPP_ORDER,
    NATIVE,
    ORDERS,
    STAGES,
    VLLM_ORDER,
    SamplerConfig,
    parse_order,
    runs_natively,
    sampler_params,
)
from server.sampling.samplers.chain import ChainState
from server.sampling.samplers.config import ChainValues


def test_named_orders():
    assert parse_order("vllm") == VLLM_ORDER
    assert parse_order("llama.cpp") == LLAMA_CPP_ORDER
    assert LLAMA_CPP_ORDER.index("top_k") < LLAMA_CPP_ORDER.index("temperature")
    assert VLLM_ORDER.index("temperature") < VLLM_ORDER.index("top_k")


def test_unknown_named_order_is_refused_by_name():
    with pytest.raises(ValueError, match="'greedy'"):
        parse_order("greedy")


@pytest.mark.parametrize(
    ("name", "stage"),
    [
        ("top_k", "top_k"),
        ("top-k", "top_k"),
        ("topk", "top_k"),
        ("TOP-K", "top_k"),
        ("Top_P", "top_p"),
        ("top-p", "top_p"),
        ("nucleus", "top_p"),
        ("Nucleus", "top_p"),
        ("temp", "temperature"),
        ("TEMPERATURE", "temperature"),
        ("typ", "typ_p"),
        ("typ-p", "typ_p"),
        ("typical_p", "typ_p"),
        ("min-p", "min_p"),
        ("minp", "min_p"),
        ("top-n-sigma", "top_n_sigma"),
        ("topnsigma", "top_n_sigma"),
        ("adaptive-p", "adaptive_p"),
        ("xtc", "xtc"),
        ("DRY", "dry"),
        ("penalties", "penalties"),
    ],
)
def test_aliases_case_insensitive(name, stage):
    assert parse_order([name]) == (stage,)


@pytest.mark.parametrize("name", ["typical-p", "typical"])
def test_llama_cpps_other_typical_aliases(name):
    assert parse_order([name]) == ("typ_p",)


def test_the_given_order_is_kept():
    assert parse_order(["temp", "top-k", "min_p"]) == ("temperature", "top_k", "min_p")
    assert parse_order(["min_p", "top-k", "temp"]) == ("min_p", "top_k", "temperature")
    assert parse_order([]) == ()


def test_unknown_stage_is_refused_by_name():
    with pytest.raises(ValueError, match="'top_q'"):
        parse_order(["top_k", "top_q"])


@pytest.mark.parametrize("names", [["top_k", "top_k"], ["top_k", "TOP-K"], ["nucleus", "top_p"]])
def test_a_stage_twice_is_refused_by_name(names):
    stage = parse_order([names[0]])[0]
    with pytest.raises(ValueError, match=f"'{stage}'"):
        parse_order(names)


def test_adaptive_p_moves_to_the_end():
    assert parse_order(["adaptive_p", "temp", "top_k"]) == ("temperature", "top_k", "adaptive_p")
    assert parse_order(["top_k", "adaptive-p", "temp"]) == ("top_k", "temperature", "adaptive_p")


@settings(max_examples=200, deadline=None)
@given(st.permutations(STAGES), st.integers(0, len(STAGES)))
def test_parse_keeps_every_stage_once_in_its_order_but_adaptive(stages, n):
    names = list(stages[:n])
    order = parse_order(names)
    rest = [s for s in names if s != "adaptive_p"]
    assert list(order) == rest + (["adaptive_p"] if "adaptive_p" in names else [])


def everything_on(stage):
    return True


def test_vllms_order_runs_natively_with_everything_on_but_adaptive_p():
    assert runs_natively(VLLM_ORDER, lambda s: s != "adaptive_p")
    assert not runs_natively(VLLM_ORDER, everything_on)


def test_llama_cpps_order_needs_the_chain_when_temperature_comes_after_a_cut():
    assert not runs_natively(LLAMA_CPP_ORDER, lambda s: s in ("top_k", "temperature"))
    assert not runs_natively(LLAMA_CPP_ORDER, lambda s: s in ("min_p", "temperature"))
    # One stage on: nothing to reorder.
    assert runs_natively(LLAMA_CPP_ORDER, lambda s: s == "temperature")
    # Penalties before temperature, top_k before top_p: vLLM's order too.
    assert runs_natively(LLAMA_CPP_ORDER, lambda s: s in ("penalties", "temperature"))
    assert runs_natively(LLAMA_CPP_ORDER, lambda s: s in ("top_k", "top_p"))


def test_a_stage_that_is_off_commutes():
    order = ("top_p", "top_k")
    assert not runs_natively(order, everything_on)
    assert runs_natively(order, lambda s: s == "top_k")
    assert runs_natively(order, lambda s: s == "top_p")


def test_adaptive_p_is_never_native():
    assert not runs_natively(("adaptive_p",), everything_on)
    assert runs_natively(("adaptive_p",), lambda s: False)
    assert not runs_natively(("temperature", "adaptive_p"), everything_on)


@settings(max_examples=300, deadline=None)
@given(st.permutations(STAGES), st.integers(0, len(STAGES)), st.sets(st.sampled_from(STAGES)))
def test_native_iff_the_active_stages_are_in_vllms_order(stages, n, on):
    order = tuple(stages[:n])
    steps = [s for s in order if s in on]
    positions = [NATIVE.index(s) if s in NATIVE else None for s in steps]
    expected = None not in positions and positions == sorted(positions)
    assert runs_natively(order, lambda s: s in on) == expected


def chat(**fields):
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)


def test_the_request_field_takes_aliases_and_refuses_unknown_ones():
    assert chat(samplers=["Temp", "top-k"]).samplers == ["temperature", "top_k"]
    assert chat(samplers="llama.cpp").samplers == "llama.cpp"
    with pytest.raises(ValidationError, match="top_q"):
        chat(samplers=["top_q"])
    with pytest.raises(ValidationError):
        chat(samplers="greedy")
    with pytest.raises(ValidationError, match="twice"):
        chat(samplers=["temp", "temperature"])


@pytest.mark.parametrize("order", ["llama.cpp", ["temperature", "mirostat"]])
def test_mirostat_runs_only_in_vllms_order(order):
    with pytest.raises(ValidationError, match="mirostat"):
        chat(mirostat=2, samplers=order)
    chat(mirostat=2, samplers="vllm")
    chat(mirostat=2)
    chat(mirostat=0, samplers=order)


def test_llama_cpps_letters_are_an_order():
    assert parse_order("kypmt") == ("top_k", "typ_p", "top_p", "min_p", "temperature")
    assert parse_order("atk") == ("temperature", "top_k", "adaptive_p")
    with pytest.raises(ValueError, match="kfz"):
        parse_order("kfz")


def test_one_list_of_stage_names_everywhere():
    """The inspector's schema, the chain processor and the named orders all take their stage
    names from STAGES."""
    schema = Inspection.model_json_schema()["$defs"]
    assert tuple(schema["StageReport"]["properties"]["name"]["enum"]) == STAGES
    assert {spec.stage for spec in sampler_params().values()} <= set(STAGES)
    for order in ORDERS.values():
        assert set(order) <= set(STAGES)
    chain = ChainState(ChainValues(order=STAGES), SamplerConfig())
    assert all(isinstance(chain.active(stage), bool) for stage in STAGES)
