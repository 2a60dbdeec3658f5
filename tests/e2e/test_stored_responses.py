"""Stored Responses on the real server through the OpenAI SDK: a continuation with
`previous_response_id` answers as resending the history does, retrieve, input items paged
by id, delete, background runs polled, cancelled and streamed from a cursor, and WebSocket
mode with its connection-local continuation."""

from __future__ import annotations

import time

import openai
import pytest

FIRST = "My favourite colour is green. Say OK."
SECOND = "What is my favourite colour?"
GREEDY = {"temperature": 0, "max_output_tokens": 16}


def test_a_continuation_answers_as_the_whole_history_does(client, model):
    first = client.responses.create(model=model, input=FIRST, **GREEDY)
    assert first.status in ("completed", "incomplete")
    assert client.responses.retrieve(first.id).output_text == first.output_text
    second = client.responses.create(
        model=model, input=SECOND, previous_response_id=first.id, **GREEDY
    )
    history = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": SECOND},
    ]
    resent = client.responses.create(model=model, input=history, **GREEDY)
    assert second.previous_response_id == first.id
    assert second.output_text == resent.output_text
    assert second.usage.input_tokens == resent.usage.input_tokens
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens


def test_input_items_are_this_requests_paged_by_id(client, model):
    turn = client.responses.create(
        model=model,
        input=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        max_output_tokens=2,
    )
    items = list(client.responses.input_items.list(turn.id, limit=1))  # one per page
    assert [item.content[0].text for item in items] == ["b", "a"]  # newest first
    assert all(item.id for item in items)
    ascending = client.responses.input_items.list(turn.id, order="asc")
    assert [item.content[0].text for item in ascending.data] == ["a", "b"]
    assert ascending.has_more is False


def test_delete_and_unknown_ids(client, model, http):
    turn = client.responses.create(model=model, input="hi", max_output_tokens=2)
    client.responses.delete(turn.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(turn.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(turn.id)
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=model, input="hi", previous_response_id=turn.id)
    assert refused.value.code == "previous_response_not_found"
    assert refused.value.param == "previous_response_id"
    unstored = client.responses.create(model=model, input="hi", max_output_tokens=2, store=False)
    assert unstored.store is False
    assert http.get(f"/v1/responses/{unstored.id}").status_code == 404


def _until_done(client, response_id: str):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = client.responses.retrieve(response_id)
        if response.status not in ("queued", "in_progress"):
            return response
        time.sleep(0.2)
    raise AssertionError("the background response never finished")


def test_background_polled_and_cancelled(client, model):
    started = client.responses.create(
        model=model, input="Count to five.", background=True, max_output_tokens=12
    )
    assert started.status == "queued" and started.background
    done = _until_done(client, started.id)
    assert done.status in ("completed", "incomplete") and done.output_text
    long = client.responses.create(
        model=model, input="Write a long story.", background=True, max_output_tokens=400
    )
    cancelled = client.responses.cancel(long.id)
    assert cancelled.status == "cancelled"
    assert client.responses.retrieve(long.id).status == "cancelled"
    foreground = client.responses.create(model=model, input="hi", max_output_tokens=2)
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(foreground.id)


def test_a_background_stream_resumes_from_a_cursor(client, model):
    with client.responses.create(
        model=model, input="Name three fruits.", background=True, stream=True, **GREEDY
    ) as stream:
        first_events = [next(iter(stream)) for _ in range(3)]
    response_id = first_events[0].response.id
    cursor = first_events[-1].sequence_number
    resumed = list(client.responses.retrieve(response_id, stream=True, starting_after=cursor))
    numbers = [event.sequence_number for event in resumed]
    assert numbers == list(range(cursor + 1, cursor + 1 + len(numbers)))
    assert resumed[-1].type == "response.completed"
    text = "".join(e.delta for e in resumed if e.type == "response.output_text.delta")
    assert text == resumed[-1].response.output_text  # the first events held no text yet


def _answer(connection) -> tuple[str, str]:
    text = ""
    for event in connection:
        if event.type == "error":
            raise AssertionError(event.error)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type in ("response.completed", "response.incomplete"):
            return event.response.id, text
    raise AssertionError("the socket closed first")


def test_websocket_continues_on_its_socket_and_not_after_a_reconnect(client, model):
    with client.responses.connect() as connection:
        connection.response.create(model=model, input=FIRST, store=False, **GREEDY)
        first_id, first_text = _answer(connection)
        connection.response.create(
            model=model, input=SECOND, previous_response_id=first_id, store=False, **GREEDY
        )
        _, second_text = _answer(connection)
    assert first_text
    resent = client.responses.create(
        model=model,
        input=[
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": first_text},
            {"role": "user", "content": SECOND},
        ],
        **GREEDY,
    )
    assert second_text == resent.output_text
    with client.responses.connect() as connection:
        connection.response.create(
            model=model, input=SECOND, previous_response_id=first_id, store=False, **GREEDY
        )
        event = next(iter(connection))
        assert event.type == "error"
        assert event.error.code == "previous_response_not_found"
        connection.response.create(model=model, input="hi", max_output_tokens=2)
        assert _answer(connection)[0]  # the socket stays usable
