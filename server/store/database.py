"""The responses table through SQLAlchemy Core, so that SQLite and PostgreSQL run the same
statements. Each call is one short transaction: a response is written whole or not at all,
with the index of the items it holds."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)

from server.store.conversations import ConversationStore
from server.store.tables import (
    conversation_items,
    conversations,
    item_key,
    metadata,
    response_items,
    responses,
)

UNFINISHED = ("queued", "in_progress")


@dataclass(frozen=True)
class StoredResponse:
    id: str
    owner: str
    created_at: int
    status: str
    response: str  # JSON
    input_items: str  # JSON list
    context: str  # JSON list
    updated_at: int = 0  # set by the store on every write


@dataclass(frozen=True)
class Retention:
    max_age_s: float
    max_count: int


def database_url(url: str | None, cache_dir: Path) -> str:
    """A PostgreSQL URL through psycopg 3; none: a SQLite file in the cache directory."""
    if url is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{cache_dir / 'responses.sqlite3'}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class ResponseStore:
    def __init__(self, url: str) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        self._engine: Engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {},
            pool_pre_ping=not sqlite,
        )
        if sqlite:
            event.listen(self._engine, "connect", _sqlite_pragmas)
        metadata.create_all(self._engine)
        self.conversations = ConversationStore(self._engine)

    @property
    def backend(self) -> str:
        return self._engine.dialect.name

    def add(self, record: StoredResponse) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(responses).values({**record.__dict__, "updated_at": int(time.time())})
            )
            _index_items(conn, record.id, record.owner, [record.input_items, record.response])

    def finish(self, response_id: str, status: str, response: str) -> None:
        """A background response's final state (or any state change after `add`)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(responses)
                .where(responses.c.id == response_id)
                .values(status=status, response=response, updated_at=int(time.time()))
            )
            owner = conn.execute(
                select(responses.c.owner).where(responses.c.id == response_id)
            ).scalar_one_or_none()
            if owner is not None:
                _index_items(conn, response_id, owner, [response])

    def abandon(
        self, response_id: str, status: str, response: str, written_before: float | None
    ) -> bool:
        """Write the end of a background response no process is running any more, unless
        it ended, or (`written_before`) its row was written since, in the meantime."""
        condition = [responses.c.id == response_id, responses.c.status.in_(UNFINISHED)]
        if written_before is not None:
            condition.append(responses.c.updated_at < written_before)
        with self._engine.begin() as conn:
            result = conn.execute(
                update(responses)
                .where(*condition)
                .values(status=status, response=response, updated_at=int(time.time()))
            )
        return result.rowcount > 0

    def touch(self, response_id: str) -> None:
        """A background response still running: its row is fresh again."""
        with self._engine.begin() as conn:
            conn.execute(
                update(responses)
                .where(responses.c.id == response_id, responses.c.status.in_(UNFINISHED))
                .values(updated_at=int(time.time()))
            )

    def get(self, response_id: str, owner: str) -> StoredResponse | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(responses).where(responses.c.id == response_id, responses.c.owner == owner)
            ).first()
        return None if row is None else StoredResponse(**row._mapping)

    def delete(self, response_id: str, owner: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(responses).where(responses.c.id == response_id, responses.c.owner == owner)
            )
            if result.rowcount > 0:
                conn.execute(
                    delete(response_items).where(response_items.c.response_id == response_id)
                )
        return result.rowcount > 0

    def item(self, item_id: str, owner: str) -> dict[str, Any] | None:
        """The item with this id in the owner's newest stored response holding one (its
        input or its output), for an `item_reference`."""
        query = (
            select(responses.c.input_items, responses.c.response)
            .join(response_items, response_items.c.response_id == responses.c.id)
            .where(response_items.c.owner == owner, response_items.c.item_key == item_key(item_id))
            .order_by(responses.c.created_at.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        held = [*json.loads(row.input_items), *json.loads(row.response)["output"]]
        return next((item for item in held if item.get("id") == item_id), None)

    def unfinished(self, written_before: float | None = None) -> list[StoredResponse]:
        """Background responses not ended; with `written_before`, only those whose row has
        not been written since (a time.time())."""
        query = select(responses).where(responses.c.status.in_(UNFINISHED))
        if written_before is not None:
            query = query.where(responses.c.updated_at < written_before)
        with self._engine.connect() as conn:
            return [StoredResponse(**row._mapping) for row in conn.execute(query)]

    def prune(self, retention: Retention) -> int:
        """Drop responses older than the age limit, then the oldest beyond the count limit."""
        cutoff = int(time.time() - retention.max_age_s)
        with self._engine.begin() as conn:
            removed = conn.execute(delete(responses).where(responses.c.created_at < cutoff))
            count = removed.rowcount
            kept = (
                select(responses.c.id)
                .order_by(responses.c.created_at.desc(), responses.c.id.desc())
                .limit(retention.max_count)
            )
            over = conn.execute(delete(responses).where(responses.c.id.not_in(kept)))
            conn.execute(
                delete(response_items).where(
                    response_items.c.response_id.not_in(select(responses.c.id))
                )
            )
            # A deleted conversation's items are kept for references, as long as a response.
            conn.execute(
                delete(conversation_items).where(
                    conversation_items.c.created_at < cutoff,
                    conversation_items.c.conversation_id.not_in(select(conversations.c.id)),
                )
            )
            return count + over.rowcount

    def count(self) -> int:
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(responses)).scalar_one()

    def close(self) -> None:
        self._engine.dispose()


def _index_items(conn: Connection, response_id: str, owner: str, documents: list[str]) -> None:
    """The ids of the items in `documents` (an input item list, a Response object) that
    the index does not hold yet for this response."""
    ids: set[str] = set()
    for document in documents:
        parsed = json.loads(document)
        items = parsed.get("output", []) if isinstance(parsed, dict) else parsed
        ids.update(item["id"] for item in items if isinstance(item, dict) and "id" in item)
    keys = {item_key(item_id) for item_id in ids}
    if not keys:
        return
    held = conn.execute(
        select(response_items.c.item_key).where(response_items.c.response_id == response_id)
    )
    new = keys - set(held.scalars())
    if new:
        conn.execute(
            insert(response_items),
            [{"response_id": response_id, "item_key": k, "owner": owner} for k in sorted(new)],
        )


def _sqlite_pragmas(connection: object, _record: object) -> None:
    """WAL: readers never wait on the writer, and a commit survives the process's crash."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
