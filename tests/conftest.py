"""Fixtures both suites share: a real PostgreSQL server (Debian's; scripts/test.sh installs
it), started once for the session, for the response store's tests and the server that
stores into it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.postgres import create_database, local_postgres


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
