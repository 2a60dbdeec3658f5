"""Smoke-test a preset on this machine: start the server with it, run the README's OpenAI SDK
example, and report time to ready, time to first token and tokens/s.

    .venv/bin/python scripts/gpu_smoke.py --config config/phi35-awq-6gb.yaml

Meant for a CUDA machine (the GPU presets); with the CPU preset it runs anywhere. With
--base-url it measures a server that is already running (scripts/gpu_check.sh does so inside
the GPU container) instead of starting one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from local_server import free_port, wait_ready
from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/phi35-awq-6gb.yaml")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--ready-timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path, default=Path("results/smoke.json"))
    parser.add_argument("--base-url", help="measure this running server instead")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.base_url:
        result = {"base_url": args.base_url, **measure_running(args.base_url, args.max_tokens)}
        print(json.dumps(result, indent=2))
        args.out.write_text(json.dumps(result, indent=2))
        return
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server_log = args.out.with_suffix(".server.log")
    with open(server_log, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "--config", args.config, "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        ready_s = wait_ready(base_url, process, args.ready_timeout)
        print(f"\rready in {ready_s:.1f} s{' ' * 20}")
        result = {"config": args.config, "time_to_ready_s": round(ready_s, 1)}
        result.update(measure_running(base_url, args.max_tokens))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    print(json.dumps(result, indent=2))
    print(f"server log: {server_log}")
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
