"""Requests drawn from OpenAI's own spec, sent to a running server: every request that is
valid under OpenAI's published OpenAPI document for chat completions, completions and
Responses (tests/e2e/openai_requests.json, cut from it by `python -m bench openai_spec`) must be
answered 2xx, or 4xx for a reason docs/api/compatibility.md lists (server/protocol/policy.py):
never a 5xx, never a 400 for a field OpenAI accepts. Prints the statuses per endpoint and
the refusals by parameter; exits 1 on any answer outside that.

    .venv/bin/python -m bench spec_conformance --base-url http://127.0.0.1:8000 --examples 200
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import schemathesis
from schemathesis.generation import GenerationMode

from bench import ROOT
from bench.drawn import each_case
from server.protocol.policy import explained

SPEC = ROOT / "tests" / "e2e" / "openai_requests.json"
# What keeps a drawn request cheap: a few tokens, at most two choices.
OUTPUT_LIMITS = {
    "/v1/chat/completions": ("max_completion_tokens", "max_tokens"),
    "/v1/completions": ("max_tokens",),
    "/v1/responses": ("max_output_tokens",),
}
CAP = 4


def aimed(body: object, path: str, model: str) -> object:
    """The drawn request at the served model, with a small output budget (a request the
    spec allows either way: these fields are in every operation)."""
    if not isinstance(body, dict):
        return body
    body["model"] = model
    if path == "/v1/responses" and body.get("input") is None:
        body["input"] = "Hello"  # optional in the spec (for stored conversations): here needed
    for key in OUTPUT_LIMITS[path]:
        body.pop(key, None)
    body[OUTPUT_LIMITS[path][0]] = 16 if path == "/v1/responses" else CAP
    if isinstance(body.get("n"), int):
        body["n"] = min(body["n"], 2)
    if isinstance(body.get("best_of"), int) and isinstance(body.get("n"), int):
        body["best_of"] = min(body["best_of"], 2)
    return body


def spec_fields(document: object) -> set[str]:
    """Every property name the spec declares anywhere."""
    names: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


SPEC_FIELDS = spec_fields(json.loads(SPEC.read_text()))


def refused_spec_field(param: str | None, code: str | None) -> bool:
    """An "unknown" field that OpenAI's spec does declare: never an acceptable answer."""
    if code != "unknown_parameter" or not param:
        return False
    return re.sub(r"\[[0-9]+\]", "", param).rsplit(".", 1)[-1] in SPEC_FIELDS


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def judge(path: str, status: int, text: str, tally: Tally, sent: object) -> None:
    tally.statuses[(path, status)] += 1
    if status < 400:
        return
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        tally.problems.append(f"{path} {status}: not an error envelope: {text[:300]}")
        return
    tally.refusals[f"{path} {status} {error.get('param') or error.get('code')}"] += 1
    param, code = error.get("param"), error.get("code")
    if status >= 500 or not explained(param, code) or refused_spec_field(param, code):
        request = json.dumps(sent)[:600]
        tally.problems.append(f"{path} {status} {error}: {request}")


def run(base_url: str, model: str, examples: int, derandomize: bool) -> Tally:
    schema = schemathesis.openapi.from_path(str(SPEC))
    tally = Tally()
    for result in schema.get_all_operations():
        check_operation(result.ok(), base_url, model, examples, derandomize, tally)
    return tally


def check_operation(
    operation, base_url: str, model: str, examples: int, derandomize: bool, tally: Tally
) -> None:
    def check(case) -> None:
        body = aimed(case.body, operation.path, model)
        response = httpx.post(f"{base_url}{operation.path}", json=body, timeout=120)
        judge(operation.path, response.status_code, response.text, tally, body)

    each_case(operation, GenerationMode.POSITIVE, examples, derandomize, check)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--examples", type=int, default=200, help="per endpoint")
    parser.add_argument("--derandomize", action="store_true", help="the same cases every run")
    parser.add_argument("--json", type=Path, help="write the tally here")
    args = parser.parse_args(argv)
    model = httpx.get(f"{args.base_url}/v1/models", timeout=30).json()["data"][0]["id"]
    tally = run(args.base_url, model, args.examples, args.derandomize)
    print(f"{tally.requests} requests drawn from OpenAI's spec")
    for (path, status), count in sorted(tally.statuses.items()):
        print(f"  {path} {status}: {count}")
    print("refusals by parameter:")
    for what, count in tally.refusals.most_common():
        print(f"  {what}: {count}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "requests": tally.requests,
                    "statuses": {f"{p} {s}": n for (p, s), n in sorted(tally.statuses.items())},
                    "refusals": dict(tally.refusals.most_common()),
                    "problems": tally.problems,
                },
                indent=1,
            )
        )
    for problem in tally.problems:
        print(f"PROBLEM {problem}")
    return 1 if tally.problems else 0
