import math

from vllm.logprobs import Logprob
from vllm.outputs import CompletionOutput, RequestOutput

from server.sampling.logprobs import chat_logprobs, completion_logprobs, echo_logprobs
from server.sampling.outputs import LOGPROB_FLOOR, finite, to_delta
from server.sampling.vocabulary import Vocabulary

VOCAB = Vocabulary.from_pieces(["<|end|>", "Hello", "Ġworld", "Ġâ", "ĺ"], byte_level=True)


def lp(value: float, rank: int) -> Logprob:
    return Logprob(logprob=value, rank=rank)


def request_output(token_ids, logprobs, finish_reason, stop_reason=None, prompt_logprobs=None):
    completion = CompletionOutput(
        index=0,
        text="".join(VOCAB.text_of(t) for t in token_ids),
        token_ids=token_ids,
        cumulative_logprob=None,
        logprobs=logprobs,
        finish_reason=finish_reason,
        stop_reason=stop_reason,
    )
    return RequestOutput(
        request_id="r",
        prompt=None,
        prompt_token_ids=[1, 2],
        prompt_logprobs=prompt_logprobs,
        outputs=[completion],
        finished=finish_reason is not None,
    )


def test_finite_maps_inf_and_nan():
    assert finite(-math.inf) == LOGPROB_FLOOR
    assert finite(math.nan) == LOGPROB_FLOOR
    assert finite(-0.5) == -0.5


def test_top_candidates_are_ranked_and_the_end_token_keeps_its_logprob():
    out = request_output(
        [2, 0],
        [
            {2: lp(-0.1, 1), 3: lp(-2.5, 2), 1: lp(-3.0, 3)},
            {0: lp(-0.2, 1), 1: lp(-4.0, 2)},
        ],
        finish_reason="stop",
    )
    delta = to_delta(out, index=4, top_n=2)
    assert delta.index == 4
    assert delta.token_ids == (2, 0)
    # One entry per generated token, as usage counts them: the end token's too.
    assert [entry.token_id for entry in delta.logprobs] == [2, 0]
    assert delta.logprobs[0].top == ((2, -0.1), (3, -2.5))
    assert delta.logprobs[1].logprob == -0.2


def test_a_stop_string_keeps_all_logprobs():
    out = request_output([2], [{2: lp(-0.1, 1)}], finish_reason="stop", stop_reason="\n")
    assert len(to_delta(out, 0, 1).logprobs) == 1


def test_sampled_token_outside_the_top_keeps_its_own_logprob():
    out = request_output([3], [{3: lp(-6.0, 9), 2: lp(-0.1, 1)}], finish_reason="length")
    delta = to_delta(out, 0, 1)
    assert delta.logprobs[0].logprob == -6.0
    assert delta.logprobs[0].top == ((2, -0.1),)


def test_chat_shape_has_bytes_of_partial_characters():
    out = request_output([3, 4], [{3: lp(-1.0, 1)}, {4: lp(-math.inf, 1)}], "length")
    shaped = chat_logprobs(to_delta(out, 0, 0).logprobs, VOCAB)
    assert [c.bytes for c in shaped.content] == [[32, 0xE2], [0x98]]
    assert shaped.content[1].logprob == LOGPROB_FLOOR
    assert shaped.content[0].top_logprobs == []


def test_legacy_shape_offsets_count_from_the_prompt_start():
    out = request_output([1, 2], [{1: lp(-1.0, 1)}, {2: lp(-2.0, 1)}], "length")
    shaped = completion_logprobs(to_delta(out, 0, 1).logprobs, VOCAB, initial_offset=10)
    assert shaped.tokens == ["Hello", " world"]
    assert shaped.token_logprobs == [-1.0, -2.0]
    assert shaped.top_logprobs == [{"Hello": -1.0}, {" world": -2.0}]
    assert shaped.text_offset == [10, 15]


def test_echo_shape_starts_with_a_null_logprob():
    out = request_output(
        [0], [{0: lp(-0.1, 1)}], "length", prompt_logprobs=[None, {2: lp(-3.0, 4), 1: lp(-1, 1)}]
    )
    delta = to_delta(out, 0, 1)
    shaped = echo_logprobs([1, 2], delta.prompt_logprobs, VOCAB)
    assert shaped.tokens == ["Hello", " world"]
    assert shaped.token_logprobs == [None, -3.0]
    assert shaped.top_logprobs == [None, {"Hello": -1.0}]
    assert shaped.text_offset == [0, 5]
