"""How tool calling behaves on a running server (docs/api/tools.md), in two parts.

1. "auto" on prompts that invite a call: 50 questions (weather or time in 25 cities), each
   asked two ways: plainly, and after one worked example of a call (call, result, answer).
   Greedy. Counts the answers that called a tool and the calls whose arguments validate
   against the function's schema.
2. What constraining costs: the same prompt without tools, with tools in "auto" (the grammar
   runs but the text stays free; ignore_eos, 128 tokens) and with tool_choice "required" (a
   call). Interleaved rounds; tokens/s of each.

Writes the numbers to --out (docs/results/tool_calls.json) and prints them.

    .venv/bin/python -m bench tool_calls --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import jsonschema
from openai import OpenAI

from bench import RESULTS

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TIME = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40}},
    "required": ["city"],
    "additionalProperties": False,
}
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"The current {kind} in a city.",
            "parameters": p,
        },
    }
    for name, kind, p in (("get_weather", "weather", WEATHER), ("get_time", "time", TIME))
]
CITIES = [
    "Paris",
    "Tokyo",
    "Berlin",
    "Oslo",
    "Lima",
    "Cairo",
    "Madrid",
    "Rome",
    "Vienna",
    "Prague",
    "Dublin",
    "Lisbon",
    "Athens",
    "Nairobi",
    "Delhi",
    "Seoul",
    "Sydney",
    "Toronto",
    "Chicago",
    "Denver",
    "Boston",
    "Miami",
    "Quito",
    "Bogota",
    "Havana",
]
QUESTIONS = [f"What is the weather in {c}?" for c in CITIES] + [
    f"What time is it in {c}?" for c in CITIES
]
EXAMPLE = [
    {"role": "user", "content": "What is the weather in Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_example",
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": '{"city": "Rome", "unit": "celsius"}',
                },
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_example", "content": '{"temperature": 21}'},
    {"role": "assistant", "content": "It is 21 degrees in Rome."},
]
WAYS = {"plain": [], "after a worked example": EXAMPLE}


def auto_calls(client: OpenAI, model: str) -> dict[str, dict[str, int]]:
    results = {}
    for way, before in WAYS.items():
        called = valid = calls_made = 0
        for question in QUESTIONS:
            answer = client.chat.completions.create(
                model=model,
                messages=[*before, {"role": "user", "content": question}],
                tools=TOOLS,
                temperature=0,
                max_tokens=80,
            )
            calls = answer.choices[0].message.tool_calls or []
            called += bool(calls)
            for call in calls:
                calls_made += 1
                try:
                    arguments = json.loads(call.function.arguments)
                    jsonschema.validate(arguments, SCHEMAS[call.function.name])
                except (ValueError, jsonschema.ValidationError):
                    continue
                valid += 1
        print(
            f"auto, {way}: {called} of {len(QUESTIONS)} called a tool; "
            f"{valid} of {calls_made} calls validated"
        )
        results[way] = {
            "requests": len(QUESTIONS),
            "called": called,
            "calls": calls_made,
            "valid_calls": valid,
        }
    return results


def throughput(client: OpenAI, model: str, rounds: int) -> dict[str, dict[str, float]]:
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    kinds = {
        "no tools (free text)": {"extra_body": {"ignore_eos": True}, "max_tokens": 128},
        "tools, auto (free text)": {
            "tools": TOOLS,
            "extra_body": {"ignore_eos": True},
            "max_tokens": 128,
        },
        "no tools (16 tokens)": {"max_tokens": 16, "extra_body": {"ignore_eos": True}},
        "tools, required (a call)": {"tools": TOOLS, "tool_choice": "required", "max_tokens": 80},
    }
    samples: dict[str, list[tuple[float, int]]] = {k: [] for k in kinds}
    for _ in range(rounds):
        for kind, extra in kinds.items():
            started = time.perf_counter()
            answer = client.chat.completions.create(
                model=model, messages=messages, temperature=0, **extra
            )
            samples[kind].append((time.perf_counter() - started, answer.usage.completion_tokens))
    results = {}
    for kind, runs in samples.items():
        rates = [tokens / seconds for seconds, tokens in runs]
        results[kind] = {
            "tokens": statistics.median(t for _, t in runs),
            "seconds": statistics.median(s for s, _ in runs),
            "tokens_per_s": statistics.median(rates),
        }
        r = results[kind]
        print(
            f"{kind:28} {r['tokens']:5.0f} tokens  {r['seconds']:6.3f} s  "
            f"{r['tokens_per_s']:6.1f} tokens/s"
        )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default="unused")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS / "tool_calls.json")
    args = parser.parse_args(argv)
    client = OpenAI(base_url=f"{args.base_url}/v1", api_key=args.api_key, max_retries=0)
    model = client.models.list().data[0].id
    results = {
        "model": model,
        "auto": auto_calls(client, model),
        "throughput": throughput(client, model, args.rounds),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
