"""Malformed input is the caller's 400 in OpenAI's error envelope, never a 500: over the
WebSocket (a binary frame, JSON nested past the parser's depth, a key that is not Unicode),
after which the socket still answers; over HTTP (that key in a body); and a bad query
parameter is named as OpenAI names it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.unit.http.conftest import A

DEEP = "[" * 100_000 + "]" * 100_000
SURROGATE_KEY = '{"\\ud800": 1, "model": "m", "input": "hi"}'


def _answer_text(socket) -> str:
    """A response.create answered to its end: the text of the completed response."""
    socket.send_json({"type": "response.create", "model": "m", "input": "hi", "store": False})
    while True:
        event = socket.receive_json()
        assert event["type"] != "error", event
        if event["type"] == "response.completed":
            return event["response"]["output"][0]["content"][0]["text"]


@pytest.mark.parametrize(
    "frame",
    [
        {"bytes": b'{"type": "response.create"}'},
        {"text": DEEP},
        {"text": '{"type": "response.create", "model": "m", "input": [' + DEEP + "]}"},
        {"text": SURROGATE_KEY.replace("{", '{"type": "response.create", ', 1)},
    ],
    ids=["binary", "deep", "deep-inside", "surrogate-key"],
)
def test_a_bad_websocket_frame_is_a_400_and_the_socket_goes_on(client: TestClient, frame):
    with client.websocket_connect("/v1/responses", headers=A) as socket:
        socket.send({"type": "websocket.receive", **frame})
        error = socket.receive_json()
        assert error["type"] == "error" and error["status"] == 400, error
        assert error["error"]["type"] == "invalid_request_error"
        assert _answer_text(socket) == "Hi."


def test_a_key_that_is_not_unicode_is_a_400(client: TestClient):
    answer = client.post(
        "/v1/responses",
        headers={**A, "content-type": "application/json"},
        content=SURROGATE_KEY,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_unicode"
    assert "\\ud800" in error["message"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("/input_items?limit=0", "limit"),
        ("/input_items?limit=many", "limit"),
        ("/input_items?order=sideways", "order"),
        ("?stream=true&starting_after=-2", "starting_after"),
    ],
)
def test_a_bad_query_parameter_is_named_bare(client: TestClient, query: str, param: str):
    answer = client.get(f"/v1/responses/resp_unknown{query}", headers=A)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


def test_what_responses_refuses_is_a_400_when_counted(client: TestClient):
    """The fuzz's find: content the model cannot read, inside a tool output, given to the
    token count (whose body takes items without the Responses policy) was a 500."""
    item = {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_file"}]}
    answer = client.post("/v1/responses/input_tokens", json={"input": [item]}, headers=A)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "input[0].output[0]"
