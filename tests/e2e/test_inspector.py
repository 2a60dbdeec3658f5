"""The sampling inspector and named presets, against the real engine (raw logprobs)."""

import math

import pytest

STORY = [{"role": "user", "content": "Write a story about a dragon."}]
FILTERED = {"temperature": 0.8, "top_k": 10, "top_p": 0.9, "min_p": 0.05, "seed": 5}


def inspect(http, model, **body):
    body.setdefault("messages", STORY)
    response = http.post("/v1/sampling/inspect", json={"model": model, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_inspection_shape_and_invariants(http, model):
    result = inspect(http, model, steps=6, top_candidates=5, **FILTERED)
    assert result["object"] == "sampling.inspection"
    assert result["logprobs_mode"] == "raw"
    assert result["parameters"]["top_k"] == 10
    assert len(result["steps"]) == 6
    for step in result["steps"]:
        s = step["survivors"]
        assert s["vocabulary"] == 49152
        assert s["vocabulary"] >= s["after_min_p"] >= s["after_top_k"] >= s["after_top_p"] >= 1
        assert s["after_top_k"] <= 10
        candidates = step["candidates"]
        assert [c["rank"] for c in candidates] == sorted(c["rank"] for c in candidates)
        survivors = [c for c in candidates if c["final_prob"] > 0]
        assert len(survivors) == s["after_top_p"]  # every survivor is listed
        assert sum(c["final_prob"] for c in survivors) == pytest.approx(1.0, abs=1e-6)
        for c in candidates:
            assert c["raw_prob"] == pytest.approx(math.exp(c["raw_logprob"]), rel=1e-6)
            assert c["kept_by_min_p"] >= c["kept_by_top_k"] >= c["kept_by_top_p"]
            assert (c["final_prob"] > 0) == c["kept_by_top_p"]
            if c["kept_by_min_p"]:
                assert c["temperature_prob"] >= step["min_p_threshold"] - 1e-12
        sampled = step["sampled"]["id"]
        assert any(c["id"] == sampled and c["final_prob"] > 0 for c in candidates)
        assert step["entropy_final_bits"] <= step["entropy_raw_bits"] + 1e-9


def test_same_tokens_as_a_chat_request_with_the_same_seed(client, http, model):
    result = inspect(http, model, steps=8, **FILTERED)
    chat = client.chat.completions.create(
        model=model,
        messages=STORY,
        max_tokens=8,
        temperature=0.8,
        top_p=0.9,
        seed=5,
        extra_body={"top_k": 10, "min_p": 0.05},
    )
    assert result["text"] == chat.choices[0].message.content


def test_raw_probabilities_are_the_chat_logprobs(client, http, model):
    """In raw mode the inspector's raw column is exactly what chat logprobs report."""
    result = inspect(http, model, steps=4, top_candidates=5, **FILTERED)
    chat = client.chat.completions.create(
        model=model,
        messages=STORY,
        max_tokens=4,
        temperature=0.8,
        top_p=0.9,
        seed=5,
        logprobs=True,
        top_logprobs=5,
        extra_body={"top_k": 10, "min_p": 0.05},
    )
    for token, step in zip(chat.choices[0].logprobs.content, result["steps"], strict=True):
        raw = {bytes(c["bytes"]): c["raw_logprob"] for c in step["candidates"]}
        for top in token.top_logprobs:
            assert raw[bytes(top.bytes)] == pytest.approx(top.logprob, abs=1e-5)


def test_greedy_inspection(http, model):
    result = inspect(http, model, steps=3, temperature=0)
    for step in result["steps"]:
        assert step["greedy"]
        assert step["sampled_final_prob"] == 1.0
        assert step["candidates"][0]["id"] == step["sampled"]["id"]


def test_prompt_input_and_penalties(http, model):
    result = inspect(
        http,
        model,
        messages=None,
        prompt="1, 2, 3,",
        steps=4,
        temperature=0.5,
        frequency_penalty=1.0,
        presence_penalty=0.5,
        logit_bias={"28": -1.0},
    )
    assert len(result["steps"]) == 4
    first = result["steps"][0]["candidates"]
    comma = [c for c in first if c["id"] == 28]
    if comma:
        assert comma[0]["adjusted_logprob"] == pytest.approx(comma[0]["raw_logprob"] - 1.0)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "x"}, "messages"),  # both messages and prompt
        ({"steps": 0}, "steps"),
        ({"steps": 65}, "steps"),
        ({"repetition_penalty": 1.2}, "repetition_penalty"),
        ({"top_p": -0.1}, "top_p"),
        ({"preset": "wild"}, "preset"),
        ({"logit_bias": {"99999999": 1}}, "logit_bias"),
        ({"steps": 64, "max_candidates": 501}, "max_candidates"),  # 32,000 listed at most
    ],
)
def test_inspector_refusals(http, model, body, param):
    payload = {"model": model, "messages": STORY, **body}
    response = http.post("/v1/sampling/inspect", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_presets_are_listed_and_usable(client, http, model):
    presets = {p["name"]: p for p in http.get("/v1/sampling/presets").json()}
    assert set(presets) == {"precise", "balanced", "creative"}
    assert all(p["why"] for p in presets.values())
    greedy = client.chat.completions.create(
        model=model, messages=STORY, temperature=0, max_tokens=12
    )
    precise = client.chat.completions.create(
        model=model, messages=STORY, max_tokens=12, extra_body={"preset": "precise"}
    )
    assert precise.choices[0].message.content == greedy.choices[0].message.content
    # an explicit parameter wins over the preset
    overridden = inspect(http, model, steps=1, preset="creative", temperature=0.3)
    assert overridden["parameters"]["temperature"] == 0.3
    assert overridden["parameters"]["min_p"] == 0.1


def test_raw_inspection_for_the_agreement_test(raw_inspection):
    """Computed here, on the raw server; compared on the processed one (test_processed)."""
    assert len(raw_inspection["steps"]) == 8
    assert raw_inspection["logprobs_mode"] == "raw"
