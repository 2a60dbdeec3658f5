"""What the extra samplers cost: output tokens/s at 16 concurrent streams, side by side in
interleaved rounds, for requests that use none of them, half the batch with DRY, the whole
batch with DRY, and the whole batch with top-n-sigma + typical-p + XTC; with --baseline-dir
also the server as it was before the samplers (another checkout, e.g. `git worktree add
/tmp/before fddd77a`), which registers no logits processor.

    .venv/bin/python -m bench sampler_cost [--baseline-dir /tmp/before] [--rounds 3]

Each request: a fixed prompt of 64 token ids, exactly 64 tokens generated (ignore_eos,
temperature 1, seeded). Writes docs/results/sampler_cost.json and prints the medians."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import RESULTS
from bench.server import free_port, running, server_command
from bench.throughput import tokens_per_s

DRY = {"dry_multiplier": 0.8}
TRUNCATIONS = {"top_n_sigma": 2.0, "typical_p": 0.95, "xtc_probability": 0.5}
# name -> what request i of a level adds to its body
MIXES: dict[str, Any] = {
    "none": lambda i: {},
    "half DRY": lambda i: DRY if i % 2 else {},
    "all DRY": lambda i: DRY,
    "all truncations": lambda i: TRUNCATIONS,
}


async def level(base_url: str, mix: str, streams: int, requests: int, tokens: int) -> float:
    """Output tokens/s of `requests` requests, `streams` at a time."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        model = (await http.get("/v1/models")).json()["data"][0]["id"]
        return await tokens_per_s(
            http,
            model,
            lambda i: {"temperature": 1.0, **MIXES[mix](i)},
            streams,
            requests,
            tokens,
            mix,
        )


def measure(target: str, cwd: Path, mixes: Sequence[str], args: argparse.Namespace) -> dict:
    port = free_port()
    command = server_command(port, "--config", "config/cpu.yaml")
    log = args.out.with_suffix(f".{target}.log")
    found = {}
    with running(command, port, log=log, cwd=cwd) as server:
        asyncio.run(level(server.base_url, "none", args.streams, args.streams, 8))  # warm up
        for mix in mixes:
            found[mix] = asyncio.run(
                level(server.base_url, mix, args.streams, args.requests, args.tokens)
            )
            print(f"  {target:7} {mix:16} {found[mix]:8.1f} tokens/s", flush=True)
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-dir", type=Path, help="a checkout from before the samplers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS / "sampler_cost.json")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rounds: list[dict[str, dict[str, float]]] = []
    for r in range(args.rounds):
        print(f"round {r + 1} of {args.rounds}", flush=True)
        found: dict[str, dict[str, float]] = {}
        order = [("before", args.baseline_dir, ["none"])] if args.baseline_dir else []
        order.append(("now", Path.cwd(), list(MIXES)))
        for target, cwd, mixes in order[r % len(order) :] + order[: r % len(order)]:
            # each round's mixes in a rotated order too: slow drifts hit all alike
            shift = r % len(mixes)
            found[target] = measure(target, cwd, mixes[shift:] + mixes[:shift], args)
        rounds.append(found)
    medians = {
        f"{target} / {mix}": statistics.median(r[target][mix] for r in rounds)
        for target in rounds[0]
        for mix in rounds[0][target]
    }
    base = medians["now / none"]
    print(f"\nmedians over {args.rounds} rounds, {args.streams} streams:")
    for name, value in medians.items():
        print(f"  {name:24} {value:8.1f} tokens/s  {value / base - 1:+6.1%} against now / none")
    result = {
        "python": sys.version.split()[0],
        "streams": args.streams,
        "requests": args.requests,
        "tokens": args.tokens,
        "rounds": rounds,
        "medians_tokens_per_s": medians,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
