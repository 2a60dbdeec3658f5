"""The same fixed workload against this server, `vllm serve` (vLLM's own OpenAI server) with
the same engine arguments, the vLLM engine called in-process, and (optional) llama.cpp on the
same model, in interleaved rounds.

    .venv/bin/python -m bench benchmark                      # the CPU default
    .venv/bin/python -m bench benchmark --config config/phi35-awq-6gb.yaml --rounds 3
    .venv/bin/python -m bench benchmark --targets server --variant "dp2=--data-parallel-size 2"
    .venv/bin/python -m bench benchmark --targets server llamacpp --concurrency 1 4 16

llama.cpp is llama-cpp-python's OpenAI server (scripts/setup_llamacpp.sh builds it once into
.venv-llamacpp) on the GGUF file the embedded model is converted from (Q4_1 weights; this
server serves them dequantized to bfloat16), with as many threads as the engine has cores,
answering one request at a time (its server has one context; requests queue).
Its completions take text, not token ids: it gets the workload's prompt decoded, and EOS
banned by logit_bias instead of ignore_eos; its stream has no usage: one that ends for
`length` counts as all the tokens asked for.

Each request: a fixed prompt of --prompt-tokens token ids, exactly --output-tokens generated
(greedy, ignore_eos), streamed and not. Per target and concurrency it measures request
throughput, output tokens/s, time to first token and inter-token latency (p50/p99), errors,
and the CPU time the front end (the API process; in-process, the engine's own Python front
end) spends per output token. Every round runs every target once, in a rotated order, so
that slow drifts of a shared machine hit all targets alike; the report gives medians over
rounds with their spread. It writes docs/results/benchmark.json and benchmark.png (each
target's log beside them) and prints the ratios. Only one engine runs at a time. A
`--variant NAME=ARGS` is this server started with more arguments (`server:NAME`), compared
with plain `server` in the same rounds: data or tensor parallelism against one engine, say.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench import RESULTS
from bench.benchmark.report import Result, chart, medians, ratios, report, report_ratios
from bench.benchmark.targets import DEFAULT_TARGETS, TARGETS, bench_inprocess, run_target
from bench.benchmark.workload import workload


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/cpu.yaml")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(DEFAULT_TARGETS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 16, 64])
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument(
        "--requests", type=int, default=8, help="at least this many per level (and 4 x level)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="every target once per round")
    parser.add_argument("--out", type=Path, default=RESULTS / "benchmark.json")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="also run this server with these extra arguments, as target server:NAME",
    )
    parser.add_argument("--inprocess-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.variants = dict(v.split("=", 1) for v in args.variant)
    args.targets = [*args.targets, *(f"server:{name}" for name in args.variants)]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    work = workload(args)
    if args.inprocess_worker:
        results = asyncio.run(bench_inprocess(args.config, work))
        args.out.write_text(json.dumps([asdict(r) for r in results]))
        return
    print(
        f"workload: prompt {args.prompt_tokens} tokens, output {args.output_tokens} tokens "
        f"(greedy, ignore_eos), concurrency {args.concurrency}, streaming and not, "
        f"{args.rounds} round(s) of {args.targets}"
    )
    runs: list[list[Result]] = []
    for round_ in range(args.rounds):
        shift = round_ % len(args.targets)
        order = args.targets[shift:] + args.targets[:shift]
        results: list[Result] = []
        for target in order:
            print(f"[round {round_ + 1}/{args.rounds}] {target} starting", flush=True)
            results += run_target(target, args, work)
        runs.append(results)
    middle = medians(runs)
    table = ratios(runs, middle)
    args.out.write_text(
        json.dumps(
            {
                "workload": {
                    "config": args.config,
                    "prompt_tokens": args.prompt_tokens,
                    "output_tokens": args.output_tokens,
                    "concurrency": args.concurrency,
                    "rounds": args.rounds,
                    "variants": args.variants,
                },
                "results": [asdict(r) for r in middle],
                "ratios": table,
                "rounds": [[asdict(r) for r in results] for results in runs],
            },
            indent=2,
        )
    )
    chart(middle, args.out.with_suffix(".png"))
    print(f"\nmedians over {args.rounds} round(s)")
    for r in middle:
        report(r)
    report_ratios(table)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
