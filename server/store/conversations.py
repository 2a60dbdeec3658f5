"""Conversations and their items, on the response store's database: each call one short
transaction, every read and write limited to the owner's rows."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select, update

from server.store.tables import conversation_items, conversations, item_key


@dataclass(frozen=True)
class StoredConversation:
    id: str
    owner: str
    created_at: int
    metadata: str  # JSON object


@dataclass(frozen=True)
class StoredItem:
    id: str
    item: str  # JSON, with its id


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, conversation: StoredConversation, items: list[StoredItem]) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(conversations).values(conversation.__dict__))
            _append(conn, conversation.id, conversation.owner, items)

    def get(self, conversation_id: str, owner: str) -> StoredConversation | None:
        with self._engine.connect() as conn:
            return _owned(conn, conversation_id, owner)

    def update(self, conversation_id: str, owner: str, metadata: str) -> StoredConversation | None:
        with self._engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .values(metadata=metadata)
            )
            return _owned(conn, conversation_id, owner)

    def delete(self, conversation_id: str, owner: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.owner == owner
                )
            )
        return result.rowcount > 0

    def add(self, conversation_id: str, owner: str, items: list[StoredItem]) -> bool:
        """The items appended, unless the owner has no such conversation (False)."""
        with self._engine.begin() as conn:
            if _owned(conn, conversation_id, owner) is None:
                return False
            _append(conn, conversation_id, owner, items)
        return True

    def items(self, conversation_id: str, owner: str) -> list[str] | None:
        """Every item, oldest first; None when the owner has no such conversation."""
        with self._engine.connect() as conn:
            if _owned(conn, conversation_id, owner) is None:
                return None
            rows = conn.execute(
                select(conversation_items.c.item)
                .where(conversation_items.c.conversation_id == conversation_id)
                .order_by(conversation_items.c.seq)
            )
            return list(rows.scalars())

    def item(self, conversation_id: str, owner: str, item_id: str) -> str | None:
        with self._engine.connect() as conn:
            if _owned(conn, conversation_id, owner) is None:
                return None
            return conn.execute(
                select(conversation_items.c.item)
                .where(
                    conversation_items.c.conversation_id == conversation_id,
                    conversation_items.c.item_key == item_key(item_id),
                )
                .order_by(conversation_items.c.seq)
                .limit(1)
            ).scalar_one_or_none()

    def delete_item(self, conversation_id: str, owner: str, item_id: str) -> bool:
        with self._engine.begin() as conn:
            if _owned(conn, conversation_id, owner) is None:
                return False
            result = conn.execute(
                delete(conversation_items).where(
                    conversation_items.c.conversation_id == conversation_id,
                    conversation_items.c.item_key == item_key(item_id),
                )
            )
        return result.rowcount > 0

    def find(self, item_id: str, owner: str) -> str | None:
        """The newest item with this id in any of the owner's conversations (a deleted
        one's included), for an `item_reference`."""
        with self._engine.connect() as conn:
            return conn.execute(
                select(conversation_items.c.item)
                .where(
                    conversation_items.c.owner == owner,
                    conversation_items.c.item_key == item_key(item_id),
                )
                .order_by(conversation_items.c.seq.desc())
                .limit(1)
            ).scalar_one_or_none()


def _owned(conn: Connection, conversation_id: str, owner: str) -> StoredConversation | None:
    row = conn.execute(
        select(conversations).where(
            conversations.c.id == conversation_id, conversations.c.owner == owner
        )
    ).first()
    return None if row is None else StoredConversation(**row._mapping)


def _append(conn: Connection, conversation_id: str, owner: str, items: list[StoredItem]) -> None:
    if not items:
        return
    created = int(time.time())
    conn.execute(
        insert(conversation_items),
        [
            {
                "conversation_id": conversation_id,
                "owner": owner,
                "item_key": item_key(item.id),
                "created_at": created,
                "item": item.item,
            }
            for item in items
        ],
    )
