"""Conversations, `item_reference` items and `POST /v1/responses/input_tokens` through the
app, on both databases: what the model reads (a chat stand-in that records its messages and
counts one prompt token per character), what a conversation keeps after each way of
answering, and another key getting a 404 (or a 400 for a reference) that changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from server.protocol.chat import ChatCompletion, ChatCompletionMessage, Choice
from server.protocol.common import Usage
from server.services.background import Runs
from server.services.chat import PreparedChat
from server.services.responses import Responses
from server.tools.plan import ToolPlan
from tests.unit.http.conftest import A, B, FakeChat


class ReadingChat(FakeChat):
    """FakeChat that keeps the messages of each prompt, one token per character of them."""

    def __init__(self) -> None:
        self.read: list[list[tuple[str, str]]] = []

    def prepare(self, request, tools: ToolPlan | None = None, names=None) -> PreparedChat:
        messages = [(m.role, m.content or "") for m in request.messages]
        self.read.append(messages)
        prompt = [1] * sum(len(role) + len(text) for role, text in messages)
        return replace(super().prepare(request, tools, names), prompt_ids=prompt)

    async def complete(self, prepared: PreparedChat) -> ChatCompletion:
        prompt = len(prepared.prompt_ids)
        return ChatCompletion(
            id="chatcmpl-1",
            created=1,
            model="m",
            choices=[
                Choice(
                    index=0,
                    message=ChatCompletionMessage(content="Hi."),
                    finish_reason="stop",
                )
            ],
            usage=Usage(prompt_tokens=prompt, completion_tokens=2, total_tokens=prompt + 2),
            system_fingerprint="fp",
        )


@pytest.fixture
def chat(client: TestClient) -> Iterator[ReadingChat]:
    runtime = client.app.state.runtime
    reading = ReadingChat()
    responses = Responses(reading, runtime.services.responses.keeper, Runs())  # type: ignore[arg-type]
    runtime.services = replace(runtime.services, responses=responses)
    yield reading


def _conversation(client: TestClient, headers=A, **body) -> str:
    created = client.post("/v1/conversations", headers=headers, json=body)
    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["object"] == "conversation" and answer["id"].startswith("conv_")
    return answer["id"]


def _items(client: TestClient, cid: str, headers=A, **query) -> dict:
    listed = client.get(f"/v1/conversations/{cid}/items", headers=headers, params=query)
    assert listed.status_code == 200, listed.text
    return listed.json()


def _texts(page: dict) -> list[str]:
    return [part["text"] for item in page["data"] for part in item["content"]]


def _respond(client: TestClient, mode: str, headers=A, **body) -> dict:
    """A response answered plainly, streamed, in the background or unstored: as it ends."""
    body = {"model": "m", **body}
    if mode == "stream":
        answer = client.post("/v1/responses", headers=headers, json={**body, "stream": True})
        assert answer.status_code == 200, answer.text
        events = [
            json.loads(line.removeprefix("data: "))
            for line in answer.text.splitlines()
            if line.startswith("data: ")
        ]
        assert events[-1]["type"] == "response.completed", events[-1]
        return events[-1]["response"]
    if mode == "background":
        queued = client.post("/v1/responses", headers=headers, json={**body, "background": True})
        assert queued.status_code == 200, queued.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            polled = client.get(f"/v1/responses/{queued.json()['id']}", headers=headers).json()
            if polled["status"] == "completed":
                return polled
            time.sleep(0.01)
        pytest.fail("the background response did not complete")
    answer = client.post(
        "/v1/responses", headers=headers, json={**body, "store": mode != "unstored"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_conversation_and_its_items_as_openai_keeps_them(client, chat):
    cid = _conversation(
        client,
        metadata={"topic": "demo"},
        items=[{"role": "user", "content": c} for c in ("one", "two", "three")],
    )
    got = client.get(f"/v1/conversations/{cid}", headers=A).json()
    assert got["metadata"] == {"topic": "demo"} and got["created_at"] > 0
    updated = client.post(f"/v1/conversations/{cid}", headers=A, json={"metadata": {"k": "v"}})
    assert updated.json()["metadata"] == {"k": "v"}
    first = _items(client, cid, limit=2)  # newest first, by default
    assert _texts(first) == ["three", "two"] and first["has_more"] is True
    assert first["object"] == "list" and first["first_id"] == first["data"][0]["id"]
    item = first["data"][0]
    assert (item["type"], item["role"], item["status"]) == ("message", "user", "completed")
    assert item["content"] == [{"type": "input_text", "text": "three"}]
    rest = _items(client, cid, limit=2, after=first["last_id"])
    assert _texts(rest) == ["one"] and rest["has_more"] is False
    assert _texts(_items(client, cid, order="asc")) == ["one", "two", "three"]

    added = client.post(
        f"/v1/conversations/{cid}/items",
        headers=A,
        json={"items": [{"type": "message", "role": "assistant", "content": "four"}]},
    )
    assert added.status_code == 200, added.text
    new = added.json()["data"][0]
    assert added.json()["object"] == "list" and new["content"][0]["type"] == "output_text"
    one = client.get(f"/v1/conversations/{cid}/items/{new['id']}", headers=A)
    assert one.json() == new
    gone = client.delete(f"/v1/conversations/{cid}/items/{new['id']}", headers=A)
    assert gone.json() == {**got, "metadata": {"k": "v"}}
    missing = client.get(f"/v1/conversations/{cid}/items/{new['id']}", headers=A)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "item_id"
    assert _texts(_items(client, cid, order="asc")) == ["one", "two", "three"]

    deleted = client.delete(f"/v1/conversations/{cid}", headers=A)
    assert deleted.json() == {"id": cid, "object": "conversation.deleted", "deleted": True}
    after = client.get(f"/v1/conversations/{cid}", headers=A)
    assert after.status_code == 404
    error = after.json()["error"]
    assert (error["code"], error["param"]) == ("conversation_not_found", "conversation_id")


def test_a_conversations_items_are_checked_as_input_is(client):
    too_many = [{"role": "user", "content": "x"}] * 21
    refused = client.post("/v1/conversations", headers=A, json={"items": too_many})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "items"
    image = {"role": "user", "content": [{"type": "input_image", "image_url": "u"}]}
    refused = client.post("/v1/conversations", headers=A, json={"items": [image]})
    assert refused.json()["error"]["param"] == "items[0].content[0]"
    assert client.post("/v1/conversations", headers=A).status_code == 200  # no body at all


def test_another_key_gets_a_404_on_every_conversation_route_and_changes_nothing(client):
    cid = _conversation(client, metadata={"k": "a"}, items=[{"role": "user", "content": "mine"}])
    item_id = _items(client, cid)["data"][0]["id"]
    path = f"/v1/conversations/{cid}"
    for method, url, body in [
        ("GET", path, None),
        ("POST", path, {"metadata": {"k": "b"}}),
        ("GET", f"{path}/items", None),
        ("POST", f"{path}/items", {"items": [{"role": "user", "content": "theirs"}]}),
        ("GET", f"{path}/items/{item_id}", None),
        ("DELETE", f"{path}/items/{item_id}", None),
        ("DELETE", path, None),
    ]:
        answer = client.request(method, url, headers=B, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == ("conversation_not_found", "conversation_id")
    assert client.get(path, headers=A).json()["metadata"] == {"k": "a"}
    assert _texts(_items(client, cid)) == ["mine"]


@pytest.mark.parametrize("mode", ["plain", "stream", "background", "unstored"])
def test_a_response_in_a_conversation_reads_it_then_adds_its_turn(client, chat, mode):
    cid = _conversation(client, items=[{"role": "user", "content": "I am Ann."}])
    response = _respond(client, mode, input="Who am I?", conversation=cid)
    assert response["conversation"] == {"id": cid}
    assert chat.read[-1] == [("user", "I am Ann."), ("user", "Who am I?")]
    turn = _items(client, cid, order="asc")["data"]
    assert [item["content"][0]["text"] for item in turn] == ["I am Ann.", "Who am I?", "Hi."]
    assert turn[-1]["id"] == response["output"][0]["id"]
    # The object form of the field, and a second turn reading the first.
    again = _respond(client, mode, input="And?", conversation={"id": cid})
    assert again["conversation"] == {"id": cid}
    assert [text for _, text in chat.read[-1]] == ["I am Ann.", "Who am I?", "Hi.", "And?"]
    assert len(_items(client, cid)["data"]) == 5


def test_a_conversation_unknown_or_another_keys_is_a_404_naming_it(client, chat):
    cid = _conversation(client, items=[{"role": "user", "content": "secret"}])
    for headers, conversation in [(A, "conv_nope"), (B, cid)]:
        answer = client.post(
            "/v1/responses",
            headers=headers,
            json={"model": "m", "input": "hi", "conversation": conversation, "stream": True},
        )
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == ("conversation_not_found", "conversation")
    assert all("secret" not in text for prompt in chat.read for _, text in prompt)
    assert _texts(_items(client, cid)) == ["secret"]
    both = client.post(
        "/v1/responses",
        headers=A,
        json={"model": "m", "input": "hi", "conversation": cid, "previous_response_id": "r"},
    )
    assert both.status_code == 400 and both.json()["error"]["param"] == "previous_response_id"


def test_an_item_reference_reads_the_owners_stored_item(client, chat):
    first = _respond(client, "plain", input="remember this")
    said = first["output"][0]["id"]
    cid = _conversation(client, items=[{"role": "user", "content": "from a conversation"}])
    kept = _items(client, cid)["data"][0]["id"]
    answer = _respond(
        client,
        "plain",
        input=[
            {"type": "item_reference", "id": said},
            {"id": kept},  # the type may be left out
            {"role": "user", "content": "go on"},
        ],
    )
    assert chat.read[-1] == [
        ("assistant", "Hi."),
        ("user", "from a conversation"),
        ("user", "go on"),
    ]
    stored = client.get(f"/v1/responses/{answer['id']}/input_items?order=asc", headers=A).json()
    assert [item["id"] for item in stored["data"][:2]] == [said, kept]
    for headers, ref in [(B, said), (B, kept), (A, "msg_unknown")]:
        refused = client.post(
            "/v1/responses",
            headers=headers,
            json={"model": "m", "input": [{"type": "item_reference", "id": ref}]},
        )
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["param"]) == ("item_not_found", "input[0].id")
    referenced = client.post(
        f"/v1/conversations/{cid}/items",
        headers=A,
        json={"items": [{"type": "item_reference", "id": said}]},
    )
    assert referenced.json()["data"][0]["content"][0]["text"] == "Hi."
    refused = client.post(
        f"/v1/conversations/{cid}/items",
        headers=A,
        json={"items": [{"type": "item_reference", "id": "msg_unknown"}]},
    )
    assert refused.json()["error"]["param"] == "items[0].id"


def test_input_tokens_are_the_prompt_the_same_response_would_have(client, chat):
    cid = _conversation(client, items=[{"role": "user", "content": "I am Ann."}])
    body = {"model": "m", "instructions": "Be brief.", "input": "Who am I?", "conversation": cid}
    counted = client.post("/v1/responses/input_tokens", headers=A, json=body)
    assert counted.status_code == 200, counted.text
    assert counted.json()["object"] == "response.input_tokens"
    # Counting adds nothing to the conversation; answering reads the same prompt.
    assert len(_items(client, cid)["data"]) == 1
    answered = _respond(client, "plain", **body)
    assert counted.json()["input_tokens"] == answered["usage"]["input_tokens"]
    assert counted.json()["input_tokens"] == len("systemBe brief.userI am Ann.userWho am I?")

    # Without input: what a previous response replays (its input, then its output).
    previous = client.post(
        "/v1/responses/input_tokens",
        headers=A,
        json={"previous_response_id": answered["id"]},
    )
    assert previous.json()["input_tokens"] == len("userI am Ann.userWho am I?assistantHi.")
    nothing = client.post("/v1/responses/input_tokens", headers=A, json={})
    assert nothing.status_code == 400 and nothing.json()["error"]["param"] == "input"
    theirs = client.post("/v1/responses/input_tokens", headers=B, json=body)
    assert theirs.status_code == 404 and theirs.json()["error"]["param"] == "conversation"
