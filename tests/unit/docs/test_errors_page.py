"""docs/api/errors.md's table and examples are what the server answers: each example is
produced here by the app itself (its routes, middleware, key check, admission, error
handlers and serializers, over a stand-in engine) and must equal the page's block of the
same name. The page is written by this file: `WRITE_DOCS=1 pytest tests/unit/docs` rewrites
the generated blocks after a change in the code (then read the diff)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from vllm.v1.engine.exceptions import EngineDeadError

from bench.layers import ROOT
from server.http import app as app_module
from server.http.admission import Admission
from server.http.app import create_app
from server.http.error_handlers import CODES, error_response
from server.metrics import Metrics
from server.protocol.chat import ChatCompletionRequest
from server.protocol.errors import APIError
from server.sampling.json_schema import check_schema
from server.sampling.params import OutputRequest, resolve
from server.services.background import Runs
from server.services.budget import Limits
from server.services.chat import ChatCompletions, FieldNames, PreparedChat
from server.services.responses import Responses
from server.services.stored import Keeper
from server.settings import SamplingDefaults, load_settings
from server.store.database import Retention
from server.tools.plan import ToolPlan
from tests.unit.http.conftest import FakeEngine

PAGE = ROOT / "docs" / "api" / "errors.md"
KEY = "sk-example"
AUTH = {"authorization": f"Bearer {KEY}"}
HELLO = [{"role": "user", "content": "Hello"}]
MAX_BODY = 4096
MAX_PROMPT = 48


class DyingEngine(FakeEngine):
    """An engine that is dead by the time a request reaches it (vLLM's EngineDeadError), and
    whose tokenizer fails on text (an unexpected error: the 500)."""

    async def generate(self, prompt_ids: Any, params: Any, request_id: str) -> AsyncIterator[Any]:
        raise EngineDeadError()
        yield

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        raise RuntimeError("the tokenizer failed")

    def decode(self, ids: list[int]) -> str:
        return "a" * len(ids)


class TemplateFreeChat(ChatCompletions):
    """The real chat service; only the chat template is skipped (the stand-in engine has
    none)."""

    def prepare(
        self,
        request: ChatCompletionRequest,
        tools: ToolPlan | None = None,
        names: FieldNames | None = None,
    ) -> PreparedChat:
        return PreparedChat(
            request,
            [1, 2],
            OutputRequest(max_tokens=8),
            resolve(request, SamplingDefaults()),
            tools,
        )


def _app(start: Callable[[Metrics], Any], *flags: str) -> Iterator[TestClient]:
    """The app over what `start` gives, once it is no longer loading (or after 2 s)."""
    settings = load_settings(["--no-store", "--api-key", KEY, "--shutdown-timeout", "0", *flags])
    with TestClient(create_app(settings, start)) as client:
        deadline = time.monotonic() + 2
        while client.app.state.runtime.state == "loading" and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        yield client


@pytest.fixture(scope="module")
def serving() -> Iterator[TestClient]:
    async def start(metrics: Metrics) -> DyingEngine:
        return DyingEngine()

    flags = ("--max-body-bytes", str(MAX_BODY), "--max-prompt-tokens", str(MAX_PROMPT))
    for client in _app(start, *flags):
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        chat = TemplateFreeChat(runtime.services.engine, SamplingDefaults(), Limits(), False)
        keeper = Keeper(None, Retention(86_400, 100))
        responses = Responses(chat, keeper, Runs())
        runtime.services = replace(runtime.services, chat=chat, responses=responses)
        yield client


@pytest.fixture(scope="module")
def loading() -> Iterator[TestClient]:
    """Stopped while loading, the app kills its process's children (the engine's): here
    that process is pytest, whose children include the e2e servers, so that is left out."""

    async def start(metrics: Metrics) -> FakeEngine:
        await asyncio.Event().wait()
        raise AssertionError("never reached")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "_stop_child_processes", lambda: None)
        yield from _app(start)


@pytest.fixture(scope="module")
def failed() -> Iterator[TestClient]:
    async def start(metrics: Metrics) -> FakeEngine:
        raise RuntimeError("no device")

    yield from _app(start)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Case:
    """One refusal: what provokes it, said for the reader and done by `ask`."""

    when: str
    request: str
    ask: Callable[[Apps], Answer]


@dataclass(frozen=True)
class Apps:
    serving: TestClient
    loading: TestClient
    failed: TestClient


def _answer(response: Any) -> Answer:
    headers = {k: v for k, v in response.headers.items() if k == "retry-after"}
    return Answer(response.status_code, response.json(), headers)


def _chat(
    body: dict[str, Any], client: str = "serving", headers: dict[str, str] = AUTH
) -> Callable[[Apps], Answer]:
    def ask(apps: Apps) -> Answer:
        app = getattr(apps, client)
        return _answer(app.post("/v1/chat/completions", json=body, headers=headers))

    return ask


def _completion(body: dict[str, Any]) -> Callable[[Apps], Answer]:
    def ask(apps: Apps) -> Answer:
        sent = {"model": "m", **body}
        return _answer(apps.serving.post("/v1/completions", json=sent, headers=AUTH))

    return ask


def _responses(body: dict[str, Any]) -> Callable[[Apps], Answer]:
    def ask(apps: Apps) -> Answer:
        sent = {"model": "m", "input": "Hello", "store": False, **body}
        return _answer(apps.serving.post("/v1/responses", json=sent, headers=AUTH))

    return ask


def _raw(body: bytes) -> Callable[[Apps], Answer]:
    def ask(apps: Apps) -> Answer:
        headers = {**AUTH, "content-type": "application/json"}
        return _answer(apps.serving.post("/v1/chat/completions", content=body, headers=headers))

    return ask


def _direct(error: Any) -> Callable[[Apps], Answer]:
    """An error no stand-in can provoke through a request, through the app's serializer."""

    def ask(apps: Apps) -> Answer:
        response = error_response(error() if callable(error) else error)
        headers = {k: v for k, v in response.headers.items() if k == "retry-after"}
        return Answer(response.status_code, json.loads(response.body), headers)

    return ask


def _raised(check: Callable[[], object]) -> APIError:
    try:
        check()
    except APIError as error:
        return error
    raise AssertionError("not refused")


def _busy() -> Any:
    admission = Admission(max_in_flight=128, max_per_request=128, metrics=Metrics())
    admission.admit(128, "n")
    return _raised(lambda: admission.admit(1, "n"))


CHAT = {"model": "m", "messages": HELLO}
SCHEMA = "response_format.json_schema.schema"
CASES = {
    "invalid_json": Case(
        "the body is not JSON",
        '`POST /v1/chat/completions` with the body `{"model": `',
        _raw(b'{"model": '),
    ),
    "unknown_parameter": Case(
        "a field outside OpenAI's spec (or misspelt)",
        '`"temprature": 0.5`',
        _chat({**CHAT, "temprature": 0.5}),
    ),
    "missing_required_parameter": Case(
        "a required field is missing",
        "no `messages`",
        _chat({"model": "m"}),
    ),
    "invalid_unicode": Case(
        "text holding a lone surrogate (not Unicode)",
        '`"content": "\\ud800"`',
        _raw(b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}'),
    ),
    "invalid_json_schema": Case(
        "a `response_format` or `text.format` schema that is not one, or that constrained "
        "decoding cannot follow",
        '`"schema": {"type": "nope"}`',
        _direct(lambda: _raised(lambda: check_schema({"type": "nope"}, SCHEMA))),
    ),
    "invalid_grammar": Case(
        "a custom tool's grammar that constrained decoding cannot follow",
        "a custom tool with the Lark grammar `start: (`",
        _responses(
            {
                "tools": [
                    {
                        "type": "custom",
                        "name": "x",
                        "format": {"type": "grammar", "syntax": "lark", "definition": "start: ("},
                    }
                ]
            }
        ),
    ),
    "invalid_value": Case(
        "a value out of range or of the wrong type",
        '`"temperature": 3`',
        _chat({**CHAT, "temperature": 3}),
    ),
    "too_many_choices": Case(
        "more engine requests (prompts x `n`) than `--max-request-fanout` allows",
        'two prompts with `"n": 100`',
        _completion({"prompt": [[1], [2]], "n": 100}),
    ),
    "context_length_exceeded": Case(
        "the prompt plus `max_tokens` is longer than the context",
        'a 40-token prompt with `"max_tokens": 30` on a 64-token context',
        _completion({"prompt": [1] * 40, "max_tokens": 30}),
    ),
    "prompt_too_long": Case(
        "the prompt is longer than `--max-prompt-tokens`",
        f"a 50-token prompt with `--max-prompt-tokens {MAX_PROMPT}`",
        _completion({"prompt": [1] * 50}),
    ),
    "invalid_api_key": Case(
        "`--api-key` is set and the request has no key or another",
        "no `Authorization` header",
        _chat(CHAT, headers={}),
    ),
    "model_not_found": Case(
        "another model than the one served",
        '`"model": "gpt-4o"`',
        _completion({"model": "gpt-4o", "prompt": [1]}),
    ),
    "response_not_found": Case(
        "a stored response that does not exist, or belongs to another API key",
        "`GET /v1/responses/resp_123`",
        lambda apps: _answer(apps.serving.get("/v1/responses/resp_123", headers=AUTH)),
    ),
    "previous_response_not_found": Case(
        "a `previous_response_id` that does not exist, or belongs to another API key",
        '`"previous_response_id": "resp_123"`',
        _responses({"previous_response_id": "resp_123"}),
    ),
    "item_not_found": Case(
        "an `item_reference` to an item that does not exist (404 on the Conversations "
        "API's item routes)",
        '`{"type": "item_reference", "id": "msg_123"}` in `input`',
        _responses({"input": [{"type": "item_reference", "id": "msg_123"}]}),
    ),
    "conversation_not_found": Case(
        "a conversation that does not exist, or belongs to another API key",
        "`GET /v1/conversations/conv_123`",
        lambda apps: _answer(apps.serving.get("/v1/conversations/conv_123", headers=AUTH)),
    ),
    "route_not_found": Case(
        "a route this server does not have",
        "`GET /v1/assistants`",
        lambda apps: _answer(apps.serving.get("/v1/assistants", headers=AUTH)),
    ),
    "request_too_large": Case(
        "the body is larger than `--max-body-bytes`",
        f"a body over {MAX_BODY} bytes",
        _chat({**CHAT, "user": "x" * MAX_BODY}),
    ),
    "server_busy": Case(
        "more engine requests in flight than `--max-concurrent-requests`; with `Retry-After: 1`",
        "the 129th engine request in flight",
        _direct(_busy),
    ),
    "server_error": Case(
        "anything unexpected (the details go to the server's log only)",
        "a tokenizer failing on the prompt",
        _completion({"prompt": "Hi"}),
    ),
    "model_loading": Case(
        "the model is still loading (`GET /health` answers 503 too)",
        "any `/v1` request during start-up",
        _chat(CHAT, client="loading"),
    ),
    "engine_unavailable": Case(
        "the engine failed or the server is stopping",
        "any `/v1` request after the engine died",
        _chat(CHAT, client="failed"),
    ),
}


@pytest.fixture(scope="module")
def apps(serving: TestClient, loading: TestClient, failed: TestClient) -> Apps:
    return Apps(serving, loading, failed)


def _json(value: object) -> str:
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```"


def statuses(answers: dict[str, Answer]) -> str:
    """The status table, then each refusal's example under its own heading."""
    table = ["| status | type | code | when |", "|---|---|---|---|"]
    examples = []
    for name, answer in sorted(answers.items(), key=lambda item: item[1].status):
        error = answer.body["error"]
        label = error["code"] or error["type"]
        anchor = f"{answer.status}-{label}"  # the heading's own id (toc's slug)
        code = f"[`{error['code']}`](#{anchor})" if error["code"] else f"[none](#{anchor})"
        when = CASES[name].when
        table.append(f"| {answer.status} | `{error['type']}` | {code} | {when} |")
        header = "".join(f", with `{k}: {v}`" for k, v in answer.headers.items())
        examples += [
            f"### {answer.status} `{label}`",
            "",
            f"{CASES[name].request}{header}:",
            "",
            _json(answer.body),
            "",
        ]
    return "\n".join([*table, "", "## Examples", "", *examples]).rstrip() + "\n"


def _events(text: str) -> list[str]:
    return [event for event in text.split("\n\n") if event]


def stream_tails(apps: Apps) -> dict[str, str]:
    """How each stream ends when the engine dies after the answer started: chat's
    server-sent events, the Responses API's, and its WebSocket mode (with a refusal first)."""
    client = apps.serving
    chat = {**CHAT, "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=chat, headers=AUTH) as answer:
        chat_events = _events(answer.read().decode())
    create = {"model": "m", "input": "Hello", "store": False, "stream": True}
    with client.stream("POST", "/v1/responses", json=create, headers=AUTH) as answer:
        response_events = _events(answer.read().decode())
    with client.websocket_connect("/v1/responses", headers=AUTH) as socket:
        socket.send_text(json.dumps({"type": "response.create", **create, "temperature": 3}))
        refusal = json.loads(socket.receive_text())
        socket.send_text(json.dumps({"type": "response.create", **create}))
        message = json.loads(socket.receive_text())
        while message["type"] != "error":
            message = json.loads(socket.receive_text())
    return {
        "chat_stream": "```text\n" + "\n\n".join(chat_events[-2:]) + "\n```\n",
        "responses_stream": "```text\n" + response_events[-1] + "\n```\n",
        "websocket_refusal": _json(refusal) + "\n",
        "websocket_error": _json(message) + "\n",
    }


_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end: \2 -->)", re.DOTALL)


def rewrite(page: str, blocks: dict[str, str]) -> str:
    """The page with each generated block's content replaced by the new one."""
    return _BLOCK.sub(lambda m: m.group(1) + blocks[m.group(2)] + m.group(4), page)


def test_the_page_shows_what_the_server_answers(apps):
    blocks = {"statuses": statuses({n: c.ask(apps) for n, c in CASES.items()})}
    blocks |= stream_tails(apps)
    page = PAGE.read_text()
    assert sorted(m.group(2) for m in _BLOCK.finditer(page)) == sorted(blocks)
    if os.environ.get("WRITE_DOCS") == "1":
        PAGE.write_text(rewrite(page, blocks))
        page = PAGE.read_text()
    assert rewrite(page, blocks) == page, "docs/api/errors.md is out of date: WRITE_DOCS=1"


def test_every_code_the_server_sends_is_on_the_page():
    sent = set(re.findall(r'code="(\w+)"', _server_source())) | set(CODES.values())
    page = PAGE.read_text()
    assert sorted(code for code in sent if f"`{code}`" not in page) == []


def test_every_status_the_server_sends_has_a_row():
    rows = {
        int(line.split("|")[1])
        for line in PAGE.read_text().splitlines()
        if re.match(r"\| \d{3} \|", line)
    }
    assert {400, 401, 404, 413, 429, 500, 503} <= rows


def _server_source() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "server").rglob("*.py")))


def test_the_blocks_are_found_and_replaced():
    page = "a\n<!-- generated: one -->\nold\n<!-- end: one -->\nb\n"
    assert (
        rewrite(page, {"one": "new\n"}) == "a\n<!-- generated: one -->\nnew\n<!-- end: one -->\nb\n"
    )
