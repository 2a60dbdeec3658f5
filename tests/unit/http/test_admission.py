import pytest

from server.http.admission import Admission
from server.metrics import Metrics
from server.protocol.completions import CompletionRequest
from server.protocol.errors import APIError


def test_engine_requests_are_counted_and_given_back_once():
    gate = Admission(max_in_flight=4, max_per_request=4, metrics=Metrics())
    first = gate.admit(3, "n")
    with pytest.raises(APIError) as busy:
        gate.admit(2, "n")
    assert busy.value.status == 429 and busy.value.code == "server_busy"
    second = gate.admit(1, "n")
    first()
    first()  # idempotent
    assert gate.in_flight == 1
    second()
    assert gate.in_flight == 0


def test_more_than_one_request_may_start_is_a_400_naming_the_parameter():
    gate = Admission(max_in_flight=100, max_per_request=8, metrics=Metrics())
    with pytest.raises(APIError) as too_many:
        gate.admit(9, "prompt")
    assert too_many.value.status == 400
    assert too_many.value.param == "prompt"
    assert gate.in_flight == 0
    # a request larger than the whole in-flight bound could never be admitted: 400, not 429
    small = Admission(max_in_flight=4, max_per_request=128, metrics=Metrics())
    with pytest.raises(APIError) as never:
        small.admit(5, "n")
    assert never.value.status == 400


@pytest.mark.parametrize(
    ("prompt", "count"),
    [("one", 1), (["a", "b", "c"], 3), ([1, 2, 3], 1), ([[1], [2]], 2), ([], 1)],
)
def test_prompt_count(prompt, count):
    assert CompletionRequest(model="m", prompt=prompt).prompt_count() == count
