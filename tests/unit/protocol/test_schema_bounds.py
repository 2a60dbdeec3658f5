"""Schema ⊆ engine: whatever a request model accepts, the translation and vLLM's own request
checks accept too. Hypothesis draws values at, just inside and just outside every bound the
models declare (read from their JSON schema, as /openapi.json shows it), several fields at a
time; an accepted request must come out of the service's checks as engine parameters that
vLLM validates and serialises, or be refused there with a 4xx APIError, never crash."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate
from vllm.v1.serial_utils import MsgpackEncoder
from vllm.v1.structured_output.backend_guidance import validate_guidance_grammar

from server.engine.engine import ModelInfo
from server.protocol.chat import ChatCompletionRequest
from server.protocol.completions import CompletionRequest
from server.protocol.errors import APIError
from server.protocol.fields import (
    MAX_STOP_LENGTH,
    MAX_STOP_SEQUENCES,
    MAX_STOP_TOKEN_IDS,
    TOKEN_ID_MAX,
)
from server.protocol.inspect import InspectRequest
from server.protocol.responses import ResponseCreateRequest
from server.protocol.samplers import sampler_params
from server.protocol.tokenize import DetokenizeRequest
from server.sampling.params import OutputRequest, resolve, to_sampling_params, token_rules
from server.sampling.samplers.processors import DryProcessor, TruncationProcessor
from server.sampling.vocabulary import Vocabulary
from server.services.background import Runs
from server.services.budget import Limits
from server.services.chat import ChatCompletions, PreparedChat
from server.services.completions import Completions
from server.services.inspector import Inspector
from server.services.responses import Responses
from server.services.samplers import sampler_args
from server.services.stored import Keeper
from server.services.tokenization import Tokenization
from server.settings import SamplingDefaults
from server.store.database import Retention

VOCAB = 49152
INFO = ModelInfo(id="m", max_model_len=8192, vocab_size=VOCAB)
MAX_LOGPROBS = -1  # as server/engine/config.py starts the engine


class FakeEngine:
    """The engine's synchronous side, enough for the services' checks and translation."""

    info = INFO
    vocabulary = Vocabulary(tuple(bytes([i % 256]) for i in range(VOCAB)))

    def apply_chat_template(self, messages, add_generation_prompt=True, tools=None):
        return [1] + [2] * sum(len(m["content"]) // 4 + 3 for m in messages)

    def encode(self, text, add_special_tokens=True):
        return [1] + [3] * (len(text) // 4)

    def decode(self, ids, skip_special_tokens=False):
        return "x" * len(ids)


@dataclass
class ModelConfigStub:
    """What SamplingParams.verify reads of vLLM's ModelConfig for these checks."""

    max_logprobs: int = MAX_LOGPROBS
    is_diffusion: bool = False

    def get_vocab_size(self) -> int:
        return VOCAB


ENGINE = FakeEngine()
DEFAULTS = SamplingDefaults()
LIMITS = Limits()
ENCODER = MsgpackEncoder()


def engine_accepts(params: SamplingParams) -> None:
    """vLLM's own request checks that run without an engine: SamplingParams' validation (in
    its constructor), verify() against the model's vocabulary and logprobs cap, the
    structured-output check of the guidance backend the server runs with (response formats,
    tool grammars), and the msgpack serialisation every request goes through to the engine
    core."""
    params.verify(ModelConfigStub(), None, None, None)  # type: ignore[arg-type]
    validate_guidance_grammar(params)
    ENCODER.encode(params)
    processors_run(params)


LOGITS = torch.randn(2, VOCAB, generator=torch.Generator().manual_seed(0)) * 4


def processors_run(params: SamplingParams) -> None:
    """The extra samplers' logits processors take the request as vLLM hands it to them, for
    two steps, and always leave a token to draw."""
    if not params.extra_args:
        return
    output: list[int] = []
    prompt = [1, 2, 3, 1, 2]
    added = BatchUpdate(batch_size=1, removed=[], added=[(0, params, prompt, output)], moved=[])
    processors = [DryProcessor(None, "cpu", False), TruncationProcessor(None, "cpu", False)]
    for processor in processors:
        processor.update_state(added)
    for step in range(2):
        logits = LOGITS[step : step + 1].clone()
        for processor in processors:
            logits = processor.apply(logits)
        assert not torch.isnan(logits).any() and torch.isfinite(logits).any()
        output.append(int(torch.argmax(logits)))


CHAT = ChatCompletions(ENGINE, DEFAULTS, LIMITS)  # type: ignore[arg-type]


def engine_accepts_chat(prepared: PreparedChat) -> None:
    request = prepared.request
    sampling = resolve(request, DEFAULTS)
    for index in range(request.n):
        samplers = sampler_args(sampling, ENGINE.vocabulary, index)
        params = to_sampling_params(
            sampling, prepared.output, request.stop_list(), index, token_rules(request), samplers
        )
        engine_accepts(params)


def through_chat(request: ChatCompletionRequest) -> None:
    engine_accepts_chat(CHAT.prepare(request))


def through_completions(request: CompletionRequest) -> None:
    prepared = Completions(ENGINE, DEFAULTS, LIMITS).prepare(request)  # type: ignore[arg-type]
    sampling = resolve(request, DEFAULTS)
    for prompt in prepared.prompts:
        for index in range(request.n):
            samplers = sampler_args(sampling, ENGINE.vocabulary, index)
            params = to_sampling_params(
                sampling, prompt.output, request.stop_list(), index, token_rules(request), samplers
            )
            engine_accepts(params)


def through_inspector(request: InspectRequest) -> None:
    prepared = Inspector(ENGINE, DEFAULTS, "raw", LIMITS).prepare(request)  # type: ignore[arg-type]
    params = to_sampling_params(
        prepared.sampling, OutputRequest(max_tokens=request.steps), samplers=prepared.samplers
    )
    params.logprobs = -1  # as Engine.sample_with_distributions asks
    engine_accepts(params)


def through_responses(request: ResponseCreateRequest) -> None:
    _, prepared = Responses(CHAT, Keeper(None, Retention(1.0, 1)), Runs()).prepare(request)
    engine_accepts_chat(prepared)


def through_detokenize(request: DetokenizeRequest) -> None:
    Tokenization(ENGINE).detokenize(request)  # type: ignore[arg-type]


MESSAGES = [{"role": "user", "content": "Hello"}]
CASES: dict[str, tuple[type[BaseModel], dict[str, Any], Any]] = {
    "chat": (ChatCompletionRequest, {"model": "m", "messages": MESSAGES}, through_chat),
    "completions": (CompletionRequest, {"model": "m", "prompt": "Hello"}, through_completions),
    "inspector": (InspectRequest, {"model": "m", "messages": MESSAGES}, through_inspector),
    "responses": (ResponseCreateRequest, {"model": "m", "input": "Hello"}, through_responses),
    "detokenize": (DetokenizeRequest, {"model": "m", "tokens": [1]}, through_detokenize),
}


def _around(bound: float, integer: bool) -> list[float]:
    if integer:
        return [bound - 1, bound, bound + 1]
    return [math.nextafter(bound, -math.inf), bound, math.nextafter(bound, math.inf)]


def boundary_values(schema: dict[str, Any]) -> list[Any]:
    """Values at, just inside and just outside each numeric bound of a property's schema
    (any member of an anyOf), plus null where it is allowed."""
    values: list[Any] = []
    for member in schema.get("anyOf", [schema]):
        kind = member.get("type")
        if kind == "null":
            values.append(None)
        if kind not in ("integer", "number"):
            continue
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in member:
                values += _around(member[key], kind == "integer")
    return values


def bounded_fields(model: type[BaseModel]) -> dict[str, list[Any]]:
    properties = model.model_json_schema(by_alias=True)["properties"]
    found = {name: boundary_values(schema) for name, schema in properties.items()}
    return {name: values for name, values in found.items() if any(v is not None for v in values)}


# Nested bounds a flat reading of the schema does not reach.
TOKEN_IDS = [-1, 0, VOCAB - 1, VOCAB, TOKEN_ID_MAX, TOKEN_ID_MAX + 1]
STOP_STRINGS = ["", "a", "\n", "a" * MAX_STOP_LENGTH, "a" * (MAX_STOP_LENGTH + 1)]
NESTED: dict[str, st.SearchStrategy[Any]] = {
    "stop": st.one_of(
        st.sampled_from(STOP_STRINGS),
        st.lists(st.sampled_from(STOP_STRINGS), min_size=0, max_size=MAX_STOP_SEQUENCES + 1),
    ),
    "logit_bias": st.dictionaries(
        st.sampled_from([str(t) for t in TOKEN_IDS] + ["-5", "--5", "²", "05", "1e3", ""]),
        st.sampled_from([-100.0001, -100.0, 0.0, 100.0, 100.0001, math.inf, math.nan]),
        max_size=3,
    ),
    "prompt": st.one_of(
        st.lists(st.sampled_from(TOKEN_IDS), min_size=0, max_size=3),
        st.lists(st.lists(st.sampled_from(TOKEN_IDS), min_size=0, max_size=2), max_size=2),
    ),
    "tokens": st.lists(st.sampled_from(TOKEN_IDS), max_size=3),
    # vLLM's extensions
    "stop_token_ids": st.lists(st.sampled_from(TOKEN_IDS), max_size=MAX_STOP_TOKEN_IDS + 1),
    "allowed_token_ids": st.lists(st.sampled_from(TOKEN_IDS), max_size=3),
    "bad_words": st.lists(st.sampled_from([*STOP_STRINGS, " Paris", "a b"]), max_size=3),
    "include_stop_str_in_output": st.booleans(),
    # the extra samplers
    "dry_sequence_breakers": st.lists(
        st.sampled_from(["", "\n", ":", "a" * 64, "a" * 65]), max_size=33
    ),
    "mirostat": st.sampled_from([0, 1, 2, 2.0, 3, -1]),
}
FUNCTION_NAMES = ["f", "get_weather", "a" * 64, "a" * 65, "a b", "", "x-y_z"]
PARAMETERS = [
    None,
    {},
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}},
    {"type": "object", "properties": {"s": {"type": "string", "pattern": "(?<=a)b"}}},
    {"$defs": {"C": {"type": "string"}}, "properties": {"c": {"$ref": "#/$defs/C"}}},
    {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
    {"type": "nonsense"},
]
CHAT_TOOL = st.fixed_dictionaries(
    {
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.sampled_from(FUNCTION_NAMES)},
            optional={"parameters": st.sampled_from(PARAMETERS), "strict": st.booleans()},
        ),
    }
)
RESPONSES_TOOL = st.fixed_dictionaries(
    {"type": st.just("function"), "name": st.sampled_from(FUNCTION_NAMES)},
    optional={"parameters": st.sampled_from(PARAMETERS)},
)
MODES = st.sampled_from(["none", "auto", "required"])
CALL_IDS = st.sampled_from(["c1", "c2", "", "x" * 256, "x" * 257])
RESPONSES_INPUT = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant"]), "content": st.just("hi")}
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("function_call"),
                "call_id": CALL_IDS,
                "name": st.sampled_from(FUNCTION_NAMES),
                "arguments": st.sampled_from(["{}", '{"city": "Paris"}', "not json", ""]),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("function_call_output"),
                "call_id": CALL_IDS,
                "output": st.sampled_from(["", "sunny", "x" * 1000]),
            }
        ),
    ),
    min_size=1,
    max_size=5,
)
CHAT_MESSAGES = st.lists(
    st.one_of(
        st.just({"role": "user", "content": "hi"}),
        st.fixed_dictionaries(
            {
                "role": st.just("assistant"),
                "content": st.sampled_from([None, "", "ok"]),
                "tool_calls": st.lists(
                    st.fixed_dictionaries(
                        {
                            "id": CALL_IDS,
                            "type": st.just("function"),
                            "function": st.fixed_dictionaries(
                                {
                                    "name": st.sampled_from(FUNCTION_NAMES),
                                    "arguments": st.sampled_from(["{}", "not json"]),
                                }
                            ),
                        }
                    ),
                    max_size=2,
                ),
            }
        ),
        st.fixed_dictionaries(
            {"role": st.just("tool"), "tool_call_id": CALL_IDS, "content": st.just("sunny")}
        ),
    ),
    min_size=1,
    max_size=5,
)
TOOLS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "chat": {
        "tools": st.lists(CHAT_TOOL, max_size=3),
        "tool_choice": st.one_of(
            MODES,
            st.builds(
                lambda n: {"type": "function", "function": {"name": n}},
                st.sampled_from(FUNCTION_NAMES),
            ),
        ),
        "parallel_tool_calls": st.booleans(),
        "messages": CHAT_MESSAGES,
    },
    "responses": {
        "input": RESPONSES_INPUT,
        "tools": st.lists(RESPONSES_TOOL, max_size=3),
        "tool_choice": st.one_of(
            MODES,
            st.builds(lambda n: {"type": "function", "name": n}, st.sampled_from(FUNCTION_NAMES)),
        ),
        "parallel_tool_calls": st.booleans(),
    },
}


@st.composite
def requests(draw: st.DrawFn, name: str) -> dict[str, Any]:
    model, base, _ = CASES[name]
    fields = bounded_fields(model)
    body = dict(base)
    chosen = (
        draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True)) if fields else []
    )
    for field in chosen:
        body[field] = draw(st.sampled_from(fields[field]))
    for field, strategy in {**NESTED, **TOOLS.get(name, {})}.items():
        if field in model.model_fields and draw(st.booleans()):
            body[field] = draw(strategy)
    if name == "chat" and body.get("top_logprobs") is not None:
        body["logprobs"] = True
    return body


def test_the_bounds_are_declared_in_the_schema():
    """Every sampling field carries its bounds into /openapi.json."""
    chat = bounded_fields(ChatCompletionRequest)
    for field in (
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "seed",
        "n",
        "max_tokens",
        "min_tokens",
        *(name for name in sampler_params() if name not in ("dry_sequence_breakers", "mirostat")),
    ):
        assert field in chat, field
    assert set(bounded_fields(ResponseCreateRequest)) >= {"temperature", "seed", "top_k"}
    schema = ChatCompletionRequest.model_json_schema()
    assert "maxItems" in str(schema["properties"]["stop"])
    assert "pattern" in str(schema["properties"]["logit_bias"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_whatever_the_models_accept_the_engine_accepts(name):
    model, _, through = CASES[name]

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(body=requests(name))
    def check(body: dict[str, Any]) -> None:
        try:
            request = model.model_validate(body)
        except ValidationError:
            return  # refused at the edge: a 400 naming the field
        try:
            through(request)
        except APIError as error:
            assert 400 <= error.status < 500, (body, error.message)

    check()
