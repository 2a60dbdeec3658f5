"""Parts shared by the chat and completions APIs."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from server.protocol.fields import (
    AllowedTokenIds,
    BadWords,
    FrequencyPenalty,
    Integer,
    LogitBias,
    LogprobsMode,
    Metadata,
    MinP,
    MinTokens,
    ModelId,
    PresencePenalty,
    Preset,
    RepetitionPenalty,
    Seed,
    ServiceTier,
    Stop,
    StopTokenIds,
    Temperature,
    TopK,
    TopP,
)
from server.protocol.samplers import DEFAULT_ORDER, SamplerOrder, sampler_params


def _describe_optional_fields(schema: dict[str, Any]) -> None:
    """A description written once on a shared type (server/protocol/fields.py) lands on the
    non-null member of an optional field's `anyOf`; it is lifted onto the property, where
    /docs and generated clients read it."""
    for field in schema.get("properties", {}).values():
        members = field.get("anyOf", [])
        if "description" in field or len(members) != 2 or {"type": "null"} not in members:
            continue
        typed = next(member for member in members if member != {"type": "null"})
        if "description" in typed:
            field["description"] = typed.pop("description")


class APIModel(BaseModel):
    """Requests refuse unknown fields, as OpenAI does, so a typo never passes silently. A
    null means the field's default, as in OpenAI's spec (`"n": null` is one choice)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_describe_optional_fields)

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaulted = _defaulted_keys(cls)
        if any(data.get(key, 0) is None for key in defaulted):
            return {k: v for k, v in data.items() if not (v is None and k in defaulted)}
        return data


@cache
def _defaulted_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys whose default is not null: a null there is dropped so the default applies."""
    keys = set()
    for name, field in model.model_fields.items():
        if field.is_required() or (field.default_factory is None and field.default is None):
            continue
        keys.add(field.alias or name)
    return frozenset(keys)


def lone_surrogate(value: Any) -> str | None:
    """Where in a JSON value a string holds a lone surrogate (JSON's `\\ud800` escapes
    decode to one), which no text encoding can carry: "messages[0].content". A key holding
    one is named escaped, so that the error can be written. Walked with a stack, so no depth
    can crash it."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return (path or "body").encode("utf-8", "backslashreplace").decode("utf-8")
        elif isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                stack.append((where, key))
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


class RequestModel(APIModel):
    """A whole request body: text that is not Unicode is refused, naming where it is,
    before anything reaches the tokenizer or the engine."""

    @model_validator(mode="before")
    @classmethod
    def _only_unicode(cls, data: Any) -> Any:
        where = lone_surrogate(data)
        if where is not None:
            raise PydanticCustomError(
                "invalid_unicode",
                "{where}: the text holds a lone surrogate, which is not Unicode",
                {"where": where},
            )
        return data


class ContentPart(APIModel):
    """A part of a message; a prompt-cache breakpoint has no effect (vLLM caches every
    prefix by itself)."""

    prompt_cache_breakpoint: dict[str, Any] | None = Field(
        None, description="No effect: vLLM caches every prefix by itself."
    )


class NoEffectFields(APIModel):
    """Fields of chat and Responses accepted without effect here (docs/api/compatibility.md):
    nothing is stored, tiered, cached by key or screened; metadata is only echoed."""

    store: StrictBool | None = Field(
        None,
        description="Responses: whether the response is kept (for GET, previous_response_id "
        "and background; left out: kept unless the server runs with --no-store, where true is "
        "refused). Chat and compaction: no effect, nothing is stored.",
    )
    metadata: Metadata | None = None
    service_tier: ServiceTier | None = None
    prompt_cache_key: StrictStr | None = Field(
        None, description="No effect: vLLM's prefix cache works without a key."
    )
    prompt_cache_retention: Literal["in_memory", "in-memory", "24h"] | None = Field(
        None, description="No effect: vLLM's prefix cache keeps what its memory holds."
    )
    prompt_cache_options: dict[str, Any] | None = Field(
        None, description="No effect: vLLM's prefix cache works without options."
    )
    safety_identifier: StrictStr | None = Field(
        None, description="No effect: no abuse screening here."
    )


class StreamOptions(APIModel):
    include_usage: StrictBool = Field(
        False, description="Send one more chunk before `[DONE]` with the whole request's usage."
    )
    include_obfuscation: StrictBool = Field(True, description="No effect: nothing is padded.")


class _CoreSamplerFields(APIModel):
    """OpenAI's sampling parameters and vLLM's; the samplers vLLM lacks are added below from
    their one declaration (server/protocol/samplers.py)."""

    preset: Preset | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    top_k: TopK | None = None
    min_p: MinP | None = None
    presence_penalty: PresencePenalty | None = None
    frequency_penalty: FrequencyPenalty | None = None
    repetition_penalty: RepetitionPenalty | None = None
    logit_bias: LogitBias | None = None
    seed: Seed | None = None
    ignore_eos: StrictBool = Field(
        False,
        description="vLLM's extension: the end-of-text token does not end the answer, which "
        "runs to its token limit (for benchmarks).",
    )
    samplers: SamplerOrder | None = None

    @model_validator(mode="after")
    def _mirostat_in_its_order(self) -> _CoreSamplerFields:
        mirostat = getattr(self, "mirostat", None)
        if mirostat == 2 and self.samplers not in (None, DEFAULT_ORDER):
            raise ValueError(
                f"samplers: mirostat runs only in the {DEFAULT_ORDER!r} order (it chooses the "
                "truncation itself, after temperature, and selects the token)"
            )
        return self

    def sampler_values(self) -> dict[str, Any]:
        """The sampling parameters this request set, to hand on to another request model."""
        return self.model_dump(include=set(SamplerFields.model_fields), exclude_unset=True)


SamplerFields = create_model(  # type: ignore[call-overload]
    "SamplerFields",
    __base__=_CoreSamplerFields,
    __doc__="Every sampling parameter: chat, completions, Responses and the inspector take "
    "them all. top_k, min_p, repetition_penalty, ignore_eos, preset and the samplers vLLM "
    "lacks are this server's extensions (the SDK sends them through `extra_body`).",
    **{name: (spec.type | None, None) for name, spec in sampler_params().items()},
)


class LogprobsChoice(APIModel):
    """Which distribution logprobs report, per request (chat, completions, Responses)."""

    logprobs_mode: LogprobsMode | None = None
    post_sampling_probs: StrictBool | None = Field(
        None,
        description="llama.cpp's name: true is logprobs_mode processed, false raw.",
    )

    def processed_logprobs(self, server_mode: str) -> bool:
        if self.logprobs_mode is not None:
            return self.logprobs_mode == "processed"
        if self.post_sampling_probs is not None:
            return self.post_sampling_probs
        return server_mode == "processed"


class SamplingKnobs(RequestModel, SamplerFields):
    """A generating request: the model and every sampling parameter."""

    model: ModelId


class SamplingFields(SamplingKnobs, LogprobsChoice):
    """What chat and completions add: several choices, stop strings, streaming."""

    n: Integer = Field(
        1,
        ge=1,
        le=128,
        description="How many choices to generate for each prompt; choice i samples with seed + i.",
    )
    stop: Stop | None = Field(
        None,
        description="Up to 16 strings (OpenAI allows 4) at which the answer ends; the string "
        "itself is left out of the text.",
    )
    stream: StrictBool = Field(
        False, description="Send the answer as server-sent events, as it is written."
    )
    stream_options: StreamOptions | None = Field(
        None, description="Options of a streamed answer (only with stream: true)."
    )
    user: str | None = Field(None, description="No effect: no abuse screening here.")
    # vLLM's own extensions, as its server takes them (a client written for it just works).
    min_tokens: MinTokens = 0
    stop_token_ids: StopTokenIds | None = None
    bad_words: BadWords | None = None
    allowed_token_ids: AllowedTokenIds | None = None
    include_stop_str_in_output: StrictBool = Field(
        False, description="vLLM's extension: the matched stop string stays at the end of the text."
    )

    def stop_list(self) -> list[str]:
        """The stop strings; an empty one stops nothing (OpenAI's spec allows it)."""
        if self.stop is None:
            return []
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop)
        return [s for s in stops if s]


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0  # the engine's prefix cache
    audio_tokens: int = 0


class CompletionTokensDetails(BaseModel):
    reasoning_tokens: int = 0
    audio_tokens: int = 0
    accepted_prediction_tokens: int = 0
    rejected_prediction_tokens: int = 0


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails = Field(default_factory=PromptTokensDetails)
    completion_tokens_details: CompletionTokensDetails = Field(
        default_factory=CompletionTokensDetails
    )


# Every request runs on the one engine, in one tier: what OpenAI calls "default".
ServiceTierUsed = Literal["default"]
FinishReason = Literal["stop", "length", "tool_calls"]
