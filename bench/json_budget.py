"""Does structured output finish within a small budget? Against a running server, at
temperature 0: the SDK's .parse() of a two-field model (max_tokens 80), then seven prompts as
`json_object` and as "any JSON object" (a json_schema of {"type": "object"}, what
json_object meant before it was bounded), max_tokens 40. Prints each answer and a summary:
valid JSON answers and the tokens they used. Run it against a server started with and
without --json-whitespace to compare (docs/api/structured-output.md).

    .venv/bin/python -m bench json_budget --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import openai
from openai import OpenAI
from pydantic import BaseModel

PROMPTS = [
    "Describe Paris in JSON.",
    "Give me a city as JSON.",
    "Give the capital of France as JSON.",
    "Return a JSON object with the name and age of Alice, who is 30.",
    "List three colors in JSON.",
    "What is 2+2? Answer in JSON.",
    "Tell me about yourself as JSON.",
]
ANY_OBJECT = {"type": "json_schema", "json_schema": {"name": "any", "schema": {"type": "object"}}}


class City(BaseModel):
    name: str
    country: str


def valid(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    client = OpenAI(base_url=f"{args.base_url}/v1", api_key="unused", max_retries=0)
    model = client.models.list().data[0].id

    try:
        parsed = client.chat.completions.parse(
            model=model,
            messages=[{"role": "user", "content": "Give the capital of France as JSON."}],
            response_format=City,
            temperature=0,
            max_tokens=80,
        )
        text = parsed.choices[0].message.content
        print(f"parse: ok tokens={parsed.usage.completion_tokens} {text!r}")
    except openai.LengthFinishReasonError as exc:
        print(f"parse: ran out of tokens ({exc.completion.usage.completion_tokens})")
    for label, response_format in (("json_object", {"type": "json_object"}), ("any", ANY_OBJECT)):
        answers = []
        for prompt in PROMPTS:
            response = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                response_format=response_format,
                temperature=0,
                max_tokens=40,
            )
            text = response.choices[0].message.content
            answers.append((valid(text), response.usage.completion_tokens))
            print(
                f"{label}: valid={valid(text)} tokens={response.usage.completion_tokens} {text!r}"
            )
        used = [tokens for ok, tokens in answers if ok]
        print(
            f"{label}: {len(used)}/{len(answers)} valid within 40 tokens"
            + (f" (tokens used {min(used)}-{max(used)})" if used else "")
        )
