"""Conversations and the item index on both databases (the `store` fixture of
tests/conftest.py): every call limited to the owner's rows, items kept in the order added,
ids of any length, and a response's items found by id until the response goes."""

from __future__ import annotations

import json
import time

from server.store.conversations import StoredConversation, StoredItem
from server.store.database import Retention, StoredResponse


def conversation(cid: str, owner: str) -> StoredConversation:
    return StoredConversation(cid, owner, int(time.time()), '{"topic": "t"}')


def item(item_id: str, text: str = "x") -> StoredItem:
    return StoredItem(item_id, json.dumps({"type": "message", "id": item_id, "text": text}))


def test_a_conversation_is_only_its_owners(store):
    convs = store.conversations
    convs.create(conversation("conv_1", "a"), [item("m1"), item("m2")])
    assert convs.get("conv_1", "a").metadata == '{"topic": "t"}'
    assert convs.get("conv_1", "b") is None
    assert convs.update("conv_1", "b", "{}") is None
    assert convs.add("conv_1", "b", [item("m3")]) is False
    assert convs.items("conv_1", "b") is None
    assert convs.item("conv_1", "b", "m1") is None
    assert convs.delete_item("conv_1", "b", "m1") is False
    assert convs.delete("conv_1", "b") is False
    assert convs.find("m1", "b") is None
    # Nothing of A's changed.
    assert convs.get("conv_1", "a").metadata == '{"topic": "t"}'
    assert [json.loads(i)["id"] for i in convs.items("conv_1", "a")] == ["m1", "m2"]


def test_items_keep_their_order_and_go_one_by_one(store):
    convs = store.conversations
    convs.create(conversation("conv_2", "a"), [])
    assert convs.items("conv_2", "a") == []
    long_id = "x" * 5000  # longer than any index row takes whole
    assert convs.add("conv_2", "a", [item("m1"), item(long_id), item("m3")])
    assert convs.add("conv_2", "a", [item("m4")])
    assert [json.loads(i)["id"][:3] for i in convs.items("conv_2", "a")] == [
        "m1",
        "xxx",
        "m3",
        "m4",
    ]
    assert json.loads(convs.item("conv_2", "a", long_id))["id"] == long_id
    assert convs.delete_item("conv_2", "a", long_id) is True
    assert convs.item("conv_2", "a", long_id) is None
    assert convs.update("conv_2", "a", '{"k": "v"}').metadata == '{"k": "v"}'


def test_a_deleted_conversations_items_stay_findable_by_id(store):
    convs = store.conversations
    convs.create(conversation("conv_3", "a"), [item("m1", "old")])
    convs.create(conversation("conv_4", "a"), [item("m1", "new")])
    assert json.loads(convs.find("m1", "a"))["text"] == "new"  # the newest of that id
    assert convs.delete("conv_3", "a") is True
    assert convs.get("conv_3", "a") is None and convs.items("conv_3", "a") is None
    assert convs.delete("conv_4", "a") is True
    assert json.loads(convs.find("m1", "a"))["text"] == "new"  # OpenAI keeps the items


def _response(rid: str, owner: str, created: int, output_id: str) -> StoredResponse:
    output = [{"type": "message", "id": output_id, "content": []}]
    return StoredResponse(
        id=rid,
        owner=owner,
        created_at=created,
        status="completed",
        response=json.dumps({"id": rid, "output": output}),
        input_items=json.dumps([{"type": "message", "id": f"in-{rid}", "content": []}]),
        context="[]",
    )


def test_a_stored_responses_items_are_found_by_id_until_it_goes(store):
    now = int(time.time())
    store.add(_response("resp-1", "a", now, "out-1"))
    assert store.item("in-resp-1", "a")["id"] == "in-resp-1"
    assert store.item("out-1", "a")["id"] == "out-1"
    assert store.item("out-1", "b") is None
    store.add(_response("resp-2", "a", now - 10_000, "out-2"))
    assert store.item("out-2", "a") is not None
    store.prune(Retention(max_age_s=1_000, max_count=10))
    assert store.item("out-2", "a") is None  # pruned with its response
    assert store.delete("resp-1", "b") is False and store.item("out-1", "a") is not None
    assert store.delete("resp-1", "a") is True
    assert store.item("out-1", "a") is None


def test_a_background_responses_output_is_indexed_when_it_ends(store):
    queued = _response("resp-3", "a", int(time.time()), "unused")
    store.add(StoredResponse(**{**queued.__dict__, "response": '{"output": []}'}))
    assert store.item("out-3", "a") is None
    store.finish("resp-3", "completed", json.dumps({"output": [{"id": "out-3"}]}))
    assert store.item("out-3", "a") == {"id": "out-3"}
    store.finish("resp-3", "completed", json.dumps({"output": [{"id": "out-3"}]}))  # again
    assert store.item("out-3", "a") == {"id": "out-3"}
