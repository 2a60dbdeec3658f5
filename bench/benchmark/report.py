"""What one level of the benchmark measured, the medians over rounds, this server's ratios to
the other targets, and how they are printed and drawn."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.stats import percentile


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


def medians(runs: list[list[Result]]) -> list[Result]:
    keys = sorted({(r.target, r.concurrency, r.stream) for results in runs for r in results})
    return [
        median_of(
            [r for results in runs for r in results if (r.target, r.concurrency, r.stream) == k]
        )
        for k in keys
    ]


def ratios(runs: list[list[Result]], medians: list[Result]) -> list[dict]:
    """This server over each other target: the ratio of medians, and the range of the
    per-round ratios (the same round's runs are neighbours in time). A row's columns depend
    on the targets that ran, so rows are dicts, written to the JSON as they are."""
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


def report(result: Result) -> None:
    mode = "stream" if result.stream else "whole "
    print(
        f"  {result.target:9} {mode} c={result.concurrency:<3} "
        f"{result.output_tokens_per_s:8.1f} tok/s  {result.requests_per_s:6.2f} req/s  "
        f"ttft p50 {result.ttft_p50_ms:7.1f} ms  itl p50 {result.itl_p50_ms:6.2f} ms  "
        f"front cpu {result.front_cpu_us_per_token:6.1f} us/tok  errors {result.errors}",
        flush=True,
    )


def report_ratios(table: list[dict]) -> None:
    print("\nthis server / other (output tokens/s; per-round range), and TTFT p50 difference")
    for row in table:
        mode = "stream" if row["stream"] else "whole "
        print(
            f"  {mode} c={row['concurrency']:<3} "
            + "  ".join(f"{k}={v}" for k, v in row.items() if k not in ("stream", "concurrency"))
        )


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
