"""Compaction on the real server through the OpenAI SDK: `client.responses.compact` and its
output sent back into `client.responses.create`, and `context_management` compacting a long
input before answering it (whole, streamed, and continued)."""

from __future__ import annotations

import openai
import pytest

GREEDY = {"temperature": 0, "max_output_tokens": 16}
NOTES = " ".join(
    f"On day {day} the team reviewed step {day} of the garden plan and agreed to keep it."
    for day in range(1, 91)
)  # well over 1,000 tokens
CONVERSATION = [
    {"role": "user", "content": "My name is Ada. Keep notes on our garden plan."},
    {"role": "assistant", "content": NOTES},
    {"role": "user", "content": "Thanks. Now, what is my name?"},
]
COMPACTING = [{"type": "compaction", "compact_threshold": 1000}]


def test_compact_keeps_the_user_messages_and_adds_one_summary(client, model):
    compacted = client.responses.compact(model=model, input=CONVERSATION)
    assert compacted.object == "response.compaction"
    *kept, item = compacted.output
    assert [message.role for message in kept] == ["user", "user"]
    assert [message.content[0].text for message in kept] == [
        CONVERSATION[0]["content"],
        CONVERSATION[2]["content"],
    ]
    assert item.type == "compaction" and item.id.startswith("cmp_")
    assert item.encrypted_content.strip()  # the summary, readable here
    assert 1 <= compacted.usage.output_tokens <= 256
    assert compacted.usage.input_tokens > 1000


def test_the_compacted_output_sent_back_is_a_shorter_prompt_that_answers(client, model):
    whole = client.responses.create(model=model, input=CONVERSATION, **GREEDY)
    compacted = client.responses.compact(model=model, input=CONVERSATION)
    question = {"role": "user", "content": "What is my name?"}
    after = client.responses.create(model=model, input=[*compacted.output, question], **GREEDY)
    assert after.status in ("completed", "incomplete")
    assert after.output_text.strip()
    assert after.usage.input_tokens < whole.usage.input_tokens / 2


def test_compact_a_stored_response(client, model):
    first = client.responses.create(model=model, input=CONVERSATION, max_output_tokens=4)
    compacted = client.responses.compact(
        model=model, previous_response_id=first.id, input="And one more thing."
    )
    texts = [message.content[0].text for message in compacted.output[:-1]]
    assert texts == [CONVERSATION[0]["content"], CONVERSATION[2]["content"], "And one more thing."]
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.compact(model=model, previous_response_id="resp_unknown")
    assert refused.value.code == "previous_response_not_found"


def test_compact_names_what_it_cannot_take(client, model):
    with pytest.raises(openai.NotFoundError) as unknown:
        client.responses.compact(model="no-such-model", input="hi")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as empty:
        client.responses.compact(model=model)
    assert empty.value.param == "input"


def test_context_management_compacts_a_long_input_first(client, model):
    answer = client.responses.create(
        model=model, input=CONVERSATION, context_management=COMPACTING, **GREEDY
    )
    assert [item.type for item in answer.output] == ["compaction", "message"]
    assert answer.output[0].encrypted_content.strip()
    assert answer.usage.input_tokens < 1000  # the answer read the compacted input
    assert client.responses.retrieve(answer.id).output[0].id == answer.output[0].id
    more = client.responses.create(
        model=model,
        input="Thanks.",
        previous_response_id=answer.id,
        context_management=COMPACTING,
        **GREEDY,
    )
    assert [item.type for item in more.output] == ["message"]  # under the threshold now
    assert more.usage.input_tokens < 1000


def test_context_management_streams_the_compaction_item_first(client, model):
    events = list(
        client.responses.create(
            model=model, input=CONVERSATION, context_management=COMPACTING, stream=True, **GREEDY
        )
    )
    added = [e.item.type for e in events if e.type == "response.output_item.added"]
    # 16 tokens may cut the answer short: the stream then ends with response.incomplete.
    final = events[-1]
    assert final.type in ("response.completed", "response.incomplete")
    assert added[0] == "compaction"
    assert final.response.output[0].type == "compaction"


def test_a_short_input_is_not_compacted(client, model):
    answer = client.responses.create(
        model=model, input="Say hi.", context_management=COMPACTING, **GREEDY
    )
    assert [item.type for item in answer.output] == ["message"]


@pytest.mark.parametrize(
    ("entries", "param"),
    [
        (
            [{"type": "compaction", "compact_threshold": 10}],
            "context_management[0].compact_threshold",
        ),
        ([{"type": "forget"}], "context_management[0].type"),
    ],
)
def test_bad_context_management_is_named(client, model, entries, param):
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=model, input="hi", context_management=entries)
    assert refused.value.param == param
