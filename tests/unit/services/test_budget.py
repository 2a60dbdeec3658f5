import pytest

from server.engine.engine import ModelInfo
from server.protocol.errors import APIError
from server.services.budget import output_budget
from server.services.checks import check_model

INFO = ModelInfo(id="m", max_model_len=100, vocab_size=10)


def test_budget_defaults_to_the_rest_of_the_context():
    assert output_budget(30, None, INFO, "messages") == 70


def test_budget_keeps_what_was_asked():
    assert output_budget(30, 70, INFO, "messages") == 70


def test_overflow_names_the_limit_and_the_sizes():
    with pytest.raises(APIError) as caught:
        output_budget(30, 71, INFO, "prompt")
    error = caught.value
    assert error.status == 400
    assert error.param == "prompt"
    assert error.code == "context_length_exceeded"
    assert "maximum context length is 100 tokens" in error.message
    assert "101 tokens (30 in the prompt, 71 in the completion)" in error.message


def test_a_prompt_filling_the_context_is_refused():
    with pytest.raises(APIError):
        output_budget(100, None, INFO, "messages")


def test_unknown_model_is_404():
    with pytest.raises(APIError) as caught:
        check_model("gpt-4", INFO)
    assert caught.value.status == 404
    assert caught.value.param == "model"
