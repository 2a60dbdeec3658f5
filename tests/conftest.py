"""Fixtures both suites share: a real PostgreSQL server (Debian's; scripts/test.sh installs
it), started once for the session, for the response store's tests and the server that
stores into it; and the store on each of its databases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from bench.postgres import create_database, local_postgres
from server.store.database import ResponseStore, database_url, metadata, responses


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with local_postgres(54329) as url:
            yield url
    except RuntimeError as missing:
        pytest.fail(f"{missing}; scripts/test.sh installs it")


@pytest.fixture(scope="session")
def served_postgres_url(postgres_url: str) -> str:
    """A database of its own for a server to store into, apart from the store tests' tables."""
    return create_database(postgres_url, "served")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResponseStore]:
    """The same tests on SQLite in a temporary file and on the real PostgreSQL."""
    if request.param == "sqlite":
        url = database_url(None, tmp_path)
    else:
        url = database_url(request.getfixturevalue("postgres_url"), tmp_path)
    opened = ResponseStore(url)
    assert opened.backend == request.param
    yield opened
    metadata.drop_all(opened._engine)
    opened.close()


def written_ago(store: ResponseStore, response_id: str, seconds: float) -> None:
    """As if the row had last been written `seconds` ago."""
    with store._engine.begin() as conn:
        conn.execute(
            update(responses)
            .where(responses.c.id == response_id)
            .values(updated_at=int(time.time() - seconds))
        )
