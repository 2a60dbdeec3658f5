"""The Responses API's stream events for one answer as it comes: a message item for text,
a function_call (or custom_tool_call) item for each call, in the order the model wrote them,
every event numbered."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from server.protocol.chat import ChatCompletionTokenLogprob
from server.protocol.responses import (
    OutputCustomToolCall,
    OutputFunctionCall,
    OutputItem,
    OutputMessage,
    OutputText,
)
from server.services.ids import new_id
from server.tools.parse import ArgumentsPiece, CallBegins, CallEnds, Event, TextPiece


@dataclass(frozen=True)
class StreamEvent:
    """One event, numbered: sent as server-sent events over HTTP, as a text message over a
    WebSocket, and kept for a background response's readers."""

    type: str
    sequence_number: int
    data: str  # the event's JSON

    @property
    def sse(self) -> str:
        return f"event: {self.type}\ndata: {self.data}\n\n"


class ResponseEvents:
    def __init__(
        self, call_item: Callable[[CallBegins], OutputFunctionCall | OutputCustomToolCall]
    ) -> None:
        self.items: list[OutputItem] = []
        self._call_item = call_item
        self._sequence = 0
        self._message: OutputMessage | None = None
        self._text = ""
        self._logprobs: list[ChatCompletionTokenLogprob] = []
        self._calls: dict[int, OutputFunctionCall | OutputCustomToolCall] = {}

    def event(self, kind: str, **fields: object) -> StreamEvent:
        body: dict[str, object] = {"type": kind, "sequence_number": self._sequence}
        for key, value in fields.items():
            body[key] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        self._sequence += 1
        return StreamEvent(kind, self._sequence - 1, json.dumps(body))

    def on(
        self, piece: Event, status: str, logprobs: Sequence[ChatCompletionTokenLogprob] = ()
    ) -> list[StreamEvent]:
        """The events of one piece of the answer; `status` is the answer's if it ends here;
        `logprobs` are the tokens of a text piece (when asked for)."""
        if isinstance(piece, TextPiece):
            return self.text(piece.text, logprobs)
        if isinstance(piece, CallBegins):
            item = self._call_item(piece)
            closing = self.close_message("completed")
            self._calls[piece.index] = item
            self.items.append(item)
            index = len(self.items) - 1
            return [
                *closing,
                self.event("response.output_item.added", output_index=index, item=item),
            ]
        item = self._calls[piece.index]
        index = self.items.index(item)
        if isinstance(item, OutputCustomToolCall):
            return self._custom(item, index, piece, status)
        if isinstance(piece, ArgumentsPiece):
            item.arguments += piece.text
            return [
                self.event(
                    "response.function_call_arguments.delta",
                    item_id=item.id,
                    output_index=index,
                    delta=piece.text,
                )
            ]
        assert isinstance(piece, CallEnds)
        item.status = status  # type: ignore[assignment]
        return [
            self.event(
                "response.function_call_arguments.done",
                item_id=item.id,
                output_index=index,
                name=item.name,
                arguments=item.arguments,
            ),
            self.event("response.output_item.done", output_index=index, item=item),
        ]

    def finished(self, item: OutputItem) -> list[StreamEvent]:
        """An item whole before the answer starts (a compaction): added and done at once."""
        self.items.append(item)
        index = len(self.items) - 1
        return [
            self.event("response.output_item.added", output_index=index, item=item),
            self.event("response.output_item.done", output_index=index, item=item),
        ]

    def _custom(
        self, item: OutputCustomToolCall, index: int, piece: Event, status: str
    ) -> list[StreamEvent]:
        """A custom tool's input as it comes, then whole (OpenAI's custom_tool_call_input
        events)."""
        at = {"item_id": item.id, "output_index": index}
        if isinstance(piece, ArgumentsPiece):
            item.input += piece.text
            return [self.event("response.custom_tool_call_input.delta", **at, delta=piece.text)]
        item.status = status  # type: ignore[assignment]
        return [
            self.event("response.custom_tool_call_input.done", **at, input=item.input),
            self.event("response.output_item.done", output_index=index, item=item),
        ]

    def text(
        self, text: str, logprobs: Sequence[ChatCompletionTokenLogprob] = ()
    ) -> list[StreamEvent]:
        lines = [] if self._message is not None else self.open_message()
        assert self._message is not None
        self._text += text
        self._logprobs += logprobs
        lines.append(
            self.event(
                "response.output_text.delta",
                item_id=self._message.id,
                output_index=self.items.index(self._message),
                content_index=0,
                delta=text,
                logprobs=[entry.model_dump(mode="json") for entry in logprobs],
            )
        )
        return lines

    def open_message(self) -> list[StreamEvent]:
        self._message = OutputMessage(id=new_id("msg", "_"), status="in_progress", content=[])
        self.items.append(self._message)
        at = {"item_id": self._message.id, "output_index": len(self.items) - 1}
        return [
            self.event(
                "response.output_item.added", output_index=at["output_index"], item=self._message
            ),
            self.event(
                "response.content_part.added", **at, content_index=0, part=OutputText(text="")
            ),
        ]

    def close_message(self, status: str) -> list[StreamEvent]:
        """The open message's end (none open: nothing). An answer that wrote nothing still
        has one, empty, message: open one first."""
        if self._message is None:
            return []
        message, self._message = self._message, None
        at = {"item_id": message.id, "output_index": self.items.index(message)}
        part = OutputText(text=self._text, logprobs=self._logprobs)
        message.content, message.status = [part], status  # type: ignore[assignment]
        done_logprobs = [entry.model_dump(mode="json") for entry in self._logprobs]
        return [
            self.event(
                "response.output_text.done",
                **at,
                content_index=0,
                text=self._text,
                logprobs=done_logprobs,
            ),
            self.event("response.content_part.done", **at, content_index=0, part=part),
            self.event("response.output_item.done", output_index=at["output_index"], item=message),
        ]
