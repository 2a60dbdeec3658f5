"""The same fixed workload against this server, `vllm serve` (vLLM's own OpenAI server) with
the same engine arguments, the vLLM engine called in-process, and (optional) llama.cpp on the
same model, in interleaved rounds.

    .venv/bin/python scripts/benchmark.py                      # the CPU default
    .venv/bin/python scripts/benchmark.py --config config/phi35-awq-6gb.yaml --rounds 3
    .venv/bin/python scripts/benchmark.py --targets server --variant "dp2=--data-parallel-size 2"
    .venv/bin/python scripts/benchmark.py --targets server llamacpp --concurrency 1 4 16

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
rounds with their spread. It writes results/benchmark.json and results/benchmark.png and
prints the ratios. Only one engine runs at a time. A `--variant NAME=ARGS` is this server
started with more arguments (`server:NAME`), compared with plain `server` in the same rounds:
data or tensor parallelism against one engine, say.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import aiohttp
import psutil
from local_server import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("server", "vllm", "inprocess", "llamacpp")
DEFAULT_TARGETS = ("server", "vllm", "inprocess")


@dataclass
class Sample:
    ok: bool
    latency: float
    ttft: float
    itls: list[float] = field(default_factory=list)
    tokens: int = 0


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent during one level: by the front end and by the benchmark client."""

    front: float
    client: float


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
    front_cpu_us_per_token: float
    client_cpu_us_per_token: float
    rounds: int = 1
    output_tokens_per_s_min: float = 0.0
    output_tokens_per_s_max: float = 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(
    target: str,
    concurrency: int,
    stream: bool,
    samples: list[Sample],
    seconds: float,
    cpu: CpuUse,
) -> Result:
    good = [s for s in samples if s.ok]
    ttfts = [s.ttft for s in good]
    itls = [x for s in good for x in s.itls]
    tokens = sum(s.tokens for s in good)
    per_token = 1e6 / tokens if tokens else float("nan")
    tokens_per_s = round(tokens / seconds, 1)
    return Result(
        target=target,
        concurrency=concurrency,
        stream=stream,
        requests=len(samples),
        errors=len(samples) - len(good),
        seconds=round(seconds, 3),
        requests_per_s=round(len(good) / seconds, 3),
        output_tokens_per_s=tokens_per_s,
        ttft_p50_ms=round(1000 * percentile(ttfts, 0.5), 1),
        ttft_p99_ms=round(1000 * percentile(ttfts, 0.99), 1),
        itl_p50_ms=round(1000 * percentile(itls, 0.5), 2) if stream else float("nan"),
        itl_p99_ms=round(1000 * percentile(itls, 0.99), 2) if stream else float("nan"),
        front_cpu_us_per_token=round(cpu.front * per_token, 1),
        client_cpu_us_per_token=round(cpu.client * per_token, 1),
        output_tokens_per_s_min=tokens_per_s,
        output_tokens_per_s_max=tokens_per_s,
    )


def median_of(runs: list[Result]) -> Result:
    """One result per (target, concurrency, mode): the median of each measure over rounds."""

    def mid(name: str) -> float:
        return round(statistics.median(getattr(r, name) for r in runs), 3)

    measures = (
        "requests_per_s",
        "output_tokens_per_s",
        "ttft_p50_ms",
        "ttft_p99_ms",
        "itl_p50_ms",
        "itl_p99_ms",
        "front_cpu_us_per_token",
        "client_cpu_us_per_token",
        "seconds",
    )
    tokens = [r.output_tokens_per_s for r in runs]
    return replace(
        runs[0],
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
        rounds=len(runs),
        output_tokens_per_s_min=min(tokens),
        output_tokens_per_s_max=max(tokens),
        **{name: mid(name) for name in measures},
    )


@dataclass(frozen=True)
class Workload:
    prompt_ids: list[int]
    prompt_text: str  # the ids decoded, for llama.cpp
    eos_id: int
    output_tokens: int
    levels: list[int]
    requests_per_level: int

    def requests(self, concurrency: int) -> int:
        return max(self.requests_per_level, 4 * concurrency)


async def run_level(
    one: Callable[[], Awaitable[Sample]], concurrency: int, total: int, front: Callable[[], float]
) -> tuple[list[Sample], float, CpuUse]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    samples: list[Sample] = []

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            samples.append(await one())

    front_before, client_before = front(), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    cpu = CpuUse(front() - front_before, time.process_time() - client_before)
    return samples, seconds, cpu


async def run_levels(
    target: str,
    work: Workload,
    one: Callable[[bool], Awaitable[Sample]],
    front: Callable[[], float],
    in_process: bool,
) -> list[Result]:
    results = []
    await one(True)  # warm-up
    for stream in (True, False):
        for level in work.levels:
            samples, seconds, cpu = await run_level(
                lambda s=stream: one(s), level, work.requests(level), front
            )
            if in_process:  # the front end and the "client" are this one process
                cpu = CpuUse(cpu.client, 0.0)
            results.append(summarise(target, level, stream, samples, seconds, cpu))
            report(results[-1])
    return results


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

    try:
        return await run_levels("inprocess", work, one, time.process_time, in_process=True)
    finally:
        llm.shutdown()


# --- orchestration ------------------------------------------------------------------------


def resolve(args: argparse.Namespace):
    from server.__main__ import resolve_model
    from server.settings import load_settings

    settings = load_settings(["--config", args.config])
    model, served = resolve_model(settings)
    return settings, model, served


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


def llamacpp_command(port: int) -> list[str]:
    """llama-cpp-python's server on the embedded model's GGUF, threads = the engine's cores."""
    from server.embedded_model import gguf_path

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


def report(result: Result) -> None:
    mode = "stream" if result.stream else "whole "
    print(
        f"  {result.target:9} {mode} c={result.concurrency:<3} "
        f"{result.output_tokens_per_s:8.1f} tok/s  {result.requests_per_s:6.2f} req/s  "
        f"ttft p50 {result.ttft_p50_ms:7.1f} ms  itl p50 {result.itl_p50_ms:6.2f} ms  "
        f"front cpu {result.front_cpu_us_per_token:6.1f} us/tok  errors {result.errors}",
        flush=True,
    )


READY_PATHS = {"llamacpp": "/v1/models"}  # llama-cpp-python's server has no /health


def run_target(target: str, args: argparse.Namespace, work: Workload) -> list[Result]:
    from server.engine_config import engine_environment

    # this server sets its engine's environment (threads, preloads, compile cache) itself, as
    # it does for anyone who starts it; the other targets' engines are given the same
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if not target.startswith("server"):
        environment.update(engine_environment(resolve(args)[0]))
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
    if target == "server" or target.startswith("server:"):
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
            *shlex.split(args.variants.get(target.removeprefix("server:"), "")),
        ]
    elif target == "llamacpp":
        command = llamacpp_command(port)
    else:
        command = vllm_serve_command(args, port)
    with open(args.out.with_suffix(f".{target}.log"), "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
    try:
        wait_ready(base_url, process, timeout=1800, path=READY_PATHS.get(target, "/health"))
        print(f"[{target}] ready", flush=True)
        return asyncio.run(bench_http(target, base_url, work, process.pid))
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
    text, eos = "", -1
    if "llamacpp" in args.targets:  # its API takes text: the ids decoded by the model's tokenizer
        from transformers import AutoTokenizer

        settings, model, _ = resolve(args)
        if settings.model is not None:
            raise SystemExit("the llamacpp target serves the embedded model: use a CPU preset")
        tokenizer = AutoTokenizer.from_pretrained(model)
        text, eos = tokenizer.decode(prompt), tokenizer.eos_token_id
    return Workload(prompt, text, eos, args.output_tokens, args.concurrency, args.requests)


def ratios(runs: list[list[Result]], medians: list[Result]) -> list[dict]:
    """This server over each other target: the ratio of medians, and the range of the
    per-round ratios (the same round's runs are neighbours in time)."""
    rows = []
    index = {(r.target, r.concurrency, r.stream): r for r in medians}
    for (target, level, stream), r in sorted(index.items()):
        if target != "server":
            continue
        row: dict = {"concurrency": level, "stream": stream}
        for other in ("vllm", "inprocess", "llamacpp"):
            o = index.get((other, level, stream))
            if not (o and o.output_tokens_per_s):
                continue
            row[f"tokens_vs_{other}"] = round(r.output_tokens_per_s / o.output_tokens_per_s, 3)
            per_round = [
                mine.output_tokens_per_s / theirs.output_tokens_per_s
                for results in runs
                for mine in results
                for theirs in results
                if (mine.target, mine.concurrency, mine.stream) == (target, level, stream)
                and (theirs.target, theirs.concurrency, theirs.stream) == (other, level, stream)
            ]
            if per_round:
                row[f"tokens_vs_{other}_range"] = [
                    round(min(per_round), 3),
                    round(max(per_round), 3),
                ]
            row[f"ttft_p50_delta_ms_vs_{other}"] = round(r.ttft_p50_ms - o.ttft_p50_ms, 1)
        for variant in sorted({t for t, _, _ in index if t.startswith("server:")}):
            v = index.get((variant, level, stream))
            if v and r.output_tokens_per_s:
                ratio = v.output_tokens_per_s / r.output_tokens_per_s
                row[f"{variant.removeprefix('server:')}_vs_server"] = round(ratio, 3)
        rows.append(row)
    return rows


STYLES = {
    "server": ("#3b7dd8", "this server"),
    "vllm": ("#e0662b", "vllm serve"),
    "inprocess": ("#555555", "engine in-process"),
    "llamacpp": ("#b8860b", "llama.cpp (llama-cpp-python)"),
}


VARIANT_COLOURS = ("#2a9d5c", "#9b59b6", "#c0392b", "#16a085")


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(20, 4.6))
    variants = sorted({r.target for r in results if r.target.startswith("server:")})
    styles = dict(STYLES)
    for colour, variant in zip(VARIANT_COLOURS, variants, strict=False):
        styles[variant] = (colour, f"this server, {variant.removeprefix('server:')}")
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
            tokens = [r.output_tokens_per_s for r in rows]
            spread = [
                [t - r.output_tokens_per_s_min for t, r in zip(tokens, rows, strict=True)],
                [r.output_tokens_per_s_max - t for t, r in zip(tokens, rows, strict=True)],
            ]
            axes[0].errorbar(
                xs,
                tokens,
                yerr=spread,
                fmt=line,
                color=colour,
                marker="o",
                capsize=3,
                label=f"{label} ({mode})",
            )
            axes[1].plot(xs, [r.ttft_p50_ms for r in rows], line, color=colour, marker="o")
            if stream:
                axes[2].plot(xs, [r.itl_p50_ms for r in rows], line, color=colour, marker="o")
            axes[3].plot(
                xs, [r.front_cpu_us_per_token for r in rows], line, color=colour, marker="o"
            )
    titles = (
        "output tokens/s (median, min-max over rounds)",
        "time to first token p50 (ms)",
        "inter-token latency p50 (ms, streaming)",
        "front-end CPU per output token (µs)",
    )
    levels = sorted({r.concurrency for r in results})
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(level) for level in levels])
        ax.set_xlabel("concurrent requests")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
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
    parser.add_argument("--out", type=Path, default=Path("results/benchmark.json"))
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="also run this server with these extra arguments, as target server:NAME",
    )
    parser.add_argument("--inprocess-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.variants = dict(v.split("=", 1) for v in args.variant)
    args.targets = [*args.targets, *(f"server:{name}" for name in args.variants)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    work = workload(args)
    if args.inprocess_worker:
        results = asyncio.run(bench_inprocess(args, work))
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
    keys = sorted({(r.target, r.concurrency, r.stream) for results in runs for r in results})
    medians = [
        median_of(
            [r for results in runs for r in results if (r.target, r.concurrency, r.stream) == k]
        )
        for k in keys
    ]
    table = ratios(runs, medians)
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
                "results": [asdict(r) for r in medians],
                "ratios": table,
                "rounds": [[asdict(r) for r in results] for results in runs],
            },
            indent=2,
        )
    )
    chart(medians, args.out.with_suffix(".png"))
    print(f"\nmedians over {args.rounds} round(s)")
    for r in medians:
        report(r)
    print("\nthis server / other (output tokens/s; per-round range), and TTFT p50 difference")
    for row in table:
        mode = "stream" if row["stream"] else "whole "
        print(
            f"  {mode} c={row['concurrency']:<3} "
            + "  ".join(f"{k}={v}" for k, v in row.items() if k not in ("stream", "concurrency"))
        )
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
