"""Merging the engine streams of several choices into one, in arrival order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
QUEUED_PER_STREAM = 2


def merge(streams: Sequence[AsyncIterator[T]]) -> AsyncIterator[T]:
    """Yield items from all streams as they come. A single stream is handed back as it is,
    without a layer in between that every token would pass through."""
    if len(streams) == 1:
        return streams[0]
    return _merged(streams)


async def _merged(streams: Sequence[AsyncIterator[T]]) -> AsyncIterator[T]:
    """If the consumer stops early (a client hung up) or one stream fails, every stream is
    closed, which aborts its engine request. The queue is bounded: a slow reader holds the
    streams back (vLLM then folds their pending deltas into one) instead of buffering
    everything here."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=QUEUED_PER_STREAM * len(streams))

    async def pump(stream: AsyncIterator[T]) -> None:
        try:
            async for item in stream:
                await queue.put(item)
        except Exception as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)
        else:
            await queue.put(_DONE)

    tasks = [asyncio.create_task(pump(s)) for s in streams]
    remaining = len(tasks)
    try:
        while remaining:
            item = await queue.get()
            if item is _DONE:
                remaining -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield item  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
