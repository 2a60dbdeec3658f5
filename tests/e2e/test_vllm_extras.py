"""vLLM's own sampling extensions on chat and completions, as vLLM's server takes them (a
client written for it sends them through the SDK's extra_body): each one changes the answer
the way it says, against the same greedy request without it."""

from __future__ import annotations

import pytest

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _chat(client, model, **extra):
    return client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=40, extra_body=extra
    ).choices[0]


def _ids(http, model, text: str) -> list[int]:
    answer = http.post(
        "/v1/tokenize", json={"model": model, "prompt": text, "add_special_tokens": False}
    )
    return answer.json()["tokens"]


@pytest.mark.greedy_text
def test_min_tokens_holds_the_end_back(client, model):
    plain = client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=60
    )
    assert plain.usage.completion_tokens < 30  # the model stops by itself well before
    held = client.chat.completions.create(
        model=model,
        messages=QUESTION,
        temperature=0,
        max_tokens=60,
        extra_body={"min_tokens": 30},
    )
    assert held.usage.completion_tokens >= 30
    assert held.choices[0].message.content.startswith(plain.choices[0].message.content)


def test_stop_token_ids_end_the_answer_at_that_token(client, http, model):
    full = _chat(client, model).message.content
    ids = _ids(http, model, full)
    assert len(ids) > 4
    stopped = _chat(client, model, stop_token_ids=[ids[3]])
    assert stopped.finish_reason == "stop"
    assert len(stopped.message.content) < len(full)
    assert full.startswith(stopped.message.content)


@pytest.mark.greedy_text
def test_bad_words_are_never_written(client, model):
    assert "Paris" in _chat(client, model).message.content
    banned = _chat(client, model, bad_words=["Paris", " Paris"]).message.content
    assert "Paris" not in banned


def test_allowed_token_ids_are_the_only_ones_written(client, http, model):
    allowed = _ids(http, model, " yes no maybe")
    answer = client.chat.completions.create(
        model=model,
        messages=QUESTION,
        temperature=1.0,
        seed=7,
        max_tokens=12,
        extra_body={"allowed_token_ids": allowed},
    ).choices[0]
    assert answer.finish_reason == "length"  # the end of the turn is not allowed either
    written = _ids(http, model, answer.message.content)
    assert len(written) == 12 and set(written) <= set(allowed), written


@pytest.mark.greedy_text
def test_include_stop_str_in_output_keeps_the_stop(client, model):
    dropped = _chat(client, model, stop=["Paris"]).message.content
    kept = _chat(client, model, stop=["Paris"], include_stop_str_in_output=True).message.content
    assert not dropped.endswith("Paris")
    assert kept == dropped + "Paris"


def test_completions_take_them_too(client, model):
    plain = client.completions.create(
        model=model, prompt="The capital of France is", temperature=0, max_tokens=40, stop=["."]
    )
    held = client.completions.create(
        model=model,
        prompt="The capital of France is",
        temperature=0,
        max_tokens=40,
        stop=["."],
        extra_body={"include_stop_str_in_output": True},
    )
    assert held.choices[0].text == plain.choices[0].text + "."


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"min_tokens": 50, "max_tokens": 10}, "min_tokens"),
        ({"min_tokens": -1}, "min_tokens"),
        ({"stop_token_ids": [10**6]}, "stop_token_ids"),
        ({"allowed_token_ids": []}, "allowed_token_ids"),
        ({"allowed_token_ids": [49152]}, "allowed_token_ids"),
        ({"bad_words": [""]}, "bad_words[0]"),
        ({"min_tokens": 5, "response_format": {"type": "json_object"}}, "min_tokens"),
    ],
)
def test_what_cannot_be_honoured_is_a_400_naming_it(http, model, extra, param):
    answer = http.post("/v1/chat/completions", json={"model": model, "messages": QUESTION, **extra})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


def test_the_inspector_names_what_it_cannot_explain_yet(http, model):
    answer = http.post(
        "/v1/sampling/inspect", json={"model": model, "messages": QUESTION, "min_tokens": 3}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "min_tokens"
