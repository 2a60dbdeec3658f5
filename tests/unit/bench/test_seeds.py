"""bench/seeds.py: what counts as a seed repeating, and what each setting asks the SDK for."""

from types import SimpleNamespace

from bench import seeds

GREEDY, TOP_K = seeds.SETTINGS[0], seeds.SETTINGS[2]


def answer(seed: int, tokens: list[str], logprobs: list[float]) -> seeds.Answer:
    return seeds.Answer(seed, "".join(tokens), tokens, logprobs, [{} for _ in tokens])


def test_a_seed_that_repeats_passes_and_another_seed_may_differ():
    first = answer(42, ["The", " sea"], [-1.0, -0.5])
    again = answer(42, ["The", " sea"], [-1.0 + 5e-5, -0.5])
    other = answer(7, ["Waves"], [-2.0])
    outcome = seeds.judge(TOP_K, first, again, other)
    assert outcome.ok and outcome.repeats and outcome.other_seed_differs


def test_a_seed_that_does_not_repeat_fails():
    first = answer(42, ["The", " sea"], [-1.0, -0.5])
    drifted = answer(42, ["The", " sea"], [-1.0, -0.49])
    other_text = answer(42, ["A", " sea"], [-1.0, -0.5])
    for again in (drifted, other_text):
        outcome = seeds.judge(TOP_K, first, again, first)
        assert not outcome.ok and not outcome.repeats


def test_greedy_must_not_depend_on_the_seed():
    first = answer(42, ["The"], [-0.1])
    outcome = seeds.judge(GREEDY, first, first, answer(7, ["A"], [-0.2]))
    assert outcome.problems == ["greedy answered seed 7 differently"]


def test_each_setting_reaches_the_sdk_with_top_k_and_min_p_in_extra_body():
    names = [s.name for s in seeds.SETTINGS]
    assert names == ["greedy", "temperature", "top_k", "top_p", "min_p"]
    assert TOP_K.request() == {
        "temperature": 1.0,
        "top_p": 1.0,
        "extra_body": {"top_k": 40, "min_p": 0.0},
    }


def test_ask_reads_tokens_and_logprobs_from_the_sdk_response():
    entry = SimpleNamespace(
        token=" sea", logprob=-0.5, top_logprobs=[SimpleNamespace(token=" sea", logprob=-0.5)]
    )
    response = SimpleNamespace(
        choices=[
            SimpleNamespace(
                message=SimpleNamespace(content=" sea"),
                logprobs=SimpleNamespace(content=[entry]),
            )
        ]
    )
    asked = {}

    def create(**request):
        asked.update(request)
        return response

    client = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    got = seeds.ask(client, "m", TOP_K, 42, max_tokens=8)
    assert got == seeds.Answer(42, " sea", [" sea"], [-0.5], [{" sea": -0.5}])
    assert asked["seed"] == 42 and asked["logprobs"] is True and asked["top_logprobs"] == 5
