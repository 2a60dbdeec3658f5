"""The store's tables, one metadata: `create_all` at start-up adds any table a database
lacks (there is no other migration), so a store written by an older server opens as is."""

from __future__ import annotations

import hashlib

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()
responses = Table(
    "responses",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("owner", String(64), nullable=False),  # a hash of the API key; "" without one
    Column("created_at", Integer, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("response", Text, nullable=False),  # the Response object, as answered
    Column("input_items", Text, nullable=False),  # this request's input, items with ids
    Column("context", Text, nullable=False),  # every item before the output, for replay
    # Last written: a running background response's replica rewrites it every few seconds,
    # so another replica can tell a run whose replica died from one still going.
    Column("updated_at", Integer, nullable=False),
)
# Which stored response holds an item (its input or output), so that an `item_reference`
# is one indexed lookup; the item itself stays in its response's row.
response_items = Table(
    "response_items",
    metadata,
    Column("response_id", String(80), primary_key=True),
    Column("item_key", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Index("ix_response_items_owner_key", "owner", "item_key"),
)
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("metadata", Text, nullable=False),  # a JSON object of strings
)
# A conversation's items in the order they were added (`seq`). Deleting a conversation
# leaves its items (OpenAI's behaviour): an `item_reference` still finds them.
conversation_items = Table(
    "conversation_items",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(80), nullable=False, index=True),
    Column("owner", String(64), nullable=False),
    Column("item_key", String(64), nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("item", Text, nullable=False),  # the item, JSON, with its id
    Index("ix_conversation_items_owner_key", "owner", "item_key"),
)


def item_key(item_id: str) -> str:
    """An item's id as the tables index it: a client may send ids of any length, which no
    index (PostgreSQL's b-tree rows included) takes whole."""
    return hashlib.sha256(item_id.encode()).hexdigest()
