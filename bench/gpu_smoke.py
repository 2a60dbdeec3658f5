"""Smoke-test an engine profile on this machine: start the server with it, run the README's
OpenAI SDK example, and report time to ready, time to first token and tokens/s.

    .venv/bin/python -m bench gpu_smoke --config config/phi35-awq-6gb.yaml

Meant for a CUDA machine (the GPU presets); with the CPU preset it runs anywhere. With
--base-url it measures a server that is already running (scripts/gpu/gpu_check.sh does so
inside the GPU container) instead of starting one. Writes docs/results/gpu_smoke.json (and
the server's log beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from openai import OpenAI

from bench import RESULTS
from bench.server import free_port, running, server_command

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def measure(client: OpenAI, model: str, max_tokens: int) -> dict[str, float | str]:
    started = time.perf_counter()
    first = None
    text = ""
    tokens = 0
    stream = client.chat.completions.create(
        model=model,
        messages=QUESTION,
        temperature=0,
        max_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            text += chunk.choices[0].delta.content
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    done = time.perf_counter()
    decode_s = done - (first or done)
    return {
        "answer": text,
        "time_to_first_token_s": round((first or done) - started, 4),
        "completion_tokens": tokens,
        "tokens_per_s": round((tokens - 1) / decode_s, 1) if tokens > 1 and decode_s else 0.0,
    }


def measure_running(base_url: str, max_tokens: int) -> dict[str, float | str]:
    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    model = client.models.list().data[0].id
    measure(client, model, 8)  # warm-up
    return {"model": model, **measure(client, model, max_tokens)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/phi35-awq-6gb.yaml")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--ready-timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu_smoke.json")
    parser.add_argument("--base-url", help="measure this running server instead")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.base_url:
        result = {"base_url": args.base_url, **measure_running(args.base_url, args.max_tokens)}
        print(json.dumps(result, indent=2))
        args.out.write_text(json.dumps(result, indent=2))
        return
    port = free_port()
    server_log = args.out.with_suffix(".server.log")
    with running(
        server_command(port, "--config", args.config),
        port,
        log=server_log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=args.ready_timeout,
    ) as server:
        print(f"\rready in {server.ready_s:.1f} s{' ' * 20}")
        result = {"config": args.config, "time_to_ready_s": round(server.ready_s, 1)}
        result.update(measure_running(server.base_url, args.max_tokens))
    print(json.dumps(result, indent=2))
    print(f"server log: {server_log}")
    args.out.write_text(json.dumps(result, indent=2))
