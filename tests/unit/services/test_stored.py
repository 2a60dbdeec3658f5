"""The Keeper over a real SQLite store: `store`'s default and refusals, a continuation's
replay, owners kept apart by key, input items paged by id; and on both databases, how a
background run whose replica died is told from one still running (its heartbeat)."""

from __future__ import annotations

import asyncio
import time

import pytest

from server.http.auth import owner_of
from server.protocol.errors import APIError
from server.protocol.responses import Response, ResponseCreateRequest, TextConfig
from server.services.stored import STALE_S, Keeper
from server.store.database import ResponseStore, Retention, database_url
from tests.conftest import written_ago

RETAIN = Retention(86_400, 100)


def _response(turn_id: str, text: str) -> Response:
    return Response.model_validate(
        {
            "id": turn_id,
            "created_at": 1,
            "status": "completed",
            "model": "m",
            "output": [
                {
                    "type": "message",
                    "id": "msg-1",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text}],
                }
            ],
            "parallel_tool_calls": True,
            "temperature": 1.0,
            "top_p": 1.0,
            "top_logprobs": 0,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
            "text": TextConfig(),
            "tool_choice": "none",
            "tools": [],
        }
    )


@pytest.fixture
def keeper(tmp_path) -> Keeper:
    return Keeper(ResponseStore(database_url(None, tmp_path)), RETAIN)


async def test_a_continuation_replays_context_then_output(keeper):
    body = ResponseCreateRequest(model="m", input="hello")
    request, turn = await keeper.begin(body, owner="a")
    assert turn.store  # OpenAI's default
    await keeper.save(keeper.answered(turn, request), _response(turn.id, "hi there"))
    follow = ResponseCreateRequest(model="m", input="again", previous_response_id=turn.id)
    continued, _ = await keeper.begin(follow, owner="a")
    texts = [(item.role, item.text()) for item in continued.input]
    assert texts == [("user", "hello"), ("assistant", "hi there"), ("user", "again")]
    with pytest.raises(APIError) as other_owner:
        await keeper.begin(follow, owner="b")
    assert other_owner.value.code == "previous_response_not_found"
    with pytest.raises(APIError):
        await keeper.get(turn.id, "b")


async def test_input_items_page_by_id(keeper):
    body = ResponseCreateRequest(
        model="m", input=[{"role": "user", "content": c} for c in ("a", "b", "c")]
    )
    request, turn = await keeper.begin(body, owner="")
    await keeper.save(keeper.answered(turn, request), _response(turn.id, "x"))
    page = await keeper.input_items(turn.id, "", None, 2, "desc")
    assert [i["content"][0]["text"] for i in page.data] == ["c", "b"] and page.has_more
    rest = await keeper.input_items(turn.id, "", page.last_id, 2, "desc")
    assert [i["content"][0]["text"] for i in rest.data] == ["a"] and not rest.has_more


async def test_no_store_refuses_store_true_and_background():
    keeper = Keeper(None, RETAIN)
    _, turn = await keeper.begin(ResponseCreateRequest(model="m", input="x"), owner="")
    assert not turn.store
    for body in ({"store": True}, {"background": True}):
        with pytest.raises(APIError) as refused:
            await keeper.begin(ResponseCreateRequest(model="m", input="x", **body), owner="")
        assert refused.value.param == next(iter(body))


def test_each_key_is_its_own_owner():
    keys = ("k1", "k2")
    one = owner_of({"authorization": "Bearer k1"}, keys)
    two = owner_of({"authorization": "Bearer k2"}, keys)
    assert one != two and one and two
    assert owner_of({}, ()) == ""
    with pytest.raises(APIError) as wrong:
        owner_of({"authorization": "Bearer k3"}, keys)
    assert wrong.value.status == 401


@pytest.fixture
def any_keeper(store):
    """A Keeper over each database."""
    return Keeper(store, RETAIN), store


async def _background(keeper: Keeper, status: str) -> str:
    body = ResponseCreateRequest(model="m", input="hello", background=True)
    _, turn = await keeper.begin(body, owner="a")
    response = _response(turn.id, "")
    response.status, response.created_at = "queued", int(time.time())  # within retention
    await keeper.save(turn, response)
    if status != "queued":
        await keeper.save(turn, response.model_copy(update={"status": status}))
    return turn.id


async def test_a_run_nobody_writes_any_more_reads_as_failed(any_keeper):
    keeper, store = any_keeper
    running = await _background(keeper, "in_progress")
    abandoned = await _background(keeper, "queued")
    written_ago(store, abandoned, STALE_S + 5)
    assert (await keeper.get(running, "a")).status == "in_progress"
    found = Response.model_validate_json((await keeper.get(abandoned, "a")).response)
    assert found.status == "failed" and found.error is not None
    assert store.get(abandoned, "a").status == "failed"  # written, for every replica


async def test_at_start_postgresql_fails_only_the_stale_runs(any_keeper):
    keeper, store = any_keeper
    fresh = await _background(keeper, "in_progress")
    stale = await _background(keeper, "in_progress")
    written_ago(store, stale, STALE_S + 5)
    failed = await keeper.fail_unfinished()
    if store.backend == "sqlite":  # the file is this process's: nothing else runs them
        assert failed == 2
    else:
        assert failed == 1 and store.get(fresh, "a").status == "in_progress"
    assert store.get(stale, "a").status == "failed"


async def test_keep_alive_refreshes_the_row_until_cancelled(any_keeper):
    keeper, store = any_keeper
    running = await _background(keeper, "in_progress")
    written_ago(store, running, STALE_S + 5)
    beating = asyncio.create_task(keeper.keep_alive(running, every=0.05))
    await asyncio.sleep(0.3)
    beating.cancel()
    assert store.get(running, "a").updated_at >= int(time.time()) - 1
