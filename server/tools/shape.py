"""Parsed calls in the Chat Completions API's shapes: the message of a whole answer, the
`tool_calls` of a stream delta."""

from __future__ import annotations

from collections.abc import Sequence

from server.protocol.chat import ChatCompletionMessage
from server.protocol.tools import CalledFunction, DeltaFunction, DeltaToolCall, ToolCall
from server.tools.parse import ArgumentsPiece, CallBegins, CallParser, Event, TextPiece


def message(parsed: CallParser) -> ChatCompletionMessage:
    """Content is null when the answer is only calls, as OpenAI's is."""
    if not parsed.calls:
        return ChatCompletionMessage(content=parsed.content)
    calls = [
        ToolCall(id=c.id, function=CalledFunction(name=c.name, arguments=c.arguments))
        for c in parsed.calls
    ]
    return ChatCompletionMessage(content=parsed.content or None, tool_calls=calls)


def finish_reason(parsed: CallParser, engine_reason: str) -> str:
    """An answer that ended with calls ends with "tool_calls"; one cut short stays "length"."""
    return "tool_calls" if parsed.calls and engine_reason == "stop" else engine_reason


def delta_parts(events: Sequence[Event]) -> tuple[str, list[DeltaToolCall]]:
    """The text and call deltas of one engine delta. A call's first delta carries its id,
    type and name (and arguments, possibly empty); later ones only arguments."""
    text = "".join(e.text for e in events if isinstance(e, TextPiece))
    calls: list[DeltaToolCall] = []
    for event in events:
        if isinstance(event, CallBegins):
            calls.append(
                DeltaToolCall(
                    index=event.index,
                    id=event.id,
                    type="function",
                    function=DeltaFunction(name=event.name, arguments=""),
                )
            )
        elif isinstance(event, ArgumentsPiece):
            if calls and calls[-1].index == event.index:
                calls[-1].function.arguments = (calls[-1].function.arguments or "") + event.text
            else:
                calls.append(
                    DeltaToolCall(index=event.index, function=DeltaFunction(arguments=event.text))
                )
    return text, calls
