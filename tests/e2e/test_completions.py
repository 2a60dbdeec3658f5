"""Legacy completions: prompts of every form, echo, the legacy logprobs shape."""

import pytest

PROMPT = "The capital of France is"


def complete(client, model, **kwargs):
    kwargs.setdefault("prompt", PROMPT)
    return client.completions.create(model=model, **kwargs)


def test_string_prompt(client, model):
    response = complete(client, model, temperature=0, max_tokens=4)
    assert response.object == "text_completion"
    assert response.id.startswith("cmpl-")
    assert "Paris" in response.choices[0].text
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 4


def test_default_max_tokens_is_openais_16(client, model):
    response = complete(client, model, prompt="1, 2, 3,", temperature=0)
    assert response.usage.completion_tokens == 16
    assert response.choices[0].finish_reason == "length"


def test_list_of_prompts_gives_a_choice_each(client, model):
    response = complete(client, model, prompt=[PROMPT, "1, 2, 3,"], temperature=0, max_tokens=3)
    assert [c.index for c in response.choices] == [0, 1]
    alone = complete(client, model, prompt="1, 2, 3,", temperature=0, max_tokens=3)
    assert response.choices[1].text == alone.choices[0].text


def test_token_id_prompts_match_text_prompts(client, model, http):
    ids = http.post(
        "/v1/completions",
        json={
            "model": model,
            "prompt": PROMPT,
            "max_tokens": 0,
            "echo": True,
            "logprobs": 0,
        },
    ).json()
    assert ids["usage"]["prompt_tokens"] == 5
    text = complete(client, model, temperature=0, max_tokens=4)
    token_ids = [504, 3575, 282, 4649, 314]
    by_ids = complete(client, model, prompt=token_ids, temperature=0, max_tokens=4)
    assert by_ids.choices[0].text == text.choices[0].text
    batch = complete(client, model, prompt=[token_ids, token_ids], temperature=0, max_tokens=4)
    assert [c.text for c in batch.choices] == [text.choices[0].text] * 2


def test_n_times_prompts(client, model):
    response = complete(client, model, prompt=["a", "b"], n=2, temperature=0, max_tokens=2)
    assert [c.index for c in response.choices] == [0, 1, 2, 3]
    assert response.choices[0].text == response.choices[1].text


def test_legacy_logprobs_shape(client, model):
    response = complete(client, model, temperature=0, max_tokens=4, logprobs=2)
    choice = response.choices[0]
    lp = choice.logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset)
    assert "".join(lp.tokens) == choice.text
    assert lp.text_offset[0] == len(PROMPT)
    for token, top in zip(lp.tokens, lp.top_logprobs, strict=True):
        assert len(top) == 2
        assert max(top, key=top.get) == token  # greedy picks the most likely


def test_echo_puts_the_prompt_first_with_a_null_logprob(client, model):
    response = complete(client, model, temperature=0, max_tokens=3, logprobs=1, echo=True)
    choice = response.choices[0]
    lp = choice.logprobs
    assert choice.text.startswith(PROMPT)
    assert lp.token_logprobs[0] is None
    assert lp.top_logprobs[0] is None
    assert all(v is not None for v in lp.token_logprobs[1:])
    assert "".join(lp.tokens) == choice.text
    assert lp.text_offset[0] == 0
    assert len(lp.tokens) == response.usage.prompt_tokens + response.usage.completion_tokens


def test_echo_with_zero_max_tokens_scores_the_prompt(client, model):
    response = complete(client, model, max_tokens=0, echo=True, logprobs=0)
    choice = response.choices[0]
    assert choice.text == PROMPT
    assert choice.finish_reason == "length"
    assert response.usage.completion_tokens == 0
    lp = choice.logprobs
    assert lp.token_logprobs[0] is None
    assert len(lp.tokens) == response.usage.prompt_tokens
    # " France" after "The capital of" is likely; a surprising word is much less so
    surprising = complete(
        client, model, prompt="The capital of Banana is", max_tokens=0, echo=True, logprobs=0
    )
    assert lp.token_logprobs[3] > surprising.choices[0].logprobs.token_logprobs[3]


def test_prompt_logprobs_agree_with_generation_logprobs(client, model):
    """The logprob echo reports for a prompt token equals the one generation reported for it."""
    generated = complete(client, model, temperature=0, max_tokens=1, logprobs=1)
    token = generated.choices[0].logprobs.tokens[0]
    scored = complete(client, model, prompt=PROMPT + token, max_tokens=0, echo=True, logprobs=0)
    assert scored.choices[0].logprobs.tokens[-1] == token
    assert scored.choices[0].logprobs.token_logprobs[-1] == pytest.approx(
        generated.choices[0].logprobs.token_logprobs[0], abs=1e-3
    )


def test_stop_in_completions(client, model):
    response = complete(
        client, model, prompt="1, 2, 3, 4,", temperature=0, max_tokens=20, stop=", 7"
    )
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].text == " 5, 6"
