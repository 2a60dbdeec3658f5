"""A throwaway PostgreSQL server (Debian's package) in a temporary folder: for the response
store's tests and the store benchmark. As root it runs as Debian's postgres user, since
PostgreSQL refuses to run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql")


def _tool(name: str) -> str:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    path = str(found[-1]) if found else shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: apt install postgresql)")
    return path


@contextlib.contextmanager
def local_postgres(port: int) -> Iterator[str]:
    """A server on 127.0.0.1:`port` for as long as the block runs; its URL."""
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    # Not under a test's temporary folder, which the postgres user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="sampling-server-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1"
        log = str(root / "log")
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-l", log, "-w", "-o", options, "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """A fresh, empty database `name` on the server at `url`; its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
