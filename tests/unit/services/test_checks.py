import pytest

from server.engine.engine import ModelInfo
from server.protocol.chat import ChatCompletionRequest
from server.protocol.errors import APIError
from server.sampling.params import OutputRequest, resolve, to_sampling_params, token_rules
from server.services.checks import check_token_rules
from server.settings import SamplingDefaults

INFO = ModelInfo(id="m", max_model_len=100, vocab_size=10)
HI = [{"role": "user", "content": "hi"}]


def _request(**extra) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": "m", "messages": HI, **extra})


@pytest.mark.parametrize(
    ("extra", "budget", "constrained", "param"),
    [
        ({"min_tokens": 11}, 10, False, "min_tokens"),
        ({"stop_token_ids": [10]}, 10, False, "stop_token_ids"),
        ({"allowed_token_ids": [3, 10]}, 10, False, "allowed_token_ids"),
        ({"min_tokens": 1}, 10, True, "min_tokens"),
        ({"bad_words": ["x"]}, 10, True, "bad_words"),
        ({"allowed_token_ids": [1]}, 10, True, "allowed_token_ids"),
    ],
)
def test_token_rules_that_cannot_be_honoured_name_their_field(extra, budget, constrained, param):
    with pytest.raises(APIError) as caught:
        check_token_rules(_request(**extra), INFO, budget, constrained)
    assert caught.value.param == param and caught.value.status == 400


def test_token_rules_reach_the_engine_parameters():
    request = _request(
        min_tokens=10,
        stop_token_ids=[9],
        bad_words=["x"],
        allowed_token_ids=[1, 2],
        include_stop_str_in_output=True,
    )
    check_token_rules(request, INFO, 10, constrained=False)
    params = to_sampling_params(
        resolve(request, SamplingDefaults()),
        OutputRequest(max_tokens=10),
        None,
        0,
        token_rules(request),
    )
    assert (params.min_tokens, params.stop_token_ids, params.bad_words) == (10, [9], ["x"])
    assert params.allowed_token_ids == [1, 2] and params.include_stop_str_in_output
    plain = to_sampling_params(resolve(_request(), SamplingDefaults()), OutputRequest(10))
    assert (plain.min_tokens, plain.stop_token_ids, plain.bad_words) == (0, [], [])
