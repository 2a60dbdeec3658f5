"""Stored responses on the second server: written to PostgreSQL (the replicas' store), and
each API key sees only its own, through the OpenAI SDK."""

from __future__ import annotations

import openai
import pytest

from server.http.auth import owner_of
from server.store.database import ResponseStore, database_url
from tests.e2e.conftest import API_KEY, OTHER_KEY

pytestmark = pytest.mark.processed
MODEL = "SmolLM2-135M-Instruct"
KEYS = (API_KEY, OTHER_KEY)


def _client(server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)


def _owner(key: str) -> str:
    return owner_of({"authorization": f"Bearer {key}"}, KEYS)


def test_a_response_is_in_postgresql_and_only_its_key_reads_it(
    processed_server, served_postgres_url, tmp_path
):
    mine, theirs = _client(processed_server, API_KEY), _client(processed_server, OTHER_KEY)
    turn = mine.responses.create(model=MODEL, input="Say hi.", max_output_tokens=4)
    store = ResponseStore(database_url(served_postgres_url, tmp_path))
    try:
        assert store.backend == "postgresql"
        row = store.get(turn.id, _owner(API_KEY))
        assert row is not None and row.status == turn.status
        assert store.get(turn.id, _owner(OTHER_KEY)) is None
    finally:
        store.close()

    with pytest.raises(openai.NotFoundError):
        theirs.responses.retrieve(turn.id)
    with pytest.raises(openai.NotFoundError):
        theirs.responses.input_items.list(turn.id)
    with pytest.raises(openai.NotFoundError):
        theirs.responses.cancel(turn.id)
    with pytest.raises(openai.NotFoundError):
        theirs.responses.delete(turn.id)
    with pytest.raises(openai.BadRequestError) as refused:
        theirs.responses.create(
            model=MODEL, input="And now?", previous_response_id=turn.id, max_output_tokens=2
        )
    assert refused.value.code == "previous_response_not_found"

    # The other key's failed attempts changed nothing for the owner.
    assert mine.responses.retrieve(turn.id).output_text == turn.output_text
    follow_up = mine.responses.create(
        model=MODEL, input="And now?", previous_response_id=turn.id, max_output_tokens=2
    )
    assert follow_up.previous_response_id == turn.id
    mine.responses.delete(turn.id)
    with pytest.raises(openai.NotFoundError):
        mine.responses.retrieve(turn.id)
