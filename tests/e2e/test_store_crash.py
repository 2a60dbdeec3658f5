"""kill -9 of a server with stored responses in flight (the very last phase: nothing runs on
this server after). What had finished is in the SQLite file whole; the answer being streamed
is lost and nothing else; the background run is left unfinished, and the next start marks
it failed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import openai
import psutil
import pytest

from server.services.stored import Keeper
from server.store.database import ResponseStore, Retention

pytestmark = pytest.mark.kills_server
LONG = "Write a very long story about a lighthouse keeper."


def test_kill_9_loses_only_the_responses_in_flight(pool, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('crash') / 'responses.sqlite3'}"
    server = pool.get("--store-url", url)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
    model = client.models.list().data[0].id
    done = client.responses.create(model=model, input="Say hi.", max_output_tokens=4)
    background = client.responses.create(
        model=model, input=LONG, background=True, max_output_tokens=2000, temperature=0
    )
    deadline = time.monotonic() + 60
    while client.responses.retrieve(background.id).status != "in_progress":
        assert time.monotonic() < deadline, "the background run never started"
        time.sleep(0.1)
    streamed = client.responses.create(
        model=model, input=LONG, stream=True, max_output_tokens=2000, temperature=0
    )
    streaming_id = None
    for event in streamed:
        if event.type == "response.created":
            streaming_id = event.response.id
        if event.type == "response.output_text.delta":
            break
    assert streaming_id is not None
    # The server first, so it has no moment to write anything on seeing its engine go.
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    for child in server.children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    pool.forget()

    store = ResponseStore(url)
    try:
        kept = store.get(done.id, "")
        assert kept is not None and kept.status == done.status
        assert openai.types.responses.Response.model_validate_json(kept.response).output_text
        assert store.get(streaming_id, "") is None
        assert [r.id for r in store.unfinished()] == [background.id]
        assert store.count() == 2
        # What the next start does with a run no process is doing any more.
        keeper = Keeper(store, Retention(max_age_s=86_400, max_count=100))
        assert asyncio.run(keeper.fail_unfinished()) == 1
        assert store.get(background.id, "").status == "failed"
    finally:
        store.close()
