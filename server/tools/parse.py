"""Reading calls back out of generated text, as it streams: text before a call is content,
each call is announced as soon as its name is known and its arguments pass on in pieces;
a custom tool's input passes on as arguments do, exactly as written. Only the few
characters that could be the start of a marker are held back."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field

from server.tools.format import CALL_END, CALL_OPEN, INPUT_END

_NAME = r'\s*\{\s*"name"\s*:\s*"([A-Za-z0-9_-]+)"\s*'
_HEAD = re.compile(_NAME + r',\s*"arguments"\s*:\s*')
_CUSTOM_HEAD = re.compile(_NAME + r"\}\n")


@dataclass(frozen=True)
class TextPiece:
    text: str


@dataclass(frozen=True)
class CallBegins:
    index: int
    id: str
    name: str
    custom: bool = False  # a custom tool's: its "arguments" are its input


@dataclass(frozen=True)
class ArgumentsPiece:
    index: int
    text: str
    custom: bool = False


@dataclass(frozen=True)
class CallEnds:
    index: int
    arguments: str


Event = TextPiece | CallBegins | ArgumentsPiece | CallEnds


@dataclass
class ParsedCall:
    id: str
    name: str
    arguments: str = ""  # a custom tool's input
    custom: bool = False


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _held(pending: str, marker: str) -> int:
    """Where the tail of `pending` that might still become `marker` begins: the longest
    suffix that is a proper prefix of it, with the whitespace before that suffix."""
    start = len(pending)
    for size in range(min(len(marker) - 1, len(pending)), 0, -1):
        if pending.endswith(marker[:size]):
            start = len(pending) - size
            break
    while start > 0 and pending[start - 1].isspace():
        start -= 1
    return start


def _complete(arguments: str) -> bool:
    try:
        json.loads(arguments)
    except ValueError:
        return False
    return True


@dataclass
class CallParser:
    content: str = ""
    calls: list[ParsedCall] = field(default_factory=list)
    _state: str = "text"  # text | head | arguments | input | between
    _pending: str = ""

    def feed(self, text: str) -> list[Event]:
        self._pending += text
        events: list[Event] = []
        while True:
            step = getattr(self, f"_{self._state}")(events)
            if not step:
                return events

    def finish(self) -> list[Event]:
        """The end of the answer: held-back text is content after all; a call cut short
        (max_tokens) keeps the arguments it got."""
        events: list[Event] = []
        rest, self._pending = self._pending, ""
        if self._state == "text" and rest:
            self.content += rest
            events.append(TextPiece(rest))
        elif self._state == "arguments":
            call = self.calls[-1]
            if rest and not _complete(call.arguments):  # else `rest` began the end marker
                call.arguments += rest
                events.append(ArgumentsPiece(len(self.calls) - 1, rest))
            events.append(CallEnds(len(self.calls) - 1, call.arguments))
        elif self._state == "input":
            call = self.calls[-1]
            if rest:
                call.arguments += rest
                events.append(ArgumentsPiece(len(self.calls) - 1, rest, custom=True))
            events.append(CallEnds(len(self.calls) - 1, call.arguments))
        return events

    def _text(self, events: list[Event]) -> bool:
        at = self._pending.find(CALL_OPEN)
        if at >= 0:
            self._emit_text(self._pending[:at].rstrip(), events)
            self._pending = self._pending[at + len(CALL_OPEN) :]
            self._state = "head"
            return True
        held = _held(self._pending, CALL_OPEN)
        self._emit_text(self._pending[:held], events)
        self._pending = self._pending[held:]
        return False

    def _emit_text(self, text: str, events: list[Event]) -> None:
        if text:
            self.content += text
            events.append(TextPiece(text))

    def _head(self, events: list[Event]) -> bool:
        match = _HEAD.match(self._pending)
        custom = match is None
        if custom:
            match = _CUSTOM_HEAD.match(self._pending)
        if match is None:
            return False
        self.calls.append(ParsedCall(new_call_id(), match.group(1), custom=custom))
        index = len(self.calls) - 1
        events.append(CallBegins(index, self.calls[-1].id, match.group(1), custom))
        self._pending = self._pending[match.end() :]
        self._state = "input" if custom else "arguments"
        return True

    def _input(self, events: list[Event]) -> bool:
        """A custom tool's input, as written, up to the first end marker."""
        call, index = self.calls[-1], len(self.calls) - 1
        at = self._pending.find(INPUT_END)
        end = at if at >= 0 else _held(self._pending, INPUT_END)
        if end:
            call.arguments += self._pending[:end]
            events.append(ArgumentsPiece(index, self._pending[:end], custom=True))
        if at < 0:
            self._pending = self._pending[end:]
            return False
        events.append(CallEnds(index, call.arguments))
        self._pending = self._pending[at + len(INPUT_END) :]
        self._state = "between"
        return True

    def _arguments(self, events: list[Event]) -> bool:
        call, index = self.calls[-1], len(self.calls) - 1
        if not call.arguments:
            self._pending = self._pending.lstrip()
        at = self._pending.find(CALL_END)
        end = at if at >= 0 else _held(self._pending, CALL_END)
        piece = self._pending[:end]
        if at >= 0:
            piece = piece.rstrip()
        if piece:
            call.arguments += piece
            events.append(ArgumentsPiece(index, piece))
        if at < 0:
            self._pending = self._pending[end:]
            return False
        events.append(CallEnds(index, call.arguments))
        self._pending = self._pending[at + len(CALL_END) :]
        self._state = "between"
        return True

    def _between(self, events: list[Event]) -> bool:
        rest = self._pending.lstrip()
        if rest.startswith(CALL_OPEN):
            self._pending = rest[len(CALL_OPEN) :]
            self._state = "head"
            return True
        if CALL_OPEN.startswith(rest):
            return False
        # Not a call after all (only without a grammar): text again.
        self._pending = rest
        self._state = "text"
        return True


def parse_answer(text: str) -> CallParser:
    """A whole answer at once."""
    parser = CallParser()
    parser.feed(text)
    parser.finish()
    return parser
