import asyncio

import pytest

from server.services.streams import merge


async def _stream(name: str, delays: list[float]):
    for i, delay in enumerate(delays):
        await asyncio.sleep(delay)
        yield f"{name}{i}"


async def test_merge_interleaves_in_arrival_order():
    items = [x async for x in merge([_stream("a", [0.0, 0.05]), _stream("b", [0.02, 0.05])])]
    assert items == ["a0", "b0", "a1", "b1"]


async def _endless(name: str, closed: list[str]):
    try:
        while True:
            await asyncio.sleep(0)
            yield name
    finally:
        closed.append(name)


async def test_merge_closes_every_stream_when_the_consumer_stops():
    closed: list[str] = []
    merged = merge([_endless("a", closed), _endless("b", closed)])
    await anext(merged)
    await merged.aclose()
    assert sorted(closed) == ["a", "b"]


async def test_merge_reraises_a_stream_failure():
    async def failing():
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        [x async for x in merge([failing(), _stream("a", [0.01])])]


async def test_a_failing_choice_closes_its_siblings():
    """n > 1: one choice's engine request fails, so the others are aborted (closed)."""
    closed: list[str] = []

    async def failing():
        yield "f"
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        [x async for x in merge([_endless("a", closed), failing(), _endless("b", closed)])]
    assert sorted(closed) == ["a", "b"]


async def test_a_slow_reader_holds_the_streams_back():
    produced = []

    async def fast(name: str):
        for i in range(1000):
            produced.append(name)
            yield f"{name}{i}"

    merged = merge([fast("a"), fast("b")])
    await anext(merged)
    await asyncio.sleep(0.05)  # the reader stalls; the producers must wait for it
    assert len(produced) < 20
    await merged.aclose()
