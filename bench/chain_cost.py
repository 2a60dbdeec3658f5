"""What the sampler chain's order, adaptive-p and processed logprobs cost in throughput.

Output tokens/s at 16 concurrent streams, side by side in interleaved rounds on one server
started once, for six request mixes: the default order (temperature 0.8, top_k 40, top_p 0.95,
min_p 0.05, which vLLM's own sampler runs); the same values in llama.cpp's order (`"samplers":
"llama.cpp"`, temperature last) and in a custom order (top_k, temperature, top_p, min_p), each
run whole as the server's logits processor; adaptive-p (temperature 1, `adaptive_target` 0.5,
the server's processor); and the default order with 5 logprobs, raw and processed
(`logprobs_mode`: the chain replayed on each step's full raw distribution).

    .venv/bin/python -m bench chain_cost [--rounds 3] [--streams 16] [--requests 32]

Each request: POST /v1/completions with a fixed prompt of 64 token ids, exactly 64 tokens
generated (ignore_eos, seeded). A failed request stops the run with the server's error body.
Writes docs/results/chain_cost.json (per mix each round's tokens/s, the median and its ratio
to the default order) and prints the medians."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import RESULTS, provenance
from bench.server import free_port, running, server_command
from bench.throughput import RequestFailed, tokens_per_s

if TYPE_CHECKING:
    pass

WARM_UP_TOKENS = 8
DEFAULT: dict[str, Any] = {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05}


@dataclass(frozen=True)
class Mix:
    name: str
    body: dict[str, Any]  # what each of its requests adds to the common body


MIXES = (
    Mix("default order", DEFAULT),
    Mix("llama.cpp order", {**DEFAULT, "samplers": "llama.cpp"}),
    Mix("custom order", {**DEFAULT, "samplers": ["top_k", "temperature", "top_p", "min_p"]}),
    Mix("adaptive-p", {"temperature": 1.0, "adaptive_target": 0.5}),
    Mix("raw logprobs", {**DEFAULT, "logprobs": 5}),
    Mix("processed logprobs", {**DEFAULT, "logprobs": 5, "logprobs_mode": "processed"}),
)


@dataclass(frozen=True)
class MixResult:
    name: str
    body: dict[str, Any]
    tokens_per_s: list[float]  # one per round, in round order
    median_tokens_per_s: float
    ratio_to_default: float


async def measure(base_url: str, args: argparse.Namespace) -> tuple[str, list[list[float]]]:
    """The model and, per round, each mix's tokens/s (in MIXES' order)."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=600) as http:
        model = (await http.get("/v1/models")).json()["data"][0]["id"]
        for mix in MIXES:  # warm-up: one short request each
            await tokens_per_s(http, model, lambda i, m=mix: m.body, 1, 1, WARM_UP_TOKENS, mix.name)
        rounds: list[list[float]] = []
        for r in range(args.rounds):
            print(f"round {r + 1} of {args.rounds}", flush=True)
            found = [0.0] * len(MIXES)
            # each round's mixes in a rotated order: slow drifts hit all alike
            for m in [(m + r) % len(MIXES) for m in range(len(MIXES))]:
                mix = MIXES[m]
                found[m] = await tokens_per_s(
                    http,
                    model,
                    lambda i, mix=mix: mix.body,
                    args.streams,
                    args.requests,
                    args.tokens,
                    mix.name,
                )
                print(f"  {MIXES[m].name:20} {found[m]:8.1f} tokens/s", flush=True)
            rounds.append(found)
    return model, rounds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--requests", type=int, default=32, help="requests per mix and round")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--config", default="config/cpu.yaml", help="the server's config")
    parser.add_argument("--out", type=Path, default=RESULTS / "chain_cost.json")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = server_command(port, "--config", args.config)
    try:
        with running(command, port, log=args.out.with_suffix(".log")) as server:
            model, rounds = asyncio.run(measure(server.base_url, args))
    except RequestFailed as failed:
        raise SystemExit(f"request failed, nothing written: {failed}") from None
    medians = [statistics.median(found[m] for found in rounds) for m in range(len(MIXES))]
    results = [
        MixResult(
            mix.name, mix.body, [found[m] for found in rounds], medians[m], medians[m] / medians[0]
        )
        for m, mix in enumerate(MIXES)
    ]
    print(f"\nmedians over {args.rounds} rounds, {args.streams} streams:")
    print(f"  {'mix':20} {'tokens/s':>9} {'vs default':>11}")
    for result in results:
        print(
            f"  {result.name:20} {result.median_tokens_per_s:9.1f} {result.ratio_to_default:11.3f}"
        )
    document = {
        **provenance("chain_cost", None if argv is None else list(argv)),
        "model": model,
        "config": args.config,
        "streams": args.streams,
        "requests": args.requests,
        "tokens": args.tokens,
        "rounds": args.rounds,
        "mixes": [asdict(result) for result in results],
    }
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.out}")
