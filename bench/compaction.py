"""What compaction saves and what it loses, against a running server: per round a long
conversation (a name the user gave, a code only the assistant said, ~2,000 tokens of notes)
is asked about, whole and after `POST /v1/responses/compact`, and once more with
`context_management` on create. Recorded: the prompt tokens before and after, the pass's
own tokens and time, and whether each answer still holds the name and the code (the name
survives in the user messages compaction keeps; the code only through the summary).

    .venv/bin/python -m bench compaction [--base-url http://127.0.0.1:8000] [--rounds 5]

Writes docs/results/compaction.json and prints the medians."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import RESULTS, provenance

NAMES = ["Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana"]
NOTE_DAYS = 90  # ~2,000 tokens of SmolLM2's tokenizer
THRESHOLD = 1000  # OpenAI's smallest compact_threshold
QUESTIONS = {"name": "What is my name?", "code": "What is my locker code?"}
GREEDY = {"temperature": 0, "max_output_tokens": 24}


def conversation(round_: int) -> tuple[list[dict], dict[str, str]]:
    """The history and the facts it holds."""
    name, code = NAMES[round_ % len(NAMES)], str(4000 + 37 * round_)
    notes = " ".join(
        f"On day {day} the team reviewed step {day} of the garden plan and agreed to keep it."
        for day in range(1, NOTE_DAYS + 1)
    )
    history = [
        {"role": "user", "content": f"Hello, my name is {name}. I need a locker."},
        {"role": "assistant", "content": f"Welcome, {name}. Your locker code is {code}."},
        {"role": "user", "content": "Please keep notes on our garden plan."},
        {"role": "assistant", "content": notes},
    ]
    return history, {"name": name, "code": code}


@dataclass(frozen=True)
class Asked:
    input_tokens: int
    text: str
    holds: bool  # the answer names the fact


@dataclass(frozen=True)
class Round:
    name: str
    code: str
    compact_s: float
    compact_input_tokens: int
    summary_tokens: int
    summary: str
    whole: dict[str, Asked]
    compacted: dict[str, Asked]
    server_side_items: list[str]
    server_side_input_tokens: int


def answer_text(response: dict) -> str:
    return "".join(
        part.get("text", "")
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


def ask(http, model: str, items: list[dict], question: str, fact: str) -> Asked:
    body = {"model": model, "input": [*items, {"role": "user", "content": question}], **GREEDY}
    answer = http.post("/v1/responses", json=body)
    answer.raise_for_status()
    response = answer.json()
    text = answer_text(response)
    return Asked(response["usage"]["input_tokens"], text, fact.lower() in text.lower())


def one_round(http, model: str, round_: int) -> Round:
    history, facts = conversation(round_)
    started = time.perf_counter()
    compact = http.post("/v1/responses/compact", json={"model": model, "input": history})
    compact.raise_for_status()
    compact_s = time.perf_counter() - started
    compacted = compact.json()
    summary = compacted["output"][-1]["encrypted_content"]
    whole = {k: ask(http, model, history, q, facts[k]) for k, q in QUESTIONS.items()}
    after = {k: ask(http, model, compacted["output"], q, facts[k]) for k, q in QUESTIONS.items()}
    managed = http.post(
        "/v1/responses",
        json={
            "model": model,
            "input": [*history, {"role": "user", "content": QUESTIONS["code"]}],
            "context_management": [{"type": "compaction", "compact_threshold": THRESHOLD}],
            **GREEDY,
        },
    )
    managed.raise_for_status()
    server_side = managed.json()
    return Round(
        name=facts["name"],
        code=facts["code"],
        compact_s=round(compact_s, 3),
        compact_input_tokens=compacted["usage"]["input_tokens"],
        summary_tokens=compacted["usage"]["output_tokens"],
        summary=summary,
        whole=whole,
        compacted=after,
        server_side_items=[item["type"] for item in server_side["output"]],
        server_side_input_tokens=server_side["usage"]["input_tokens"],
    )


def summarize(rounds: list[Round]) -> dict:
    def median(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    def held(pick: str, fact: str) -> str:
        hits = sum(getattr(r, pick)[fact].holds for r in rounds)
        return f"{hits}/{len(rounds)}"

    return {
        "prompt_tokens_whole": median([r.whole["name"].input_tokens for r in rounds]),
        "prompt_tokens_compacted": median([r.compacted["name"].input_tokens for r in rounds]),
        "prompt_tokens_server_side": median([r.server_side_input_tokens for r in rounds]),
        "compact_s": median([r.compact_s for r in rounds]),
        "summary_tokens": median([r.summary_tokens for r in rounds]),
        "name_answered_whole": held("whole", "name"),
        "name_answered_compacted": held("compacted", "name"),
        "code_answered_whole": held("whole", "code"),
        "code_answered_compacted": held("compacted", "code"),
        "server_side_output_starts_with_compaction": all(
            r.server_side_items[:1] == ["compaction"] for r in rounds
        ),
    }


def main(argv: Sequence[str] | None = None) -> None:
    import httpx

    parser = argparse.ArgumentParser(prog="python -m bench compaction")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "compaction.json")
    args = parser.parse_args(argv)
    headers = {"authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=600) as http:
        model = http.get("/v1/models").json()["data"][0]["id"]
        rounds = [one_round(http, model, r) for r in range(args.rounds)]
    result = {
        **provenance("compaction", None if argv is None else list(argv)),
        "model": model,
        "threshold": THRESHOLD,
        "summary": summarize(rounds),
        "rounds": [asdict(r) for r in rounds],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
