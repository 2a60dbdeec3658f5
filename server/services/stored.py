"""Stored responses as the Responses API sees them: whether a request is kept, what a
continuation (or a conversation) replays, who may read what. The database calls run off the
event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import TypeAdapter

from server.protocol.errors import APIError
from server.protocol.responses import (
    ConversationReference,
    InputItem,
    InputItemList,
    Response,
    ResponseCreateRequest,
    ResponseError,
)
from server.services.conversations import Conversations
from server.services.ids import new_id
from server.services.items import normalized, page, resolved
from server.store.database import UNFINISHED, ResponseStore, Retention, StoredResponse

ITEMS = TypeAdapter(list[InputItem])
PRUNE_EVERY = 100  # writes between two retention passes
ANSWERED = ("completed", "incomplete")  # what a conversation gets the turn of
HEARTBEAT_S = 10.0  # a running background response's row is rewritten this often
STALE_S = 60.0  # an unfinished row unwritten this long: no replica is running it
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """One Responses request beyond its fields: its id, owner, and what it stores."""

    id: str
    owner: str
    store: bool
    background: bool
    previous_response_id: str | None
    input_items: list[dict[str, Any]]  # this request's input, each item with an id
    context: list[dict[str, Any]]  # what the model read before its output, as replayed
    conversation: ConversationReference | None = None  # where the turn is appended

    def record(self, response: Response) -> StoredResponse:
        return StoredResponse(
            id=self.id,
            owner=self.owner,
            created_at=response.created_at,
            status=response.status,
            response=response.model_dump_json(),
            input_items=json.dumps(self.input_items),
            context=json.dumps(self.context),
        )


def not_found(response_id: str) -> APIError:
    return APIError(
        f"No response found with id '{response_id}'.",
        status=404,
        param="response_id",
        code="response_not_found",
    )


def previous_not_found(response_id: str) -> APIError:
    """OpenAI's answer to an unknown `previous_response_id` (a 400, not a 404)."""
    return APIError(
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


def with_ids(request: ResponseCreateRequest) -> list[dict[str, Any]]:
    """The request's input as stored items: a plain string is a user message; every item
    gets an id (OpenAI's input_items are paged by them) and message text becomes parts."""
    if isinstance(request.input, str):
        raw: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": request.input}]
    else:
        raw = [
            item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in request.input
        ]
    return normalized(raw)


def replay(record: StoredResponse) -> list[dict[str, Any]]:
    """What a continuation of `record` reads first: its context, then its output."""
    output = json.loads(record.response)["output"]
    return [*json.loads(record.context), *output]


class Keeper:
    """`store` is None on a server started with --no-store."""

    def __init__(self, store: ResponseStore | None, retention: Retention) -> None:
        self._store = store
        self._retention = retention
        self._writes = 0
        self.conversations = Conversations(store)

    @property
    def enabled(self) -> bool:
        return self._store is not None

    async def begin(
        self,
        body: ResponseCreateRequest,
        owner: str,
        recent: StoredResponse | None = None,
        transport: Literal["http", "websocket"] = "http",
    ) -> tuple[ResponseCreateRequest, Turn]:
        """The request to answer (a continuation: the stored conversation, then this input)
        and its turn. `recent` is a WebSocket connection's last response, kept even unstored."""
        keep = self.enabled if body.store is None else body.store
        if keep and not self.enabled:
            raise APIError("store: this server keeps no responses (--no-store)", param="store")
        if body.background and transport == "websocket":
            raise APIError("background responses are not sent over a WebSocket", param="background")
        if body.background and not keep:
            raise APIError(
                "background: this server keeps no responses (--no-store)", param="background"
            )
        previous, conversation = body.previous_response_id, conversation_id(body.conversation)
        earlier = await self.earlier(previous, conversation, owner, recent)
        items = await resolved(with_ids(body), owner, self._store, "input")
        request = body
        if earlier or not isinstance(body.input, str):  # the items with their ids
            request = body.model_copy(update={"input": ITEMS.validate_python([*earlier, *items])})
        turn = Turn(
            new_id("resp", "_"),
            owner,
            keep,
            body.background,
            previous,
            items,
            [*earlier, *items],
            None if conversation is None else ConversationReference(id=conversation),
        )
        return request, turn

    async def earlier(
        self,
        previous: str | None,
        conversation: str | None,
        owner: str,
        recent: StoredResponse | None = None,
    ) -> list[dict[str, Any]]:
        """What the model reads before a request's input: a previous response replayed, or
        a conversation's items (policy.py refuses both at once)."""
        if conversation is not None:
            return await self.conversations.read(conversation, owner, "conversation")
        if previous is None:
            return []
        record = recent if recent is not None and recent.id == previous else None
        if record is None and self._store is not None:
            record = await asyncio.to_thread(self._store.get, previous, owner)
        if record is None:
            raise previous_not_found(previous)
        return replay(record)

    def answered(self, turn: Turn, request: ResponseCreateRequest) -> Turn:
        """The turn of the request as answered (`truncation: "auto"` may have dropped items)."""
        return replace(turn, context=with_ids(request))

    async def save(self, turn: Turn, response: Response) -> None:
        """A response written whole: a new row, or a background row's final state; once
        answered, its input and output appended to its conversation (kept or not)."""
        if turn.conversation is not None and response.status in ANSWERED:
            output = [item.model_dump(mode="json") for item in response.output]
            await self.conversations.append(
                turn.conversation.id, turn.owner, [*turn.input_items, *output]
            )
        if not turn.store or self._store is None:
            return
        store = self._store
        if turn.background and response.status != "queued":
            await asyncio.to_thread(
                store.finish, turn.id, response.status, response.model_dump_json()
            )
        else:
            await asyncio.to_thread(store.add, turn.record(response))
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            await asyncio.to_thread(store.prune, self._retention)

    async def get(self, response_id: str, owner: str) -> StoredResponse:
        record = None
        if self._store is not None:
            record = await asyncio.to_thread(self._store.get, response_id, owner)
        if record is None:
            raise not_found(response_id)
        stale_before = time.time() - STALE_S
        if record.status in UNFINISHED and record.updated_at < stale_before:
            record = await self._abandon(record, stale_before)
        return record

    async def _abandon(
        self, record: StoredResponse, written_before: float | None
    ) -> StoredResponse:
        """`record` marked failed, unless its replica wrote it meanwhile: then as it is now."""
        assert self._store is not None
        failed = interrupted(Response.model_validate_json(record.response))
        body = failed.model_dump_json()
        store = self._store
        if await asyncio.to_thread(store.abandon, record.id, failed.status, body, written_before):
            return replace(record, status=failed.status, response=body)
        return await asyncio.to_thread(store.get, record.id, record.owner) or record

    async def keep_alive(self, response_id: str, every: float = HEARTBEAT_S) -> None:
        """While a background response runs (until cancelled): its row stays fresh, so no
        other replica takes it for abandoned."""
        store = self._store
        if store is None:
            return
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(store.touch, response_id)
            except Exception:  # the database away for a moment: the next beat tries again
                log.warning("could not refresh background response %s", response_id)

    async def delete(self, response_id: str, owner: str) -> None:
        deleted = False
        if self._store is not None:
            deleted = await asyncio.to_thread(self._store.delete, response_id, owner)
        if not deleted:
            raise not_found(response_id)

    async def input_items(
        self, response_id: str, owner: str, after: str | None, limit: int, order: str
    ) -> InputItemList:
        items = json.loads((await self.get(response_id, owner)).input_items)
        return page(items, after, limit, order)

    async def fail_unfinished(self) -> int:
        """At start: background responses no process is running any more, marked failed. On
        SQLite all unfinished ones (the file is this process's); on PostgreSQL those no
        replica has written for STALE_S (the others may still be running elsewhere)."""
        if self._store is None:
            return 0
        store = self._store
        before = None if store.backend == "sqlite" else time.time() - STALE_S
        records = await asyncio.to_thread(store.unfinished, before)
        for record in records:
            await self._abandon(record, before)
        await asyncio.to_thread(store.prune, self._retention)
        return len(records)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def conversation_id(reference: str | ConversationReference | None) -> str | None:
    """The id of a request's `conversation`, given as a string or as `{"id": …}`."""
    return reference if reference is None or isinstance(reference, str) else reference.id


def interrupted(response: Response) -> Response:
    return response.model_copy(
        update={
            "status": "failed",
            "error": ResponseError(message="The server stopped before this response finished."),
        }
    )
