"""Reproduce the sampling explainer's figures against a running server.

Each figure reads one next-token distribution through the server's inspector
(POST /v1/sampling/inspect), which applies vLLM's own pipeline to the engine's raw numbers:

    .venv/bin/python -m bench figures --base-url http://127.0.0.1:8000   # docs/results/figures/
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from tqdm import tqdm

from bench import RESULTS

PROMPT = "Once upon a time, there was a"
SHOWN = 15
KEPT, CUT, DRAWN = "#3b7dd8", "#c8c8c8", "#e0662b"


@dataclass(frozen=True)
class Step:
    """The first generated position of one inspection."""

    tokens: list[str]
    raw: list[float]
    tempered: list[float]
    final: list[float]
    kept: list[bool]
    sampled: str
    survivors: dict[str, int]
    min_p_threshold: float | None


class Inspector:
    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=300)
        self.model = self._http.get("/v1/models").json()["data"][0]["id"]

    def step(self, **params: float | int) -> Step:
        body = {
            "model": self.model,
            "prompt": PROMPT,
            "steps": 1,
            "top_candidates": SHOWN,
            "max_candidates": SHOWN,
            "seed": 0,
            **params,
        }
        response = self._http.post("/v1/sampling/inspect", json=body)
        response.raise_for_status()
        step = response.json()["steps"][0]
        shown = step["candidates"][:SHOWN]
        return Step(
            tokens=[repr(c["token"])[1:-1] for c in shown],
            raw=[c["raw_prob"] for c in shown],
            tempered=[c["temperature_prob"] for c in shown],
            final=[c["final_prob"] for c in shown],
            kept=[c["kept_by_top_p"] for c in shown],
            sampled=repr(step["sampled"]["token"])[1:-1],
            survivors=step["survivors"],
            min_p_threshold=step["min_p_threshold"],
        )


def bars(ax: Axes, step: Step, values: list[float], title: str, mark_cut: bool = True) -> None:
    """Kept tokens in blue at `values`; with mark_cut, cut ones in grey at their probability
    before the filters."""
    cut = [mark_cut and not k for k in step.kept]
    heights = [t if c else v for v, t, c in zip(values, step.tempered, cut, strict=True)]
    ax.bar(range(len(values)), heights, color=[CUT if c else KEPT for c in cut])
    ax.set_xticks(range(len(values)), step.tokens, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, max(max(heights), 0.05) * 1.15)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("probability")


def greedy(inspector: Inspector, out: Path) -> None:
    step = inspector.step(temperature=0)
    fig, ax = plt.subplots(figsize=(8, 4))
    colours = [DRAWN if t == step.sampled else KEPT for t in step.tokens]
    ax.bar(range(SHOWN), step.raw, color=colours)
    ax.set_xticks(range(SHOWN), step.tokens, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("probability")
    ax.set_title(f"Greedy decoding always takes the most likely token: '{step.sampled}'")
    fig.suptitle(f"Next token after “{PROMPT}”", fontsize=9)
    save(fig, out / "greedy.png")


def temperature(inspector: Inspector, out: Path) -> None:
    temperatures = [0.2, 0.7, 1.0, 1.5]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharey=True)
    for ax, t in zip(axes, temperatures, strict=True):
        step = inspector.step(temperature=t)
        bars(ax, step, step.tempered, f"temperature {t}", mark_cut=False)
    fig.suptitle("Temperature reshapes the distribution: low sharpens, high flattens")
    save(fig, out / "temperature.png")


def filtered(
    inspector: Inspector, out: Path, name: str, title: str, panels: list[tuple[str, dict]]
) -> None:
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (label, params) in zip(axes[0], panels, strict=True):
        step = inspector.step(**params)
        bars(ax, step, step.final, f"{label}: {step.survivors['after_top_p']} tokens left")
        ax.plot(range(SHOWN), step.tempered, "k.", markersize=4, label="before the filter")
        if step.min_p_threshold is not None:
            ax.axhline(step.min_p_threshold, color=DRAWN, lw=0.8, ls="--", label="min_p cut")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    save(fig, out / f"{name}.png")


def save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def all_figures() -> dict[str, Callable[[Inspector, Path], None]]:
    return {
        "greedy": greedy,
        "temperature": temperature,
        "top_k": lambda i, o: filtered(
            i,
            o,
            "top_k",
            "top-k keeps the k most likely tokens (grey: cut), then renormalises",
            [("top_k 3", {"top_k": 3}), ("top_k 10", {"top_k": 10})],
        ),
        "top_p": lambda i, o: filtered(
            i,
            o,
            "top_p",
            "top-p keeps the smallest set whose probability reaches p",
            [("top_p 0.5", {"top_p": 0.5}), ("top_p 0.9", {"top_p": 0.9})],
        ),
        "top_p_temperature": lambda i, o: filtered(
            i,
            o,
            "top_p_temperature",
            "top-p after temperature: the same p keeps few tokens when cold, many when hot",
            [
                ("T 0.7, top_p 0.9", {"temperature": 0.7, "top_p": 0.9}),
                ("T 1.5, top_p 0.9", {"temperature": 1.5, "top_p": 0.9}),
            ],
        ),
        "min_p": lambda i, o: filtered(
            i,
            o,
            "min_p",
            "At temperature 1.5: min_p's cut follows the top token; top-p's fixed mass lets "
            "the tail in",
            [
                ("min_p 0.05", {"temperature": 1.5, "min_p": 0.05}),
                ("min_p 0.1", {"temperature": 1.5, "min_p": 0.1}),
                ("min_p 0.2", {"temperature": 1.5, "min_p": 0.2}),
                ("top_p 0.9", {"temperature": 1.5, "top_p": 0.9}),
            ],
        ),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=RESULTS / "figures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    inspector = Inspector(args.base_url)
    figures = all_figures()
    progress = tqdm(figures.items(), total=len(figures), desc="figures", unit="fig")
    for name, draw in progress:
        progress.set_postfix_str(name)
        draw(inspector, args.out)
    print(f"wrote {len(figures)} figures to {args.out}")
