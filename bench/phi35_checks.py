"""Check a running server that serves Phi-3.5-mini-instruct (the real AWQ checkpoint on a GPU,
or the toy twin on the CPU) for what the model's format makes fragile: the chat template's
token ids, the stop at <|end|> without leaking it, byte-fallback logprob bytes, structured
output, the inspector, tool calls (the template has no tool syntax). With --answers it also
runs the README's SDK example and asks for a right answer (only the real model knows Paris).

    python -m bench phi35_checks --base-url http://127.0.0.1:8000 [--answers]

Prints one line per check and a JSON summary last; exits 1 if any check failed. Needs only
httpx and openai (both in vLLM's image): scripts/gpu/gpu_check.sh runs it inside the
container.
"""

from __future__ import annotations

import argparse
import json
import traceback
from collections.abc import Callable, Sequence

import httpx
from openai import OpenAI

SYSTEM, USER, ASSISTANT, END = 32006, 32010, 32001, 32007
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Café €5?"},
]
# Phi-3.5's template renders "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n
# <|assistant|>\nHello.<|end|>\n<|user|>\nCafé €5?<|end|>\n<|assistant|>\n"; its added tokens
# strip the whitespace after them (rstrip), so no newline token follows any of them.
EXPECTED_IDS = [
    SYSTEM, 3492, 526, 1935, 344, 29889, END,  # You are terse.
    USER, 18567, 727, END,  # Hi there
    ASSISTANT, 10994, 29889, END,  # Hello.
    USER, 29907, 28059, 25540, 29945, 29973, END,  # Café €5?
    ASSISTANT,
]  # fmt: skip
E2 = 3 + 0xE2  # <0xE2>: SentencePiece's byte pieces follow <unk>, <s>, </s>
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


class Checks:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=300)
        self.sdk = OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
        self.model = self.http.get("/v1/models").json()["data"][0]["id"]

    def chat(self, **fields) -> dict:
        body = {"model": self.model, "messages": [{"role": "user", "content": "Hi"}], **fields}
        response = self.http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def template(self) -> str:
        body = {"model": self.model, "messages": CONVERSATION}
        ids = self.http.post("/v1/tokenize", json=body).json()["tokens"]
        assert ids == EXPECTED_IDS, f"got {ids}"
        return f"{len(ids)} ids as expected"

    def stop_at_end(self) -> str:
        body = self.chat(logit_bias={str(END): 100}, max_tokens=5, logprobs=True)
        choice = body["choices"][0]
        assert choice["finish_reason"] == "stop", choice
        assert choice["message"]["content"] == "", choice
        assert body["usage"]["completion_tokens"] == 1, body["usage"]
        (entry,) = choice["logprobs"]["content"]
        assert entry["token"] == "<|end|>" and entry["bytes"] == list(b"<|end|>"), entry
        streamed = self.http.post(
            "/v1/chat/completions",
            json={
                "model": self.model,
                "messages": [{"role": "user", "content": "Hi"}],
                "logit_bias": {str(END): 100},
                "stream": True,
            },
        ).text
        assert '"finish_reason":"stop"' in streamed and "<|end|>" not in streamed, streamed
        return "finish_reason stop, no <|end|> in content, its logprob listed"

    def byte_fallback(self) -> str:
        tokens = [E2, 3 + 0x82, 3 + 0xAC]
        text = self.http.post("/v1/detokenize", json={"model": self.model, "tokens": tokens})
        assert text.json()["prompt"] == "€", text.text
        body = self.chat(logit_bias={str(E2): 100}, max_tokens=1, logprobs=True, top_logprobs=1)
        (entry,) = body["choices"][0]["logprobs"]["content"]
        assert entry["bytes"] == [0xE2] and entry["token"] == "\ufffd", entry
        return "<0xE2> reports bytes [226]"

    def structured_output(self) -> str:
        schema = {
            "type": "object",
            "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
            "required": ["answer"],
            "additionalProperties": False,
        }
        body = self.chat(
            messages=[{"role": "user", "content": "Is Paris in France?"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "yn", "schema": schema},
            },
            max_tokens=20,
            temperature=0,
        )
        content = body["choices"][0]["message"]["content"]
        assert json.loads(content)["answer"] in ("yes", "no"), content
        return content

    def tools(self) -> str:
        """A required call decodes under the grammar; a conversation with a call and its
        result renders in the server's format (Phi-3.5's template drops a `tool` turn, so
        the result is a user turn)."""
        parameters = {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 20}},
            "required": ["city"],
            "additionalProperties": False,
        }
        tools = [{"type": "function", "function": {"name": "weather", "parameters": parameters}}]
        body = self.chat(
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=tools,
            tool_choice="required",
            parallel_tool_calls=False,
            max_tokens=40,
            temperature=0,
        )
        choice = body["choices"][0]
        assert choice["finish_reason"] == "tool_calls", choice
        (call,) = choice["message"]["tool_calls"]
        assert call["function"]["name"] == "weather", call
        assert set(json.loads(call["function"]["arguments"])) == {"city"}, call
        conversation = [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "tool_calls": [{**call, "type": "function"}]},
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
        ]
        tokens = self.http.post(
            "/v1/tokenize", json={"model": self.model, "messages": conversation}
        ).json()
        assert tokens["tokens"].count(USER) == 2, tokens  # the result is a user turn
        return call["function"]["arguments"]

    def inspector(self) -> str:
        body = {"model": self.model, "messages": CONVERSATION, "steps": 3, "top_k": 5, "seed": 1}
        response = self.http.post("/v1/sampling/inspect", json=body)
        assert response.status_code == 200, response.text
        steps = response.json()["steps"]
        assert len(steps) == 3, steps
        for step in steps:
            # vLLM's top-k keeps every token tied with the k-th (fp16 logits tie often)
            kept = [c for c in step["candidates"] if c["kept_by_top_k"]]
            assert len(kept) == step["survivors"]["after_top_k"] >= 5, step["survivors"]
            assert step["sampled"]["id"] in {c["id"] for c in kept}, step["sampled"]
        survivors = [s["survivors"]["after_top_k"] for s in steps]
        return f"vocabulary {steps[0]['survivors']['vocabulary']}, top-k survivors {survivors}"

    def readme_example(self) -> str:
        """The README's SDK example, and a right answer from the real model."""
        response = self.sdk.chat.completions.create(
            model=self.model,
            messages=QUESTION,
            temperature=0.7,
            top_p=0.9,
            seed=42,
            max_tokens=32,
            logprobs=True,
            top_logprobs=3,
            extra_body={"top_k": 40, "min_p": 0.05},
        )
        text = response.choices[0].message.content
        assert "Paris" in text, text
        assert len(response.choices[0].logprobs.content) == response.usage.completion_tokens
        return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--answers", action="store_true", help="the real model: ask for Paris")
    args = parser.parse_args(argv)
    checks = Checks(args.base_url)
    plan: list[tuple[str, Callable[[], str]]] = [
        ("template", checks.template),
        ("stop_at_end", checks.stop_at_end),
        ("byte_fallback", checks.byte_fallback),
        ("structured_output", checks.structured_output),
        ("inspector", checks.inspector),
        ("tools", checks.tools),
    ]
    if args.answers:
        plan.append(("readme_example", checks.readme_example))
    results = {}
    for name, check in plan:
        try:
            detail = check()
            results[name] = {"ok": True, "detail": detail}
        except Exception as exc:  # one failing check must not hide the others
            detail = "".join(traceback.format_exception_only(exc)).strip()
            results[name] = {"ok": False, "detail": detail}
        print(f"{'PASS' if results[name]['ok'] else 'FAIL'} {name}: {detail}", flush=True)
    print(json.dumps({"model": checks.model, "checks": results}))
    return 0 if all(r["ok"] for r in results.values()) else 1
