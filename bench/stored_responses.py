"""What state costs and saves in the Responses API, on SQLite and on PostgreSQL:

1. the second turn of a conversation over a ~2,000-token prefix, continued with
   `previous_response_id` or by resending the whole history: time to first token and the
   engine's `cached_tokens` (the first turn, cold, is the no-cache reference);
2. the store's write and read latency at 16 concurrent clients: the database alone (16
   threads on ResponseStore), and through the server (GET /v1/responses/{id}; a one-token
   POST with store true against store false).

    .venv/bin/python -m bench stored_responses [--rounds 5] [--clients 16]

Needs Debian's PostgreSQL (bench/postgres.py starts a throwaway one). Writes
docs/results/stored_responses.json and prints medians."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import RESULTS
from bench.postgres import create_database, local_postgres
from bench.server import free_port, running, server_command
from bench.stats import percentile

WORDS = [
    "river",
    "lamp",
    "stone",
    "harvest",
    "window",
    "signal",
    "orchard",
    "copper",
    "lantern",
    "meadow",
    "engine",
    "thread",
    "harbor",
    "ledger",
    "summit",
    "valley",
    "cipher",
    "garden",
    "marble",
    "circuit",
    "falcon",
    "canvas",
    "anchor",
    "quarry",
    "violet",
    "ember",
    "compass",
    "pillar",
    "glacier",
    "saddle",
    "beacon",
    "tunnel",
    "prairie",
    "willow",
    "furnace",
    "kettle",
]
DOCUMENT_WORDS = 1660  # ~2,000 tokens of SmolLM2's tokenizer
FIRST_QUESTION = "Summarize this text in one sentence."
SECOND_QUESTION = "Which word appears most often in it?"


def document(seed: int) -> str:
    """A different text every round, so each first turn starts with a cold cache."""
    pick = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < DOCUMENT_WORDS:
        words = pick.choices(WORDS, k=pick.randint(6, 14))
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


@dataclass(frozen=True)
class Turn:
    ttft_s: float
    total_s: float
    input_tokens: int
    cached_tokens: int
    response_id: str
    text: str


async def streamed(http, body: dict) -> Turn:
    """One streamed Responses request: time to its first text delta, and its usage."""
    started = time.perf_counter()
    first = None
    final: dict = {}
    async with http.stream("POST", "/v1/responses", json={**body, "stream": True}) as answer:
        answer.raise_for_status()
        async for line in answer.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line.removeprefix("data: "))
            if event["type"] == "response.output_text.delta" and first is None:
                first = time.perf_counter() - started
            if event["type"] in ("response.completed", "response.incomplete"):
                final = event["response"]
    usage = final["usage"]
    return Turn(
        ttft_s=first if first is not None else float("nan"),
        total_s=time.perf_counter() - started,
        input_tokens=usage["input_tokens"],
        cached_tokens=usage["input_tokens_details"]["cached_tokens"],
        response_id=final["id"],
        text="".join(
            part["text"]
            for item in final["output"]
            if item["type"] == "message"
            for part in item["content"]
        ),
    )


async def conversation(base_url: str, rounds: int, seed: int) -> list[dict]:
    """Per round: a cold first turn, then the second both ways (order alternating)."""
    import httpx

    found = []
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        model = (await http.get("/v1/models")).json()["data"][0]["id"]
        greedy = {"model": model, "temperature": 0, "max_output_tokens": 16}
        for r in range(rounds):
            opening = f"{document(seed + r)}\n\n{FIRST_QUESTION}"
            first = await streamed(http, {**greedy, "input": opening})
            history = [
                {"role": "user", "content": opening},
                {"role": "assistant", "content": first.text},
                {"role": "user", "content": SECOND_QUESTION},
            ]
            ways = {
                "previous_response_id": {
                    **greedy,
                    "input": SECOND_QUESTION,
                    "previous_response_id": first.response_id,
                },
                "resent history": {**greedy, "input": history},
            }
            names = list(ways) if r % 2 == 0 else list(reversed(ways))
            turns = {name: await streamed(http, ways[name]) for name in names}
            row = {"round": r, "first turn (cold)": asdict(first)}
            row |= {name: asdict(turn) for name, turn in turns.items()}
            found.append(row)
            print(
                f"    round {r + 1}: first {first.ttft_s * 1000:6.0f} ms ({first.input_tokens} "
                "tokens); "
                + "; ".join(
                    f"{name} {t.ttft_s * 1000:5.0f} ms, cached {t.cached_tokens}/{t.input_tokens}"
                    for name, t in turns.items()
                ),
                flush=True,
            )
    return found


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(values, 0.50) * 1000,
        "p95_ms": percentile(values, 0.95) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
    }


async def through_server(base_url: str, clients: int, per_client: int) -> dict:
    """GET latency of stored responses, and what storing adds to a one-token POST."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        model = (await http.get("/v1/models")).json()["data"][0]["id"]
        tiny = {"model": model, "input": "Hi.", "max_output_tokens": 1}

        async def post(store: bool) -> float:
            started = time.perf_counter()
            answer = await http.post("/v1/responses", json={**tiny, "store": store})
            answer.raise_for_status()
            return time.perf_counter() - started

        posts: dict[bool, list[float]] = {True: [], False: []}
        for r in range(per_client // 4):  # interleaved batches of `clients` at a time
            for store in (True, False) if r % 2 == 0 else (False, True):
                posts[store] += await asyncio.gather(*(post(store) for _ in range(clients)))
        ids = [
            (await http.post("/v1/responses", json={**tiny, "store": True})).json()["id"]
            for _ in range(clients)
        ]

        async def reader(i: int) -> list[float]:
            took = []
            for k in range(per_client):
                started = time.perf_counter()
                answer = await http.get(f"/v1/responses/{ids[(i + k) % len(ids)]}")
                answer.raise_for_status()
                took.append(time.perf_counter() - started)
            return took

        reads = [t for ts in await asyncio.gather(*(reader(i) for i in range(clients))) for t in ts]
    return {
        "GET /v1/responses/{id}": summary(reads),
        "POST one token, store true": summary(posts[True]),
        "POST one token, store false": summary(posts[False]),
    }


def store_alone(url: str, clients: int, per_client: int, context_chars: int) -> dict:
    """`clients` threads writing then reading records the size of the conversation's."""
    from server.store.database import ResponseStore, StoredResponse

    store = ResponseStore(url)
    context = json.dumps([{"type": "message", "role": "user", "content": "x" * context_chars}])
    body = json.dumps({"id": "r", "output": [{"type": "message", "content": "y" * 200}]})
    writes: list[float] = []
    reads: list[float] = []
    lock = threading.Lock()

    def work(i: int, read: bool) -> None:
        took = []
        for k in range(per_client):
            response_id = f"resp_{i}_{k}"
            started = time.perf_counter()
            if read:
                assert store.get(response_id, "owner") is not None
            else:
                record = StoredResponse(
                    response_id, "owner", int(time.time()), "completed", body, context, context
                )
                store.add(record)
            took.append(time.perf_counter() - started)
        with lock:
            (reads if read else writes).extend(took)

    for read in (False, True):
        threads = [threading.Thread(target=work, args=(i, read)) for i in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rate = clients * per_client / (time.perf_counter() - started)
        print(f"    {'read ' if read else 'write'} {rate:8.0f}/s", flush=True)
    store.close()
    return {"write": summary(writes), "read": summary(reads)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=40)
    parser.add_argument("--pg-port", type=int, default=54339)
    parser.add_argument("--out", type=Path, default=RESULTS / "stored_responses.json")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="stored-responses-"))
    result: dict = {"python": sys.version.split()[0], "clients": args.clients, "backends": {}}
    with local_postgres(args.pg_port) as postgres:
        urls = {
            "sqlite": f"sqlite:///{scratch / 'responses.sqlite3'}",
            "postgresql": create_database(postgres, "served"),
        }
        for seed, (backend, url) in enumerate(urls.items()):
            print(f"{backend}: the server", flush=True)
            port = free_port()
            command = server_command(port, "--config", "config/cpu.yaml", "--store-url", url)
            log = args.out.with_suffix(f".{backend}.log")
            with running(command, port, log=log) as server:
                turns = asyncio.run(conversation(server.base_url, args.rounds, 1000 * seed))
                served = asyncio.run(through_server(server.base_url, args.clients, args.per_client))
            context_chars = len(document(0)) + 200
            print(f"{backend}: the store alone, {args.clients} threads", flush=True)
            direct_url = (
                create_database(postgres, "alone")
                if backend == "postgresql"
                else f"sqlite:///{scratch / 'alone.sqlite3'}"
            )
            alone = store_alone(direct_url, args.clients, args.per_client * 5, context_chars)
            result["backends"][backend] = {
                "conversation": turns,
                "through the server": served,
                "store alone": alone,
            }
    medians = {}
    for backend, found in result["backends"].items():
        for way in ("first turn (cold)", "previous_response_id", "resent history"):
            rows = [row[way] for row in found["conversation"]]
            medians[f"{backend} / {way}"] = {
                "ttft_ms": statistics.median(r["ttft_s"] for r in rows) * 1000,
                "input_tokens": statistics.median(r["input_tokens"] for r in rows),
                "cached_tokens": statistics.median(r["cached_tokens"] for r in rows),
            }
    result["medians"] = medians
    print(f"\nmedians over {args.rounds} rounds:")
    for name, value in medians.items():
        print(
            f"  {name:36} time to first token {value['ttft_ms']:7.1f} ms, "
            f"cached {value['cached_tokens']:.0f} of {value['input_tokens']:.0f}"
        )
    for backend, found in result["backends"].items():
        for where in ("store alone", "through the server"):
            for op, stats in found[where].items():
                print(
                    f"  {backend:10} {where:18} {op:28} p50 {stats['p50_ms']:7.2f} ms "
                    f"p95 {stats['p95_ms']:7.2f} ms p99 {stats['p99_ms']:7.2f} ms"
                )
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
