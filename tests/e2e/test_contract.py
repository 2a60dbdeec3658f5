"""The contract under hostile input, on the real server: requests that once crashed it are
4xx over the same keep-alive connection, leave nothing in the engine, and the next request
works; logprobs agree with usage; structured output finishes; no deprecated vLLM path."""

import json

import httpx
import pytest
from pydantic import BaseModel

from tests.e2e.test_operations import engine_requests

CHAT = "/v1/chat/completions"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _deep_schema(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def hostile(model: str) -> list[tuple[str, dict, str]]:
    """(path, body, the parameter the refusal must name) — each once answered 500 (and a
    dropped connection), or, for the seeds, left a request in the engine for good."""
    chat = {"model": model, "messages": QUESTION, "max_tokens": 2}
    return [
        (CHAT, {**chat, "seed": 2**80}, "seed"),
        (CHAT, {**chat, "seed": -(2**63) - 1}, "seed"),
        (CHAT, {**chat, "stop": ["x"] * 17}, "stop"),
        ("/v1/completions", {"model": model, "prompt": [-3], "max_tokens": 2}, "prompt[0]"),
        ("/v1/completions", {"model": model, "prompt": [10**12], "max_tokens": 2}, "prompt[0]"),
        ("/v1/completions", {"model": model, "prompt": [[1], [60000]]}, "prompt"),
        (CHAT, {**chat, "logit_bias": {"--5": 1}}, "logit_bias.--5"),
        (CHAT, {**chat, "logit_bias": {"²": 1}}, "logit_bias.²"),
        (CHAT, {**chat, "logit_bias": {"49152": 1}}, "logit_bias"),
        (
            "/v1/responses",
            {
                "model": model,
                "input": "hi",
                "text": {"format": {"type": "json_schema", "name": "a b", "schema": {}}},
            },
            "text.format.name",
        ),
        (
            CHAT,
            {
                **chat,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "deep", "schema": _deep_schema(100)},
                },
            },
            "response_format.json_schema.schema",
        ),
    ]


def test_hostile_requests_are_4xx_on_one_connection_and_leave_nothing(server, model):
    with httpx.Client(base_url=server.base_url, timeout=60) as conn:
        before = engine_requests(conn)
        for path, body, param in hostile(model):
            response = conn.post(path, json=body)
            assert response.status_code == 400, (body, response.text)
            error = response.json()["error"]
            assert error["param"] == param, (body, error)
            assert "Traceback" not in response.text
            assert engine_requests(conn) == before, body
            # the same connection carries the next request
            fine = conn.post(CHAT, json={"model": model, "messages": QUESTION, "max_tokens": 1})
            assert fine.status_code == 200
        assert engine_requests(conn) == before


def test_a_schema_the_grammar_backend_refuses_is_a_400_before_any_stream(http, model):
    """A look-behind pattern is valid JSON Schema but llguidance cannot compile it: refused
    up front, naming the field, instead of an error event halfway through a stream."""
    schema = {"type": "string", "pattern": "(?<=a)b"}
    responses = {
        "model": model,
        "input": "hi",
        "stream": True,
        "max_output_tokens": 5,
        "text": {"format": {"type": "json_schema", "name": "x", "schema": schema}},
    }
    chat = {
        "model": model,
        "messages": QUESTION,
        "stream": True,
        "max_tokens": 5,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    for path, body, param in [
        ("/v1/responses", responses, "text.format.schema"),
        (CHAT, chat, "response_format"),
    ]:
        response = http.post(path, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == param
        assert "look-around" in response.json()["error"]["message"]


def test_edge_seeds_are_served_and_reproducible(http, model):
    """The ends of the seed range, and -1 (which vLLM itself reads as "no seed"), are
    ordinary seeds here. One choice at a time: a batch partner can move bf16 logits enough
    to change a later draw (batched bf16 arithmetic)."""
    for seed in (2**63 - 1, -(2**63), -1, 0):
        body = {"model": model, "messages": QUESTION, "max_tokens": 6, "seed": seed}
        first, second = (http.post(CHAT, json=body).json() for _ in range(2))
        assert first["choices"][0]["message"] == second["choices"][0]["message"], seed
        both = http.post(CHAT, json={**body, "n": 2})
        assert both.status_code == 200, both.text


def _greedy(model: str, **extra) -> dict:
    return {"model": model, "messages": QUESTION, "temperature": 0, "max_tokens": 32, **extra}


@pytest.mark.greedy_text
def test_chat_logprobs_count_every_token_the_end_token_included(http, model, vocab_end):
    body = http.post(CHAT, json=_greedy(model, logprobs=True, top_logprobs=2)).json()
    choice = body["choices"][0]
    content = choice["logprobs"]["content"]
    assert choice["finish_reason"] == "stop"
    assert len(content) == body["usage"]["completion_tokens"]
    last = content[-1]
    assert last["token"] == vocab_end
    assert last["bytes"] == list(vocab_end.encode())
    assert last["logprob"] <= 0
    assert vocab_end not in choice["message"]["content"]
    text = bytes(b for t in content[:-1] for b in t["bytes"]).decode()
    assert text == choice["message"]["content"]


@pytest.mark.greedy_text
def test_streamed_logprobs_count_every_token(http, model, vocab_end):
    body = _greedy(model, logprobs=True, stream=True, stream_options={"include_usage": True})
    tokens, text, usage = [], "", None
    with http.stream("POST", CHAT, json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line.removeprefix("data: "))
            usage = chunk.get("usage") or usage
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
                tokens += (choice.get("logprobs") or {}).get("content") or []
    assert len(tokens) == usage["completion_tokens"]
    assert tokens[-1]["token"] == vocab_end
    assert vocab_end not in text


@pytest.mark.greedy_text
def test_completion_and_inspector_logprobs_count_every_token(http, model, vocab_end):
    ids = http.post("/v1/tokenize", json={"model": model, "messages": QUESTION}).json()["tokens"]
    body = {"model": model, "prompt": ids, "temperature": 0, "max_tokens": 32, "logprobs": 1}
    completion = http.post("/v1/completions", json=body).json()
    logprobs = completion["choices"][0]["logprobs"]
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert len(logprobs["tokens"]) == completion["usage"]["completion_tokens"]
    assert logprobs["tokens"][-1] == vocab_end
    assert vocab_end not in completion["choices"][0]["text"]
    steps = completion["usage"]["completion_tokens"]
    inspection = http.post(
        "/v1/sampling/inspect",
        json={"model": model, "messages": QUESTION, "temperature": 0, "steps": steps + 4},
    ).json()
    assert [s["sampled"]["token"] for s in inspection["steps"]] == logprobs["tokens"]
    for step, logprob in zip(inspection["steps"], logprobs["token_logprobs"], strict=True):
        sampled = next(c for c in step["candidates"] if c["id"] == step["sampled"]["id"])
        assert sampled["raw_logprob"] == pytest.approx(logprob, abs=1e-4)


@pytest.fixture(scope="module")
def vocab_end(http, model) -> str:
    """The chat template's end-of-turn token as the vocabulary writes it."""
    ids = http.post("/v1/tokenize", json={"model": model, "prompt": "<|im_end|>"}).json()
    assert ids["count"] == 1
    return ids["token_strs"][0]


class City(BaseModel):
    name: str
    country: str


@pytest.mark.greedy_text
def test_structured_output_is_compact_and_finishes(client, model):
    """At temperature 0 the embedded model used to indent and nest until max_tokens."""
    parsed = client.chat.completions.parse(
        model=model,
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format=City,
        temperature=0,
        max_tokens=80,
    )
    assert parsed.choices[0].finish_reason == "stop"
    assert isinstance(parsed.choices[0].message.parsed, City)
    assert "\n" not in parsed.choices[0].message.content
    plain = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Describe Paris in JSON."}],
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=40,
    )
    assert plain.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(plain.choices[0].message.content), dict)


def test_no_deprecated_vllm_path_and_a_quiet_start(server, http, client, model):
    """Every kind of request once, then the log since the engine was ready holds no
    deprecation warning (vLLM warns once per process, so any earlier test's would show too);
    and the start logged no weight-dtype conversion."""
    http.post(CHAT, json={"model": model, "messages": QUESTION, "max_tokens": 2})
    http.post("/v1/completions", json={"model": model, "prompt": "Hi", "max_tokens": 2})
    http.post("/v1/completions", json={"model": model, "prompt": [1, 2], "max_tokens": 2})
    http.post("/v1/responses", json={"model": model, "input": "Hi", "max_output_tokens": 2})
    http.post("/v1/sampling/inspect", json={"model": model, "prompt": "Hi", "steps": 2})
    http.post("/v1/tokenize", json={"model": model, "messages": QUESTION})
    log = server.log.read_text(errors="replace")
    assert "engine ready" in log
    before, _, after_ready = log.partition("engine ready")
    deprecated = [line for line in after_ready.splitlines() if "deprecat" in line.lower()]
    assert deprecated == []
    assert "Attempted to load weight" not in before
