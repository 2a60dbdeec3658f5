"""Running safely: disconnects, request ids, metrics, version, and SIGTERM."""

import asyncio
import signal
import threading
import time

import httpx
import pytest

CHAT = "/v1/chat/completions"
STORY = [{"role": "user", "content": "Write a very long story about a dragon."}]


def engine_requests(http) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("sampling_server_engine_requests "):
            return float(line.split()[1])
    raise AssertionError("no sampling_server_engine_requests metric")


def wait_idle(http, seconds=20.0) -> float:
    deadline = time.monotonic() + seconds
    while (left := engine_requests(http)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


async def test_twenty_streaming_clients_hang_up_and_nothing_is_left(server, http, model):
    body = {
        "model": model,
        "messages": STORY,
        "max_tokens": 400,
        "stream": True,
        "temperature": 1.0,
        "seed": 1,
    }

    async def hang_up_mid_answer(client: httpx.AsyncClient) -> int:
        chunks = 0
        async with client.stream("POST", CHAT, json=body) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    chunks += 1
                if chunks >= 4:
                    break  # leaving the block closes the connection mid-answer
        return chunks

    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
        results = await asyncio.gather(*(hang_up_mid_answer(client) for _ in range(20)))
    assert all(r >= 4 for r in results)
    assert wait_idle(http) == 0
    response = http.post(CHAT, json={"model": model, "messages": STORY, "max_tokens": 3})
    assert response.status_code == 200


def test_a_non_streaming_client_that_hangs_up_aborts_its_request(server, http, model):
    body = {"model": model, "messages": STORY, "max_tokens": 2000, "temperature": 1.0}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}{CHAT}", json=body, timeout=1.5)
    assert wait_idle(http) == 0


def test_request_ids(http, model):
    mine = http.get("/health", headers={"x-request-id": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    generated = http.post(CHAT, json={"model": model, "messages": STORY, "max_tokens": 1})
    assert len(generated.headers["x-request-id"]) == 32
    error = http.post(CHAT, json={"model": model})
    assert error.headers["x-request-id"]


def test_metrics_count_requests_tokens_and_latency(http, model):
    http.post(CHAT, json={"model": model, "messages": STORY, "max_tokens": 3, "stream": True})
    text = http.get("/metrics").text
    for name in (
        'sampling_server_requests_total{route="/v1/chat/completions",status="200"}',
        "sampling_server_request_seconds_bucket",
        "sampling_server_time_to_first_token_seconds_count",
        "sampling_server_prompt_tokens_total",
        "sampling_server_generated_tokens_total",
        "sampling_server_requests_in_flight",
        "sampling_server_engine_requests",
        "sampling_server_engine_up 1.0",
        "sampling_server_memory_bytes",
    ):
        assert name in text, name


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
    """Runs last among the raw-mode tests: it stops that server."""
    result = {}

    def long_request():
        result["response"] = httpx.post(
            f"{server.base_url}{CHAT}",
            json={"model": model, "messages": STORY, "max_tokens": 40, "temperature": 0},
            timeout=120,
        )

    worker = threading.Thread(target=long_request)
    worker.start()
    time.sleep(0.5)
    server.process.send_signal(signal.SIGTERM)
    worker.join(timeout=120)
    assert result["response"].status_code == 200
    assert result["response"].json()["usage"]["completion_tokens"] == 40
    assert server.process.wait(timeout=60) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/health", timeout=2)
    pool.forget()
