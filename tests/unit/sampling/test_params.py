import pytest
from vllm.sampling_params import RequestOutputKind

from server.protocol.chat import ChatCompletionRequest
from server.sampling.params import OutputRequest, choice_seed, resolve, to_sampling_params
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
