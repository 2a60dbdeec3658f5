"""Input items in their stored form: each with an id, message text as parts, an
`item_reference` replaced by the item it names; and a page of them, as OpenAI's lists page."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from server.protocol.errors import APIError
from server.protocol.responses import InputItemList
from server.services.ids import new_id
from server.store.database import ResponseStore

PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}


def normalized(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plain-text message's content becomes one text part; every item gets an id (OpenAI's
    item lists are paged by them)."""
    items = []
    for item in raw:
        kind = item.get("type", "message")
        if kind == "message" and isinstance(item.get("content"), str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": part, "text": item["content"]}]
        item.setdefault("id", new_id(PREFIX.get(kind, "item"), "_"))
        items.append(item)
    return items


async def resolved(
    items: list[dict[str, Any]], owner: str, store: ResponseStore | None, param: str
) -> list[dict[str, Any]]:
    """`items` with each `item_reference` replaced by the owner's stored item of that id: a
    conversation's item first, else one of a stored response's input or output items."""
    found = list(items)
    for i, item in enumerate(items):
        if item.get("type") != "item_reference":
            continue
        item_id = item["id"]
        stored = None
        if store is not None:
            text = await asyncio.to_thread(store.conversations.find, item_id, owner)
            if text is not None:
                stored = json.loads(text)
            else:
                stored = await asyncio.to_thread(store.item, item_id, owner)
        if stored is None:
            raise APIError(
                f"Item with id '{item_id}' not found.",
                param=f"{param}[{i}].id",
                code="item_not_found",
            )
        found[i] = stored
    return found


def page(items: list[dict[str, Any]], after: str | None, limit: int, order: str) -> InputItemList:
    """The `limit` items after the one with id `after`, in `order` ("asc": oldest first)."""
    if order == "desc":
        items = items[::-1]
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise APIError(f"No item with id '{after}' in this list.", param="after")
        items = items[ids.index(after) + 1 :]
    chosen = items[:limit]
    return InputItemList(
        data=chosen,
        first_id=chosen[0]["id"] if chosen else None,
        last_id=chosen[-1]["id"] if chosen else None,
        has_more=len(items) > limit,
    )
