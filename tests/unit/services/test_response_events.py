"""The Responses event stream over a stand-in chat service: text then calls become a message
item then function_call items with consistent indexes; an error after the stream began is
the Responses `error` event and nothing after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from server.protocol.chat import ChatCompletionRequest
from server.protocol.errors import APIError
from server.protocol.responses import ResponseCreateRequest
from server.sampling.outputs import ChoiceOutput
from server.sampling.params import EffectiveSampling, OutputRequest, resolve
from server.services.background import Runs
from server.services.chat import PreparedChat
from server.services.responses import Begun, Responses
from server.services.stored import Keeper
from server.settings import SamplingDefaults
from server.store.database import Retention
from server.tools.plan import NO_PARAMETERS, Function, plan_tools

PIECES = ["Let me ", "look.\n<tool", '_call>\n{"name": "f", "argu', 'ments": {}}\n</tool_call>']


class FakeChat:
    model_id = "m"

    def __init__(self, pieces: list[str], fail: bool = False) -> None:
        self.pieces = pieces
        self.fail = fail

    async def deltas(self, prepared: PreparedChat, request_id: str) -> AsyncIterator[ChoiceOutput]:
        for i, text in enumerate(self.pieces):
            last = i == len(self.pieces) - 1
            yield ChoiceOutput(0, text, (1,), None, "stop" if last else None, None)
        if self.fail:
            raise APIError("the grammar backend refused", param="tools")

    def sampling(self, prepared: PreparedChat) -> EffectiveSampling:
        return resolve(prepared.request, SamplingDefaults())

    def logprobs(self, prepared: PreparedChat, delta: ChoiceOutput) -> list:
        return []


def prepared(tools: bool) -> PreparedChat:
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}])
    plan = plan_tools([Function("f", None, NO_PARAMETERS, "tools[0]")], None, None, True)
    return PreparedChat(
        request,
        [1, 2],
        OutputRequest(max_tokens=8),
        resolve(request, SamplingDefaults()),
        plan if tools else None,
    )


async def events(chat: FakeChat, tools: bool) -> list[dict]:
    body = ResponseCreateRequest(model="m", input="hi", stream=True, store=False)
    keeper = Keeper(None, Retention(1.0, 1))
    request, turn = await keeper.begin(body, owner="")
    responses = Responses(chat, keeper, Runs())  # type: ignore[arg-type]
    begun = Begun(request, prepared(tools), turn)
    stream = [event async for event in responses.stream(begun)]
    for event in stream:
        assert event.sse == f"event: {event.type}\ndata: {event.data}\n\n"
    return [json.loads(event.data) for event in stream]


async def test_text_then_a_call_are_two_items_in_order():
    stream = await events(FakeChat(PIECES), tools=True)
    kinds = [e["type"] for e in stream]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    added = [e for e in stream if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "message"),
        (1, "function_call"),
    ]
    text = "".join(e["delta"] for e in stream if e["type"] == "response.output_text.delta")
    assert text == "Let me look."
    arguments = [e for e in stream if e["type"].startswith("response.function_call_arguments")]
    assert {e["output_index"] for e in arguments} == {1}
    assert arguments[-1]["arguments"] == "{}" and arguments[-1]["name"] == "f"
    # the message is closed before the call item opens
    assert kinds.index("response.output_text.done") < kinds.index("response.output_item.added", 3)
    final = stream[-1]["response"]["output"]
    assert [item["type"] for item in final] == ["message", "function_call"]
    assert final[1]["call_id"].startswith("call_") and final[1]["status"] == "completed"
    assert [e["sequence_number"] for e in stream] == list(range(len(stream)))


async def test_without_tools_the_text_stays_text():
    stream = await events(FakeChat(PIECES), tools=False)
    text = "".join(e["delta"] for e in stream if e["type"] == "response.output_text.delta")
    assert text == "".join(PIECES)
    assert [item["type"] for item in stream[-1]["response"]["output"]] == ["message"]


async def test_an_error_midway_is_the_error_event_and_the_end():
    stream = await events(FakeChat(PIECES[:1], fail=True), tools=False)
    assert stream[-1]["type"] == "error"
    assert stream[-1]["param"] == "tools" and "refused" in stream[-1]["message"]
    assert not any(e["type"] == "response.completed" for e in stream)
