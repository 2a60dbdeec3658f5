"""Structured output, tokenization and the Responses API, through the OpenAI SDK."""

import json

import openai
import pytest
from pydantic import BaseModel

QUESTION = "What is the capital of France?"


class City(BaseModel):
    name: str
    country: str
    population: int


@pytest.mark.greedy_text
def test_parse_returns_a_pydantic_object(client, model):
    response = client.chat.completions.parse(
        model=model,
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format=City,
        temperature=0,
        max_tokens=120,
    )
    parsed = response.choices[0].message.parsed
    assert isinstance(parsed, City)
    assert parsed.name


def test_json_object_is_valid_json(client, model):
    response = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Describe Paris in JSON."}],
        response_format={"type": "json_object"},
        temperature=0.7,
        seed=1,
        max_tokens=200,
    )
    choice = response.choices[0]
    if choice.finish_reason == "stop":
        assert isinstance(json.loads(choice.message.content), dict)
    else:  # cut by max_tokens: still a JSON object's beginning
        assert choice.message.content.lstrip().startswith("{")


def test_json_schema_streams_too(client, model):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Is Paris in France?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "yn", "schema": schema}},
        temperature=0,
        max_tokens=30,
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert json.loads(text)["answer"] in ("yes", "no")


def test_invalid_schema_is_a_400(client, model):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "x"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "bad", "schema": {"type": "no-such-type"}},
            },
        )
    assert caught.value.body["param"] == "response_format"


def test_tokenize_matches_usage(client, http, model):
    messages = [{"role": "user", "content": QUESTION}]
    counted = http.post("/v1/tokenize", json={"model": model, "messages": messages}).json()
    used = client.chat.completions.create(
        model=model, messages=messages, temperature=0, max_tokens=1
    )
    assert counted["count"] == used.usage.prompt_tokens == len(counted["tokens"])
    assert counted["max_model_len"] == 8192
    text = http.post("/v1/tokenize", json={"model": model, "prompt": "Hello world"}).json()
    assert text["token_strs"] == ["Hello", " world"]
    back = http.post("/v1/detokenize", json={"model": model, "tokens": text["tokens"]}).json()
    assert back == {"prompt": "Hello world"}


def test_tokenize_refusals(http, model):
    both = http.post("/v1/tokenize", json={"model": model, "prompt": "a", "messages": []})
    assert both.status_code == 400
    out_of_vocab = http.post("/v1/detokenize", json={"model": model, "tokens": [10**9]})
    assert out_of_vocab.status_code == 400
    assert out_of_vocab.json()["error"]["param"] == "tokens"


@pytest.mark.greedy_text
def test_responses_create(client, model):
    response = client.responses.create(
        model=model, input=QUESTION, temperature=0, max_output_tokens=30
    )
    assert response.object == "response"
    assert "Paris" in response.output_text
    assert response.status == "completed"
    assert response.usage.output_tokens > 0
    chat = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        temperature=0,
        max_tokens=30,
    )
    assert response.output_text == chat.choices[0].message.content


def test_responses_input_messages_and_limits(client, model):
    response = client.responses.create(
        model=model,
        instructions="You are terse.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": QUESTION}]}],
        temperature=0,
        max_output_tokens=2,
        extra_body={"top_k": 1, "min_p": 0.0},
    )
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens == 2


@pytest.mark.greedy_text
def test_responses_stream(client, model):
    deltas = []
    with client.responses.stream(model=model, input=QUESTION, temperature=0) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text
    assert "Paris" in final.output_text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", {"id": "pmpt_1"}),
        ("temperature", 3),
    ],
)
def test_responses_unsupported_is_a_clear_400(http, model, field, value):
    body = {"model": model, "input": "hi", "max_output_tokens": 4, field: value}
    response = http.post("/v1/responses", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reasoning", {"effort": "low", "summary": "auto"}),
        ("include", ["reasoning.encrypted_content"]),
        ("client_metadata", {"thread_id": "t"}),
        ("prompt_cache_key", "k"),
        ("truncation", "disabled"),
    ],
)
def test_responses_fields_without_effect_are_accepted(http, model, field, value):
    body = {"model": model, "input": "hi", "max_output_tokens": 4, field: value}
    response = http.post("/v1/responses", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["store"] is True  # OpenAI's default
    assert answer["reasoning"] == {"effort": None, "summary": None}
    assert not [item for item in answer["output"] if item["type"] == "reasoning"]
