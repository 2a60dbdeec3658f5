"""The Responses API as a translation over chat completions: the same template, sampling,
tools and engine, answered as a `response` object or as Responses stream events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

from server.protocol.chat import (
    ChatCompletionRequest,
    ChatMessage,
    JSONSchema,
    ResponseFormatJSONObject,
    ResponseFormatJSONSchema,
)
from server.protocol.errors import APIError
from server.protocol.policy import CALLABLE
from server.protocol.responses import (
    AllowedToolsChoice,
    CompactionItem,
    CustomTool,
    CustomToolCallItem,
    CustomToolCallOutputItem,
    FormatJSONObject,
    FormatJSONSchema,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    GrammarInput,
    IncompleteDetails,
    InputMessage,
    InputTokensDetails,
    NamedCustomChoice,
    NamedFunctionChoice,
    OutputCompaction,
    OutputCustomToolCall,
    OutputFunctionCall,
    OutputItem,
    OutputMessage,
    OutputText,
    Response,
    ResponseCreateRequest,
    ResponseError,
    ResponseUsage,
    TextConfig,
)
from server.protocol.tools import (
    MAX_CALLS_PER_MESSAGE,
    CustomCall,
    FunctionCall,
    MessageCustomCall,
    MessageToolCall,
)
from server.services.background import Outcome, Run, Runs
from server.services.chat import ChatCompletions, FieldNames, PreparedChat
from server.services.compaction import Compactor, readable, summary_message
from server.services.ids import new_id, now
from server.services.response_events import ResponseEvents, StreamEvent
from server.services.stored import Keeper, Turn, interrupted
from server.services.usage import CachedTokens
from server.store.database import UNFINISHED, StoredResponse
from server.tools.custom import TEXT, InputFormat
from server.tools.parse import CallParser, Event, ParsedCall, TextPiece
from server.tools.plan import (
    NO_PARAMETERS,
    CallTurn,
    Custom,
    Function,
    Tool,
    ToolPlan,
    check_call_ids,
    plan_tools,
)
from server.tools.shape import parsed_call

NAMES = FieldNames(
    prompt="input",
    output="max_output_tokens",
    response_format="text.format",
    schema="text.format.schema",
)


def to_messages(request: ResponseCreateRequest) -> list[ChatMessage]:
    """Input items become chat messages: the calls of one turn join one assistant message,
    each call's output becomes a tool message; reasoning items (another model's) are not
    read; a compaction is read as its summary (server/services/compaction.py). An answer's
    output sent back comes in as it went out."""
    messages: list[ChatMessage] = []
    if request.instructions:
        messages.append(ChatMessage(role="system", content=request.instructions))
    if isinstance(request.input, str):
        return [*messages, ChatMessage(role="user", content=request.input)]
    for item in readable(request.input):
        if isinstance(item, CompactionItem):
            messages.append(summary_message(item))
        elif isinstance(item, FunctionCallItem | CustomToolCallItem):
            call = _message_call(item)
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                last.tool_calls = [*(last.tool_calls or []), call]
            else:
                messages.append(ChatMessage(role="assistant", tool_calls=[call]))
        elif isinstance(item, FunctionCallOutputItem | CustomToolCallOutputItem):
            messages.append(
                ChatMessage(role="tool", content=item.text(), tool_call_id=item.call_id)
            )
        elif isinstance(item, InputMessage):
            messages.append(ChatMessage(role=item.role, content=item.text()))
    return messages


def _message_call(
    item: FunctionCallItem | CustomToolCallItem,
) -> MessageToolCall | MessageCustomCall:
    if isinstance(item, CustomToolCallItem):
        custom = CustomCall(name=item.name, input=item.input)
        return MessageCustomCall(id=item.call_id, type="custom", custom=custom)
    function = FunctionCall(name=item.name, arguments=item.arguments)
    return MessageToolCall(id=item.call_id, type="function", function=function)


CALL_ITEMS = (FunctionCallItem, CustomToolCallItem)
OUTPUT_ITEMS = (FunctionCallOutputItem, CustomToolCallOutputItem)


def _tool(param: str, tool: FunctionTool | CustomTool, namespace: str | None) -> Tool:
    if isinstance(tool, FunctionTool):
        parameters = NO_PARAMETERS if tool.parameters is None else tool.parameters
        return Function(tool.name, tool.description, parameters, param, namespace)
    fmt = TEXT
    if isinstance(tool.format, GrammarInput):
        where = f"{param}.format.definition"
        fmt = InputFormat(tool.format.syntax, tool.format.definition, where)
    return Custom(tool.name, tool.description, fmt, param, namespace)


def to_chat(request: ResponseCreateRequest) -> ChatCompletionRequest:
    text_format = request.text.format if request.text else None
    response_format: ResponseFormatJSONObject | ResponseFormatJSONSchema | None = None
    if isinstance(text_format, FormatJSONObject):
        response_format = ResponseFormatJSONObject(type="json_object")
    elif isinstance(text_format, FormatJSONSchema):
        response_format = ResponseFormatJSONSchema(
            type="json_schema",
            json_schema=JSONSchema(
                name=text_format.name, schema=text_format.schema_, strict=text_format.strict
            ),
        )
    return ChatCompletionRequest(
        model=request.model,
        messages=to_messages(request),
        max_completion_tokens=request.max_output_tokens,
        **request.sampler_values(),
        logprobs_mode=request.logprobs_mode,
        post_sampling_probs=request.post_sampling_probs,
        response_format=response_format,
        stream=request.stream,
        logprobs=request.wants_logprobs,
        top_logprobs=request.top_logprobs if request.wants_logprobs else None,
    )


def response_tools(request: ResponseCreateRequest) -> ToolPlan | None:
    """The function and custom tools (namespaces flattened, hosted tools left out: the model
    is not told of them), checked with errors that name the Responses API's own fields."""
    items = [] if isinstance(request.input, str) else request.input
    check_call_ids(
        [
            CallTurn(
                f"input[{i}].call_id",
                (item.call_id,) if isinstance(item, CALL_ITEMS) else (),
                item.call_id if isinstance(item, OUTPUT_ITEMS) else None,
            )
            for i, item in enumerate(items)
        ]
    )
    functions = [_tool(*declared) for declared in request.declared_tools()]
    choice, limit = request.tool_choice, request.max_tool_calls
    if limit is not None and limit > MAX_CALLS_PER_MESSAGE:
        limit = None  # more than one answer can hold: no limit
    parallel = request.parallel_tool_calls
    if not functions and choice == "required":
        raise APIError(
            "tool_choice 'required' needs a function or custom tool: hosted tools do not run here.",
            param="tool_choice",
        )
    named = isinstance(choice, NamedFunctionChoice | NamedCustomChoice)
    if not functions and not named:
        return None  # only hosted tools (or none): nothing the model here can call
    if isinstance(choice, NamedFunctionChoice | NamedCustomChoice):
        return plan_tools(functions, None, choice.name, parallel, max_calls=limit)
    if isinstance(choice, AllowedToolsChoice):
        names = [str(t.get("name")) for t in choice.tools if t.get("type") in CALLABLE]
        return plan_tools(functions, choice.mode, None, parallel, names, limit)
    return plan_tools(functions, choice, None, parallel, max_calls=limit)  # type: ignore[arg-type]


def truncated(request: ResponseCreateRequest) -> ResponseCreateRequest | None:
    """The input without its oldest item that is not a system or developer message (and
    without the outputs of calls that went with it); None when only one is left."""
    if isinstance(request.input, str):
        return None
    items = list(request.input)
    droppable = [
        i
        for i, item in enumerate(items)
        if not (isinstance(item, InputMessage) and item.role in ("system", "developer"))
    ]
    if len(droppable) < 2:
        return None
    del items[droppable[0]]
    calls: set[str] = set()
    kept = []
    for item in items:
        if isinstance(item, CALL_ITEMS):
            calls.add(item.call_id)
        if isinstance(item, OUTPUT_ITEMS) and item.call_id not in calls:
            continue  # its call was dropped
        kept.append(item)
    return request.model_copy(update={"input": kept})


TERMINAL = ("response.completed", "response.incomplete")


@dataclass(frozen=True)
class Begun:
    """A Responses request ready to answer: as answered (continued, maybe compacted or
    truncated), its prompt, its turn (id, owner, what it stores), and the compaction item
    its output starts with when `context_management` compacted it."""

    request: ResponseCreateRequest
    prepared: PreparedChat
    turn: Turn
    compaction: OutputCompaction | None = None


class Responses:
    def __init__(self, chat: ChatCompletions, keeper: Keeper, runs: Runs) -> None:
        self._chat = chat
        self.keeper = keeper
        self.runs = runs
        self.compactor = Compactor(chat, keeper, self.prepare)

    async def begin(
        self,
        body: ResponseCreateRequest,
        owner: str,
        recent: StoredResponse | None = None,
        transport: Literal["http", "websocket"] = "http",
    ) -> Begun:
        """What every transport does before answering: the stored context read with the
        caller's key, the prompt prepared off the event loop, the turn as answered."""
        continued, turn = await self.keeper.begin(body, owner, recent, transport)
        request, prepared, compaction = await self.compactor.prepared(continued)
        return Begun(request, prepared, self.keeper.answered(turn, request), compaction)

    def prepare(self, request: ResponseCreateRequest) -> tuple[ResponseCreateRequest, PreparedChat]:
        """With `truncation: "auto"` an input too long for the context loses its oldest
        items until it fits, as OpenAI's does; the request returned is the one answered."""
        while True:
            try:
                return request, self._chat.prepare(to_chat(request), response_tools(request), NAMES)
            except APIError as error:
                too_long = error.code == "context_length_exceeded"
                shorter = truncated(request) if too_long and request.truncation == "auto" else None
                if shorter is None:
                    raise
                request = shorter

    def _response(
        self,
        request: ResponseCreateRequest,
        prepared: PreparedChat,
        turn: Turn,
        created: int,
        output: list[OutputItem],
        finish_reason: str | None,
        usage: ResponseUsage | None,
    ) -> Response:
        """The Response object with the values this answer used (the effective sampling,
        not only what was sent)."""
        done = finish_reason is not None
        incomplete = finish_reason == "length"
        status = "incomplete" if incomplete else ("completed" if done else "in_progress")
        sampling = self._chat.sampling(prepared)
        return Response(
            id=turn.id,
            background=turn.background,
            previous_response_id=turn.previous_response_id,
            conversation=turn.conversation,
            store=turn.store,
            created_at=created,
            completed_at=now() if done else None,
            status=status,  # type: ignore[arg-type]
            model=self._chat.model_id,
            output=output if done else [],
            usage=usage,
            instructions=request.instructions,
            max_output_tokens=request.max_output_tokens,
            max_tool_calls=request.max_tool_calls,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_logprobs=request.top_logprobs,
            presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty,
            incomplete_details=IncompleteDetails(reason="max_output_tokens")
            if incomplete
            else None,
            text=request.text or TextConfig(),
            metadata=request.metadata or {},
            tools=request.tools or [],
            tool_choice=request.tool_choice or ("auto" if request.tools else "none"),
            parallel_tool_calls=request.parallel_tool_calls,
            prompt_cache_key=request.prompt_cache_key,
            prompt_cache_retention=request.prompt_cache_retention,
            safety_identifier=request.safety_identifier,
            user=request.user,
            truncation=request.truncation,
        )

    def _call_item(
        self, prepared: PreparedChat, call: ParsedCall, status: str
    ) -> OutputFunctionCall | OutputCustomToolCall:
        """A call's output item; a custom tool's is a `custom_tool_call` with its input."""
        namespace = prepared.tools.namespace_of(call.name) if prepared.tools else None
        if call.custom:
            return OutputCustomToolCall(
                id=new_id("ctc", "_"),
                call_id=call.id,
                name=call.name,
                input=call.arguments,
                status=status,  # type: ignore[arg-type]
                namespace=namespace,
            )
        return OutputFunctionCall(
            id=new_id("fc", "_"),
            call_id=call.id,
            name=call.name,
            arguments=call.arguments,
            status=status,  # type: ignore[arg-type]
            namespace=namespace,
        )

    async def create(self, begun: Begun) -> Response:
        request, prepared, turn = begun.request, begun.prepared, begun.turn
        completion = await self._chat.complete(prepared)
        choice = completion.choices[0]
        status = "incomplete" if choice.finish_reason == "length" else "completed"
        output: list[OutputItem] = [begun.compaction] if begun.compaction else []
        calls = choice.message.tool_calls or []
        if choice.message.content or not calls:
            logprobs = choice.logprobs.content if choice.logprobs else None
            text = OutputText(text=choice.message.content or "", logprobs=logprobs or [])
            output.append(OutputMessage(id=new_id("msg", "_"), status=status, content=[text]))
        output += [self._call_item(prepared, parsed_call(c), status) for c in calls]
        usage = completion.usage
        response = self._response(
            request,
            prepared,
            turn,
            completion.created,
            output,
            choice.finish_reason,
            _usage(
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.prompt_tokens_details.cached_tokens,
            ),
        )
        await self.keeper.save(turn, response)
        return response

    async def stream(self, begun: Begun) -> AsyncIterator[StreamEvent]:
        """The Responses event sequence the OpenAI SDK's stream helpers accumulate; a kept
        response is written before its last event, so whoever sees it can read it back."""
        request, prepared, turn = begun.request, begun.prepared, begun.turn
        response_id, created = turn.id, now()
        out = ResponseEvents(
            lambda piece: self._call_item(
                prepared, ParsedCall(piece.id, piece.name, custom=piece.custom), "in_progress"
            )
        )
        snapshot = self._response(request, prepared, turn, created, [], None, None)
        yield out.event("response.created", response=snapshot)
        yield out.event("response.in_progress", response=snapshot)
        for line in out.finished(begun.compaction) if begun.compaction else ():
            yield line
        parser = CallParser() if prepared.parses_calls else None
        if parser is None:  # plain text: the message item from the start, as before tools
            for line in out.open_message():
                yield line
        finish, completion_tokens, cached = None, 0, CachedTokens()
        try:
            async for delta in self._chat.deltas(prepared, response_id):
                completion_tokens += len(delta.token_ids)
                cached.see(delta)
                finish = delta.finish_reason or finish
                logprobs = self._chat.logprobs(prepared, delta)
                pieces: list[Event] = [TextPiece(delta.text)] if delta.text else []
                if parser is not None:
                    pieces = parser.feed(delta.text) + (parser.finish() if finish else [])
                for piece in pieces:
                    for line in out.on(piece, _status(finish), logprobs):
                        yield line
                        logprobs = []  # a delta's logprobs go with its first text event
                if logprobs and parser is None:  # a token without text: the end of text
                    for line in out.text("", logprobs):
                        yield line
        except APIError as error:
            # The Responses stream's own error event, with what went wrong, then nothing more.
            yield out.event("error", code=error.code, message=error.message, param=error.param)
            return
        if out.items in ([], [begun.compaction]):  # the answer wrote nothing
            for line in out.open_message():
                yield line
        for line in out.close_message(_status(finish)):
            yield line
        final = self._response(
            request,
            prepared,
            turn,
            created,
            out.items,
            finish or "stop",
            _usage(len(prepared.prompt_ids), completion_tokens, cached.total),
        )
        await self.keeper.save(turn, final)
        kind = "response.incomplete" if final.status == "incomplete" else "response.completed"
        yield out.event(kind, response=final)

    async def start_background(
        self, begun: Begun, release: Callable[[], None]
    ) -> tuple[Response, Run]:
        """Stored as queued, then answered in a task of its own; its start and its end
        (answered, failed, cancelled, or cut short by a shutdown) are written over the row."""
        request, prepared, turn = begun.request, begun.prepared, begun.turn
        queued = self._response(request, prepared, turn, now(), [], None, None)
        queued.status = "queued"
        await self.keeper.save(turn, queued)

        async def on_end(run: Run, outcome: Outcome) -> None:
            try:
                last = run.events[-1] if run.events else None
                if outcome == "ended" and last is not None and last.type in TERMINAL:
                    return  # the stream wrote it
                if outcome == "cancelled":
                    ended = queued.model_copy(update={"status": "cancelled"})
                elif outcome == "stopped":
                    ended = interrupted(queued)
                else:
                    message = json.loads(last.data).get("message") if last else None
                    error = ResponseError(message=message or "The response failed.")
                    ended = queued.model_copy(update={"status": "failed", "error": error})
                await self.keeper.save(turn, ended)
            finally:
                release()

        async def events() -> AsyncIterator[StreamEvent]:
            """The answer's events; the row says in_progress once it starts, as OpenAI's
            polled status does; its row is kept fresh while it runs."""
            beating = asyncio.create_task(self.keeper.keep_alive(turn.id))
            try:
                async for event in self.stream(begun):
                    if event.type == "response.in_progress":
                        started = queued.model_copy(update={"status": "in_progress"})
                        await self.keeper.save(turn, started)
                    yield event
            finally:
                beating.cancel()

        run = self.runs.start(turn.id, turn.owner, events(), on_end)
        return queued, run

    def events_after(
        self, record: StoredResponse, starting_after: int | None
    ) -> AsyncIterator[StreamEvent]:
        """A background response's events after `starting_after`, as they come; `record`,
        read with the caller's key, is the proof that the caller owns it."""
        run = self.runs.get(record.id, record.owner)
        if run is None:
            raise APIError(
                "Only a background response's events can be streamed, from the server running "
                "it and for a while after it ends; retrieve it without `stream`.",
                param="stream",
            )
        return run.follow(starting_after)

    async def cancel(self, response_id: str, owner: str) -> Response:
        """A background response stopped; read with the caller's key first, so another
        key's cancel is a 404 that stops nothing."""
        stored = await self._stored(response_id, owner)
        if not stored.background:
            raise APIError("Cannot cancel a synchronous response.", param="response_id")
        if stored.status not in UNFINISHED:
            return stored
        await self.runs.cancel(response_id, owner)
        return await self._stored(response_id, owner)

    async def delete(self, response_id: str, owner: str) -> None:
        """The row deleted with the caller's key (a 404 for another's), then its run, if
        one is going, stopped."""
        await self.keeper.delete(response_id, owner)
        await self.runs.cancel(response_id, owner)

    async def _stored(self, response_id: str, owner: str) -> Response:
        return Response.model_validate_json((await self.keeper.get(response_id, owner)).response)


def _status(finish: str | None) -> str:
    return "incomplete" if finish == "length" else "completed"


def _usage(input_tokens: int, output_tokens: int, cached_tokens: int) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=input_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=cached_tokens),
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
