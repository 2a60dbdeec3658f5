"""Compaction: the served model summarizes a conversation into one `compaction` item, for
`POST /v1/responses/compact` and for `context_management` on create. OpenAI encrypts the
item; here its `encrypted_content` is the summary in plain text, and the model reads it as a
system message where the item stands. A compaction stands for what came before it: of the
items before the latest one, only the user, system and developer messages are read (the
user messages are the ones compaction keeps), so a whole history sent back with a
compaction in it reads as the compacted conversation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server.protocol.chat import ChatMessage
from server.protocol.compaction import (
    CompactResource,
    KeptMessage,
    KeptText,
    ResponseCompactRequest,
)
from server.protocol.errors import APIError
from server.protocol.responses import (
    CompactionItem,
    InputItem,
    InputMessage,
    InputTokensDetails,
    OutputCompaction,
    ResponseCreateRequest,
    ResponseUsage,
)
from server.services.chat import ChatCompletions, PreparedChat
from server.services.ids import new_id, now
from server.services.off_loop import off_loop
from server.services.stored import Keeper
from server.services.usage import CachedTokens

SUMMARY_TOKENS = 256  # the summary's bound, whatever the conversation's length
INSTRUCTION = (
    "Stop the conversation here and write a summary of it for whoever continues it: what "
    "the user wants, every name, number, fact and decision stated, what was done (calls "
    "and their results) and what is still open. Write only the summary, in short plain "
    "sentences."
)
SUMMARY_HEADING = "Summary of the earlier conversation:"
TOO_LONG = ("context_length_exceeded", "prompt_too_long")

Prepare = Callable[[ResponseCreateRequest], tuple[ResponseCreateRequest, PreparedChat]]


def readable(items: Sequence[InputItem]) -> list[InputItem]:
    """The items the model reads: before the latest compaction only the messages it did
    not summarize away (user, system, developer); from it on, everything."""
    last = max((i for i, item in enumerate(items) if isinstance(item, CompactionItem)), default=-1)
    kept = [
        item
        for item in items[: max(last, 0)]
        if isinstance(item, InputMessage) and item.role != "assistant"
    ]
    return [*kept, *items[max(last, 0) :]]


def summary_message(item: CompactionItem) -> ChatMessage:
    return ChatMessage(role="system", content=f"{SUMMARY_HEADING}\n{item.encrypted_content}")


def as_items(request: ResponseCreateRequest) -> list[InputItem]:
    if isinstance(request.input, str):
        return [InputMessage(role="user", content=request.input)]
    return list(request.input)


@dataclass(frozen=True)
class Compaction:
    """A conversation compacted: the user messages kept, the summary item, the pass's usage."""

    kept: list[InputMessage]
    item: OutputCompaction
    usage: ResponseUsage

    def as_input(self) -> list[InputItem]:
        """What the model reads instead of the conversation."""
        summary = CompactionItem(
            type="compaction", id=self.item.id, encrypted_content=self.item.encrypted_content
        )
        return [*self.kept, summary]

    def as_output(self) -> list[KeptMessage | OutputCompaction]:
        """As OpenAI's `response.compaction` lists it: the user messages, then the item."""
        kept = [
            KeptMessage(
                id=message.id or new_id("msg", "_"),
                content=[KeptText(text=message.text())],
            )
            for message in self.kept
        ]
        return [*kept, self.item]


@dataclass(frozen=True)
class Trigger:
    """When create compacts first: above `threshold` rendered input tokens, or (None) only
    when the input would not fit the context."""

    threshold: int | None


def trigger(request: ResponseCreateRequest) -> Trigger | None:
    """The lowest threshold of the request's compaction entries; None: no compaction."""
    entries = request.context_management or []
    if not entries:
        return None
    thresholds = [e.compact_threshold for e in entries if e.compact_threshold is not None]
    return Trigger(min(thresholds) if thresholds else None)


class Compactor:
    """`prepare` is the Responses API's (template, tools, `truncation: "auto"`)."""

    def __init__(self, chat: ChatCompletions, keeper: Keeper, prepare: Prepare) -> None:
        self._chat = chat
        self._keeper = keeper
        self._prepare = prepare

    async def resource(self, body: ResponseCompactRequest, owner: str) -> CompactResource:
        """`POST /v1/responses/compact`: the conversation (a stored response's context and
        output first, read with the caller's key) compacted; nothing is stored."""
        create = ResponseCreateRequest.model_construct(  # `body` is validated already
            model=body.model,
            input=body.input or [],
            instructions=body.instructions,
            previous_response_id=body.previous_response_id,
            store=False,
        )
        conversation, _ = await self._keeper.begin(create, owner)
        compaction = await self.compact(conversation)
        return CompactResource(
            id=new_id("resp", "_"),
            created_at=now(),
            output=compaction.as_output(),
            usage=compaction.usage,
        )

    async def compact(self, request: ResponseCreateRequest) -> Compaction:
        """One greedy pass of the model over the conversation (its oldest items dropped
        while it does not fit with the summary's bound) and the summary instruction."""
        items = as_items(request)
        summarize = ResponseCreateRequest(
            model=request.model,
            input=[*items, InputMessage(role="user", content=INSTRUCTION)],
            instructions=request.instructions,
            max_output_tokens=SUMMARY_TOKENS,
            temperature=0.0,
            truncation="auto",
            store=False,
        )
        _, prepared = await off_loop(self._prepare, summarize)
        text, written, cached = "", 0, CachedTokens()
        async for delta in self._chat.deltas(prepared, new_id("cmp", "_")):
            text += delta.text
            written += len(delta.token_ids)
            cached.see(delta)
        read = len(prepared.prompt_ids)
        usage = ResponseUsage(
            input_tokens=read,
            input_tokens_details=InputTokensDetails(cached_tokens=cached.total),
            output_tokens=written,
            total_tokens=read + written,
        )
        kept = [
            item
            for item in readable(items)
            if isinstance(item, InputMessage) and item.role == "user"
        ]
        item = OutputCompaction(id=new_id("cmp", "_"), encrypted_content=text.strip())
        return Compaction(kept, item, usage)

    async def prepared(
        self, request: ResponseCreateRequest
    ) -> tuple[ResponseCreateRequest, PreparedChat, OutputCompaction | None]:
        """The request prepared as answered, compacted first when its `context_management`
        says so: its rendered input (before any truncation) is over the threshold, or does
        not fit the context at all. The compaction item comes back for the answer's output."""
        when = trigger(request)
        if when is None:
            return (*await off_loop(self._prepare, request), None)
        whole = request.model_copy(update={"truncation": "disabled"})
        try:
            _, counted = await off_loop(self._prepare, whole)
        except APIError as error:
            if error.code not in TOO_LONG:
                raise
        else:  # it fits whole: truncation would drop nothing either
            if when.threshold is None or len(counted.prompt_ids) <= when.threshold:
                return request, counted, None
        compaction = await self.compact(request)
        compacted = request.model_copy(update={"input": compaction.as_input()})
        return (*await off_loop(self._prepare, compacted), compaction.item)
