"""Conversations as OpenAI's API keeps them: created with items, read before a response's
input, added to by each response answered in them; every call limited to the caller's own
(another key's conversation is a 404 and stays as it was)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from server.protocol.conversations import (
    AddItemsBody,
    Conversation,
    CreateConversationBody,
    UpdateConversationBody,
)
from server.protocol.errors import APIError
from server.protocol.responses import InputItem, InputItemList
from server.services.ids import new_id, now
from server.services.items import normalized, page, resolved
from server.store.conversations import StoredConversation, StoredItem
from server.store.database import ResponseStore


def not_found(conversation_id: str, param: str = "conversation_id") -> APIError:
    return APIError(
        f"Conversation with id '{conversation_id}' not found.",
        status=404,
        param=param,
        code="conversation_not_found",
    )


def _stored(items: list[dict[str, Any]]) -> list[StoredItem]:
    """Items as a conversation lists them: a message says its status, as OpenAI's do."""
    kept = []
    for item in items:
        if item.get("type", "message") == "message":
            item = {"type": "message", **item, "status": item.get("status", "completed")}
        kept.append(StoredItem(item["id"], json.dumps(item)))
    return kept


def _conversation(record: StoredConversation) -> Conversation:
    return Conversation(
        id=record.id, created_at=record.created_at, metadata=json.loads(record.metadata)
    )


class Conversations:
    """`store` is None on a server started with --no-store: nothing is kept, so creating
    a conversation is a 400 and every id is unknown."""

    def __init__(self, store: ResponseStore | None) -> None:
        self._store = store

    async def create(self, body: CreateConversationBody, owner: str) -> Conversation:
        if self._store is None:
            raise APIError("This server keeps no conversations (it runs with --no-store).")
        items = await self._items(body.items or [], owner)
        record = StoredConversation(
            new_id("conv", "_"), owner, now(), json.dumps(body.metadata or {})
        )
        await asyncio.to_thread(self._store.conversations.create, record, _stored(items))
        return _conversation(record)

    async def get(self, conversation_id: str, owner: str) -> Conversation:
        record = None
        if self._store is not None:
            record = await asyncio.to_thread(self._store.conversations.get, conversation_id, owner)
        if record is None:
            raise not_found(conversation_id)
        return _conversation(record)

    async def update(
        self, conversation_id: str, body: UpdateConversationBody, owner: str
    ) -> Conversation:
        record = None
        if self._store is not None:
            conversations = self._store.conversations
            metadata = json.dumps(body.metadata)
            record = await asyncio.to_thread(conversations.update, conversation_id, owner, metadata)
        if record is None:
            raise not_found(conversation_id)
        return _conversation(record)

    async def delete(self, conversation_id: str, owner: str) -> None:
        deleted = False
        if self._store is not None:
            deleted = await asyncio.to_thread(
                self._store.conversations.delete, conversation_id, owner
            )
        if not deleted:
            raise not_found(conversation_id)

    async def read(
        self, conversation_id: str, owner: str, param: str = "conversation_id"
    ) -> list[dict[str, Any]]:
        """Every item of the conversation, oldest first."""
        texts = None
        if self._store is not None:
            texts = await asyncio.to_thread(self._store.conversations.items, conversation_id, owner)
        if texts is None:
            raise not_found(conversation_id, param)
        return [json.loads(text) for text in texts]

    async def items(
        self, conversation_id: str, owner: str, after: str | None, limit: int, order: str
    ) -> InputItemList:
        return page(await self.read(conversation_id, owner), after, limit, order)

    async def add(self, conversation_id: str, body: AddItemsBody, owner: str) -> InputItemList:
        """The items appended; answered as the list of the items created."""
        await self.get(conversation_id, owner)  # an unknown id: 404 before items are read
        stored = _stored(await self._items(body.items, owner))
        if not await self._append(conversation_id, owner, stored):
            raise not_found(conversation_id)
        data = [json.loads(item.item) for item in stored]
        return InputItemList(
            data=data,
            first_id=data[0]["id"] if data else None,
            last_id=data[-1]["id"] if data else None,
            has_more=False,
        )

    async def append(self, conversation_id: str, owner: str, items: list[dict[str, Any]]) -> bool:
        """A response's turn added; False when the conversation is gone (deleted meanwhile)."""
        return await self._append(conversation_id, owner, _stored(items))

    async def _append(self, conversation_id: str, owner: str, items: list[StoredItem]) -> bool:
        if self._store is None:
            return False
        conversations = self._store.conversations
        return await asyncio.to_thread(conversations.add, conversation_id, owner, items)

    async def item(self, conversation_id: str, item_id: str, owner: str) -> dict[str, Any]:
        text = None
        if self._store is not None:
            conversations = self._store.conversations
            text = await asyncio.to_thread(conversations.item, conversation_id, owner, item_id)
        if text is None:
            await self.get(conversation_id, owner)  # the conversation's 404 first
            raise _item_not_found(item_id)
        return json.loads(text)

    async def delete_item(self, conversation_id: str, item_id: str, owner: str) -> Conversation:
        """The item removed; answered with the conversation, as OpenAI's is."""
        deleted = False
        if self._store is not None:
            conversations = self._store.conversations
            deleted = await asyncio.to_thread(
                conversations.delete_item, conversation_id, owner, item_id
            )
        conversation = await self.get(conversation_id, owner)
        if not deleted:
            raise _item_not_found(item_id)
        return conversation

    async def _items(self, items: list[InputItem], owner: str) -> list[dict[str, Any]]:
        raw = [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]
        return await resolved(normalized(raw), owner, self._store, "items")


def _item_not_found(item_id: str) -> APIError:
    return APIError(
        f"Item with id '{item_id}' not found.", status=404, param="item_id", code="item_not_found"
    )
