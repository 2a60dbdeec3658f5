"""The seed experiment: one prompt, answered greedily and with each sampler, through the
OpenAI SDK on a running sampling-server. For every setting it prints the answer and draws
the first answer token's distribution: the model's own probabilities (`top_logprobs`, which
report the model's distribution before any sampling parameter) beside the distribution the
token was drawn from (the server's inspector, `POST /v1/sampling/inspect`, with the same
parameters and seed).

    python docs/sampling/tutorial.py --base-url http://127.0.0.1:8000 --out tutorial/

Writes one PNG per setting and `tutorial.json` (every answer and distribution) to --out.
Needs openai and matplotlib; any served model (its name comes from /v1/models); the key in
OPENAI_API_KEY if the server wants one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import matplotlib
from openai import OpenAI

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MESSAGES = [
    {
        "role": "user",
        "content": "Continue the story in one sentence: Once upon a time, there was a",
    }
]
SEED = 42
MAX_TOKENS = 24
SHOWN = 20  # the most top_logprobs OpenAI's API allows


@dataclass(frozen=True)
class Setting:
    """One step of the experiment: a name and the sampling parameters it sends."""

    name: str
    temperature: float
    top_p: float = 1.0
    top_k: int = -1  # off
    min_p: float = 0.0  # off

    def parameters(self) -> dict[str, float | int]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
        }


SETTINGS = (
    Setting("greedy", temperature=0.0),
    Setting("temperature 0.5", temperature=0.5),
    Setting("temperature 1", temperature=1.0),
    Setting("temperature 1.5", temperature=1.5),
    Setting("top-k 5", temperature=1.0, top_k=5),
    Setting("top-p 0.9", temperature=1.0, top_p=0.9),
    Setting("top-p 0.9, temperature 1.5", temperature=1.5, top_p=0.9),
    Setting("min-p 0.1, temperature 1.5", temperature=1.5, min_p=0.1),
)


@dataclass
class Step:
    """What one setting gave: the answer, and its first token's two distributions."""

    setting: Setting
    answer: str
    first_token: str
    tokens: list[str] = field(default_factory=list)  # the most likely first tokens
    raw: list[float] = field(default_factory=list)  # their probabilities (top_logprobs)
    final: list[float] = field(default_factory=list)  # those they were drawn with
    entropy_final_bits: float = 0.0


def answer(client: OpenAI, model: str, setting: Setting) -> Step:
    """The chat completion with the first token's 20 most likely alternatives. top_k and
    min_p are not in OpenAI's signature: they go in extra_body."""
    response = client.chat.completions.create(
        model=model,
        messages=MESSAGES,  # type: ignore[arg-type]
        seed=SEED,
        max_tokens=MAX_TOKENS,
        logprobs=True,
        top_logprobs=SHOWN,
        temperature=setting.temperature,
        top_p=setting.top_p,
        extra_body={"top_k": setting.top_k, "min_p": setting.min_p},
    )
    choice = response.choices[0]
    first = choice.logprobs.content[0]  # type: ignore[union-attr]
    return Step(
        setting=setting,
        answer=choice.message.content or "",
        first_token=first.token,
        tokens=[alternative.token for alternative in first.top_logprobs],
        raw=[math.exp(alternative.logprob) for alternative in first.top_logprobs],
    )


def inspect(http: httpx.Client, model: str, step: Step) -> None:
    """The inspector's first step with the same parameters: the probability each of those
    tokens was drawn with after temperature, min-p, top-k and top-p (0: cut)."""
    body = {
        "model": model,
        "messages": MESSAGES,
        "seed": SEED,
        "steps": 1,
        "top_candidates": SHOWN,
        "max_candidates": SHOWN,
        **step.setting.parameters(),
    }
    response = http.post("/v1/sampling/inspect", json=body)
    response.raise_for_status()
    first = response.json()["steps"][0]
    final = {candidate["token"]: candidate["final_prob"] for candidate in first["candidates"]}
    step.final = [final.get(token, 0.0) for token in step.tokens]
    step.entropy_final_bits = first["entropy_final_bits"]


def draw(step: Step, path: Path) -> None:
    """Bars: the model's probability of each token (grey) and the one it was drawn with
    (blue; orange: the token this answer began with)."""
    figure, axes = plt.subplots(figsize=(9, 3.6))
    positions = range(len(step.tokens))
    axes.bar(positions, step.raw, width=0.8, color="#c8c8c8", label="model (top_logprobs)")
    axes.bar(positions, step.final, width=0.45, color="#3b7dd8", label="drawn from (inspector)")
    if step.first_token in step.tokens:
        chosen = step.tokens.index(step.first_token)
        axes.bar([chosen], [step.final[chosen]], width=0.45, color="#e0662b", label="drawn")
    axes.set_xticks(list(positions), [repr(t)[1:-1] for t in step.tokens], rotation=60)
    axes.set_ylabel("probability")
    axes.set_title(f"{step.setting.name}: the first token of the answer")
    axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    key = os.environ.get("OPENAI_API_KEY", "unused")  # a server started with --api-key
    client = OpenAI(base_url=f"{args.base_url}/v1", api_key=key)
    http = httpx.Client(
        base_url=args.base_url, headers={"authorization": f"Bearer {key}"}, timeout=300
    )
    model = client.models.list().data[0].id
    print(f"model: {model}\nprompt: {MESSAGES[0]['content']!r}\n")
    steps = []
    for number, setting in enumerate(SETTINGS, 1):
        step = answer(client, model, setting)
        inspect(http, model, step)
        draw(step, args.out / f"{number:02d}_{re.sub('[^a-z0-9.]+', '_', setting.name)}.png")
        steps.append(step)
        print(f"[{number}/{len(SETTINGS)}] {setting.name}: {step.answer!r}")
    summary = {"model": model, "messages": MESSAGES, "seed": SEED, "steps": steps}
    (args.out / "tutorial.json").write_text(
        json.dumps(summary, default=asdict, indent=1, ensure_ascii=False) + "\n"
    )


if __name__ == "__main__":
    main()
