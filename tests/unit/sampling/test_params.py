import pytest
from vllm.sampling_params import RequestOutputKind

from server.protocol.chat import ChatCompletionRequest
from server.sampling.params import OutputRequest, choice_seed, resolve, to_sampling_params
from server.sampling.samplers.config import SamplerArgs
from server.settings import SamplingDefaults


def chat(**fields) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)


def params_for(request, defaults=None, output=None, index=0):
    sampling = resolve(request, defaults or SamplingDefaults())
    return to_sampling_params(
        sampling, output or OutputRequest(max_tokens=7), request.stop_list(), index
    )


def test_unset_fields_take_server_defaults_not_generation_config():
    defaults = SamplingDefaults(temperature=0.6, top_p=0.9, top_k=20, min_p=0.05)
    params = params_for(chat(), defaults)
    assert params.temperature == pytest.approx(0.6)
    assert params.top_p == pytest.approx(0.9)
    assert params.top_k == 20
    assert params.min_p == pytest.approx(0.05)
    assert params.max_tokens == 7
    assert params.n == 1
    assert params.output_kind == RequestOutputKind.FINAL_ONLY


def test_openai_defaults():
    params = params_for(chat())
    assert (params.temperature, params.top_p, params.top_k, params.min_p) == (1.0, 1.0, 0, 0.0)
    assert params.repetition_penalty == 1.0
    assert params.seed is None
    assert params.stop == []


def test_every_request_field_is_honoured():
    request = chat(
        temperature=0.3,
        top_p=0.5,
        top_k=5,
        min_p=0.1,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        repetition_penalty=1.2,
        seed=42,
        stop=["\n", "END"],
        logit_bias={"17": 5.0},
    )
    output = OutputRequest(max_tokens=3, logprobs=2, stream=True)
    params = params_for(request, output=output, index=2)
    assert (params.temperature, params.top_p, params.top_k, params.min_p) == pytest.approx(
        (0.3, 0.5, 5, 0.1)
    )
    assert params.presence_penalty == pytest.approx(0.5)
    assert params.frequency_penalty == pytest.approx(-0.5)
    assert params.repetition_penalty == pytest.approx(1.2)
    assert params.seed == 44
    assert params.stop == ["\n", "END"]
    assert params.logit_bias == {17: 5.0}
    assert params.logprobs == 2
    assert params.output_kind == RequestOutputKind.DELTA


def test_top_k_minus_one_means_off():
    assert params_for(chat(top_k=-1)).top_k == 0


def test_greedy_is_allowed_per_choice():
    params = params_for(chat(temperature=0, n=3))
    assert params.n == 1
    assert params.temperature == 0


def test_choice_seeds_differ_but_repeat():
    assert choice_seed(None, 3) is None
    assert [choice_seed(7, i) for i in range(3)] == [7, 8, 9]


def test_preset_fills_what_the_request_leaves_unset():
    sampling = resolve(chat(preset="creative", min_p=0.2), SamplingDefaults(top_p=0.8))
    assert sampling.temperature == pytest.approx(1.2)  # from the preset
    assert sampling.min_p == pytest.approx(0.2)  # the request's own value wins
    assert sampling.top_p == pytest.approx(0.8)  # neither: the server default


def test_precise_preset_is_greedy():
    assert resolve(chat(preset="precise"), SamplingDefaults()).temperature == 0.0


# The sampler chain's order ---------------------------------------------------------------


def test_a_stage_left_out_of_the_order_gets_its_neutral_value():
    sampling = resolve(
        chat(
            samplers=["temperature"],
            temperature=0.7,
            top_k=40,
            top_p=0.5,
            min_p=0.1,
            presence_penalty=0.5,
            repetition_penalty=1.2,
            dry_multiplier=0.8,
            typical_p=0.5,
        ),
        SamplingDefaults(top_k=20),
    )
    assert sampling.order == ("temperature",)
    assert sampling.temperature == pytest.approx(0.7)
    assert (sampling.top_k, sampling.top_p, sampling.min_p) == (0, 1.0, 0.0)
    assert (sampling.presence_penalty, sampling.repetition_penalty) == (0.0, 1.0)
    assert sampling.samplers.dry_multiplier == 0.0 and sampling.samplers.typical_p == 1.0


def test_a_stage_in_the_order_keeps_its_value_and_defaults():
    sampling = resolve(chat(samplers=["top-k", "temp"], top_k=40), SamplingDefaults(min_p=0.1))
    assert sampling.order == ("top_k", "temperature")
    assert sampling.top_k == 40
    assert sampling.min_p == 0.0  # the server's default, but min_p is not in the order
    assert resolve(chat(), SamplingDefaults(min_p=0.1)).min_p == pytest.approx(0.1)


def test_the_order_decides_native():
    def native(**fields):
        return resolve(chat(**fields), SamplingDefaults()).native

    assert not native(samplers="llama.cpp", top_k=40, temperature=0.7)
    assert native(samplers="llama.cpp", temperature=0.7)
    assert native(samplers="vllm", top_k=40, temperature=0.7)
    assert native(top_k=40, temperature=0.7)
    assert not native(samplers=["top_p", "top_k"], top_k=40, top_p=0.9)
    assert not native(adaptive_target=0.3)


def chained(**fields):
    sampling = resolve(chat(**fields), SamplingDefaults())
    return sampling, SamplerArgs(sampling.samplers, (), 5, sampling.chain_values())


def test_a_chain_leaves_vllms_own_sampling_neutral():
    sampling, args = chained(
        samplers="llama.cpp",
        temperature=0.7,
        top_k=40,
        top_p=0.9,
        min_p=0.05,
        presence_penalty=0.5,
        frequency_penalty=0.25,
        repetition_penalty=1.1,
        seed=9,
        logit_bias={"3": 2.0},
    )
    params = to_sampling_params(sampling, OutputRequest(max_tokens=4), samplers=args)
    assert (params.temperature, params.top_p, params.min_p) == (1.0, 1.0, 0.0)
    assert params.top_k in (0, -1)
    assert (params.presence_penalty, params.frequency_penalty) == (0.0, 0.0)
    assert params.repetition_penalty == 1.0
    # What is not a stage stays the request's own.
    assert params.seed == 9 and params.logit_bias == {3: 2.0}
    back = SamplerArgs.from_extra_args(params.extra_args)
    assert back == args and back.chain.temperature == pytest.approx(0.7)
    assert back.chain.top_k == 40 and back.chain.repetition_penalty == pytest.approx(1.1)


def test_without_a_chain_vllm_samples_with_the_requests_values():
    sampling = resolve(chat(temperature=0.7, top_k=40, dry_multiplier=0.8), SamplingDefaults())
    args = SamplerArgs(sampling.samplers, (), 5)
    params = to_sampling_params(sampling, OutputRequest(max_tokens=4), samplers=args)
    assert params.temperature == pytest.approx(0.7) and params.top_k == 40
    assert SamplerArgs.from_extra_args(params.extra_args).chain is None


@pytest.mark.parametrize(
    ("source", "logprobs", "flat"),
    [("engine", 3, False), ("replay", -1, True), ("prefills", None, False)],
)
def test_where_logprobs_come_from_sets_the_engines_logprobs(source, logprobs, flat):
    output = OutputRequest(max_tokens=4, logprobs=3, logprobs_from=source)
    params = to_sampling_params(resolve(chat(), SamplingDefaults()), output)
    assert params.logprobs == logprobs
    assert bool(params.flat_logprobs) is flat


def test_no_logprobs_asked_none_from_anywhere():
    for source in ("engine", "replay", "prefills"):
        output = OutputRequest(max_tokens=4, logprobs_from=source)
        assert to_sampling_params(resolve(chat(), SamplingDefaults()), output).logprobs is None


def test_an_empty_order_runs_no_stage():
    sampling = resolve(chat(samplers=[], top_k=40, temperature=0.5), SamplingDefaults())
    assert sampling.order == ()
    assert (sampling.top_k, sampling.temperature) == (0, 1.0)
