"""Does the server stay responsive while one request does heavy CPU work? Against a running
server: /health is polled every 20 ms throughout; first alone, then while requests whose
preparation grows with the input run one after another (a 100,000-character prompt through
/v1/tokenize and /v1/chat/completions, the latter refused after templating because it
exceeds the context) and maximal inspections (64 steps, 200 top candidates). Prints /health
latency p50, p99 and max for both phases.

    .venv/bin/python -m bench loop_latency --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

import httpx

from bench.stats import Latencies

POLL_S = 0.02
LONG_TEXT = ("The quick brown fox jumps over the lazy dog. " * 2300)[:100_000]


async def poll(client: httpx.AsyncClient, stop: asyncio.Event, into: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/health")
        into.append(time.perf_counter() - started)
        await asyncio.sleep(POLL_S)


async def heavy(client: httpx.AsyncClient, model: str, rounds: int) -> list[str]:
    messages = [{"role": "user", "content": LONG_TEXT}]
    outcomes = []
    for _ in range(rounds):
        tokenized = await client.post("/v1/tokenize", json={"model": model, "messages": messages})
        chat = await client.post(
            "/v1/chat/completions", json={"model": model, "messages": messages, "max_tokens": 1}
        )
        inspection = await client.post(
            "/v1/sampling/inspect",
            json={
                "model": model,
                "prompt": "Once upon a time",
                "steps": 64,
                "top_candidates": 200,
                "max_candidates": 500,
                "temperature": 1.5,
            },
        )
        outcomes.append(f"{tokenized.status_code}/{chat.status_code}/{inspection.status_code}")
    return outcomes


async def main_async(base_url: str, rounds: int, idle_s: float) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=600) as poller,
        httpx.AsyncClient(base_url=base_url, timeout=600) as worker,
    ):
        model = (await worker.get("/v1/models")).json()["data"][0]["id"]
        idle: list[float] = []
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(poller, stop, idle))
        await asyncio.sleep(idle_s)
        stop.set()
        await polling
        print(f"idle:        {Latencies.of(idle)}")
        busy: list[float] = []
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(poller, stop, busy))
        started = time.perf_counter()
        outcomes = await heavy(worker, model, rounds)
        stop.set()
        await polling
        print(f"heavy work:  {Latencies.of(busy)}")
        print(
            f"({rounds} rounds of tokenize/chat/inspect in {time.perf_counter() - started:.1f} s;"
            f" statuses {', '.join(outcomes)})"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.base_url, args.rounds, args.idle_seconds))
