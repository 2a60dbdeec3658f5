"""Background responses: each runs as a task of its own, its events kept in memory so that
its readers (the POST that started it with `stream`, `GET ?stream=true`) can follow it from
any event, and a cancel can stop it. A run is its owner's alone: another key's id lookup
finds nothing, so it can neither follow nor stop it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from server.services.response_events import StreamEvent

log = logging.getLogger(__name__)
KEPT_FINISHED = 256  # finished runs whose events stay readable
Outcome = Literal["ended", "cancelled", "stopped", "failed"]


@dataclass
class Run:
    owner: str
    events: list[StreamEvent] = field(default_factory=list)
    finished: bool = False
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: StreamEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def end(self) -> None:
        self.finished = True
        self._changed.set()

    async def follow(self, starting_after: int | None = None) -> AsyncIterator[StreamEvent]:
        """Every event after `starting_after` (all, if None), as they come, until the end."""
        at = 0 if starting_after is None else starting_after + 1
        while True:
            while at < len(self.events):
                yield self.events[at]
                at += 1
            if self.finished:
                return
            self._changed.clear()
            if at < len(self.events) or self.finished:
                continue
            await self._changed.wait()


class Runs:
    def __init__(self) -> None:
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._stopping = False

    def start(
        self,
        response_id: str,
        owner: str,
        events: AsyncIterator[StreamEvent],
        on_end: Callable[[Run, Outcome], Awaitable[None]],
    ) -> Run:
        """Run `events` to their end; `on_end` records how it ended."""
        run = Run(owner)

        async def drive() -> None:
            outcome: Outcome = "ended"
            try:
                async for event in events:
                    run.add(event)
            except asyncio.CancelledError:
                outcome = "stopped" if self._stopping else "cancelled"
            except Exception:
                log.exception("background response %s failed", response_id)
                outcome = "failed"
            finally:
                try:
                    await asyncio.shield(on_end(run, outcome))
                finally:
                    run.end()
                    self._forget_old()

        self._runs[response_id] = run
        run.task = asyncio.create_task(drive())
        return run

    def get(self, response_id: str, owner: str) -> Run | None:
        run = self._runs.get(response_id)
        return run if run is not None and run.owner == owner else None

    async def cancel(self, response_id: str, owner: str) -> None:
        run = self.get(response_id, owner)
        if run is not None and run.task is not None and not run.task.done():
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task

    async def drain(self, timeout: float) -> None:
        """On shutdown: the runs get `timeout` seconds to finish, then are cancelled (and
        recorded as such)."""
        self._stopping = True
        tasks = [run.task for run in self._runs.values() if run.task and not run.task.done()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _forget_old(self) -> None:
        finished = [key for key, run in self._runs.items() if run.finished]
        for key in finished[: max(0, len(finished) - KEPT_FINISHED)]:
            del self._runs[key]
