"""Does the same request give the same answer whatever runs beside it? One request, greedy or
seeded, sent alone and then with 1, 8 and 32 other requests in flight beside it, through the
real server, per engine configuration; the share of answers identical to the one it gave
alone, and the throughput each configuration keeps under load.

    .venv/bin/python -m bench determinism            # writes docs/results/determinism.json
    .venv/bin/python -m bench determinism --configs fp32 --repeats 1

One server at a time. `serial` is the CPU default with `--max-num-seqs 1`: no request shares
a batch with another, the one configuration here where load cannot change the arithmetic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import RESULTS, provenance
from bench.server import free_port, running, server_command

TARGETS = (
    "What is the capital of France?",
    "Explain what a prime number is.",
    "Write a haiku about the sea.",
    "Describe Paris in JSON.",
)
MODES = {"greedy": {"temperature": 0}, "seeded": {"temperature": 0.8, "seed": 42}}
LOADS = (0, 1, 8, 32)


@dataclass(frozen=True)
class Config:
    args: tuple[str, ...]  # the server's
    targets: int = len(TARGETS)  # serial rounds wait for every other request in turn


CONFIGS = {
    "fp32": Config(()),
    "bf16": Config(("--config", "config/cpu-bf16.yaml")),
    "serial": Config(("--max-num-seqs", "1"), targets=2),
}


@dataclass
class Cell:
    config: str
    mode: str
    others: int
    identical: int
    runs: int


@dataclass
class Throughput:
    config: str
    others: int
    tokens_per_s: float  # every request's completion tokens over the rounds' wall time


async def ask(client, model: str, prompt: str, tokens: int, sampling: dict) -> tuple[str, int]:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    body |= {"max_tokens": tokens} | sampling
    response = await client.post("/v1/chat/completions", json=body)
    response.raise_for_status()
    data = response.json()
    return data["choices"][0]["message"]["content"], data["usage"]["completion_tokens"]


async def measure(
    base_url: str, config: str, tokens: int, repeats: int
) -> tuple[list[Cell], list[Throughput]]:
    import httpx

    targets = TARGETS[: CONFIGS[config].targets]
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        model = (await client.get("/v1/models")).json()["data"][0]["id"]
        cells, rates = [], []
        alone = {
            (mode, p): (await ask(client, model, p, tokens, sampling))[0]
            for mode, sampling in MODES.items()
            for p in targets
        }
        for others in LOADS:
            counts = {mode: 0 for mode in MODES}
            produced, wall = 0, 0.0
            for round_ in range(repeats):
                for i, prompt in enumerate(targets):
                    for mode, sampling in MODES.items():
                        # Other requests: other prompts, other sampling, other lengths.
                        beside = [
                            ask(
                                client,
                                model,
                                f"Count from {round_ + j} to {round_ + j + 20}.",
                                16 + (j * 7 + i) % 48,
                                {"temperature": 0.7, "seed": j},
                            )
                            for j in range(others)
                        ]
                        started = time.monotonic()
                        results = await asyncio.gather(
                            ask(client, model, prompt, tokens, sampling), *beside
                        )
                        wall += time.monotonic() - started
                        produced += sum(n for _, n in results)
                        counts[mode] += results[0][0] == alone[(mode, prompt)]
            runs = repeats * len(targets)
            cells += [Cell(config, mode, others, counts[mode], runs) for mode in MODES]
            rates.append(Throughput(config, others, round(produced / wall, 1)))
            print(
                f"{config:<7} beside {others:>2}: "
                + "  ".join(f"{m} {counts[m]}/{runs}" for m in MODES)
                + f"  {produced / wall:6.1f} tok/s",
                flush=True,
            )
    return cells, rates


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "determinism.json")
    args = parser.parse_args(argv)

    cells: list[Cell] = []
    rates: list[Throughput] = []
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    for config in args.configs:
        port = free_port()
        log = Path(f"/tmp/determinism-{config}.log")
        with running(server_command(port, *CONFIGS[config].args), port, log=log, env=env) as server:
            found, kept = asyncio.run(measure(server.base_url, config, args.tokens, args.repeats))
        cells += found
        rates += kept
    result = {
        **provenance("determinism", argv),
        "tokens": args.tokens,
        "targets": list(TARGETS),
        "modes": MODES,
        "configs": {name: asdict(CONFIGS[name]) for name in args.configs},
        "cells": [asdict(c) for c in cells],
        "throughput": [asdict(r) for r in rates],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
