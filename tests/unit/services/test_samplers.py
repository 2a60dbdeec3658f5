import pytest
from pydantic import ValidationError

from server.protocol.chat import ChatCompletionRequest
from server.protocol.common import SamplerFields
from server.protocol.errors import APIError
from server.protocol.responses import ResponseCreateRequest
from server.protocol.samplers import LLAMA_CPP_ORDER
from server.sampling.params import resolve, token_rules
from server.sampling.vocabulary import Vocabulary
from server.services.responses import to_chat
from server.services.samplers import breaker_ids, check_samplers, logprobs_from, sampler_args
from server.settings import SamplingDefaults

VOCAB = Vocabulary((b"a", b"\n", b".\n", b"b:", b"c", b'"x'))


def sampling(**fields):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    return resolve(ChatCompletionRequest(**body), SamplingDefaults())


def test_breakers_are_the_tokens_holding_one():
    assert breaker_ids(VOCAB, ("\n", ":", '"', "*")) == (1, 2, 3, 5)
    assert breaker_ids(VOCAB, ()) == ()


def test_no_sampler_no_extra_args():
    assert sampler_args(sampling(temperature=0.5, top_k=3), VOCAB) is None


def test_xtc_coin_follows_the_seed_per_choice():
    args = [sampler_args(sampling(xtc_probability=0.5, seed=10), VOCAB, i) for i in range(2)]
    assert [a.xtc_seed for a in args] == [10, 11]
    unseeded = {sampler_args(sampling(xtc_probability=0.5), VOCAB).xtc_seed for _ in range(5)}
    assert len(unseeded) == 5


def test_dry_carries_its_breaker_ids():
    args = sampler_args(sampling(dry_multiplier=1.0, dry_sequence_breakers=["c"]), VOCAB)
    assert args.dry_breaker_ids == (4,)
    assert args.config.dry_sequence_breakers == ("c",)


@pytest.mark.parametrize(
    "clash",
    [
        {"top_k": 5},
        {"top_p": 0.9},
        {"min_p": 0.1},
        {"typical_p": 0.5},
        {"top_n_sigma": 1.0},
        {"xtc_probability": 0.5},
        {"preset": "balanced"},
    ],
)
def test_mirostat_refuses_other_truncations_by_name(clash):
    with pytest.raises(APIError) as refused:
        check_samplers(sampling(mirostat=2, **clash))
    assert refused.value.param == "mirostat"


def test_mirostat_alone_and_with_dry_is_fine():
    check_samplers(sampling(mirostat=2, dry_multiplier=0.8, temperature=0.9))


def test_mirostat_refuses_adaptive_p_by_name():
    with pytest.raises(APIError, match="adaptive_target") as refused:
        check_samplers(sampling(mirostat=2, adaptive_target=0.3))
    assert refused.value.param == "mirostat"
    check_samplers(sampling(adaptive_target=0.3, top_k=5))


def test_an_order_vllm_cannot_run_gets_the_chain_without_any_extra_sampler():
    effective = sampling(samplers="llama.cpp", top_k=40, temperature=0.7)
    args = sampler_args(effective, VOCAB)
    assert args is not None and not args.config.any
    assert args.chain == effective.chain_values()
    assert args.chain.order == LLAMA_CPP_ORDER
    assert (args.chain.top_k, args.chain.temperature) == (40, 0.7)


def test_an_order_vllm_can_run_gets_no_chain():
    assert sampler_args(sampling(samplers="llama.cpp", temperature=0.7), VOCAB) is None
    args = sampler_args(sampling(samplers="llama.cpp", temperature=0.7, dry_multiplier=1), VOCAB)
    assert args is not None and args.chain is None


def test_adaptive_p_always_runs_in_the_chain():
    args = sampler_args(sampling(adaptive_target=0.4, temperature=0.8), VOCAB)
    assert args.chain is not None and args.chain.order[-1] == "adaptive_p"


def chat_request(**fields):
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)


@pytest.mark.parametrize(
    ("fields", "engine_mode", "source"),
    [
        ({}, "raw", "engine"),
        ({}, "processed", "engine"),
        ({"logprobs_mode": "raw"}, "raw", "engine"),
        ({"logprobs_mode": "processed"}, "processed", "engine"),
        ({"logprobs_mode": "processed"}, "raw", "replay"),
        ({"post_sampling_probs": True}, "raw", "replay"),
        ({"logprobs_mode": "raw"}, "processed", "prefills"),
        ({"post_sampling_probs": False}, "processed", "prefills"),
        ({"logprobs_mode": "raw", "repetition_penalty": 1.3}, "processed", "prefills"),
        ({"logprobs_mode": "processed", "repetition_penalty": 1.3}, "processed", "engine"),
    ],
)
def test_where_logprobs_come_from(fields, engine_mode, source):
    request = chat_request(**fields)
    effective = resolve(request, SamplingDefaults())
    assert logprobs_from(request, effective, engine_mode) == source


def test_replayed_logprobs_refuse_the_repetition_penalty():
    request = chat_request(logprobs_mode="processed", repetition_penalty=1.3)
    with pytest.raises(APIError) as refused:
        logprobs_from(request, resolve(request, SamplingDefaults()), "raw")
    assert refused.value.param == "logprobs_mode"


def test_a_server_default_repetition_penalty_is_refused_too():
    request = chat_request(logprobs_mode="processed")
    effective = resolve(request, SamplingDefaults(repetition_penalty=1.1))
    with pytest.raises(APIError):
        logprobs_from(request, effective, "raw")
    # Left out of the order, the repetition penalty does not run: nothing to refuse.
    request = chat_request(logprobs_mode="processed", samplers=["temperature"])
    effective = resolve(request, SamplingDefaults(repetition_penalty=1.1))
    assert logprobs_from(request, effective, "raw") == "replay"


# Responses hand every sampling field on to chat ---------------------------------------------

EVERY_SAMPLER_FIELD = {
    "preset": "balanced",
    "temperature": 0.7,
    "top_p": 0.9,
    "top_k": 40,
    "min_p": 0.05,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.25,
    "repetition_penalty": 1.1,
    "logit_bias": {"3": 2.0},
    "seed": 11,
    "ignore_eos": True,
    "dry_multiplier": 0.8,
    "dry_base": 2.0,
    "dry_allowed_length": 3,
    "dry_penalty_last_n": 64,
    "dry_sequence_breakers": ["\n", "!"],
    "xtc_probability": 0.5,
    "xtc_threshold": 0.2,
    "top_n_sigma": 1.5,
    "typical_p": 0.9,
    "mirostat": 0,
    "mirostat_tau": 4.0,
    "mirostat_eta": 0.2,
    "adaptive_target": 0.3,
    "adaptive_decay": 0.8,
    "samplers": ["top-k", "temp", "adaptive_p"],
}


def test_the_list_above_is_every_sampler_field():
    assert set(EVERY_SAMPLER_FIELD) == set(SamplerFields.model_fields)


def test_responses_take_every_sampling_field_and_hand_it_to_chat():
    request = ResponseCreateRequest(
        model="m", input="hi", logprobs_mode="processed", **EVERY_SAMPLER_FIELD
    )
    chat = to_chat(request)
    for name in SamplerFields.model_fields:
        assert getattr(chat, name) == getattr(request, name), name
    assert chat.samplers == ["top_k", "temperature", "adaptive_p"]
    assert chat.dry_multiplier == 0.8 and chat.adaptive_target == 0.3
    assert chat.repetition_penalty == 1.1
    assert chat.logprobs_mode == "processed"


def test_responses_leave_unset_fields_unset():
    chat = to_chat(ResponseCreateRequest(model="m", input="hi", dry_multiplier=0.8))
    assert chat.dry_multiplier == 0.8
    assert chat.samplers is None and chat.adaptive_target is None and chat.logprobs_mode is None
    assert chat.model_fields_set >= {"dry_multiplier"}
    assert "samplers" not in chat.model_fields_set


def test_responses_resolve_like_chat():
    request = ResponseCreateRequest(
        model="m", input="hi", samplers="llama.cpp", top_k=40, temperature=0.7
    )
    effective = resolve(to_chat(request), SamplingDefaults())
    assert not effective.native and effective.order == LLAMA_CPP_ORDER


def test_responses_refuse_mirostat_outside_vllms_order():
    with pytest.raises(ValidationError, match="mirostat"):
        ResponseCreateRequest(model="m", input="hi", mirostat=2, samplers="llama.cpp")


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"min_tokens": 3}, "min_tokens"), ({"bad_words": ["dragon"]}, "bad_words")],
)
def test_replayed_logprobs_refuse_the_masks_the_replay_cannot_know(fields, named):
    request = chat_request(logprobs_mode="processed", **fields)
    effective = resolve(request, SamplingDefaults())
    with pytest.raises(APIError) as refused:
        logprobs_from(request, effective, "raw", token_rules(request))
    assert refused.value.param == "logprobs_mode"
    assert named in refused.value.message
    assert logprobs_from(request, effective, "processed", token_rules(request)) == "engine"
    allowed = chat_request(logprobs_mode="processed", allowed_token_ids=[1, 2])
    assert logprobs_from(allowed, effective, "raw", token_rules(allowed)) == "replay"
