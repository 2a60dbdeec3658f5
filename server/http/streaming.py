"""How a route answers what a service started: whole (cancelled when the client hangs up)
or as server-sent events, releasing its admission slots either way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from server.protocol.errors import ClientDisconnected, internal_error, sse_error

log = logging.getLogger(__name__)

T = TypeVar("T")


def admit(request: Request, engine_requests: int, param: str) -> Callable[[], None]:
    """Slots for the engine requests this HTTP request starts (server/http/admission.py)."""
    return request.app.state.admission.admit(engine_requests, param)


def nothing() -> None:
    """A release for what holds no slot of its own (a background response's reader: its
    slot is released by its run)."""


async def whole(request: Request, work: Awaitable[T], release: Callable[[], None]) -> T:
    try:
        return await until_disconnect(request, work)
    finally:
        release()


def event_stream(events: AsyncIterator[str], release: Callable[[], None]) -> StreamingResponse:
    async def guarded() -> AsyncIterator[str]:
        try:
            async for event in events:
                yield event
        except Exception:
            log.exception("stream failed")
            yield sse_error(internal_error())
            yield "data: [DONE]\n\n"
        finally:
            release()

    return StreamingResponse(
        guarded(),
        background=BackgroundTask(release),  # also when the stream never started
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Run a whole-answer request, cancelling it (and so aborting its engine requests) if
    the client hangs up first."""
    task = asyncio.ensure_future(work)
    hung_up = False

    async def watch() -> None:
        nonlocal hung_up
        while not task.done():
            if (await request.receive())["type"] == "http.disconnect":
                hung_up = True
                task.cancel()
                return

    watcher = asyncio.create_task(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if hung_up:
            raise ClientDisconnected from None
        raise
    finally:
        watcher.cancel()
