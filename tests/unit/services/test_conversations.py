"""A server started with --no-store keeps no conversations and no items: creating one is a
400, and a `conversation` or `item_reference` finds nothing (404 / 400 naming it)."""

from __future__ import annotations

import pytest

from server.protocol.conversations import CreateConversationBody
from server.protocol.errors import APIError
from server.protocol.responses import ResponseCreateRequest
from server.services.stored import Keeper
from server.store.database import Retention

KEEPER = Keeper(None, Retention(86_400, 100))


async def test_without_a_store_there_are_no_conversations():
    with pytest.raises(APIError) as created:
        await KEEPER.conversations.create(CreateConversationBody(), owner="")
    assert created.value.status == 400
    with pytest.raises(APIError) as read:
        await KEEPER.conversations.get("conv_1", owner="")
    assert (read.value.status, read.value.code) == (404, "conversation_not_found")


@pytest.mark.parametrize(
    ("fields", "status", "param"),
    [
        ({"input": "hi", "conversation": "conv_1"}, 404, "conversation"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, 400, "input[0].id"),
    ],
)
async def test_without_a_store_nothing_is_found(fields, status, param):
    body = ResponseCreateRequest.model_validate({"model": "m", "store": False, **fields})
    with pytest.raises(APIError) as missing:
        await KEEPER.begin(body, owner="")
    assert (missing.value.status, missing.value.param) == (status, param)
