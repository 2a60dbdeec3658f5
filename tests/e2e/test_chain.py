"""The sampler chain's order per request and post-sampling logprobs per request, on the real
engine (raw logprobs by default): post-sampling logprobs equal the inspector's final
distribution on chat, completions and Responses, streamed or not; a stage left out of an
order does not run; what cannot be honoured is refused by name. The engine's own processed
logprobs judge the chain processor in test_processed.py."""

from __future__ import annotations

import json
import math

import pytest

from tests.e2e.conftest import ALLOWED_REQUEST, SAMPLER_CASES, STORY

STEPS = 8
# Post-sampling logprobs and the inspector replay the same chain on the same numbers.
AGREEMENT = 1e-9


def inspection(http, model, params):
    body = {"model": model, "messages": STORY, "steps": STEPS, **params}
    response = http.post("/v1/sampling/inspect", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def chat_body(model, params, top_logprobs, **extra) -> dict:
    return {
        "model": model,
        "messages": STORY,
        "max_tokens": STEPS,
        "logprobs": True,
        "top_logprobs": top_logprobs,
        **params,
        **extra,
    }


def worst_difference(content, steps) -> float:
    """Largest |p_logprobs - p_inspector| over every listed token of every position."""
    worst = 0.0
    assert len(content) == len(steps)
    for token, step in zip(content, steps, strict=True):
        final = {bytes(c["bytes"]): c["final_prob"] for c in step["candidates"]}
        for top in token["top_logprobs"]:
            p = 0.0 if top["logprob"] <= -9999 else math.exp(top["logprob"])
            worst = max(worst, abs(p - final.get(bytes(top["bytes"]), 0.0)))
        assert math.exp(token["logprob"]) == pytest.approx(step["sampled_final_prob"], abs=1e-9)
    return worst


@pytest.mark.parametrize("case", ["combined", "llama.cpp order", "adaptive_p"])
@pytest.mark.parametrize(
    "spelling", [{"logprobs_mode": "processed"}, {"post_sampling_probs": True}]
)
def test_post_sampling_logprobs_are_the_inspectors_final_distribution(http, model, case, spelling):
    params = SAMPLER_CASES[case]
    expected = inspection(http, model, params)
    chat = http.post("/v1/chat/completions", json=chat_body(model, params, 20, **spelling)).json()
    assert chat["choices"][0]["message"]["content"] == expected["text"]
    worst = worst_difference(chat["choices"][0]["logprobs"]["content"], expected["steps"])
    print(f"{case}: largest |p_logprobs - p_inspector| {worst:.1e}")
    assert worst < AGREEMENT


def test_post_sampling_logprobs_streamed_are_the_same(http, model):
    params = SAMPLER_CASES["llama.cpp order"]
    expected = inspection(http, model, params)
    body = chat_body(model, params, 5, stream=True, logprobs_mode="processed")
    content = []
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:])["choices"]:
                    content += (choice.get("logprobs") or {}).get("content") or []
    assert worst_difference(content, expected["steps"]) < AGREEMENT


def test_completions_and_responses_take_the_order_and_the_mode(http, model):
    params = SAMPLER_CASES["custom order"]
    expected = inspection(http, model, {**params, "messages": None, "prompt": "Once upon"})
    completion = http.post(
        "/v1/completions",
        json={
            "model": model,
            "prompt": "Once upon",
            "max_tokens": STEPS,
            "logprobs": 3,
            "logprobs_mode": "processed",
            **params,
        },
    ).json()
    assert completion["choices"][0]["text"] == expected["text"]
    logprobs = completion["choices"][0]["logprobs"]
    for value, step in zip(logprobs["token_logprobs"], expected["steps"], strict=True):
        assert math.exp(value) == pytest.approx(step["sampled_final_prob"], abs=1e-9)

    chat_expected = inspection(http, model, params)
    response = http.post(
        "/v1/responses",
        json={
            "model": model,
            "input": STORY[0]["content"],
            "max_output_tokens": STEPS,
            "include": ["message.output_text.logprobs"],
            "top_logprobs": 3,
            "logprobs_mode": "processed",
            "store": False,
            **params,
        },
    )
    assert response.status_code == 200, response.text
    text = response.json()["output"][0]["content"][0]
    assert text["text"] == chat_expected["text"]
    for token, step in zip(text["logprobs"], chat_expected["steps"], strict=True):
        assert math.exp(token["logprob"]) == pytest.approx(step["sampled_final_prob"], abs=1e-9)


def test_a_stage_left_out_does_not_run(http, model):
    result = inspection(
        http, model, {"temperature": 1.0, "top_k": 1, "seed": 3, "samplers": ["temp"]}
    )
    assert result["parameters"]["samplers"] == ["temperature"]
    assert result["parameters"]["top_k"] == 0
    assert max(step["survivors"]["after_top_p"] for step in result["steps"]) > 1


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"samplers": ["top_k", "nonsense"]}, "samplers"),
        ({"samplers": ["top_k", "top-k"]}, "samplers"),
        ({"samplers": "kobold"}, "samplers"),
        ({"samplers": "llama.cpp", "mirostat": 2}, "samplers"),
        ({"mirostat": 2, "adaptive_target": 0.5}, "mirostat"),
        ({"adaptive_target": 1.01}, "adaptive_target"),
        ({"adaptive_target": -1.01}, "adaptive_target"),
        ({"adaptive_decay": 0.991}, "adaptive_decay"),
        ({"adaptive_decay": -0.01}, "adaptive_decay"),
        ({"samplers": ["top_k"] * 12}, "samplers"),
        ({"logprobs_mode": "post"}, "logprobs_mode"),
        (
            {"logprobs": True, "logprobs_mode": "processed", "repetition_penalty": 1.2},
            "logprobs_mode",
        ),
    ],
)
def test_what_cannot_be_honoured_is_refused_by_name(http, model, params, param):
    body = {"model": model, "messages": STORY, "max_tokens": 2, **params}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_post_sampling_logprobs_keep_to_the_allowed_tokens(replayed_allowed, http, model):
    """allowed_token_ids masks before every stage: every token the distribution drawn from
    holds is an allowed one (test_processed compares it with the engine's own)."""
    texts = {
        http.post("/v1/detokenize", json={"model": model, "tokens": [i]}).json()["prompt"]
        for i in ALLOWED_REQUEST["allowed_token_ids"]
    }
    content = replayed_allowed["choices"][0]["logprobs"]["content"]
    assert len(content) == ALLOWED_REQUEST["max_tokens"]
    for token in content:
        assert token["token"] in texts
        kept = [t for t in token["top_logprobs"] if t["logprob"] > -9999]
        assert kept and all(t["token"] in texts for t in kept)


@pytest.mark.parametrize(
    "params",
    [{"adaptive_target": 1.0}, {"adaptive_target": -1.0}, {"adaptive_decay": 0.99}],
)
def test_the_bounds_themselves_are_taken(http, model, params):
    body = {"model": model, "messages": STORY, "max_tokens": 2, **params}
    assert http.post("/v1/chat/completions", json=body).status_code == 200


def test_the_openai_sdk_sends_the_order_and_the_mode(client, http, model):
    """As a user's code would: the extensions in `extra_body`, chat and Responses."""
    params = SAMPLER_CASES["llama.cpp order"]
    expected = inspection(http, model, params)
    sampling = {k: v for k, v in params.items() if k not in ("temperature", "seed")}
    extra = {**sampling, "logprobs_mode": "processed"}
    chat = client.chat.completions.create(
        model=model,
        messages=STORY,
        max_tokens=STEPS,
        temperature=params["temperature"],
        seed=params["seed"],
        logprobs=True,
        top_logprobs=3,
        extra_body=extra,
    )
    assert chat.choices[0].message.content == expected["text"]
    for token, step in zip(chat.choices[0].logprobs.content, expected["steps"], strict=True):
        assert math.exp(token.logprob) == pytest.approx(step["sampled_final_prob"], abs=1e-9)
    response = client.responses.create(
        model=model,
        input=STORY[0]["content"],
        max_output_tokens=STEPS,
        temperature=params["temperature"],
        include=["message.output_text.logprobs"],
        top_logprobs=3,
        store=False,
        extra_body={**extra, "seed": params["seed"]},
    )
    assert response.output_text == expected["text"]
    text = response.output[0].content[0]
    for token, step in zip(text.logprobs, expected["steps"], strict=True):
        assert math.exp(token.logprob) == pytest.approx(step["sampled_final_prob"], abs=1e-9)
