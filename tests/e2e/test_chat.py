"""Chat completions through the OpenAI Python SDK against the real engine."""

import math

import pytest

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def ask(client, model, **kwargs):
    kwargs.setdefault("messages", QUESTION)
    return client.chat.completions.create(model=model, **kwargs)


@pytest.mark.greedy_text
def test_greedy_answers_and_repeats(client, model):
    first = ask(client, model, temperature=0, max_tokens=16)
    second = ask(client, model, temperature=0, max_tokens=16)
    assert "Paris" in first.choices[0].message.content
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.object == "chat.completion"
    assert first.id.startswith("chatcmpl-")
    assert first.model == model
    assert first.choices[0].message.role == "assistant"
    assert first.usage.prompt_tokens > 0
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens


def test_same_seed_same_text_other_seed_other_text(client, model):
    def sample(seed):
        return (
            ask(
                client,
                model,
                messages=[{"role": "user", "content": "Write a short poem about the sea."}],
                temperature=1.0,
                seed=seed,
                max_tokens=24,
            )
            .choices[0]
            .message.content
        )

    assert sample(1234) == sample(1234)
    assert len({sample(1234), sample(1), sample(2)}) > 1


def test_top_k_one_equals_greedy(client, model):
    prompt = [{"role": "user", "content": "Name three colours."}]
    greedy = ask(client, model, messages=prompt, temperature=0, max_tokens=20)
    top1 = ask(
        client,
        model,
        messages=prompt,
        temperature=1.5,
        seed=7,
        max_tokens=20,
        extra_body={"top_k": 1},
    )
    assert top1.choices[0].message.content == greedy.choices[0].message.content


def test_min_p_and_top_p_change_nothing_when_greedy(client, model):
    greedy = ask(client, model, temperature=0, max_tokens=12)
    filtered = ask(
        client, model, temperature=0, top_p=0.5, max_tokens=12, extra_body={"min_p": 0.5}
    )
    assert filtered.choices[0].message.content == greedy.choices[0].message.content


def test_n_choices_with_a_seed_differ_and_repeat(client, model):
    def sample():
        response = ask(
            client,
            model,
            messages=[{"role": "user", "content": "Tell me a random word."}],
            temperature=1.3,
            n=3,
            seed=99,
            max_tokens=8,
        )
        assert [c.index for c in response.choices] == [0, 1, 2]
        return [c.message.content for c in response.choices]

    first = sample()
    assert first == sample()
    assert len(set(first)) > 1


def test_n_with_greedy_gives_identical_choices(client, model):
    one = ask(client, model, temperature=0, max_tokens=8)
    response = ask(client, model, temperature=0, n=2, max_tokens=8)
    texts = [c.message.content for c in response.choices]
    assert texts == [one.choices[0].message.content] * 2
    assert response.usage.completion_tokens == 2 * one.usage.completion_tokens
    assert response.usage.prompt_tokens == one.usage.prompt_tokens


@pytest.mark.greedy_text
def test_stop_string_ends_the_answer(client, model):
    free = ask(client, model, temperature=0, max_tokens=16).choices[0].message.content
    word = "capital"
    assert word in free
    stopped = ask(client, model, temperature=0, max_tokens=16, stop=[word, "zzz"])
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == free.split(word)[0]


def test_length_finish(client, model):
    response = ask(client, model, temperature=0, max_completion_tokens=3)
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 3


def test_logit_bias_forces_a_token(client, model):
    # A huge bias on one token id (21285 is " banana" in SmolLM2's vocabulary) makes greedy
    # decoding pick it every time.
    plain = ask(client, model, temperature=0, max_tokens=3)
    forced = ask(client, model, temperature=0, max_tokens=3, logit_bias={"21285": 100})
    assert "banana" not in plain.choices[0].message.content
    assert forced.choices[0].message.content == " banana banana banana"


def test_logprobs_shape(client, model):
    response = ask(client, model, temperature=0, max_tokens=6, logprobs=True, top_logprobs=3)
    content = response.choices[0].logprobs.content
    assert len(content) == response.usage.completion_tokens
    text = response.choices[0].message.content
    assert bytes(b for t in content for b in t.bytes).decode() == text
    for token in content:
        assert token.logprob <= 0
        assert len(token.top_logprobs) == 3
        # greedy: the chosen token is the most likely one
        assert token.top_logprobs[0].token == token.token
        assert token.top_logprobs[0].logprob == pytest.approx(token.logprob)
        probs = [math.exp(t.logprob) for t in token.top_logprobs]
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 1e-6


def test_logprobs_are_raw_whatever_the_temperature(client, model):
    """OpenAI's meaning: the model's own distribution, before temperature and filters."""
    cold = ask(client, model, temperature=0, max_tokens=1, logprobs=True, top_logprobs=5)
    hot = ask(
        client,
        model,
        temperature=1.8,
        top_p=0.5,
        seed=3,
        max_tokens=1,
        logprobs=True,
        top_logprobs=5,
    )
    cold_top = {t.token: t.logprob for t in cold.choices[0].logprobs.content[0].top_logprobs}
    hot_top = {t.token: t.logprob for t in hot.choices[0].logprobs.content[0].top_logprobs}
    assert cold_top.keys() == hot_top.keys()
    for token, value in cold_top.items():
        assert hot_top[token] == pytest.approx(value, abs=1e-3)


def test_top_logprobs_zero_lists_only_the_chosen_token(client, model):
    response = ask(client, model, temperature=0, max_tokens=2, logprobs=True, top_logprobs=0)
    assert all(t.top_logprobs == [] for t in response.choices[0].logprobs.content)


def test_system_message_and_content_parts(client, model):
    response = ask(
        client,
        model,
        messages=[
            {"role": "system", "content": "You answer with one word."},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
        ],
        temperature=0,
        max_tokens=8,
    )
    assert response.choices[0].message.content


def test_user_field_is_accepted(client, model):
    assert ask(client, model, temperature=0, max_tokens=1, user="alice").choices


def test_penalties_are_honoured(client, model):
    prompt = [{"role": "user", "content": "Repeat the word 'cat' many times."}]
    plain = ask(client, model, messages=prompt, temperature=0, max_tokens=24)
    penalised = ask(
        client,
        model,
        messages=prompt,
        temperature=0,
        max_tokens=24,
        frequency_penalty=2.0,
        presence_penalty=2.0,
        extra_body={"repetition_penalty": 1.5},
    )
    assert plain.choices[0].message.content != penalised.choices[0].message.content
