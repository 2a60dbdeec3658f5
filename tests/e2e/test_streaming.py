"""Server-sent events: chunk shapes, logprobs per chunk, usage only when asked for."""

import json

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def events(http, path, body):
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]


def test_streamed_text_equals_non_streamed_text(client, model):
    whole = client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=24
    )
    stream = client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=24, stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]


def test_usage_chunk_only_when_asked(http, model):
    body = {"model": model, "messages": QUESTION, "temperature": 0, "max_tokens": 5, "stream": True}
    without = events(http, "/v1/chat/completions", body)
    assert all(e["choices"] for e in without)
    assert all(e.get("usage") is None for e in without)
    body["stream_options"] = {"include_usage": True}
    with_usage = events(http, "/v1/chat/completions", body)
    last = with_usage[-1]
    assert last["choices"] == []
    counts = {k: last["usage"][k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    assert counts == {"prompt_tokens": 37, "completion_tokens": 5, "total_tokens": 42}
    assert last["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    assert all(e["usage"] is None for e in with_usage[:-1])


def test_logprobs_arrive_with_each_chunk(http, model):
    body = {
        "model": model,
        "messages": QUESTION,
        "temperature": 0,
        "max_tokens": 6,
        "stream": True,
        "logprobs": True,
        "top_logprobs": 2,
    }
    chunks = events(http, "/v1/chat/completions", body)
    content_chunks = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    tokens = [t for c in content_chunks for t in c["choices"][0]["logprobs"]["content"]]
    assert len(tokens) == 6
    text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    assert bytes(b for t in tokens for b in t["bytes"]).decode() == text
    assert all(len(t["top_logprobs"]) == 2 for t in tokens)


def test_streamed_n_choices(client, model):
    stream = client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=6, n=2, stream=True
    )
    texts = {0: "", 1: ""}
    for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts[0] == texts[1] != ""


def test_completions_stream_matches_whole(client, model):
    whole = client.completions.create(model=model, prompt="1, 2, 3,", temperature=0, max_tokens=8)
    chunks = list(
        client.completions.create(
            model=model,
            prompt="1, 2, 3,",
            temperature=0,
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.object == "text_completion" for c in chunks)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == whole.choices[0].text
    assert chunks[-1].usage.completion_tokens == 8


def test_completions_stream_echo_and_logprobs(http, model):
    body = {
        "model": model,
        "prompt": "The capital of France is",
        "temperature": 0,
        "max_tokens": 3,
        "stream": True,
        "echo": True,
        "logprobs": 1,
    }
    chunks = events(http, "/v1/completions", body)
    first = chunks[0]["choices"][0]
    assert first["text"].startswith("The capital of France is")
    assert first["logprobs"]["token_logprobs"][0] is None
    offsets = [o for c in chunks for o in c["choices"][0]["logprobs"]["text_offset"]]
    assert offsets == sorted(offsets)
    assert offsets[0] == 0
