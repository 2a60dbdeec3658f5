"""The same fixed workload against this server, `vllm serve` (vLLM's own OpenAI server) with
the same engine arguments, and the vLLM engine called in-process, one after another.

    .venv/bin/python scripts/benchmark.py                      # the CPU default
    .venv/bin/python scripts/benchmark.py --config config/phi35-awq-6gb.yaml --concurrency 1 4 16 64

Each request: a fixed prompt of --prompt-tokens token ids, exactly --output-tokens generated
(greedy, ignore_eos), streamed and not. Per target and concurrency it measures request
throughput, output tokens/s, time to first token and inter-token latency (p50/p99) and
errors; it writes results/benchmark.json and results/benchmark.png and prints the ratios.
Only one engine runs at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("server", "vllm", "inprocess")


@dataclass
class Sample:
    ok: bool
    latency: float
    ttft: float
    itls: list[float] = field(default_factory=list)
    tokens: int = 0


@dataclass
class Result:
    target: str
    concurrency: int
    stream: bool
    requests: int
    errors: int
    seconds: float
    requests_per_s: float
    output_tokens_per_s: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    itl_p50_ms: float
    itl_p99_ms: float


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(
    target: str, concurrency: int, stream: bool, samples: list[Sample], seconds: float
) -> Result:
    good = [s for s in samples if s.ok]
    ttfts = [s.ttft for s in good]
    itls = [x for s in good for x in s.itls]
    return Result(
        target=target,
        concurrency=concurrency,
        stream=stream,
        requests=len(samples),
        errors=len(samples) - len(good),
        seconds=round(seconds, 3),
        requests_per_s=round(len(good) / seconds, 3),
        output_tokens_per_s=round(sum(s.tokens for s in good) / seconds, 1),
        ttft_p50_ms=round(1000 * percentile(ttfts, 0.5), 1),
        ttft_p99_ms=round(1000 * percentile(ttfts, 0.99), 1),
        itl_p50_ms=round(1000 * percentile(itls, 0.5), 2) if stream else float("nan"),
        itl_p99_ms=round(1000 * percentile(itls, 0.99), 2) if stream else float("nan"),
    )


@dataclass(frozen=True)
class Workload:
    prompt_ids: list[int]
    output_tokens: int
    levels: list[int]
    requests_per_level: int

    def requests(self, concurrency: int) -> int:
        return max(self.requests_per_level, 2 * concurrency)


# --- HTTP targets -------------------------------------------------------------------------


async def http_one(client: httpx.AsyncClient, model: str, work: Workload, stream: bool) -> Sample:
    body = {
        "model": model,
        "prompt": work.prompt_ids,
        "max_tokens": work.output_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": stream,
    }
    started = time.perf_counter()
    try:
        if not stream:
            response = await client.post("/v1/completions", json=body)
            done = time.perf_counter()
            ok = response.status_code == 200
            tokens = response.json()["usage"]["completion_tokens"] if ok else 0
            return Sample(ok, done - started, done - started, tokens=tokens)
        sample = Sample(False, 0.0, 0.0)
        last = None
        async with client.stream("POST", "/v1/completions", json=body) as response:
            if response.status_code != 200:
                return sample
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                now = time.perf_counter()
                if last is None:
                    sample.ttft = now - started
                else:
                    sample.itls.append(now - last)
                last = now
                sample.tokens += 1
        sample.latency = time.perf_counter() - started
        sample.ok = sample.tokens > 0
        return sample
    except httpx.HTTPError:
        return Sample(False, time.perf_counter() - started, 0.0)


async def run_level(one, concurrency: int, total: int) -> tuple[list[Sample], float]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    samples: list[Sample] = []

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            samples.append(await one())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.perf_counter() - started


async def bench_http(target: str, base_url: str, work: Workload, progress) -> list[Result]:
    results = []
    limits = httpx.Limits(max_connections=max(work.levels) + 8)
    async with httpx.AsyncClient(base_url=base_url, timeout=600, limits=limits) as client:
        model = (await client.get("/v1/models")).json()["data"][0]["id"]
        await http_one(client, model, work, stream=True)  # warm-up
        for stream in (True, False):
            for level in work.levels:
                samples, seconds = await run_level(
                    lambda s=stream: http_one(client, model, work, s), level, work.requests(level)
                )
                results.append(summarise(target, level, stream, samples, seconds))
                progress(results[-1])
    return results


# --- in-process target --------------------------------------------------------------------


async def bench_inprocess(args: argparse.Namespace, work: Workload) -> list[Result]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.sampling_params import RequestOutputKind
    from vllm.v1.engine.async_llm import AsyncLLM

    from server.engine_config import engine_args

    settings, model, served = resolve(args)
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

    results = []
    try:
        await one(True)
        for stream in (True, False):
            for level in work.levels:
                samples, seconds = await run_level(
                    lambda s=stream: one(s), level, work.requests(level)
                )
                results.append(summarise("inprocess", level, stream, samples, seconds))
                report(results[-1])
    finally:
        llm.shutdown()
    return results


# --- orchestration ------------------------------------------------------------------------


def resolve(args: argparse.Namespace):
    from server.__main__ import resolve_model
    from server.settings import load_settings

    settings = load_settings(["--config", args.config])
    model, served = resolve_model(settings)
    return settings, model, served


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vllm_serve_command(args: argparse.Namespace, port: int) -> list[str]:
    """vLLM's own OpenAI server with the engine arguments this server would use."""
    from server.engine_config import engine_args

    settings, model, served = resolve(args)
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


def wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"target exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit("target not ready")


def report(result: Result) -> None:
    mode = "stream" if result.stream else "whole "
    print(
        f"  {result.target:9} {mode} c={result.concurrency:<3} "
        f"{result.output_tokens_per_s:8.1f} tok/s  {result.requests_per_s:6.2f} req/s  "
        f"ttft p50 {result.ttft_p50_ms:7.1f} ms  itl p50 {result.itl_p50_ms:6.2f} ms  "
        f"errors {result.errors}",
        flush=True,
    )


def run_target(target: str, args: argparse.Namespace, work: Workload) -> list[Result]:
    from server.engine_config import engine_environment

    print(f"[{target}] starting", flush=True)
    # every target's engine gets the environment (threads, preloads) this server sets
    environment = {**os.environ, **engine_environment(resolve(args)[0]), "HF_HUB_OFFLINE": "1"}
    if target == "inprocess":
        out = args.out.with_suffix(".inprocess.json")
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--inprocess-worker",
                "--config",
                args.config,
                "--out",
                str(out),
                *common_args(args),
            ],
            cwd=ROOT,
            check=True,
            env=environment,
        )
        return [Result(**r) for r in json.loads(out.read_text())]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    if target == "server":
        command = [
            sys.executable,
            "-m",
            "server",
            "--config",
            args.config,
            "--port",
            str(port),
            "--max-concurrent-requests",
            "1024",
            "--log-level",
            "warning",
        ]
    else:
        command = vllm_serve_command(args, port)
    with open(args.out.with_suffix(f".{target}.log"), "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
    try:
        wait_ready(base_url, process)
        print(f"[{target}] ready", flush=True)
        return asyncio.run(bench_http(target, base_url, work, report))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()


def common_args(args: argparse.Namespace) -> list[str]:
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


def workload(args: argparse.Namespace) -> Workload:
    # a fixed, model-independent prompt: token ids 1000..1000+P (every vocabulary has them)
    prompt = [1000 + (i * 7) % 5000 for i in range(args.prompt_tokens)]
    return Workload(prompt, args.output_tokens, args.concurrency, args.requests)


def ratios(results: list[Result]) -> list[dict]:
    rows = []
    index = {(r.target, r.concurrency, r.stream): r for r in results}
    for (target, level, stream), r in sorted(index.items()):
        if target != "server":
            continue
        row = {"concurrency": level, "stream": stream}
        for other in ("vllm", "inprocess"):
            o = index.get((other, level, stream))
            if o and o.output_tokens_per_s:
                row[f"tokens_vs_{other}"] = round(r.output_tokens_per_s / o.output_tokens_per_s, 3)
                row[f"ttft_p50_delta_ms_vs_{other}"] = round(r.ttft_p50_ms - o.ttft_p50_ms, 1)
        rows.append(row)
    return rows


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    styles = {
        "server": ("#3b7dd8", "this server"),
        "vllm": ("#e0662b", "vllm serve"),
        "inprocess": ("#555555", "engine in-process"),
    }
    for target, (colour, label) in styles.items():
        for stream, line in ((True, "-"), (False, "--")):
            rows = sorted(
                (r for r in results if r.target == target and r.stream == stream),
                key=lambda r: r.concurrency,
            )
            if not rows:
                continue
            xs = [r.concurrency for r in rows]
            mode = "stream" if stream else "whole"
            axes[0].plot(
                xs,
                [r.output_tokens_per_s for r in rows],
                line,
                color=colour,
                marker="o",
                label=f"{label} ({mode})",
            )
            axes[1].plot(xs, [r.ttft_p50_ms for r in rows], line, color=colour, marker="o")
            if stream:
                axes[2].plot(xs, [r.itl_p50_ms for r in rows], line, color=colour, marker="o")
    for ax, title in zip(
        axes,
        (
            "output tokens/s",
            "time to first token p50 (ms)",
            "inter-token latency p50 (ms, streaming)",
        ),
        strict=True,
    ):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent requests")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/cpu.yaml")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 16, 64])
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=8, help="at least this many per level")
    parser.add_argument("--out", type=Path, default=Path("results/benchmark.json"))
    parser.add_argument("--inprocess-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    work = workload(args)
    if args.inprocess_worker:
        results = asyncio.run(bench_inprocess(args, work))
        args.out.write_text(json.dumps([asdict(r) for r in results]))
        return
    print(
        f"workload: prompt {args.prompt_tokens} tokens, output {args.output_tokens} tokens "
        f"(greedy, ignore_eos), concurrency {args.concurrency}, streaming and not"
    )
    results: list[Result] = []
    for target in args.targets:
        results += run_target(target, args, work)
    table = ratios(results)
    args.out.write_text(
        json.dumps(
            {
                "workload": {
                    "config": args.config,
                    "prompt_tokens": args.prompt_tokens,
                    "output_tokens": args.output_tokens,
                    "concurrency": args.concurrency,
                },
                "results": [asdict(r) for r in results],
                "ratios": table,
            },
            indent=2,
        )
    )
    chart(results, args.out.with_suffix(".png"))
    print("\nthis server / other (output tokens/s), and TTFT p50 difference")
    for row in table:
        mode = "stream" if row["stream"] else "whole "
        print(
            f"  {mode} c={row['concurrency']:<3} "
            + "  ".join(f"{k}={v}" for k, v in row.items() if k not in ("stream", "concurrency"))
        )
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
