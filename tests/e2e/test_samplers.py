"""DRY, top-n-sigma, typical-p, XTC and Mirostat on the real engine: the inspector draws what
chat draws, shows each stage, and the bounds and refusals hold."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import NATIVE_STAGES, SAMPLER_CASES, SAMPLER_STEPS, STORY


def inspect(http, model, **body):
    body.setdefault("messages", STORY)
    response = http.post("/v1/sampling/inspect", json={"model": model, **body})
    assert response.status_code == 200, response.text
    return response.json()


REPEAT = [
    {"role": "user", "content": "Repeat after me: hello hello hello hello hello hello hello hello"}
]


def chat(http, model, max_tokens, messages=STORY, **params):
    body = {"model": model, "messages": messages, "max_tokens": max_tokens, **params}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("case", SAMPLER_CASES)
def test_inspector_draws_what_chat_draws(sampler_inspections, http, model, case):
    """Same seed, same parameters: the same tokens; and each token drawn is one the
    inspector's recomputation left in play."""
    inspection = sampler_inspections[case]
    assert inspection["text"] == chat(http, model, SAMPLER_STEPS, **SAMPLER_CASES[case])
    for step in inspection["steps"]:
        assert step["sampled_final_prob"] > 0
        names = [s["name"] for s in step["stages"]]
        native = inspection["parameters"]["native"]
        assert native == ("samplers" not in SAMPLER_CASES[case] and "adaptive_p" not in case)
        assert names == (NATIVE_STAGES if native else inspection["parameters"]["samplers"])
        counts = [s["survivors"] for s in step["stages"]]
        assert counts == sorted(counts, reverse=True)
        listed = [c for c in step["candidates"] if c["final_prob"] > 0]
        assert all(c["cut_by"] is None for c in listed)
        assert all(c["cut_by"] is not None for c in step["candidates"] if c["final_prob"] == 0)


def stage(step, name):
    return next(s for s in step["stages"] if s["name"] == name)


def test_each_sampler_acts_where_it_is_on(sampler_inspections):
    vocabulary = 49152
    dry = sampler_inspections["dry"]["steps"]
    assert any(c["dry_penalty"] > 0 for s in dry for c in s["candidates"])
    sigma = sampler_inspections["top_n_sigma"]["steps"]
    assert all(stage(s, "top_n_sigma")["active"] for s in sigma)
    assert all(stage(s, "top_n_sigma")["survivors"] < vocabulary / 10 for s in sigma)
    typical = sampler_inspections["typ_p"]["steps"]
    assert all(stage(s, "typ_p")["survivors"] < vocabulary for s in typical)
    xtc = sampler_inspections["xtc"]["steps"]
    assert all(stage(s, "xtc")["fired"] for s in xtc)  # probability 1
    for s in xtc:  # when two or more clear the threshold, the most likely is gone
        clearing = [c for c in s["candidates"] if c["temperature_prob"] >= 0.05]
        if len(clearing) >= 2:
            top = max(clearing, key=lambda c: c["temperature_prob"])
            assert top["cut_by"] == "xtc" and s["sampled"]["id"] != top["id"]
    mirostat = sampler_inspections["mirostat"]["steps"]
    mus = [stage(s, "mirostat")["value"] for s in mirostat]
    assert mus[0] == pytest.approx(6.0) and len(set(mus)) > 1  # starts at 2 tau, then learns
    assert sampler_inspections["combined"]["parameters"]["xtc_seed"] == 5


@pytest.mark.greedy_text
def test_dry_acts_at_temperature_zero_and_the_inspector_follows(http, model):
    """A penalty, not a filter: it changes the greedy answer too (a loop of "hello, " ends)."""
    greedy = chat(http, model, 40, REPEAT, temperature=0)
    assert greedy.count("hello") >= 15
    params = {"temperature": 0, "dry_multiplier": 2.0}
    with_dry = chat(http, model, 40, REPEAT, **params)
    assert with_dry.count("hello") < 10
    inspection = inspect(http, model, steps=40, messages=REPEAT, **params)
    assert inspection["text"] == with_dry
    assert any(c["dry_penalty"] > 0 for s in inspection["steps"] for c in s["candidates"])


def test_seeded_xtc_is_reproducible(http, model):
    params = {"temperature": 1.0, "xtc_probability": 0.5, "xtc_threshold": 0.05, "seed": 11}
    first = chat(http, model, 24, **params)
    assert chat(http, model, 24, **params) == first
    assert chat(http, model, 24, **{**params, "seed": 12}) != first


def test_completions_take_the_samplers_too(http, model):
    body = {"model": model, "prompt": "Once upon a time", "max_tokens": 16, "seed": 3}
    extra = {"temperature": 1.0, "typical_p": 0.6, "dry_multiplier": 0.8}
    response = http.post("/v1/completions", json={**body, **extra})
    assert response.status_code == 200, response.text
    prompt = {"messages": None, "prompt": "Once upon a time"}
    inspection = inspect(http, model, **prompt, steps=16, seed=3, **extra)
    assert response.json()["choices"][0]["text"] == inspection["text"]


def test_forced_tokens_continue_the_answer(http, model):
    """The token explorer's fork: the same tokens forced after the prompt give the rest."""
    whole = inspect(http, model, steps=10, temperature=0)
    ids = [s["sampled"]["id"] for s in whole["steps"]]
    rest = inspect(http, model, steps=6, temperature=0, forced_tokens=ids[:4])
    assert [s["sampled"]["id"] for s in rest["steps"]] == ids[4:]
    alternative = whole["steps"][3]["candidates"][1]["id"]
    fork = inspect(http, model, steps=6, temperature=0, forced_tokens=[*ids[:3], alternative])
    assert [s["sampled"]["id"] for s in fork["steps"]] != ids[4:]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"dry_multiplier": -0.1}, "dry_multiplier"),
        ({"dry_base": 0.5}, "dry_base"),
        ({"dry_allowed_length": 0}, "dry_allowed_length"),
        ({"dry_penalty_last_n": -2}, "dry_penalty_last_n"),
        ({"dry_sequence_breakers": [""]}, "dry_sequence_breakers"),
        ({"xtc_probability": 1.5}, "xtc_probability"),
        ({"xtc_threshold": -1}, "xtc_threshold"),
        ({"top_n_sigma": 101}, "top_n_sigma"),
        ({"typical_p": 1.01}, "typical_p"),
        ({"mirostat": 1}, "mirostat"),
        ({"mirostat_tau": -1}, "mirostat_tau"),
        ({"mirostat_eta": 2}, "mirostat_eta"),
        ({"mirostat": 2, "top_k": 40}, "mirostat"),
        ({"mirostat": 2, "preset": "creative"}, "mirostat"),
    ],
)
@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/sampling/inspect"])
def test_bounds_and_refusals(http, model, body, param, route):
    payload = {"model": model, "messages": STORY, "max_tokens": 4, **body}
    if route.endswith("inspect"):
        payload.pop("max_tokens")
    response = http.post(route, json=payload)
    assert response.status_code == 400, response.text
    assert param in (response.json()["error"]["param"] or ""), response.json()


def test_null_means_off(http, model):
    params = {"temperature": 0, "dry_multiplier": None, "mirostat": None, "typical_p": None}
    assert chat(http, model, 8, **params) == chat(http, model, 8, temperature=0)
