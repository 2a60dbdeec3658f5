"""The response store on both of its databases, the same tests: SQLite in a temporary file
and a real PostgreSQL server (the `store` fixture of tests/conftest.py). A writer killed
with SIGKILL mid-stream loses nothing it had committed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from server.store.database import ResponseStore, Retention, StoredResponse
from tests.conftest import written_ago


def record(i: int, owner: str = "", created: int | None = None, status: str = "completed"):
    return StoredResponse(
        id=f"resp-{i}",
        owner=owner,
        created_at=int(time.time()) if created is None else created,
        status=status,
        response=f'{{"id": "resp-{i}"}}',
        input_items="[]",
        context="[]",
    )


def test_a_response_is_read_back_only_by_its_owner(store):
    written = record(1, owner="a")
    store.add(written)
    read = store.get("resp-1", "a")
    assert read == replace(written, created_at=read.created_at, updated_at=read.updated_at)
    assert read.updated_at >= written.created_at  # the store stamps every write
    assert store.get("resp-1", "b") is None
    assert store.delete("resp-1", "b") is False
    assert store.delete("resp-1", "a") is True
    assert store.get("resp-1", "a") is None


def test_a_background_row_is_finished_in_place(store):
    store.add(record(2, status="queued"))
    assert [r.id for r in store.unfinished()] == ["resp-2"]
    store.finish("resp-2", "completed", '{"done": true}')
    got = store.get("resp-2", "")
    assert (got.status, got.response) == ("completed", '{"done": true}')
    assert store.unfinished() == []


def test_retention_drops_the_old_then_the_oldest_beyond_the_count(store):
    now = int(time.time())
    store.add(record(1, created=now - 10_000))
    for i in range(2, 7):
        store.add(record(i, created=now - 10 + i))
    removed = store.prune(Retention(max_age_s=1_000, max_count=3))
    assert removed == 3
    assert sorted(r for r in ("resp-4", "resp-5", "resp-6") if store.get(r, "")) == [
        "resp-4",
        "resp-5",
        "resp-6",
    ]
    assert store.count() == 3


WRITER = """
import sys, time
from server.store.database import ResponseStore, StoredResponse
store = ResponseStore(sys.argv[1])
i = 0
while True:
    store.add(StoredResponse(f"resp-{i}", "", int(time.time()), "completed", "{}", "[]", "[]"))
    print(i, flush=True)
    i += 1
"""


def test_sigkill_loses_only_what_was_in_flight(store):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, store.url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert writer.stdout is not None
    committed = -1
    while committed < 50:
        committed = int(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    # It kept writing until the signal landed: the last line it printed is its last commit.
    for line in writer.stdout.read().split():
        committed = int(line)
    reopened = ResponseStore(store.url)
    # Every write it reported is there; at most the one after it also landed.
    assert all(reopened.get(f"resp-{i}", "") for i in range(committed + 1))
    assert reopened.count() in (committed + 1, committed + 2)
    reopened.close()


def test_an_unfinished_row_is_abandoned_only_when_nobody_wrote_it(store):
    store.add(record(1, status="in_progress"))
    store.add(record(2, status="completed"))
    written_ago(store, "resp-1", 120)
    written_ago(store, "resp-2", 120)
    cutoff = time.time() - 60
    assert [r.id for r in store.unfinished(cutoff)] == ["resp-1"]
    store.touch("resp-1")  # its replica's heartbeat
    store.touch("resp-2")  # an ended one is not revived
    assert store.unfinished(cutoff) == []
    assert store.get("resp-2", "").updated_at < cutoff
    assert store.abandon("resp-1", "failed", "{}", cutoff) is False  # fresh: still running
    assert store.abandon("resp-1", "failed", "{}", None) is True
    assert store.get("resp-1", "").status == "failed"
    assert store.abandon("resp-1", "failed", "{}", None) is False  # ended already
