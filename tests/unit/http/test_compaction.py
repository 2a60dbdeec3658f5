"""Compaction through the app: `POST /v1/responses/compact` and its output sent back, and
`context_management` on create over HTTP and a WebSocket, stored and continued."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from server.services.background import Runs
from server.services.compaction import SUMMARY_HEADING
from server.services.responses import Responses
from tests.unit.http.conftest import A, B
from tests.unit.services.test_compaction import CONVERSATION, LONG, ReadingChat

SUMMARY = f"{SUMMARY_HEADING}\nHi."  # FakeChat's answer is the summary
COMPACTING = [{"type": "compaction", "compact_threshold": 1000}]


@pytest.fixture
def chat(client: TestClient) -> ReadingChat:
    """The app's Responses service over a ReadingChat (prompts of one token a character)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    reading = ReadingChat()
    keeper = runtime.services.responses.keeper
    responses = Responses(reading, keeper, Runs())  # type: ignore[arg-type]
    runtime.services = replace(runtime.services, responses=responses)
    return reading


def events(client: TestClient, body: dict, headers: dict = A) -> list[dict]:
    answer = client.post(
        "/v1/responses", headers=headers, json={"model": "m", "stream": True, **body}
    )
    assert answer.status_code == 200, answer.text
    lines = answer.text.splitlines()
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


def read(chat: ReadingChat) -> list[tuple[str, str]]:
    """What the last answer's prompt held, role and text."""
    return [(m.role, str(m.content)) for m in chat.read[-1].messages]


def test_compact_needs_the_api_key(client: TestClient, chat: ReadingChat):
    answer = client.post("/v1/responses/compact", json={"model": "m", "input": "hi"})
    assert answer.status_code == 401
    assert chat.read == []


def test_compact_answers_openais_compaction_object(client: TestClient, chat: ReadingChat):
    answer = client.post(
        "/v1/responses/compact", headers=A, json={"model": "m", "input": CONVERSATION}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "response.compaction" and body["id"].startswith("resp_")
    assert set(body) == {"id", "object", "created_at", "output", "usage"}
    *kept, item = body["output"]
    assert [(m["type"], m["role"], m["status"], m["content"]) for m in kept] == [
        ("message", "user", "completed", [{"type": "input_text", "text": "My name is Ada."}]),
        ("message", "user", "completed", [{"type": "input_text", "text": "What is my name?"}]),
    ]
    assert item["type"] == "compaction" and item["id"].startswith("cmp_")
    assert item["encrypted_content"] == "Hi."
    assert body["usage"]["output_tokens"] == 2 and body["usage"]["input_tokens"] > len(LONG)


def test_the_compacted_output_sent_back_carries_the_conversation_on(client, chat):
    compacted = client.post(
        "/v1/responses/compact", headers=A, json={"model": "m", "input": CONVERSATION}
    )
    output = compacted.json()["output"]
    done = events(client, {"input": [*output, {"role": "user", "content": "Thanks."}]})
    assert done[-1]["type"] == "response.completed"
    assert read(chat) == [
        ("user", "My name is Ada."),
        ("user", "What is my name?"),
        ("system", SUMMARY),
        ("user", "Thanks."),
    ]


def test_a_stored_response_is_compacted_only_with_its_owners_key(client, chat):
    done = events(client, {"input": CONVERSATION})
    stored = done[-1]["response"]["id"]
    mine = client.post(
        "/v1/responses/compact",
        headers=A,
        json={"model": "m", "previous_response_id": stored, "input": "One more thing."},
    )
    assert mine.status_code == 200, mine.text
    texts = [m["content"][0]["text"] for m in mine.json()["output"][:-1]]
    assert texts == ["My name is Ada.", "What is my name?", "One more thing."]
    assert ("assistant", "Hi.") in read(chat)  # the stored answer was summarized too
    theirs = client.post(
        "/v1/responses/compact", headers=B, json={"model": "m", "previous_response_id": stored}
    )
    assert theirs.status_code == 400
    assert theirs.json()["error"]["code"] == "previous_response_not_found"


def test_context_management_compacts_first_and_the_output_starts_with_the_item(client, chat):
    streamed = events(client, {"input": CONVERSATION, "context_management": COMPACTING})
    added = [e for e in streamed if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "compaction"),
        (1, "message"),
    ]
    final = streamed[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["compaction", "message"]
    assert final["output"][0]["encrypted_content"] == "Hi."
    assert read(chat) == [
        ("user", "My name is Ada."),
        ("user", "What is my name?"),
        ("system", SUMMARY),
    ]
    stored = client.get(f"/v1/responses/{final['id']}", headers=A).json()
    assert stored["output"] == final["output"]
    events(client, {"input": "Thanks.", "previous_response_id": final["id"]})
    assert read(chat) == [
        ("user", "My name is Ada."),
        ("user", "What is my name?"),
        ("system", SUMMARY),
        ("assistant", "Hi."),
        ("user", "Thanks."),
    ]


def test_context_management_under_the_threshold_changes_nothing(client, chat):
    short = [{"role": "user", "content": "hi"}]
    streamed = events(client, {"input": short, "context_management": COMPACTING})
    assert [item["type"] for item in streamed[-1]["response"]["output"]] == ["message"]
    assert read(chat) == [("user", "hi")]


def test_context_management_over_a_websocket(client, chat):
    with client.websocket_connect("/v1/responses", headers=A) as socket:
        socket.send_json(
            {
                "type": "response.create",
                "model": "m",
                "input": CONVERSATION,
                "context_management": COMPACTING,
            }
        )
        while (event := socket.receive_json())["type"] != "response.completed":
            pass
    assert [item["type"] for item in event["response"]["output"]] == ["compaction", "message"]


@pytest.mark.parametrize(
    ("entries", "param"),
    [
        (
            [{"type": "compaction", "compact_threshold": 10}],
            "context_management[0].compact_threshold",
        ),
        ([{"type": "summarize"}], "context_management[0].type"),
    ],
)
def test_bad_context_management_is_a_400_naming_it(client, chat, entries, param):
    body = {"model": "m", "input": "hi", "context_management": entries}
    answer = client.post("/v1/responses", headers=A, json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
    assert chat.read == []
