"""The sampling lab: what each sampling method does to whole answers, on the served model.

    .venv/bin/python -m bench sampling_lab --base-url http://127.0.0.1:8000 [--quick] [--out DIR]

Sweeps temperature x method (temperature only, top_p 0.9 / 0.95, top_k 40, min_p 0.05 / 0.1)
and the named presets at their own settings, and measures per cell:
- correctness: short factual questions shipped with the project (bench/lab/questions.json),
  one seeded answer each; right when an accepted answer appears in it as a whole word;
- variety: several seeded answers to the same prompt — distinct answers over a set of the
  questions, distinct-2 (unique word bigrams / all bigrams) over open-ended prompts;
- coherence: the model's own mean log-probability of the open-ended answers' tokens, scored
  through the server (`/v1/completions` with `echo` and `max_tokens: 0`): "the tail got in"
  as a number;
- answer length in tokens and the share cut by `max_tokens`.

Requests go concurrently, so the engine batches them. Writes DIR/lab.json (every cell, with
its exact request parameters and seeds, so a cell can be rerun), DIR/correctness.png
(correctness against temperature per method), DIR/frontier.png (variety against correctness)
and prints a table (DIR: docs/results/sampling_lab). Works against any model the server serves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from bench import QUESTIONS, RESULTS

SYSTEM = "Answer with one word or a short phrase."
OPEN_PROMPTS = [
    "Write one sentence about the sea.",
    "Describe a cat in one sentence.",
    "Suggest a name for a bakery.",
    "Tell me one fact about space.",
    "Write the first line of a poem about autumn.",
    "Give me an idea for a weekend activity.",
    "Describe your favourite food in one sentence.",
    "Invent a name for a new colour.",
]
METHODS: dict[str, dict[str, Any]] = {
    "temperature only": {},
    "top_p 0.9": {"top_p": 0.9},
    "top_p 0.95": {"top_p": 0.95},
    "top_k 40": {"top_k": 40},
    "min_p 0.05": {"min_p": 0.05},
    "min_p 0.1": {"min_p": 0.1},
    "top_n_sigma 1": {"top_n_sigma": 1.0},
    "typical_p 0.9": {"typical_p": 0.9},
    "xtc 0.5/0.1": {"xtc_probability": 0.5, "xtc_threshold": 0.1},
    "mirostat tau 5": {"mirostat": 2, "mirostat_tau": 5.0},
    "dry 0.8": {"dry_multiplier": 0.8},
}
# Long answers, for repetition: what DRY is for.
LONG_PROMPTS = [
    "Write a long story about a dragon.",
    "Explain in detail how a bicycle works.",
    "Write a long letter to a friend about your holidays.",
]
PRESETS = ("precise", "balanced", "creative")


@dataclass(frozen=True)
class Plan:
    temperatures: tuple[float, ...]
    methods: tuple[str, ...]
    presets: tuple[str, ...]
    questions: int  # how many of the shipped questions answer for correctness
    variety_questions: int  # of those, how many are asked `samples` times for variety
    open_prompts: int
    samples: int  # seeded answers per variety prompt
    answer_tokens: int = 24
    open_tokens: int = 40
    long_prompts: int = len(LONG_PROMPTS)
    long_tokens: int = 200


FULL = Plan(
    temperatures=(0.0, 0.3, 0.7, 1.0, 1.3, 1.6, 2.0),
    methods=tuple(METHODS),
    presets=PRESETS,
    questions=10_000,  # all of them
    variety_questions=12,
    open_prompts=len(OPEN_PROMPTS),
    samples=4,
)
QUICK = Plan(
    temperatures=(0.0, 1.0, 2.0),
    methods=("temperature only", "top_p 0.9", "min_p 0.1"),
    presets=("balanced",),
    questions=30,
    variety_questions=4,
    open_prompts=3,
    samples=3,
    long_prompts=1,
)


# --- metrics (pure) ---------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, accents and punctuation off, single spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def is_correct(answer: str, accepted: Sequence[str]) -> bool:
    """An accepted answer appears in the answer as a whole word (or words)."""
    said = f" {normalise(answer)} "
    return any(f" {normalise(a)} " in said for a in accepted)


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Unique word n-grams over all n-grams of the texts together (1.0: nothing repeats)."""
    grams = []
    for text in texts:
        words = normalise(text).split()
        grams += [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repeated_share(text: str, n: int = 4) -> float:
    """Word n-grams that already occurred earlier in the same text, over all its n-grams
    (0: nothing said twice): the loops small models fall into."""
    words = normalise(text).split()
    seen: set[tuple[str, ...]] = set()
    repeats = total = 0
    for i in range(len(words) - n + 1):
        gram = tuple(words[i : i + n])
        repeats += gram in seen
        total += 1
        seen.add(gram)
    return repeats / total if total else 0.0


def distinct_share(texts: Sequence[str]) -> float:
    """Distinct answers over answers (1/len when all are the same)."""
    return len({normalise(t) for t in texts}) / len(texts) if texts else 0.0


@dataclass
class Cell:
    """One sampling setting and what it did."""

    name: str  # "min_p 0.1 @ T=1.3", "greedy", "preset balanced"
    method: str
    temperature: float | None  # None: the preset's own
    params: dict[str, Any]
    # per question, in the questions' order
    answer_seeds: list[int] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    answer_tokens: list[int] = field(default_factory=list)
    cut: list[bool] = field(default_factory=list)
    # per variety prompt
    variety_seeds: list[int] = field(default_factory=list)
    distinct_answers: list[float] = field(default_factory=list)
    distinct_2: list[float] = field(default_factory=list)
    coherence: list[float] = field(default_factory=list)
    # per long prompt
    repetition: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        def mean(values: Sequence[float]) -> float:
            return statistics.fmean(values) if values else float("nan")

        return {
            "accuracy": mean([float(c) for c in self.correct]),
            "distinct_answers": mean(self.distinct_answers),
            "distinct_2": mean(self.distinct_2),
            "coherence": mean(self.coherence),
            "repetition": mean(self.repetition),
            "answer_tokens": mean([float(t) for t in self.answer_tokens]),
            "cut_share": mean([float(c) for c in self.cut]),
        }


def cells(plan: Plan) -> list[Cell]:
    """Greedy once (every method is greedy at temperature 0), each method at each other
    temperature, each preset at its own settings."""
    found = [Cell("greedy", "greedy", 0.0, {"temperature": 0.0})]
    for temperature in plan.temperatures:
        if temperature == 0:
            continue
        for method in plan.methods:
            params = {"temperature": temperature, **METHODS[method]}
            found.append(Cell(f"{method} @ T={temperature:g}", method, temperature, params))
    for preset in plan.presets:
        found.append(Cell(f"preset {preset}", f"preset {preset}", None, {"preset": preset}))
    return found


# --- running against a server -----------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    text: str
    tokens: int
    cut: bool


class Lab:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=600)
        self.limit = asyncio.Semaphore(concurrency)
        self.model = ""

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.limit:
            response = await self.http.post(path, json={"model": self.model, **body})
        response.raise_for_status()
        return response.json()

    async def answer(self, messages: list[dict], params: dict, seed: int, tokens: int) -> Answer:
        body = await self.post(
            "/v1/chat/completions",
            {"messages": messages, "max_tokens": tokens, "seed": seed, **params},
        )
        choice = body["choices"][0]
        return Answer(
            choice["message"]["content"] or "",
            body["usage"]["completion_tokens"],
            choice["finish_reason"] == "length",
        )

    async def coherence(self, messages: list[dict], answer: str) -> float | None:
        """Mean logprob of the answer's tokens under the model: the prompt's ids and the
        answer's, scored in one prefill (temperature 1, no filter: raw in either mode)."""
        prompt = await self.post("/v1/tokenize", {"messages": messages})
        said = await self.post("/v1/tokenize", {"prompt": answer, "add_special_tokens": False})
        if not said["tokens"]:
            return None
        body = await self.post(
            "/v1/completions",
            {
                "prompt": prompt["tokens"] + said["tokens"],
                "echo": True,
                "max_tokens": 0,
                "logprobs": 0,
                "temperature": 1.0,
            },
        )
        logprobs = body["choices"][0]["logprobs"]["token_logprobs"][-len(said["tokens"]) :]
        return statistics.fmean(logprobs)


def asking(question: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


async def run_cell(lab: Lab, plan: Plan, cell: Cell, items: list[dict], bar: tqdm) -> None:
    # the same seed for a question in every cell: paired comparisons
    cell.answer_seeds = [1000 + index for index in range(len(items))]

    async def correctness(index: int, item: dict) -> Answer:
        seed = cell.answer_seeds[index]
        answer = await lab.answer(asking(item["question"]), cell.params, seed, plan.answer_tokens)
        bar.update()
        return answer

    seeds = [2000 + s for s in range(plan.samples)]
    cell.variety_seeds = seeds

    async def variety_question(item: dict) -> None:
        answers = await asyncio.gather(
            *(
                lab.answer(asking(item["question"]), cell.params, s, plan.answer_tokens)
                for s in seeds
            )
        )
        cell.distinct_answers.append(distinct_share([a.text for a in answers]))
        bar.update(len(seeds))

    async def variety_open(prompt: str) -> None:
        messages = [{"role": "user", "content": prompt}]
        answers = await asyncio.gather(
            *(lab.answer(messages, cell.params, s, plan.open_tokens) for s in seeds)
        )
        cell.distinct_2.append(distinct_n([a.text for a in answers]))
        scores = await asyncio.gather(*(lab.coherence(messages, a.text) for a in answers))
        cell.coherence += [s for s in scores if s is not None]
        bar.update(len(seeds))

    async def long_answer(prompt: str) -> None:
        messages = [{"role": "user", "content": prompt}]
        answer = await lab.answer(messages, cell.params, seeds[0], plan.long_tokens)
        cell.repetition.append(repeated_share(answer.text))
        bar.update()

    answers, *_ = await asyncio.gather(
        asyncio.gather(*(correctness(i, item) for i, item in enumerate(items))),
        *(variety_question(item) for item in items[: plan.variety_questions]),
        *(variety_open(prompt) for prompt in OPEN_PROMPTS[: plan.open_prompts]),
        *(long_answer(prompt) for prompt in LONG_PROMPTS[: plan.long_prompts]),
    )
    cell.answers = [a.text for a in answers]
    cell.correct = [is_correct(a.text, i["answers"]) for a, i in zip(answers, items, strict=True)]
    cell.answer_tokens = [a.tokens for a in answers]
    cell.cut = [a.cut for a in answers]


def requests_per_cell(plan: Plan, questions: int) -> int:
    variety = (min(plan.variety_questions, questions) + plan.open_prompts) * plan.samples
    return questions + variety + plan.long_prompts


async def run(base_url: str, api_key: str, plan: Plan, concurrency: int) -> dict[str, Any]:
    lab = Lab(base_url, api_key, concurrency)
    models = (await lab.http.get("/v1/models")).json()["data"]
    lab.model = models[0]["id"]
    items = json.loads(QUESTIONS.read_text())["items"][: plan.questions]
    grid = cells(plan)
    started = time.perf_counter()
    total = len(grid) * requests_per_cell(plan, len(items))
    with tqdm(total=total, unit="answer", desc="sampling lab") as bar:
        await asyncio.gather(*(run_cell(lab, plan, cell, items, bar) for cell in grid))
    await lab.http.aclose()
    return {
        "model": lab.model,
        "logprobs_mode": models[0].get("logprobs_mode"),
        "plan": asdict(plan),
        "questions": len(items),
        "seconds": round(time.perf_counter() - started, 1),
        "cells": [{**asdict(c), "summary": c.summary()} for c in grid],
    }


# --- output -------------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{'cell':26} {'accuracy':>8} {'distinct':>8} {'distinct-2':>10} {'coherence':>9} "
        f"{'repeats':>7} {'tokens':>6} {'cut':>5}"
    ]
    for cell in result["cells"]:
        s = cell["summary"]
        lines.append(
            f"{cell['name']:26} {s['accuracy']:8.3f} {s['distinct_answers']:8.2f} "
            f"{s['distinct_2']:10.3f} {s['coherence']:9.2f} {s['repetition']:7.3f} "
            f"{s['answer_tokens']:6.1f} "
            f"{s['cut_share']:5.2f}"
        )
    return "\n".join(lines)


def sweep(cells_: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    """A method's cells, by temperature."""
    return sorted((c for c in cells_ if c["method"] == method), key=lambda c: c["temperature"])


def finish(fig: Any, ax: Any, labels: tuple[str, str], title: str, path: Path) -> None:
    """Both figures' axes, legend and file."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figures(result: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells_ = result["cells"]
    greedy = next(c for c in cells_ if c["method"] == "greedy")
    methods = [m for m in METHODS if any(c["method"] == m for c in cells_)]
    presets = [c for c in cells_ if c["method"].startswith("preset")]
    title = f"{result['model']}, {result['questions']} questions"

    fig, ax = plt.subplots(figsize=(8, 5))
    for method in methods:
        row = sweep(cells_, method)
        xs = [0.0] + [c["temperature"] for c in row]
        ys = [greedy["summary"]["accuracy"]] + [c["summary"]["accuracy"] for c in row]
        ax.plot(xs, ys, marker="o", label=method)
    for cell in presets:
        ax.axhline(cell["summary"]["accuracy"], linestyle=":", color="grey", linewidth=1)
        ax.annotate(cell["name"], (0.02, cell["summary"]["accuracy"]), fontsize=8, color="grey")
    correctness = out / "correctness.png"
    finish(
        fig,
        ax,
        ("temperature", "accuracy (share of right answers)"),
        f"Correctness against temperature — {title}",
        correctness,
    )

    fig, ax = plt.subplots(figsize=(8, 5))
    for method in methods:
        row = sweep(cells_, method)
        xs = [c["summary"]["accuracy"] for c in row]
        ys = [c["summary"]["distinct_2"] for c in row]
        ax.plot(xs, ys, marker="o", label=method)
        for x, y, c in zip(xs, ys, row, strict=True):
            ax.annotate(f"{c['temperature']:g}", (x, y), fontsize=7)
    for step, cell in enumerate([greedy, *presets]):
        s = cell["summary"]
        ax.scatter([s["accuracy"]], [s["distinct_2"]], marker="*", s=120, zorder=3)
        ax.annotate(
            cell["name"],
            (s["accuracy"], s["distinct_2"]),
            xytext=(-60, 10 + 12 * step),
            textcoords="offset points",
            fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.5},
        )
    frontier = out / "frontier.png"
    finish(
        fig,
        ax,
        ("accuracy", "variety (distinct-2 over seeded open-ended answers)"),
        f"Variety against correctness (labels: temperature) — {title}",
        frontier,
    )
    return [correctness, frontier]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--quick", action="store_true", help="a few cells, under 2 minutes")
    parser.add_argument("--out", type=Path, default=RESULTS / "sampling_lab")
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--questions", type=int, help="use only the first N questions")
    parser.add_argument("--methods", help="comma-separated, of: " + ", ".join(METHODS))
    parser.add_argument("--temperatures", help="comma-separated, e.g. 0.7,1,1.5,2")
    parser.add_argument("--no-presets", action="store_true")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.questions:
        plan = Plan(**{**asdict(plan), "questions": args.questions})
    if args.methods:
        plan = Plan(**{**asdict(plan), "methods": tuple(args.methods.split(","))})
    if args.temperatures:
        temperatures = tuple(float(t) for t in args.temperatures.split(","))
        plan = Plan(**{**asdict(plan), "temperatures": temperatures})
    if args.no_presets:
        plan = Plan(**{**asdict(plan), "presets": ()})
    result = asyncio.run(run(args.base_url, args.api_key, plan, args.concurrency))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lab.json").write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    pictures = figures(result, args.out)
    print(f"{result['seconds']} s; wrote {args.out / 'lab.json'}, " + ", ".join(map(str, pictures)))
