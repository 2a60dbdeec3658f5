"""The engine in processed-logprobs mode (a second engine, started after the raw one
stops; these tests run last)."""

import json
import math

import httpx
import pytest

from tests.e2e.conftest import PROCESSED

pytestmark = pytest.mark.processed

STORY = [{"role": "user", "content": "Write a story about a dragon."}]
PARAMS = {"temperature": 0.8, "top_p": 0.9, "seed": 5}
EXTRA = {"top_k": 10, "min_p": 0.05}
STEPS = 8
# Largest |p_inspector - p_engine| over every reported candidate of every step.
AGREEMENT = 1e-4


def test_inspector_agrees_with_the_engines_processed_logprobs(pool):
    """The inspector recomputes vLLM's pipeline from raw numbers; the engine in processed
    mode reports the distribution it really drew from. Same prompt, parameters, seed."""
    raw_server = pool.get()
    with httpx.Client(base_url=raw_server.base_url, timeout=120) as http:
        model = http.get("/v1/models").json()["data"][0]["id"]
        inspection = http.post(
            "/v1/sampling/inspect",
            json={"model": model, "messages": STORY, "steps": STEPS, **PARAMS, **EXTRA},
        ).json()
    processed = pool.get(*PROCESSED)
    with httpx.Client(base_url=processed.base_url, timeout=120) as http:
        chat = http.post(
            "/v1/chat/completions",
            json={
                "model": model,
                "messages": STORY,
                "max_tokens": STEPS,
                "logprobs": True,
                "top_logprobs": 20,
                **PARAMS,
                **EXTRA,
            },
        ).json()
    assert chat["choices"][0]["message"]["content"] == inspection["text"]
    content = chat["choices"][0]["logprobs"]["content"]
    worst = 0.0
    compared = 0
    for token, step in zip(content, inspection["steps"], strict=False):
        final = {bytes(c["bytes"]): c["final_prob"] for c in step["candidates"]}
        for top in token["top_logprobs"]:
            engine_p = 0.0 if top["logprob"] <= -9999 else math.exp(top["logprob"])
            worst = max(worst, abs(engine_p - final.get(bytes(top["bytes"]), 0.0)))
            compared += 1
    assert compared >= STEPS * 10
    assert worst < AGREEMENT


def test_model_card_states_the_mode(processed_server):
    card = httpx.get(f"{processed_server.base_url}/v1/models").json()["data"][0]
    assert card["logprobs_mode"] == "processed"


def test_filtered_tokens_are_a_finite_floor_not_infinity(processed_server):
    body = {
        "model": "SmolLM2-135M-Instruct",
        "messages": STORY,
        "max_tokens": 3,
        "logprobs": True,
        "top_logprobs": 20,
        "temperature": 0.5,
        "top_k": 3,
        "seed": 1,
    }
    response = httpx.post(
        f"{processed_server.base_url}/v1/chat/completions", json=body, timeout=120
    )
    assert response.status_code == 200
    payload = json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    for token in payload["choices"][0]["logprobs"]["content"]:
        values = [t["logprob"] for t in token["top_logprobs"]]
        assert sum(v > -9999 for v in values) <= 3
        assert values.count(-9999.0) >= 17
        kept = [math.exp(v) for v in values if v > -9999]
        assert sum(kept) == pytest.approx(1.0, abs=1e-3)


def test_inspector_works_in_processed_mode(processed_server):
    result = httpx.post(
        f"{processed_server.base_url}/v1/sampling/inspect",
        json={"model": "SmolLM2-135M-Instruct", "messages": STORY, "steps": 3, **PARAMS, **EXTRA},
        timeout=120,
    ).json()
    assert result["logprobs_mode"] == "processed"
    assert len(result["steps"]) == 3
