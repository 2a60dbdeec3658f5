"""Running safely: disconnects, request ids, metrics, version, and SIGTERM."""

import asyncio
import json
import signal
import threading
import time

import httpx
import pytest

from server.settings import load_settings
from server.store.database import ResponseStore, database_url

CHAT = "/v1/chat/completions"
STORY = [{"role": "user", "content": "Write a very long story about a dragon."}]


def engine_requests(http) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("sampling_server_engine_requests "):
            return float(line.split()[1])
    raise AssertionError("no sampling_server_engine_requests metric")


def wait_idle(http, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    while (left := engine_requests(http)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# 2,000 tokens that cannot end early (ignore_eos): at ~350 tokens/s summed on two cores, 20
# such streams would run for minutes. Idle within IDLE_S of the hang-up means they were
# aborted, not finished.
LONG = {"max_tokens": 2000, "ignore_eos": True, "temperature": 1.0, "seed": 1}
IDLE_S = 3.0


async def _hang_up_mid_stream(client: httpx.AsyncClient, body: dict, chunks_wanted=4) -> int:
    chunks = 0
    async with client.stream("POST", CHAT, json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                chunks += 1
            if chunks >= chunks_wanted:
                break  # leaving the block closes the connection mid-answer
    return chunks


async def test_twenty_streaming_clients_hang_up_and_nothing_is_left(server, http, model):
    body = {"model": model, "messages": STORY, "stream": True, **LONG}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        results = await asyncio.gather(*(_hang_up_mid_stream(client, body) for _ in range(20)))
    assert all(r >= 4 for r in results)
    assert wait_idle(http, IDLE_S) == 0
    response = http.post(CHAT, json={"model": model, "messages": STORY, "max_tokens": 3})
    assert response.status_code == 200


async def test_a_streaming_n_4_client_hangs_up_and_every_choice_is_aborted(server, http, model):
    body = {"model": model, "messages": STORY, "stream": True, "n": 4, **LONG}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        await _hang_up_mid_stream(client, body, chunks_wanted=12)
    assert wait_idle(http, IDLE_S) == 0


def test_a_non_streaming_client_that_hangs_up_aborts_its_request(server, http, model):
    body = {"model": model, "messages": STORY, "n": 2, **LONG}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}{CHAT}", json=body, timeout=1.5)
    assert wait_idle(http, IDLE_S) == 0
    # counted as the client's hang-up (nginx's 499), not as a server error
    assert 'route="/v1/chat/completions",status="499"' in http.get("/metrics").text
    assert "Exception in ASGI application" not in server.log.read_text()


def test_an_inspection_whose_client_hangs_up_is_aborted(server, http, model):
    """64 full-vocabulary steps that cannot end early take about 5 s here; idle within 1.5 s
    of the hang-up means the inspection was aborted, not finished."""
    body = {
        "model": model,
        "messages": STORY,
        "steps": 64,
        "max_candidates": 500,
        "ignore_eos": True,
    }
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/v1/sampling/inspect", json=body, timeout=0.3)
    assert wait_idle(http, 1.5) == 0


def test_request_ids(http, model):
    mine = http.get("/health", headers={"x-request-id": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    # too long or unprintable: a generated id instead of the client's
    for bad in ("x" * 129, "a\tb"):
        replaced = http.get("/health", headers={"x-request-id": bad}).headers["x-request-id"]
        assert replaced != bad and len(replaced) == 32
    assert http.get("/health", headers={"x-request-id": "y" * 128}).headers["x-request-id"] == (
        "y" * 128
    )
    generated = http.post(CHAT, json={"model": model, "messages": STORY, "max_tokens": 1})
    assert len(generated.headers["x-request-id"]) == 32
    error = http.post(CHAT, json={"model": model})
    assert error.headers["x-request-id"]


def _samples(http) -> dict[str, float]:
    """Every metric sample by its full name with labels."""
    samples = {}
    for line in http.get("/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_move_by_what_known_requests_did(http, model):
    chat_200 = 'sampling_server_requests_total{route="/v1/chat/completions",status="200"}'
    chat_400 = 'sampling_server_requests_total{route="/v1/chat/completions",status="400"}'
    latency = 'sampling_server_request_seconds_count{route="/v1/chat/completions"}'
    prompt = len(
        http.post("/v1/tokenize", json={"model": model, "messages": STORY}).json()["tokens"]
    )
    before = _samples(http)
    exact = {"model": model, "messages": STORY, "max_tokens": 5, "ignore_eos": True}
    assert http.post(CHAT, json=exact).status_code == 200
    streamed = http.post(CHAT, json={**exact, "max_tokens": 3, "stream": True})
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("[DONE]")
    assert http.post(CHAT, json={"model": model}).status_code == 400
    after = _samples(http)

    def moved(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert moved(chat_200) == 2
    assert moved(chat_400) == 1
    assert moved(latency) == 3
    assert moved("sampling_server_generated_tokens_total") == 5 + 3
    assert moved("sampling_server_prompt_tokens_total") == 2 * prompt
    assert moved("sampling_server_time_to_first_token_seconds_count") == 1  # streamed only
    assert after["sampling_server_requests_in_flight"] == 0
    assert after["sampling_server_engine_requests"] == 0
    assert after["sampling_server_engine_up"] == 1
    assert after["sampling_server_memory_bytes"] > 100e6


def test_version(http):
    body = http.get("/version").json()
    assert body["version"] == "0.1.0"
    assert body["vllm"].startswith("0.32")


def test_body_too_large_is_413(http, model):
    huge = "x" * 4_100_000
    response = http.post(
        CHAT, json={"model": model, "messages": [{"role": "user", "content": huge}]}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.stops_server
def test_sigterm_lets_in_flight_requests_finish_and_exits_zero(server, pool, model):
    """Runs last among the raw-mode tests: it stops that server. Nothing in flight is lost,
    a stored response included."""
    result = {}

    def long_request():
        result["response"] = httpx.post(
            f"{server.base_url}{CHAT}",
            json={"model": model, "messages": STORY, "max_tokens": 40, "temperature": 0},
            timeout=120,
        )

    def stored_request():
        body = {"model": model, "input": "Tell a story.", "max_output_tokens": 40}
        result["stored"] = httpx.post(f"{server.base_url}/v1/responses", json=body, timeout=120)

    workers = [threading.Thread(target=long_request), threading.Thread(target=stored_request)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    server.process.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.join(timeout=120)
    assert result["response"].status_code == 200
    assert result["response"].json()["usage"]["completion_tokens"] == 40
    # A response answered during the drain is stored like any other.
    assert result["stored"].status_code == 200
    answered = result["stored"].json()
    store = ResponseStore(database_url(None, load_settings([]).cache_dir))
    kept = store.get(answered["id"], "")
    store.close()
    assert kept is not None and kept.status == answered["status"]
    assert [item["id"] for item in json.loads(kept.response)["output"]] == [
        item["id"] for item in answered["output"]
    ]
    assert server.process.wait(timeout=60) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/health", timeout=2)
    pool.forget()
