"""Conversations, `item_reference` items and input-token counts against the real server and
model, through the OpenAI SDK: the first server (SQLite), then the second (PostgreSQL, two
API keys, the other key answered 404 and changing nothing)."""

from __future__ import annotations

import openai
import pytest

from tests.e2e.conftest import API_KEY, OTHER_KEY


def test_a_conversation_through_the_sdk(client: openai.OpenAI, model: str):
    conversation = client.conversations.create(
        metadata={"topic": "e2e"},
        items=[{"type": "message", "role": "user", "content": "My name is Ann."}],
    )
    assert conversation.object == "conversation" and conversation.metadata == {"topic": "e2e"}
    counted = client.responses.input_tokens.count(
        model=model, conversation=conversation.id, input="What is my name?"
    )
    assert counted.object == "response.input_tokens"
    answer = client.responses.create(
        model=model,
        conversation=conversation.id,
        input="What is my name?",
        max_output_tokens=8,
        temperature=0,
    )
    assert answer.conversation is not None and answer.conversation.id == conversation.id
    assert counted.input_tokens == answer.usage.input_tokens  # the very same prompt

    items = client.conversations.items.list(conversation.id, order="asc")
    assert [item.type for item in items.data] == ["message", "message", "message"]
    assert items.data[1].content[0].text == "What is my name?"
    assert items.data[2].id == answer.output[0].id
    assert items.data[2].content[0].text == answer.output_text
    paged = [item.id for item in client.conversations.items.list(conversation.id, limit=1)]
    assert paged == [item.id for item in reversed(items.data)]  # every page, newest first

    # The next turn reads the first; an item of it can be referenced by id elsewhere.
    second = client.responses.create(
        model=model, conversation={"id": conversation.id}, input="Again.", max_output_tokens=4
    )
    assert second.usage.input_tokens > answer.usage.input_tokens
    referenced = client.responses.input_tokens.count(
        model=model, input=[{"type": "item_reference", "id": items.data[0].id}]
    )
    alone = client.responses.input_tokens.count(model=model, input="My name is Ann.")
    assert referenced.input_tokens == alone.input_tokens
    with pytest.raises(openai.BadRequestError) as unknown:
        client.responses.create(
            model=model, input=[{"type": "item_reference", "id": "msg_unknown"}]
        )
    assert unknown.value.param == "input[0].id"

    added = client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "Bye."}]
    )
    one = client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
    assert one.id == added.data[0].id
    after_delete = client.conversations.items.delete(one.id, conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    updated = client.conversations.update(conversation.id, metadata={"topic": "done"})
    assert updated.metadata == {"topic": "done"}
    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)


@pytest.mark.processed
def test_another_keys_conversation_is_not_found(processed_server):
    def with_key(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{processed_server.base_url}/v1", api_key=key, max_retries=0)

    mine, theirs = with_key(API_KEY), with_key(OTHER_KEY)
    model = mine.models.list().data[0].id
    conversation = mine.conversations.create(
        items=[{"type": "message", "role": "user", "content": "Mine."}]
    )
    for attempt in (
        lambda: theirs.conversations.retrieve(conversation.id),
        lambda: theirs.conversations.update(conversation.id, metadata={"k": "v"}),
        lambda: theirs.conversations.items.list(conversation.id),
        lambda: theirs.conversations.delete(conversation.id),
        lambda: theirs.responses.create(
            model=model, conversation=conversation.id, input="Hi.", max_output_tokens=2
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    kept = mine.conversations.items.list(conversation.id)
    assert [item.content[0].text for item in kept.data] == ["Mine."]
    with pytest.raises(openai.BadRequestError):
        theirs.responses.create(
            model=model,
            input=[{"type": "item_reference", "id": kept.data[0].id}],
            max_output_tokens=2,
        )
    mine.conversations.delete(conversation.id)
