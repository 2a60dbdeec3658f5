"""Stopping an answer at the first exact repeat of a call. With parallel calls allowed, a
small model can write the same call again and again until max_tokens; a call repeated
word for word adds nothing, so the answer ends before it (finish "tool_calls").

Text that could still become a repeat (a call so far equal to the start of an earlier one)
is held back until it either differs, and goes out, or completes the repeat, and is
dropped; the engine request is then closed, which aborts it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from server.sampling.outputs import ChoiceOutput
from server.tools.format import CALL_CLOSE, CALL_OPEN


def _calls(text: str) -> tuple[list[str], int]:
    """The complete calls in the text (from their opening marker to their end) and where
    the text after the last of them begins."""
    calls, end = [], 0
    while (close := text.find(CALL_CLOSE, end)) != -1:
        start = text.rfind(CALL_OPEN, end, close)
        if start != -1:
            calls.append(text[start : close + len(CALL_CLOSE)])
        end = close + len(CALL_CLOSE)
    return calls, end


def _joined(deltas: list[ChoiceOutput], text: str, finish: str | None) -> ChoiceOutput:
    first = deltas[0]
    logprobs = [d.logprobs for d in deltas]
    return replace(
        first,
        text=text,
        token_ids=tuple(t for d in deltas for t in d.token_ids),
        logprobs=None if None in logprobs else tuple(e for lp in logprobs for e in lp or ()),
        finish_reason=finish,
    )


async def without_repeats(
    deltas: AsyncIterator[ChoiceOutput], whole: bool
) -> AsyncIterator[ChoiceOutput]:
    """One choice's deltas with a repeated call cut off. `whole`: the caller wants one
    output at the end (the engine streams anyway, so that a repeat stops it early)."""
    sent = ""  # text already passed on
    held: list[ChoiceOutput] = []
    async with contextlib.aclosing(deltas) as upstream:  # type: ignore[type-var]
        async for delta in upstream:
            held.append(delta)
            text = sent + "".join(d.text for d in held)
            calls, end = _calls(text)
            if len(calls) > 1 and calls[-1] in calls[:-1]:
                cut = text.rfind(calls[-1])
                yield _joined(held, text[len(sent) : cut].rstrip("\n"), "stop")
                return
            tail = text[end:].lstrip("\n")
            could_repeat = tail and any(c.startswith(tail) for c in calls)
            if delta.finish_reason is None and (whole or could_repeat):
                continue
            yield _joined(held, text[len(sent) :], delta.finish_reason)
            sent, held = text, []
