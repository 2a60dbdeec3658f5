"""Hold N concurrent streams against a running server for M seconds, with hang-ups and bad
requests mixed in, then report errors, leaked engine requests, how soon the engine went idle,
memory at the start, middle and end, and /health latency (polled every 100 ms throughout).
A hung-up stream asks for 2,000 tokens with ignore_eos, so only an abort can end it early.

    .venv/bin/python -m bench load --base-url http://127.0.0.1:8000 --concurrency 16 --seconds 60
    .venv/bin/python -m bench load --concurrency 64 --seconds 1800   # the 30-minute soak

Writes docs/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from tqdm import tqdm

from bench import RESULTS
from bench.stats import Latencies

BAD = [{"temperature": 9}, {"stop": [""]}, {"seed": 2**80}, {"logit_bias": {"--5": 1}}]
PROMPTS = [
    "Write a story about a dragon.",
    "Explain photosynthesis.",
    "List ten fruits.",
    "What is the capital of France?",
    "Describe the sea at night.",
]


@dataclass
class Report:
    concurrency: int
    seconds: float
    outcomes: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    unexpected: list[str] = field(default_factory=list)
    leaked_engine_requests: float = 0.0
    seconds_to_idle: float = 0.0
    memory_mb: dict[str, float] = field(default_factory=dict)
    health_ms: Latencies | None = None

    @property
    def errors(self) -> int:
        return len(self.unexpected)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


async def worker(client: httpx.AsyncClient, model: str, stop_at: float, report: Report) -> None:
    rng = random.Random()
    while time.monotonic() < stop_at:
        roll = rng.random()
        messages = [{"role": "user", "content": rng.choice(PROMPTS)}]
        body = {"model": model, "messages": messages, "max_tokens": rng.randint(16, 64)}
        try:
            if roll < 0.1:
                bad = {**body, **rng.choice(BAD)}
                response = await client.post("/v1/chat/completions", json=bad)
                ok = response.status_code == 400 and "error" in response.json()
                kind = "bad_request_refused" if ok else "bad_request_mishandled"
            elif roll < 0.25:
                endless = {**body, "stream": True, "max_tokens": 2000, "ignore_eos": True}
                kind = await stream(client, endless, rng.randint(2, 8), report)
            else:
                kind = await stream(client, {**body, "stream": True}, None, report)
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            kind = "exception"
            report.unexpected.append(f"{type(exc).__name__}: {exc}")
        report.outcomes[kind] += 1
        if kind.endswith("mishandled") or kind.startswith("status_"):
            report.unexpected.append(kind)


async def stream(
    client: httpx.AsyncClient, body: dict, hang_up_after: int | None, report: Report
) -> str:
    chunks = 0
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            return f"status_{response.status_code}"
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunks += 1
            if hang_up_after is not None and chunks >= hang_up_after:
                return "hung_up"
    report.tokens += max(chunks - 2, 0)
    return "served"


async def memory_mb(client: httpx.AsyncClient) -> float:
    return metric((await client.get("/metrics")).text, "sampling_server_memory_bytes") / 2**20


async def poll_health(client: httpx.AsyncClient, stop: asyncio.Event, into: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/health")
        into.append(time.perf_counter() - started)
        await asyncio.sleep(0.1)


async def run(base_url: str, concurrency: int, seconds: float) -> Report:
    report = Report(concurrency=concurrency, seconds=seconds)
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=300, limits=limits) as client,
        httpx.AsyncClient(base_url=base_url, timeout=60) as monitor,
    ):
        model = (await client.get("/v1/models")).json()["data"][0]["id"]
        report.memory_mb["start"] = await memory_mb(monitor)
        health: list[float] = []
        stop = asyncio.Event()
        polling = asyncio.create_task(poll_health(monitor, stop, health))
        stop_at = time.monotonic() + seconds
        workers = [
            asyncio.create_task(worker(client, model, stop_at, report)) for _ in range(concurrency)
        ]
        with tqdm(total=int(seconds), desc="load", unit="s") as progress:
            while time.monotonic() < stop_at:
                await asyncio.sleep(1)
                progress.update(1)
                progress.set_postfix(requests=sum(report.outcomes.values()))
                if "middle" not in report.memory_mb and progress.n >= seconds / 2:
                    report.memory_mb["middle"] = await memory_mb(monitor)
        await asyncio.gather(*workers)
        stop.set()
        await polling
        finished = time.monotonic()
        while time.monotonic() < finished + 30:
            after = (await monitor.get("/metrics")).text
            report.leaked_engine_requests = metric(after, "sampling_server_engine_requests")
            if report.leaked_engine_requests == 0:
                break
            await asyncio.sleep(0.1)
        report.seconds_to_idle = round(time.monotonic() - finished, 2)
        report.memory_mb["end"] = metric(after, "sampling_server_memory_bytes") / 2**20
        report.health_ms = Latencies.of(health)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.base_url, args.concurrency, args.seconds))
    total = sum(report.outcomes.values())
    print(f"concurrency {report.concurrency}, {report.seconds:.0f} s, {total} requests")
    for kind, count in sorted(report.outcomes.items()):
        print(f"  {kind:24} {count}")
    print(f"  streamed tokens          {report.tokens}")
    print(f"  unexpected errors        {report.errors}")
    print(f"  leaked engine requests   {report.leaked_engine_requests:.0f}")
    print(f"  engine idle after        {report.seconds_to_idle} s")
    memory = " -> ".join(f"{v:.0f}" for v in report.memory_mb.values())
    print(f"  memory (start/mid/end)   {memory} MiB")
    print(f"  /health latency          {asdict(report.health_ms)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {**asdict(report), "outcomes": dict(report.outcomes), "errors": report.errors}
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 1 if report.errors or report.leaked_engine_requests else 0
