"""Where one decode step goes: this server streaming to one client while py-spy samples the
main thread of each of its three processes (the API process, vLLM's engine core, the CPU
worker) at the same time; each sample goes to the stage of the token's path its stack is in,
and a stage's share of its thread's wall time times the wall time per token (the client's
median inter-token gap) gives its milliseconds per token.

    .venv/bin/python -m bench step_profile        # writes docs/results/step_profile.json
    .venv/bin/python -m bench step_profile --label compiled -- --enforce-eager false

Each thread's stages add up to the wall time per token; the three threads run at the same
time, so the worker's "waiting for the next step" is the time the rest of the loop (engine
core, messages) adds to each token. py-spy samples without stopping the processes
(--nonblocking) and includes waiting (--idle). The forward pass's OpenMP threads are native
threads py-spy does not see: the forward pass is the worker's main thread taking part.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import psutil

from bench import RESULTS
from bench.server import free_port, running, server_command
from bench.stats import percentile

# This server's modules on a request's path (every stack has server/__main__.py at its root).
MODULES = (
    "http/routes",
    "http/middleware",
    "services/completions",
    "services/streams",
    "sampling/outputs",
    "engine/engine",
)
SERVER_MODULES = tuple(f"(server/{name}." for name in MODULES)
# process: [(stage, names)]: a sample goes to the first stage one of whose names is in its
# stack (frames as py-spy writes them: "function (file:line)").
STAGES = {
    "worker": [
        ("sending the step's output (shm queue, zmq)", ("enqueue_output",)),
        ("waiting for the next step", ("MessageQueue.dequeue", "acquire_read")),
        ("input preparation", ("_update_states", "_prepare_inputs", "_build_attention_metadata")),
        ("logits (lm_head)", ("compute_logits",)),
        ("forward pass", ("_model_forward",)),
        ("sampling", ("_sample", "Sampler.forward")),
        ("output bookkeeping", ("_bookkeeping_sync", "_to_list", "sample_tokens")),
    ],
    "engine core": [
        ("waiting for the worker", ("get_response",)),
        ("sending the step to the worker", ("MessageQueue.enqueue",)),
        ("scheduling", ("Scheduler.schedule",)),
        ("update from the step's output", ("update_from_output",)),
        ("waiting for requests", ("_process_input_queue",)),
    ],
    "api": [
        ("engine output: receive, detokenize", ("output_handler", "process_outputs")),
        ("this server: request and chunk shaping", SERVER_MODULES),
        ("HTTP: uvicorn, starlette, socket writes", ("uvicorn/protocols", "starlette/")),
    ],
}
# The event loop's own frames: uvicorn runs uvloop, whose loop (waiting included) is native.
LOOP_LEAF = "Runner.run (asyncio/runners.py"


@dataclass
class Stage:
    process: str
    stage: str
    ms_per_token: float
    share: float  # of the thread's wall time


def classify(role: str, stack: str) -> str:
    if role == "api" and stack.rsplit(";", 1)[-1].startswith(LOOP_LEAF):
        return "event loop (waiting, uvloop)"
    for stage, names in STAGES[role]:
        if any(name in stack for name in names):
            return stage
    return "other"


def main_thread_samples(path: Path, pid: int) -> collections.Counter[str]:
    """py-spy's raw format with --threads: 'thread (TID): NAME;frame;... count' per line;
    the main thread's id is the process id."""
    counts: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack.startswith(f"thread ({pid})"):
            counts[stack] += int(count)
    return counts


async def stream_tokens(base_url: str, seconds: float, max_tokens: int) -> tuple[int, list[float]]:
    """One client, one stream after another, until `seconds` pass: tokens and gaps."""
    body = {
        "model": "x",
        "prompt": "Once upon a time",
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
    }
    tokens, gaps = 0, []
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(base_url) as session:
        async with session.get("/v1/models") as response:
            body["model"] = (await response.json())["data"][0]["id"]
        while time.monotonic() < deadline:
            last = None
            async with session.post("/v1/completions", json=body) as response:
                async for line in response.content:
                    if not line.startswith(b"data: {"):
                        continue
                    now = time.perf_counter()
                    if last is not None:
                        gaps.append(now - last)
                    last = now
                    tokens += 1
    return tokens, gaps


def roles(server: psutil.Process) -> dict[str, int]:
    found = {"api": server.pid}
    for child in server.children(recursive=True):
        name = " ".join(child.cmdline()) + child.name()
        if "EngineCore" in name:
            found["engine core"] = child.pid
        elif "Worker" in name:
            found["worker"] = child.pid
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--label", default="CPU default")
    parser.add_argument("--out", type=Path, default=RESULTS / "step_profile.json")
    parser.add_argument("server_args", nargs="*", help="after --: more server arguments")
    args = parser.parse_args(argv)

    port = free_port()
    command = server_command(port, "--log-level", "warning", *args.server_args)
    scratch = Path(tempfile.mkdtemp(prefix="step-profile-"))
    with running(command, port, timeout=900) as server:
        base_url = server.base_url
        asyncio.run(stream_tokens(base_url, 3, 32))  # warm-up
        pids = roles(psutil.Process(server.process.pid))
        spies = {
            role: subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--format",
                    "raw",
                    "--threads",
                    "--idle",
                    "--nonblocking",
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(int(args.seconds)),
                    "--pid",
                    str(pid),
                    "--output",
                    str(scratch / f"{role}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for role, pid in pids.items()
        }
        tokens, gaps = asyncio.run(stream_tokens(base_url, args.seconds, args.max_tokens))
        for spy in spies.values():
            spy.wait(timeout=120)
        samples = {
            role: main_thread_samples(scratch / f"{role}.txt", pid) for role, pid in pids.items()
        }

    wall_ms = 1000 * percentile(gaps, 0.5)
    stages: list[Stage] = []
    for role, counts in samples.items():
        total = sum(counts.values()) or 1
        by_stage: collections.Counter[str] = collections.Counter()
        for stack, n in counts.items():
            by_stage[classify(role, stack)] += n
        for stage, n in by_stage.most_common():
            stages.append(Stage(role, stage, round(wall_ms * n / total, 3), round(n / total, 3)))
    print(f"\n{tokens} tokens streamed; median inter-token time {wall_ms:.2f} ms")
    print(f"{'thread':<12} {'stage':<44} {'ms/token':>9} {'share':>6}")
    for s in stages:
        print(f"{s.process:<12} {s.stage:<44} {s.ms_per_token:9.3f} {s.share:6.1%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "label": args.label,
                "server_args": args.server_args,
                "tokens": tokens,
                "wall_ms_per_token": round(wall_ms, 3),
                "stages": [asdict(s) for s in stages],
            },
            indent=2,
        )
        + "\n"
    )
