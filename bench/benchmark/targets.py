"""The benchmark's targets, each started alone and run through the workload: this server
(and its variants), `vllm serve` with the engine arguments this server would use, the vLLM
engine in-process (in a child `--inprocess-worker`), and llama-cpp-python's server."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable

import aiohttp
import psutil

from bench import ROOT
from bench.benchmark.report import Result, Sample
from bench.benchmark.workload import Workload, resolve, run_levels
from bench.server import free_port, running, server_command

TARGETS = ("server", "vllm", "inprocess", "llamacpp")
DEFAULT_TARGETS = ("server", "vllm", "inprocess")
READY_PATHS = {"llamacpp": "/v1/models"}  # llama-cpp-python's server has no /health


# --- HTTP targets -------------------------------------------------------------------------


def completion_body(target: str, model: str, work: Workload, stream: bool) -> dict:
    body = {"model": model, "max_tokens": work.output_tokens, "temperature": 0, "stream": stream}
    if target == "llamacpp":
        return body | {"prompt": work.prompt_text, "logit_bias": {str(work.eos_id): -100}}
    body |= {"prompt": work.prompt_ids, "ignore_eos": True}
    if stream:  # the count comes from usage: under load one event can carry several tokens
        body["stream_options"] = {"include_usage": True}
    return body


async def http_one(
    session: aiohttp.ClientSession, target: str, model: str, work: Workload, stream: bool
) -> Sample:
    body = completion_body(target, model, work, stream)
    started = time.perf_counter()
    try:
        async with session.post("/v1/completions", json=body) as response:
            if response.status != 200:
                await response.read()
                return Sample(False, time.perf_counter() - started, 0.0)
            if not stream:
                tokens = (await response.json())["usage"]["completion_tokens"]
                done = time.perf_counter()
                return Sample(True, done - started, done - started, tokens=tokens)
            sample = Sample(False, 0.0, 0.0)
            last = None
            async for line in response.content:
                if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                    continue
                chunk = json.loads(line[6:])
                if not chunk["choices"]:  # the usage chunk
                    sample.tokens = chunk["usage"]["completion_tokens"]
                    continue
                if target == "llamacpp" and chunk["choices"][0]["finish_reason"]:
                    # no usage in its stream: a chunk is a token; the last, empty one ends it
                    if chunk["choices"][0]["finish_reason"] == "length":
                        sample.tokens = work.output_tokens
                    continue
                now = time.perf_counter()
                if last is None:
                    sample.ttft = now - started
                else:
                    sample.itls.append(now - last)
                last = now
        sample.latency = time.perf_counter() - started
        sample.ok = sample.tokens == work.output_tokens
        return sample
    except aiohttp.ClientError:
        return Sample(False, time.perf_counter() - started, 0.0)


def cpu_seconds(pid: int) -> Callable[[], float]:
    process = psutil.Process(pid)

    def read() -> float:
        times = process.cpu_times()
        return times.user + times.system

    return read


async def bench_http(target: str, base_url: str, work: Workload, pid: int) -> list[Result]:
    connector = aiohttp.TCPConnector(limit=max(work.levels) + 8)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        async with session.get("/v1/models") as response:
            model = (await response.json())["data"][0]["id"]
        return await run_levels(
            target,
            work,
            lambda stream: http_one(session, target, model, work, stream),
            cpu_seconds(pid),
            in_process=False,
        )


def vllm_serve_command(config: str, port: int) -> list[str]:
    """vLLM's own OpenAI server with the engine arguments this server would use."""
    from server.engine.config import engine_args

    settings, model, served = resolve(config)
    ea = engine_args(settings, model, served)
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        served,
        "--port",
        str(port),
        "--dtype",
        str(ea.dtype),
        "--gpu-memory-utilization",
        str(ea.gpu_memory_utilization),
        "--max-logprobs",
        "20",
        "--generation-config",
        "vllm",
        "--disable-log-stats",
        "--disable-uvicorn-access-log",
    ]
    if ea.max_model_len:
        command += ["--max-model-len", str(ea.max_model_len)]
    if ea.max_num_seqs:
        command += ["--max-num-seqs", str(ea.max_num_seqs)]
    if ea.enforce_eager:
        command.append("--enforce-eager")
    if ea.quantization:
        command += ["--quantization", ea.quantization]
    return command


def llamacpp_command(port: int) -> list[str]:
    """llama-cpp-python's server on the embedded model's GGUF, threads = the engine's cores."""
    from server.engine.embedded_model import gguf_path

    python = subprocess.run(
        [str(ROOT / "scripts/setup_llamacpp.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    threads = str(len(os.sched_getaffinity(0)))
    return [
        str(ROOT / python),
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path()),
        "--model_alias",
        "llamacpp",
        "--n_ctx",
        "2048",
        "--n_threads",
        threads,
        "--n_threads_batch",
        threads,
        # By default a new request interrupts a stream in progress (15 of 16 streams lost
        # at 4 clients); queued instead, one at a time, as its single context allows.
        "--interrupt_requests",
        "false",
        "--port",
        str(port),
    ]


def command_for(target: str, args: argparse.Namespace, port: int) -> list[str]:
    if target == "server" or target.startswith("server:"):
        variant = shlex.split(args.variants.get(target.removeprefix("server:"), ""))
        return server_command(
            port,
            "--config",
            args.config,
            "--max-concurrent-requests",
            "1024",
            "--log-level",
            "warning",
            *variant,
        )
    if target == "llamacpp":
        return llamacpp_command(port)
    return vllm_serve_command(args.config, port)


# --- in-process target --------------------------------------------------------------------


async def bench_inprocess(config: str, work: Workload) -> list[Result]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.sampling_params import RequestOutputKind
    from vllm.v1.engine.async_llm import AsyncLLM

    from server.engine.config import engine_args

    settings, model, served = resolve(config)
    llm = AsyncLLM.from_engine_args(engine_args(settings, model, served))
    counter = 0

    async def one(stream: bool) -> Sample:
        nonlocal counter
        counter += 1
        params = SamplingParams(
            temperature=0,
            max_tokens=work.output_tokens,
            ignore_eos=True,
            output_kind=RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY,
        )
        started = time.perf_counter()
        sample = Sample(False, 0.0, 0.0)
        last = None
        prompt = TokensPrompt(prompt_token_ids=work.prompt_ids)
        async for out in llm.generate(prompt, params, f"bench-{counter}"):
            now = time.perf_counter()
            new = len(out.outputs[0].token_ids)
            if stream:
                if last is None:
                    sample.ttft = now - started
                else:
                    sample.itls.append(now - last)
                last = now
            sample.tokens += new
        sample.latency = time.perf_counter() - started
        if not stream:
            sample.ttft = sample.latency
        sample.ok = sample.tokens == work.output_tokens
        return sample

    try:
        return await run_levels("inprocess", work, one, time.process_time, in_process=True)
    finally:
        llm.shutdown()


def workload_args(args: argparse.Namespace) -> list[str]:
    """The options that make the workload, for the in-process worker."""
    return [
        "--prompt-tokens",
        str(args.prompt_tokens),
        "--output-tokens",
        str(args.output_tokens),
        "--requests",
        str(args.requests),
        "--concurrency",
        *map(str, args.concurrency),
    ]


# --- one target at a time -----------------------------------------------------------------


def run_target(target: str, args: argparse.Namespace, work: Workload) -> list[Result]:
    from server.engine.config import engine_environment

    # this server sets its engine's environment (threads, preloads, compile cache) itself, as
    # it does for anyone who starts it; the other targets' engines are given the same
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if not target.startswith("server"):
        environment.update(engine_environment(resolve(args.config)[0]))
    if target == "inprocess":
        out = args.out.with_suffix(".inprocess.json")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "benchmark",
                "--inprocess-worker",
                "--config",
                args.config,
                "--out",
                str(out),
                *workload_args(args),
            ],
            cwd=ROOT,
            check=True,
            env=environment,
        )
        return [Result(**r) for r in json.loads(out.read_text())]
    port = free_port()
    with running(
        command_for(target, args, port),
        port,
        log=args.out.with_suffix(f".{target}.log"),
        env=environment,
        path=READY_PATHS.get(target, "/health"),
    ) as server:
        print(f"[{target}] ready", flush=True)
        return asyncio.run(bench_http(target, server.base_url, work, server.process.pid))
