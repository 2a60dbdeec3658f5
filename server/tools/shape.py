"""Parsed calls in the Chat Completions API's shapes: the message of a whole answer, the
`tool_calls` of a stream delta. A custom tool's call carries `custom` with its input where
a function's carries `function` with its arguments."""

from __future__ import annotations

from collections.abc import Sequence

from server.protocol.chat import ChatCompletionMessage
from server.protocol.tools import (
    CalledCustom,
    CalledFunction,
    CustomToolCall,
    DeltaCustom,
    DeltaFunction,
    DeltaToolCall,
    ToolCall,
)
from server.tools.parse import ArgumentsPiece, CallBegins, CallParser, Event, ParsedCall, TextPiece


def _call(call: ParsedCall) -> ToolCall | CustomToolCall:
    if call.custom:
        return CustomToolCall(id=call.id, custom=CalledCustom(name=call.name, input=call.arguments))
    return ToolCall(id=call.id, function=CalledFunction(name=call.name, arguments=call.arguments))


def parsed_call(call: ToolCall | CustomToolCall) -> ParsedCall:
    """A call of a whole answer back as the parser read it (the Responses API's items are
    made from these)."""
    if isinstance(call, CustomToolCall):
        return ParsedCall(call.id, call.custom.name, call.custom.input, custom=True)
    return ParsedCall(call.id, call.function.name, call.function.arguments)


def message(parsed: CallParser) -> ChatCompletionMessage:
    """Content is null when the answer is only calls, as OpenAI's is."""
    if not parsed.calls:
        return ChatCompletionMessage(content=parsed.content)
    calls = [_call(c) for c in parsed.calls]
    return ChatCompletionMessage(content=parsed.content or None, tool_calls=calls)


def finish_reason(parsed: CallParser, engine_reason: str) -> str:
    """An answer that ended with calls ends with "tool_calls"; one cut short stays "length"."""
    return "tool_calls" if parsed.calls and engine_reason == "stop" else engine_reason


def _first(event: CallBegins) -> DeltaToolCall:
    if event.custom:
        custom = DeltaCustom(name=event.name, input="")
        return DeltaToolCall(index=event.index, id=event.id, type="custom", custom=custom)
    function = DeltaFunction(name=event.name, arguments="")
    return DeltaToolCall(index=event.index, id=event.id, type="function", function=function)


def _more(delta: DeltaToolCall, text: str) -> None:
    if delta.custom is not None:
        delta.custom.input = (delta.custom.input or "") + text
    elif delta.function is not None:
        delta.function.arguments = (delta.function.arguments or "") + text


def delta_parts(events: Sequence[Event]) -> tuple[str, list[DeltaToolCall]]:
    """The text and call deltas of one engine delta. A call's first delta carries its id,
    type and name (and arguments or input, possibly empty); later ones only those."""
    text = "".join(e.text for e in events if isinstance(e, TextPiece))
    calls: list[DeltaToolCall] = []
    for event in events:
        if isinstance(event, CallBegins):
            calls.append(_first(event))
        elif isinstance(event, ArgumentsPiece):
            if calls and calls[-1].index == event.index:
                _more(calls[-1], event.text)
            elif event.custom:
                custom = DeltaCustom(input=event.text)
                calls.append(DeltaToolCall(index=event.index, custom=custom))
            else:
                function = DeltaFunction(arguments=event.text)
                calls.append(DeltaToolCall(index=event.index, function=function))
    return text, calls
