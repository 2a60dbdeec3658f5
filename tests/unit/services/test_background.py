"""A background run belongs to the key that started it: another key's lookup finds nothing
and its cancel stops nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from server.services.background import Outcome, Run, Runs
from server.services.response_events import StreamEvent


async def _first_then_wait() -> AsyncIterator[StreamEvent]:
    yield StreamEvent("response.created", 0, "{}")
    await asyncio.Event().wait()


async def test_a_run_is_found_and_stopped_only_with_its_owner():
    outcomes: list[Outcome] = []

    async def on_end(run: Run, outcome: Outcome) -> None:
        outcomes.append(outcome)

    runs = Runs()
    run = runs.start("resp_1", "a", _first_then_wait(), on_end)
    while not run.events:
        await asyncio.sleep(0)
    assert runs.get("resp_1", "b") is None
    await runs.cancel("resp_1", "b")
    await asyncio.sleep(0.01)
    assert not run.finished and outcomes == []
    assert runs.get("resp_1", "a") is run
    await runs.cancel("resp_1", "a")
    assert run.finished and outcomes == ["cancelled"]
