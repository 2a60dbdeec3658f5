"""Compaction's pure parts and its service over a stand-in chat: what the model reads of a
conversation with a compaction in it, the summarizing pass, and when create compacts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from server.http.error_handlers import validation_error
from server.protocol.chat import ChatCompletionRequest, ChatMessage
from server.protocol.compaction import ResponseCompactRequest
from server.protocol.errors import APIError
from server.protocol.policy import explained
from server.protocol.responses import ResponseCreateRequest
from server.sampling.outputs import ChoiceOutput
from server.sampling.params import OutputRequest, resolve
from server.services.background import Runs
from server.services.chat import FieldNames, PreparedChat
from server.services.compaction import (
    INSTRUCTION,
    SUMMARY_HEADING,
    SUMMARY_TOKENS,
    readable,
    trigger,
)
from server.services.responses import Responses, to_messages
from server.services.stored import Keeper
from server.settings import SamplingDefaults
from server.store.database import Retention
from server.tools.plan import ToolPlan
from tests.unit.http.conftest import FakeChat

LONG = "x" * 1500
CONVERSATION = [
    {"role": "user", "content": "My name is Ada."},
    {"role": "assistant", "content": LONG},
    {"role": "user", "content": "What is my name?"},
]


class ReadingChat(FakeChat):
    """FakeChat whose prompt is one token per character, keeping what each request read;
    `context` refuses longer prompts as the real budget does."""

    def __init__(self, context: int = 1_000_000) -> None:
        self.read: list[ChatCompletionRequest] = []
        self.context = context

    def prepare(
        self,
        request: ChatCompletionRequest,
        tools: ToolPlan | None = None,
        names: FieldNames | None = None,
    ) -> PreparedChat:
        size = sum(len(m.content) for m in request.messages if isinstance(m.content, str))
        if size > self.context:
            raise APIError("too long", param="input", code="context_length_exceeded")
        return PreparedChat(
            request,
            [1] * size,
            OutputRequest(max_tokens=8),
            resolve(request, SamplingDefaults()),
            tools,
        )

    async def deltas(self, prepared: PreparedChat, request_id: str) -> AsyncIterator[ChoiceOutput]:
        self.read.append(prepared.request)
        async for delta in super().deltas(prepared, request_id):
            yield delta


def responses(chat: ReadingChat) -> Responses:
    return Responses(chat, Keeper(None, Retention(86_400, 100)), Runs())  # type: ignore[arg-type]


def create(**fields: object) -> ResponseCreateRequest:
    return ResponseCreateRequest.model_validate({"model": "m", **fields})


def param_of(model: type, body: dict) -> str | None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    errors = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]
    return validation_error(RequestValidationError(errors)).param


def roles(messages: list[ChatMessage]) -> list[tuple[str, str]]:
    return [(m.role, str(m.content)) for m in messages]


def test_a_compaction_is_read_as_its_summary_and_stands_for_what_came_before():
    request = create(
        instructions="Be brief.",
        input=[
            {"role": "developer", "content": "Speak English."},
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": LONG},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"type": "compaction", "id": "cmp_1", "encrypted_content": "Older summary."},
            {"role": "user", "content": "And then?"},
            {"type": "compaction", "id": "cmp_2", "encrypted_content": "Ada asked things."},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert roles(to_messages(request)) == [
        ("system", "Be brief."),
        ("developer", "Speak English."),
        ("user", "My name is Ada."),
        ("user", "And then?"),
        ("system", f"{SUMMARY_HEADING}\nAda asked things."),
        ("assistant", "Hello Ada."),
        ("user", "What is my name?"),
    ]


def test_without_a_compaction_everything_is_read():
    items = create(input=CONVERSATION).input
    assert readable(items) == list(items)


def test_compaction_items_go_in_and_their_trigger_still_does_not():
    item = {"type": "compaction", "encrypted_content": "s", "id": "cmp_1", "created_by": "x"}
    create(input=[item])
    assert param_of(ResponseCreateRequest, {"model": "m", "input": [{"type": "compaction"}]}) == (
        "input[0].encrypted_content"
    )
    trigger_item = {"model": "m", "input": [{"type": "compaction_trigger"}]}
    assert param_of(ResponseCreateRequest, trigger_item) == "input[0]"


@pytest.mark.parametrize(
    ("entries", "param"),
    [
        (
            [{"type": "compaction", "compact_threshold": 999}],
            "context_management[0].compact_threshold",
        ),
        (
            [{"type": "compaction", "compact_threshold": "2000"}],
            "context_management[0].compact_threshold",
        ),
        (
            [{"type": "compaction", "compact_threshold": 2000.5}],
            "context_management[0].compact_threshold",
        ),
        ([{"type": "compaction"}, {"type": "truncate"}], "context_management[1].type"),
        ([{"compact_threshold": 2000}], "context_management[0].type"),
        ([{"type": "compaction", "threshold": 2000}], "context_management[0].threshold"),
        ([], "context_management"),
        ("compaction", "context_management"),
    ],
)
def test_bad_context_management_is_named(entries, param):
    body = {"model": "m", "input": "hi", "context_management": entries}
    assert param_of(ResponseCreateRequest, body) == param


def test_another_kind_of_context_management_is_a_refusal_the_policy_lists():
    assert explained("context_management[1].type", "invalid_value")


def test_the_trigger_is_the_lowest_threshold():
    assert trigger(create(input="hi")) is None
    assert (
        trigger(create(input="hi", context_management=[{"type": "compaction"}])).threshold is None
    )
    entries = [
        {"type": "compaction", "compact_threshold": 5000},
        {"type": "compaction", "compact_threshold": 2000},
        {"type": "compaction", "compact_threshold": None},
    ]
    assert trigger(create(input="hi", context_management=entries)).threshold == 2000


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": [{"type": "web_search_call", "id": "w"}]}, "input[0]"),
        ({"model": "m", "input": "hi", "stream": True}, "stream"),
    ],
)
def test_bad_compact_requests_are_named(body, param):
    assert param_of(ResponseCompactRequest, body) == param


def test_the_summary_is_one_greedy_bounded_pass_over_the_conversation():
    chat = ReadingChat()
    compaction = asyncio.run(
        responses(chat).compactor.compact(create(instructions="Be brief.", input=CONVERSATION))
    )
    (summarizing,) = chat.read
    assert roles(summarizing.messages) == [
        ("system", "Be brief."),
        ("user", "My name is Ada."),
        ("assistant", LONG),
        ("user", "What is my name?"),
        ("user", INSTRUCTION),
    ]
    assert (summarizing.temperature, summarizing.max_completion_tokens) == (0.0, SUMMARY_TOKENS)
    assert not summarizing.tools
    assert [m.text() for m in compaction.kept] == ["My name is Ada.", "What is my name?"]
    assert compaction.item.encrypted_content == "Hi."  # what FakeChat writes
    assert compaction.item.id.startswith("cmp_")
    prompt = sum(len(str(m.content)) for m in summarizing.messages)
    usage = compaction.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (prompt, 2, prompt + 2)
    output = [item.model_dump() for item in compaction.as_output()]
    assert [(o["type"], o.get("role")) for o in output] == [
        ("message", "user"),
        ("message", "user"),
        ("compaction", None),
    ]
    assert output[0]["content"] == [{"type": "input_text", "text": "My name is Ada."}]


def test_a_conversation_too_long_for_one_pass_loses_its_oldest_items_to_the_summary():
    chat = ReadingChat(context=len(LONG) + 400)
    older = [{"role": "user", "content": "Long ago."}, {"role": "assistant", "content": LONG}]
    asyncio.run(responses(chat).compactor.compact(create(input=[*older, *CONVERSATION])))
    (summarizing,) = chat.read
    assert roles(summarizing.messages)[-1] == ("user", INSTRUCTION)
    assert ("user", "Long ago.") not in roles(summarizing.messages)


def prepared(chat: ReadingChat, request: ResponseCreateRequest):
    return asyncio.run(responses(chat).compactor.prepared(request))


def test_an_input_under_the_threshold_is_answered_as_it_is():
    chat = ReadingChat()
    request = create(
        input=CONVERSATION, context_management=[{"compact_threshold": 2000, "type": "compaction"}]
    )
    answered, ready, compaction = prepared(chat, request)
    assert (answered, compaction, chat.read) == (request, None, [])
    assert len(ready.prompt_ids) == sum(len(m["content"]) for m in CONVERSATION)


def test_an_input_over_the_threshold_is_compacted_before_it_is_answered():
    chat = ReadingChat()
    entries = [{"type": "compaction", "compact_threshold": 1000}]
    answered, ready, compaction = prepared(
        chat, create(input=CONVERSATION, context_management=entries)
    )
    assert compaction is not None and compaction.encrypted_content == "Hi."
    assert [item.type for item in answered.input] == ["message", "message", "compaction"]
    assert roles(ready.request.messages) == [
        ("user", "My name is Ada."),
        ("user", "What is my name?"),
        ("system", f"{SUMMARY_HEADING}\nHi."),
    ]


def test_an_input_too_long_for_the_context_is_compacted_without_a_threshold():
    chat = ReadingChat(context=len(LONG))
    request = create(input=CONVERSATION, context_management=[{"type": "compaction"}])
    _, ready, compaction = prepared(chat, request)
    assert compaction is not None
    assert LONG not in [m.content for m in ready.request.messages]
    with pytest.raises(APIError) as refused:
        prepared(chat, create(input=CONVERSATION))
    assert refused.value.code == "context_length_exceeded"


def test_without_a_threshold_an_input_that_fits_is_not_compacted():
    chat = ReadingChat()
    request = create(input=CONVERSATION, context_management=[{"type": "compaction"}])
    assert prepared(chat, request)[2] is None
