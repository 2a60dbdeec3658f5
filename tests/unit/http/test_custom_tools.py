"""Custom tools through the app's Responses API over a stand-in chat that writes a custom
call: the `custom_tool_call` item whole and streamed (OpenAI's custom_tool_call_input
events), stored, and its output sent back by `previous_response_id` reaching the prompt as
the call and its result; a grammar that does not compile is a 400 naming it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from server.protocol.chat import ChatCompletion, ChatCompletionRequest, Choice
from server.protocol.tools import MessageCustomCall
from server.sampling.outputs import ChoiceOutput
from server.sampling.params import EffectiveSampling, OutputRequest, resolve
from server.services.background import Runs
from server.services.chat import FieldNames, PreparedChat
from server.services.responses import Responses
from server.services.usage import usage
from server.settings import SamplingDefaults
from server.tools import shape
from server.tools.format import custom_call_text
from server.tools.parse import parse_answer
from server.tools.plan import ToolPlan
from tests.unit.http.conftest import A

INPUT = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n"
ANSWER = custom_call_text("apply_patch", INPUT)
PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files",
    "format": {
        "type": "grammar",
        "syntax": "lark",
        "definition": 'start: "*** Begin Patch" /(.|\\n)*/',
    },
}
CODEX_TOOLS = [{"type": "namespace", "name": "files", "description": "d", "tools": [PATCH_TOOL]}]


class CallingChat:
    """Writes ANSWER, in pieces, when the request may call tools; else "Done."."""

    model_id = "m"

    def __init__(self) -> None:
        self.read: list[ChatCompletionRequest] = []

    def prepare(
        self,
        request: ChatCompletionRequest,
        tools: ToolPlan | None = None,
        names: FieldNames | None = None,
    ) -> PreparedChat:
        self.read.append(request)
        return PreparedChat(
            request,
            [1, 2],
            OutputRequest(max_tokens=64),
            resolve(request, SamplingDefaults()),
            tools,
        )

    def _text(self, prepared: PreparedChat) -> str:
        return ANSWER if prepared.parses_calls else "Done."

    async def deltas(self, prepared: PreparedChat, request_id: str) -> AsyncIterator[ChoiceOutput]:
        text = self._text(prepared)
        for start in range(0, len(text), 7):
            last = start + 7 >= len(text)
            yield ChoiceOutput(
                0, text[start : start + 7], (1,), None, "stop" if last else None, None
            )

    async def complete(self, prepared: PreparedChat) -> ChatCompletion:
        parsed = parse_answer(self._text(prepared))
        choice = Choice(
            index=0,
            message=shape.message(parsed),
            finish_reason=shape.finish_reason(parsed, "stop"),  # type: ignore[arg-type]
        )
        return ChatCompletion(
            id="chatcmpl-1",
            created=0,
            model="m",
            choices=[choice],
            usage=usage(2, 9),
            system_fingerprint="fp",
        )

    def sampling(self, prepared: PreparedChat) -> EffectiveSampling:
        return resolve(prepared.request, SamplingDefaults())

    def logprobs(self, prepared: PreparedChat, delta: ChoiceOutput) -> list:
        return []


@pytest.fixture
def chat(client: TestClient) -> CallingChat:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    calling = CallingChat()
    keeper = runtime.services.responses.keeper
    responses = Responses(calling, keeper, Runs())  # type: ignore[arg-type]
    runtime.services = replace(runtime.services, responses=responses)
    return calling


def test_a_custom_call_is_a_custom_tool_call_item_and_goes_back_in(client: TestClient, chat):
    first = client.post(
        "/v1/responses",
        headers=A,
        json={"model": "m", "input": "Add hello.txt", "tools": CODEX_TOOLS},
    )
    assert first.status_code == 200, first.text
    body = first.json()
    [item] = body["output"]
    assert item == {
        "type": "custom_tool_call",
        "id": item["id"],
        "call_id": item["call_id"],
        "name": "apply_patch",
        "input": INPUT,
        "status": "completed",
        "namespace": "files",
    }
    assert item["id"].startswith("ctc_") and item["call_id"].startswith("call_")
    second = client.post(
        "/v1/responses",
        headers=A,
        json={
            "model": "m",
            "previous_response_id": body["id"],
            "input": [
                {"type": "custom_tool_call_output", "call_id": item["call_id"], "output": "Done!"}
            ],
            "tools": CODEX_TOOLS,
            "tool_choice": "none",
        },
    )
    assert second.status_code == 200, second.text
    messages = chat.read[-1].messages
    assert [m.role for m in messages] == ["user", "assistant", "tool"]
    [call] = messages[1].tool_calls or []
    assert isinstance(call, MessageCustomCall)
    assert (call.id, call.custom.name, call.custom.input) == (item["call_id"], "apply_patch", INPUT)
    assert (messages[2].tool_call_id, messages[2].content) == (item["call_id"], "Done!")


def test_a_streamed_custom_call_has_openais_input_events(client: TestClient, chat):
    answer = client.post(
        "/v1/responses",
        headers=A,
        json={
            "model": "m",
            "input": "Add hello.txt",
            "tools": [PATCH_TOOL],
            "tool_choice": {"type": "custom", "name": "apply_patch"},
            "stream": True,
        },
    )
    assert answer.status_code == 200, answer.text
    stream = [
        json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")
    ]
    kinds = [e["type"] for e in stream]
    added = stream[kinds.index("response.output_item.added")]
    assert added["item"]["type"] == "custom_tool_call" and added["item"]["input"] == ""
    deltas = [e for e in stream if e["type"] == "response.custom_tool_call_input.delta"]
    assert "".join(e["delta"] for e in deltas) == INPUT
    assert all(e["item_id"] == added["item"]["id"] and e["output_index"] == 0 for e in deltas)
    [done] = [e for e in stream if e["type"] == "response.custom_tool_call_input.done"]
    assert done["input"] == INPUT and done["item_id"] == added["item"]["id"]
    assert kinds.index("response.custom_tool_call_input.done") < kinds.index(
        "response.output_item.done"
    )
    assert not any(k.startswith("response.function_call_arguments") for k in kinds)
    final = stream[-1]["response"]
    assert final["output"][0]["input"] == INPUT and final["output"][0]["status"] == "completed"
    assert final["tool_choice"] == {"type": "custom", "name": "apply_patch"}


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        (
            {
                "type": "custom",
                "name": "p",
                "format": {"type": "grammar", "syntax": "lark", "definition": "start: ("},
            },
            "tools[0].format.definition",
        ),
        (
            {
                "type": "namespace",
                "name": "n",
                "description": "d",
                "tools": [
                    {
                        "type": "custom",
                        "name": "p",
                        "format": {"type": "grammar", "syntax": "regex", "definition": "["},
                    }
                ],
            },
            "tools[0].tools[0].format.definition",
        ),
    ],
)
def test_a_grammar_that_does_not_compile_is_a_400_naming_it(client: TestClient, chat, tool, param):
    answer = client.post(
        "/v1/responses", headers=A, json={"model": "m", "input": "hi", "tools": [tool]}
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["param"], error["code"]) == (param, "invalid_grammar")
    assert chat.read == []


def test_forcing_an_undeclared_custom_tool_is_a_400(client: TestClient, chat):
    answer = client.post(
        "/v1/responses",
        headers=A,
        json={
            "model": "m",
            "input": "hi",
            "tools": [PATCH_TOOL],
            "tool_choice": {"type": "custom", "name": "nope"},
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "tool_choice"
