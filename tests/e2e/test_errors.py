"""Every refusal is a 4xx in OpenAI's envelope naming the parameter; the server stays up."""

import json

import openai
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


def chat_error(http, model, status=400, **fields):
    # a short max_tokens keeps a request that is wrongly accepted from generating for minutes
    body = {"model": model, "messages": MESSAGES, "max_tokens": 4, **fields}
    response = http.post("/v1/chat/completions", json=body)
    return check(response, status)


def top_level(param: str) -> str:
    """'logit_bias.5' -> 'logit_bias', 'messages[0].role' -> 'messages'."""
    return param.split(".")[0].split("[")[0]


def check(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", -0.1),
        ("temperature", 2.5),
        ("temperature", "hot"),
        ("top_p", 1.01),
        ("top_k", -2),
        ("top_k", 1.5),
        ("min_p", -0.1),
        ("min_p", 1.1),
        ("presence_penalty", 2.1),
        ("frequency_penalty", -2.1),
        ("repetition_penalty", 0),
        ("n", 0),
        ("max_tokens", 0),
        ("max_tokens", -5),
        ("max_completion_tokens", 0),
        ("seed", "abc"),
        ("stop", 5),
        ("logit_bias", {"abc": 1}),
        ("logit_bias", {"5": 101}),
        ("logprobs", "yes"),
        ("messages", []),
        ("messages", "hello"),
        ("stream", "maybe"),
    ],
)
def test_chat_out_of_range_or_wrong_type(http, model, field, value):
    error = chat_error(http, model, **{field: value})
    assert top_level(error["param"]) == field, error
    assert error["type"] == "invalid_request_error"


def test_top_logprobs_out_of_range(http, model):
    assert chat_error(http, model, logprobs=True, top_logprobs=21)["param"] == "top_logprobs"
    assert chat_error(http, model, logprobs=True, top_logprobs=-1)["param"] == "top_logprobs"


def test_top_logprobs_without_logprobs(http, model):
    assert chat_error(http, model, top_logprobs=2)["param"] == "top_logprobs"


def test_logit_bias_outside_the_vocabulary(http, model):
    assert chat_error(http, model, logit_bias={"999999": 1})["param"] == "logit_bias"


def test_stream_options_without_stream(http, model):
    error = chat_error(http, model, stream_options={"include_usage": True})
    assert error["param"] == "stream_options"


def test_unknown_field_is_refused(http, model):
    error = chat_error(http, model, temprature=0.5)
    assert error["param"] == "temprature"
    assert "Unrecognized" in error["message"]


def test_bad_message_role(http, model):
    error = chat_error(http, model, messages=[{"role": "wizard", "content": "x"}])
    assert error["param"].startswith("messages[0]")


def test_missing_messages(http, model):
    response = http.post("/v1/chat/completions", json={"model": model})
    assert check(response, 400)["param"] == "messages"


def test_malformed_json(http):
    response = http.post(
        "/v1/chat/completions", content=b'{"model": ', headers={"content-type": "application/json"}
    )
    check(response, 400)


def test_body_that_is_not_an_object(http):
    check(http.post("/v1/chat/completions", json=[1, 2]), 400)


def test_unknown_model_is_404(http):
    error = chat_error(http, "gpt-17", status=404)
    assert error["param"] == "model"
    assert error["code"] == "model_not_found"
    assert check(http.get("/v1/models/gpt-17"), 404)["code"] == "model_not_found"


def test_unknown_route_is_404_in_the_envelope(http):
    check(http.get("/v1/nothing-here"), 404)


def test_context_overflow_states_the_limit(http, model):
    error = chat_error(http, model, max_tokens=9000)
    assert error["code"] == "context_length_exceeded"
    assert "8192" in error["message"]
    long_prompt = "word " * 9000
    response = http.post(
        "/v1/completions", json={"model": model, "prompt": long_prompt, "max_tokens": 1}
    )
    error = check(response, 400)
    assert error["param"] == "prompt"
    assert "8192" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logprobs", 21),
        ("logprobs", -1),
        ("max_tokens", 0),
        ("prompt", []),
        ("prompt", 5),
        ("temperature", 3),
        ("n", 0),
        ("suffix", "x"),
    ],
)
def test_completions_out_of_range(http, model, field, value):
    body = {"model": model, "prompt": "hi", field: value}
    error = check(http.post("/v1/completions", json=body), 400)
    assert error["param"] == field, error


@pytest.mark.parametrize("body", [{}, {"prompt": None}, {"prompt": ""}, {"prompt": [[]]}])
def test_no_prompt_starts_at_the_document_boundary(http, model, body):
    """OpenAI's default prompt, `<|endoftext|>`, also for a null or empty one."""
    response = http.post("/v1/completions", json={"model": model, "max_tokens": 2, **body})
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["prompt_tokens"] == 1


def test_sdk_raises_bad_request(client, model):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=MESSAGES, temperature=5)
    assert caught.value.body["param"] == "temperature"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=MESSAGES)


def test_server_still_serves_after_errors(client, model, http):
    for _ in range(3):
        http.post("/v1/chat/completions", content=b"\xff\xfe garbage")
    response = client.chat.completions.create(
        model=model, messages=MESSAGES, temperature=0, max_tokens=2
    )
    assert response.choices[0].message.content
    assert http.get("/health").status_code == 200


def test_no_nan_or_infinity_anywhere(http, model):
    body = {
        "model": model,
        "prompt": "The capital of France is",
        "max_tokens": 4,
        "echo": True,
        "logprobs": 20,
        "temperature": 0.01,
        "top_k": 1,
    }
    response = http.post("/v1/completions", json=body)
    assert response.status_code == 200
    json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
