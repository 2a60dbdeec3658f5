"""Hold N concurrent streams against a running server for M seconds, with hang-ups and bad
requests mixed in, then report errors, leaked engine requests and memory before and after.

    .venv/bin/python scripts/load.py --base-url http://127.0.0.1:8000 --concurrency 16 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from tqdm import tqdm

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
    memory_before_mb: float = 0.0
    memory_after_mb: float = 0.0

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
                response = await client.post(
                    "/v1/chat/completions", json={**body, "temperature": 9}
                )
                ok = response.status_code == 400 and "error" in response.json()
                kind = "bad_request_refused" if ok else "bad_request_mishandled"
            else:
                hang_up_after = rng.randint(2, 8) if roll < 0.25 else None
                kind = await stream(client, {**body, "stream": True}, hang_up_after, report)
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


async def run(base_url: str, concurrency: int, seconds: float) -> Report:
    report = Report(concurrency=concurrency, seconds=seconds)
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=300, limits=limits) as client:
        model = (await client.get("/v1/models")).json()["data"][0]["id"]
        before = (await client.get("/metrics")).text
        report.memory_before_mb = metric(before, "sampling_server_memory_bytes") / 2**20
        stop_at = time.monotonic() + seconds
        workers = [
            asyncio.create_task(worker(client, model, stop_at, report)) for _ in range(concurrency)
        ]
        with tqdm(total=int(seconds), desc="load", unit="s") as progress:
            while time.monotonic() < stop_at:
                await asyncio.sleep(1)
                progress.update(1)
                progress.set_postfix(requests=sum(report.outcomes.values()))
        await asyncio.gather(*workers)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = (await client.get("/metrics")).text
            report.leaked_engine_requests = metric(after, "sampling_server_engine_requests")
            if report.leaked_engine_requests == 0:
                break
            await asyncio.sleep(0.5)
        report.memory_after_mb = metric(after, "sampling_server_memory_bytes") / 2**20
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", type=Path, default=Path("results/load.json"))
    args = parser.parse_args()
    report = asyncio.run(run(args.base_url, args.concurrency, args.seconds))
    total = sum(report.outcomes.values())
    print(f"concurrency {report.concurrency}, {report.seconds:.0f} s, {total} requests")
    for kind, count in sorted(report.outcomes.items()):
        print(f"  {kind:24} {count}")
    print(f"  streamed tokens          {report.tokens}")
    print(f"  unexpected errors        {report.errors}")
    print(f"  leaked engine requests   {report.leaked_engine_requests:.0f}")
    print(
        f"  memory                   {report.memory_before_mb:.0f} MiB -> "
        f"{report.memory_after_mb:.0f} MiB"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {**asdict(report), "outcomes": dict(report.outcomes), "errors": report.errors}
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    raise SystemExit(1 if report.errors or report.leaked_engine_requests else 0)


if __name__ == "__main__":
    main()
