"""The second server: processed logprobs, with an API key, CORS and tight limits (started
after the raw one stops; these tests run last)."""

import asyncio
import contextlib
import json
import math
import os
import signal
import time

import httpx
import pytest

from tests.e2e.conftest import (
    AGREEMENT_PARAMS,
    AGREEMENT_STEPS,
    ALLOWED_REQUEST,
    API_KEY,
    SAMPLER_CASES,
    SAMPLER_STEPS,
    STORY,
)

pytestmark = pytest.mark.processed
# Largest |p_inspector - p_engine| over every reported candidate of every step.
AGREEMENT = 1e-4
AUTH = {"Authorization": f"Bearer {API_KEY}"}
MODEL = "SmolLM2-135M-Instruct"


@pytest.fixture
def api(processed_server):
    with httpx.Client(base_url=processed_server.base_url, headers=AUTH, timeout=120) as c:
        yield c


def agreement_chat(api, **extra) -> dict:
    """The raw inspection's request as a chat with the top 20 logprobs of each step."""
    body = {
        "model": MODEL,
        "messages": STORY,
        "max_tokens": AGREEMENT_STEPS,
        "logprobs": True,
        "top_logprobs": 20,
        **AGREEMENT_PARAMS,
        **extra,
    }
    return api.post("/v1/chat/completions", json=body).json()


def test_inspector_agrees_with_the_engines_processed_logprobs(raw_inspection, api):
    """The inspector (on the raw server) recomputes vLLM's pipeline from raw numbers; this
    engine reports the distribution it really drew from. Same prompt, parameters, seed."""
    chat = agreement_chat(api)
    assert chat["choices"][0]["message"]["content"] == raw_inspection["text"]
    content = chat["choices"][0]["logprobs"]["content"]
    worst = 0.0
    compared = 0
    for token, step in zip(content, raw_inspection["steps"], strict=False):
        final = {bytes(c["bytes"]): c["final_prob"] for c in step["candidates"]}
        for top in token["top_logprobs"]:
            engine_p = 0.0 if top["logprob"] <= -9999 else math.exp(top["logprob"])
            worst = max(worst, abs(engine_p - final.get(bytes(top["bytes"]), 0.0)))
            compared += 1
    assert compared >= AGREEMENT_STEPS * 10
    print(f"vLLM's own filters: largest |p_inspector - p_engine| {worst:.2e}")
    assert worst < AGREEMENT


# The extra samplers run the same functions in the engine (float32) and in the inspector
# (float64 from the raw float32 logprobs, read through prefills where the engine decoded).
# XTC renormalises what is left after the top tokens, magnifying the two paths' rounding,
# which depends on the kernel path: 7.9e-6 on AMX, 1.7e-5 with the kernels limited to AVX2.
SAMPLER_AGREEMENT = 5e-5


@pytest.mark.parametrize("case", SAMPLER_CASES)
def test_inspector_agrees_with_the_engine_for_each_sampler(sampler_inspections, api, case):
    inspection = sampler_inspections[case]
    chat = api.post(
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": STORY,
            "max_tokens": SAMPLER_STEPS,
            "logprobs": True,
            "top_logprobs": 20,
            **SAMPLER_CASES[case],
        },
    ).json()
    assert chat["choices"][0]["message"]["content"] == inspection["text"]
    worst = 0.0
    content = chat["choices"][0]["logprobs"]["content"]
    for token, step in zip(content, inspection["steps"], strict=True):
        final = {bytes(c["bytes"]): c["final_prob"] for c in step["candidates"]}
        for top in token["top_logprobs"]:
            engine_p = 0.0 if top["logprob"] <= -9999 else math.exp(top["logprob"])
            worst = max(worst, abs(engine_p - final.get(bytes(top["bytes"]), 0.0)))
    print(f"{case}: largest |p_inspector - p_engine| {worst:.2e}")
    assert worst < SAMPLER_AGREEMENT


@pytest.mark.parametrize("spelling", [{"logprobs_mode": "raw"}, {"post_sampling_probs": False}])
def test_raw_logprobs_per_request_on_a_processed_server(raw_inspection, api, spelling):
    """Raw logprobs asked of this engine, which reports processed ones: read through one
    prefill per position, they are the model's own distribution (the raw server's)."""
    chat = agreement_chat(api, **spelling)
    assert chat["choices"][0]["message"]["content"] == raw_inspection["text"]
    worst = 0.0
    content = chat["choices"][0]["logprobs"]["content"]
    for token, step in zip(content, raw_inspection["steps"], strict=True):
        raw = {bytes(c["bytes"]): c["raw_prob"] for c in step["candidates"]}
        assert all(top["logprob"] > -9999 for top in token["top_logprobs"])
        for top in token["top_logprobs"]:
            worst = max(worst, abs(math.exp(top["logprob"]) - raw[bytes(top["bytes"])]))
    print(f"raw logprobs by prefills: largest |p - p_raw| {worst:.2e}")
    assert worst < AGREEMENT


def test_replayed_post_sampling_logprobs_are_the_engines_own(replayed_allowed, api):
    """The raw server replayed the chain (allowed_token_ids masking first); this engine
    reports the distribution it drew from. Same request, same seed."""
    chat = api.post("/v1/chat/completions", json={"model": MODEL, **ALLOWED_REQUEST}).json()
    mine = chat["choices"][0]
    replayed = replayed_allowed["choices"][0]
    assert mine["message"]["content"] == replayed["message"]["content"]
    worst = 0.0
    pairs = zip(mine["logprobs"]["content"], replayed["logprobs"]["content"], strict=True)
    for engine, replay in pairs:
        assert engine["token"] == replay["token"]
        theirs = {t["token"]: t["logprob"] for t in replay["top_logprobs"]}
        for top in engine["top_logprobs"]:
            p = 0.0 if top["logprob"] <= -9999 else math.exp(top["logprob"])
            q = 0.0 if theirs.get(top["token"], -9999) <= -9999 else math.exp(theirs[top["token"]])
            worst = max(worst, abs(p - q))
    print(f"replayed vs engine's processed logprobs: largest |dp| {worst:.2e}")
    assert worst < SAMPLER_AGREEMENT


def test_model_card_states_the_mode(api):
    assert api.get("/v1/models").json()["data"][0]["logprobs_mode"] == "processed"


def test_filtered_tokens_are_a_finite_floor_not_infinity(api):
    body = {
        "model": MODEL,
        "messages": STORY,
        "max_tokens": 3,
        "logprobs": True,
        "top_logprobs": 20,
        "temperature": 0.5,
        "top_k": 3,
        "seed": 1,
    }
    response = api.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    payload = json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    for token in payload["choices"][0]["logprobs"]["content"]:
        values = [t["logprob"] for t in token["top_logprobs"]]
        assert sum(v > -9999 for v in values) <= 3
        assert values.count(-9999.0) >= 17
        kept = [math.exp(v) for v in values if v > -9999]
        assert sum(kept) == pytest.approx(1.0, abs=1e-3)


def test_inspector_works_in_processed_mode(api):
    body = {"model": MODEL, "messages": STORY, "steps": 3, **AGREEMENT_PARAMS}
    result = api.post("/v1/sampling/inspect", json=body).json()
    assert result["logprobs_mode"] == "processed"
    assert len(result["steps"]) == 3


def test_api_key_is_required_on_v1_only(processed_server):
    base = processed_server.base_url
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
        response = httpx.get(f"{base}/v1/models", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(f"{base}/health").status_code == 200
    assert httpx.get(f"{base}/v1/models", headers=AUTH).status_code == 200


def test_openai_sdk_with_the_key(processed_server):
    import openai

    client = openai.OpenAI(base_url=f"{processed_server.base_url}/v1", api_key=API_KEY)
    answer = client.chat.completions.create(model=MODEL, messages=STORY, max_tokens=2)
    assert answer.choices[0].message.content
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{processed_server.base_url}/v1", api_key="nope").models.list()


def test_cors_only_for_the_configured_origin(processed_server):
    def preflight(origin):
        return httpx.options(
            f"{processed_server.base_url}/v1/chat/completions",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )

    assert (
        preflight("http://allowed.example").headers.get("access-control-allow-origin")
        == "http://allowed.example"
    )
    assert "access-control-allow-origin" not in preflight("http://evil.example").headers


def test_caps_on_max_tokens_and_prompt(api):
    too_many = api.post(
        "/v1/chat/completions", json={"model": MODEL, "messages": STORY, "max_tokens": 513}
    )
    assert too_many.status_code == 400
    assert too_many.json()["error"]["param"] == "max_tokens"
    long_prompt = api.post(
        "/v1/completions", json={"model": MODEL, "prompt": "word " * 3000, "max_tokens": 1}
    )
    assert long_prompt.status_code == 400
    assert long_prompt.json()["error"]["code"] == "prompt_too_long"


def test_the_in_flight_bound_counts_engine_requests(processed_server, api):
    """--max-concurrent-requests 4: one request with n = 5 could never fit, so it is a 400;
    completions over 3 prompts x n 2 = 6 engine requests likewise."""
    chat = {"model": MODEL, "messages": STORY, "max_tokens": 2, "n": 5}
    refused = api.post("/v1/chat/completions", json=chat)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "n"
    completion = {"model": MODEL, "prompt": ["a", "b", "c"], "max_tokens": 2, "n": 2}
    assert api.post("/v1/completions", json=completion).status_code == 400
    fits = api.post("/v1/completions", json={**completion, "prompt": ["a", "b"]})
    assert fits.status_code == 200, fits.text
    assert len(fits.json()["choices"]) == 4


async def test_beyond_the_in_flight_bound_is_429_and_health_stays_up(processed_server):
    body = {"model": MODEL, "messages": STORY, "max_tokens": 48, "temperature": 0}
    async with httpx.AsyncClient(
        base_url=processed_server.base_url, headers=AUTH, timeout=120
    ) as client:
        requests = [client.post("/v1/chat/completions", json=body) for _ in range(10)]
        tasks = [asyncio.ensure_future(r) for r in requests]
        await asyncio.sleep(0.3)
        started = time.monotonic()
        health = await client.get("/health")
        metrics = await client.get("/metrics")
        health_seconds = time.monotonic() - started
        responses = await asyncio.gather(*tasks)
    assert health.status_code == 200 and metrics.status_code == 200
    assert health_seconds < 5
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) >= 4
    busy = [r for r in responses if r.status_code == 429]
    assert busy, statuses
    assert busy[0].headers["retry-after"] == "1"
    assert busy[0].json()["error"]["type"] == "rate_limit_error"


def test_access_log_is_json(processed_server, api):
    api.get("/v1/models", headers={"x-request-id": "json-log-check"})
    time.sleep(0.5)
    log = processed_server.log.read_text().splitlines()
    lines = [line for line in log if "json-log-check" in line]
    assert lines
    entry = json.loads(lines[-1])
    assert "json-log-check" in entry["message"]
    # one flat object: the access line's fields are the record's own, not a string in it
    assert entry["request_id"] == "json-log-check"
    assert entry["status"] == 200 and entry["path"] == "/v1/models"
    assert isinstance(entry["ms"], float)


@pytest.mark.stops_server
def test_engine_death_turns_health_503_and_the_process_exits_non_zero(processed_server, pool):
    """Runs last: it kills the engine's worker processes."""
    health = f"{processed_server.base_url}/health"
    for victim in processed_server.children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim.pid, signal.SIGKILL)
    statuses, generation = [], []
    chat = f"{processed_server.base_url}/v1/chat/completions"
    body = {"model": MODEL, "messages": STORY, "max_tokens": 2}
    auth = {"authorization": f"Bearer {API_KEY}"}
    deadline = time.monotonic() + 60
    while processed_server.process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            statuses.append(httpx.get(health, timeout=2).status_code)
            generation.append(httpx.post(chat, json=body, headers=auth, timeout=5).status_code)
        time.sleep(0.1)
    assert processed_server.process.wait(timeout=60) != 0
    assert 503 in statuses, statuses
    assert 200 not in statuses[statuses.index(503) :]
    # a dead engine is "unavailable", never an internal error
    assert 503 in generation and 500 not in generation, generation
    pool.forget()
