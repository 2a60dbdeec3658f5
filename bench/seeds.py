"""The seed experiment on a running server: greedy decoding and each sampler (temperature,
top-k, top-p, min-p), every one asked the same question twice with one seed and once with
another, through the OpenAI SDK with logprobs. The same seed must give the same tokens and
logprobs again, and greedy must not depend on the seed; a sampler that answers the other seed
differently shows the seed is used at all.

    python -m bench seeds --base-url http://127.0.0.1:8000 --out seeds.json

Prints one line per setting and writes every answer with its logprobs to --out; exits 1 if a
seed did not repeat. Needs only openai (in vLLM's image): scripts/gpu/gpu_check.sh runs it
inside the GPU container.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openai import OpenAI

QUESTION = [{"role": "user", "content": "Write one sentence about the sea."}]
SEED, OTHER_SEED = 42, 7
# Logprobs of one request repeated alone: equal up to float noise of the kernels.
LOGPROB_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Setting:
    name: str
    temperature: float
    top_p: float = 1.0
    top_k: int = -1
    min_p: float = 0.0

    def request(self) -> dict[str, Any]:
        """The SDK's arguments: top_k and min_p are not in its signature (extra_body)."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "extra_body": {"top_k": self.top_k, "min_p": self.min_p},
        }


SETTINGS = (
    Setting("greedy", temperature=0.0),
    Setting("temperature", temperature=0.8),
    Setting("top_k", temperature=1.0, top_k=40),
    Setting("top_p", temperature=1.0, top_p=0.9),
    Setting("min_p", temperature=1.0, min_p=0.05),
)


@dataclass(frozen=True)
class Answer:
    seed: int
    text: str
    tokens: list[str]
    logprobs: list[float]
    top_logprobs: list[dict[str, float]]


@dataclass(frozen=True)
class Outcome:
    setting: Setting
    answers: list[Answer]
    repeats: bool  # the seed's two answers agree in tokens and logprobs
    other_seed_differs: bool
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def same(a: Answer, b: Answer) -> bool:
    return a.tokens == b.tokens and all(
        abs(x - y) <= LOGPROB_TOLERANCE for x, y in zip(a.logprobs, b.logprobs, strict=True)
    )


def judge(setting: Setting, first: Answer, again: Answer, other: Answer) -> Outcome:
    repeats = same(first, again)
    differs = first.tokens != other.tokens
    problems = []
    if not repeats:
        problems.append(f"seed {first.seed} answered differently the second time")
    if setting.temperature == 0 and differs:
        problems.append(f"greedy answered seed {other.seed} differently")
    return Outcome(setting, [first, again, other], repeats, differs, problems)


def ask(client: OpenAI, model: str, setting: Setting, seed: int, max_tokens: int) -> Answer:
    response = client.chat.completions.create(
        model=model,
        messages=QUESTION,
        seed=seed,
        max_tokens=max_tokens,
        logprobs=True,
        top_logprobs=5,
        **setting.request(),
    )
    choice = response.choices[0]
    entries = choice.logprobs.content
    return Answer(
        seed=seed,
        text=choice.message.content,
        tokens=[e.token for e in entries],
        logprobs=[e.logprob for e in entries],
        top_logprobs=[{t.token: t.logprob for t in e.top_logprobs} for e in entries],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True, help="where the answers go (JSON)")
    args = parser.parse_args(argv)
    client = OpenAI(base_url=f"{args.base_url}/v1", api_key="unused", max_retries=0)
    model = client.models.list().data[0].id
    outcomes = []
    for setting in SETTINGS:
        first, again, other = (
            ask(client, model, setting, seed, args.max_tokens) for seed in (SEED, SEED, OTHER_SEED)
        )
        outcome = judge(setting, first, again, other)
        outcomes.append(outcome)
        verdict = "PASS" if outcome.ok else "FAIL " + "; ".join(outcome.problems)
        print(
            f"{verdict} {setting.name}: repeats={outcome.repeats} "
            f"other_seed_differs={outcome.other_seed_differs} {first.text!r}",
            flush=True,
        )
    args.out.write_text(
        json.dumps(
            {"model": model, "question": QUESTION, "outcomes": [asdict(o) for o in outcomes]},
            indent=1,
        )
        + "\n"
    )
    return 0 if all(o.ok for o in outcomes) else 1
