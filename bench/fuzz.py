"""Fuzz a running server through its own OpenAPI schema with schemathesis: valid requests
(drawn up to the bounds the schema declares) and invalid ones, on every route, for as long
as asked. Prints the answers by status code, and every 5xx, non-envelope error or invalid
JSON it met; exits 1 if there was any.

    .venv/bin/python -m bench fuzz --base-url http://127.0.0.1:8000 --minutes 10

The CI test (tests/e2e/test_fuzz.py) runs it briefly and derandomised against its server.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import schemathesis
from schemathesis.generation import GenerationMode

from bench.drawn import each_case

# Sizes a valid request may ask for, clamped so a fuzzed request never generates for long.
CLAMPED = {"max_tokens": 4, "max_completion_tokens": 4, "max_output_tokens": 4, "steps": 2}


# Without a limit (or with an explicit null) these generate to the end of the context.
LIMIT_OF_PATH = {
    "/v1/chat/completions": "max_tokens",
    "/v1/completions": "max_tokens",
    "/v1/responses": "max_output_tokens",
}


def clamp(body: object, path: str, model: str | None) -> object:
    """Keep a drawn request cheap, and (for valid requests) aimed at the served model, so
    that it reaches the engine instead of stopping at the 404 for an unknown model."""
    if isinstance(body, dict):
        if model is not None and isinstance(body.get("model"), str):
            body["model"] = model
        if path in LIMIT_OF_PATH and all(body.get(key) is None for key in CLAMPED):
            body[LIMIT_OF_PATH[path]] = CLAMPED[LIMIT_OF_PATH[path]]
        for key, cap in {**CLAMPED, "min_tokens": CLAMPED["max_tokens"]}.items():
            value = body.get(key)
            if isinstance(value, float) and value.is_integer():  # JSON's 4.0 is an integer
                body[key] = float(max(min(value, cap), -1))
            elif isinstance(value, int) and not isinstance(value, bool):
                body[key] = max(min(value, cap), -1)
        if isinstance(body.get("n"), int) and not isinstance(body.get("n"), bool):
            body["n"] = min(body["n"], 2)
        if isinstance(body.get("top_candidates"), int):
            body["max_candidates"] = 50
    return body


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def problem_with(status: int, content_type: str, text: str) -> str | None:
    """What is wrong with an answer, if anything: a 5xx, JSON that is not JSON (NaN and
    Infinity included), or an error outside OpenAI's envelope."""
    if status >= 500:
        return f"{status}: {text[:300]}"
    if not content_type.startswith("application/json"):
        return None
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        return f"{status}: invalid JSON ({exc}): {text[:200]}"
    if status >= 400 and (
        set(body) != {"error"} or not {"message", "type", "param", "code"} <= set(body["error"])
    ):
        return f"{status}: not an error envelope: {text[:200]}"
    return None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} in JSON")


def fuzz_operation(
    operation, base_url: str, model: str, mode, examples: int, derandomize: bool, tally: Tally
):
    def check(case) -> None:
        positive = mode is GenerationMode.POSITIVE
        case.body = clamp(case.body, operation.path, model if positive else None)
        response = case.call(base_url=base_url, timeout=120)
        tally.statuses[response.status_code] += 1
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        problem = problem_with(response.status_code, content_type, response.text)
        if problem:
            tally.problems.append(f"{operation.label} [{mode.value}] {problem}")

    each_case(operation, mode, examples, derandomize, check)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--minutes", type=float, default=10.0, help="keep going this long")
    parser.add_argument("--examples", type=int, default=200, help="per route, mode and round")
    parser.add_argument("--once", action="store_true", help="one round, whatever the time")
    parser.add_argument("--derandomize", action="store_true", help="the same cases every run")
    args = parser.parse_args(argv)

    schema = schemathesis.openapi.from_url(f"{args.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    model = httpx.get(f"{args.base_url}/v1/models", timeout=30).json()["data"][0]["id"]
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.minutes * 60
    rounds = 0
    while True:
        rounds += 1
        for operation in operations:
            for mode in GenerationMode:
                fuzz_operation(
                    operation, args.base_url, model, mode, args.examples, args.derandomize, tally
                )
        elapsed = time.monotonic() - started
        print(
            f"round {rounds}: {tally.requests} requests in {elapsed / 60:.1f} min, "
            f"{len(tally.problems)} problems",
            flush=True,
        )
        if args.once or time.monotonic() >= deadline:
            break
    print(f"{len(operations)} routes, {tally.requests} requests, {elapsed / 60:.1f} minutes")
    for status, count in sorted(tally.statuses.items()):
        print(f"  {status}: {count}")
    for problem in tally.problems:
        print(f"PROBLEM {problem}")
    return 1 if tally.problems else 0
