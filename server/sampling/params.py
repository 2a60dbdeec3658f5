"""OpenAI request fields -> vLLM SamplingParams (pure)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from vllm import SamplingParams
from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

from server.protocol.common import SamplerFields, SamplingFields
from server.protocol.presets import PRESETS
from server.protocol.samplers import (
    DEFAULT_ORDER,
    STAGES,
    SamplerConfig,
    StageName,
    parse_order,
    runs_natively,
    sampler_params,
)
from server.sampling.json_schema import bounded
from server.sampling.samplers.chain import stage_active
from server.sampling.samplers.config import ChainValues, SamplerArgs
from server.sampling.stages import Filters
from server.settings import SamplingDefaults


@dataclass(frozen=True)
class OutputRequest:
    """What one engine request must produce, decided by the endpoint."""

    max_tokens: int
    logprobs: int | None = None
    # Where the logprobs come from: the engine in its own mode; its whole raw distributions
    # replayed through the chain (post-sampling on a raw engine: server/sampling/replay.py);
    # or one prefill per position (raw on a processed engine).
    logprobs_from: Literal["engine", "replay", "prefills"] = "engine"
    prompt_logprobs: int | None = None
    stream: bool = False
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    grammar: str | None = None  # tool calls (server/tools/grammar.py)
    stop_repeated_calls: bool = False  # server/tools/repeats.py (streams from the engine)


@dataclass(frozen=True)
class EffectiveSampling:
    """The values a request really samples with: its own, else its preset's, else the
    server's defaults (never the model's generation_config)."""

    temperature: float
    top_p: float
    top_k: int  # 0: off
    min_p: float
    presence_penalty: float
    frequency_penalty: float
    repetition_penalty: float
    seed: int | None
    logit_bias: dict[int, float]
    ignore_eos: bool = False
    samplers: SamplerConfig = dataclasses.field(default_factory=SamplerConfig)
    order: tuple[StageName, ...] = parse_order(DEFAULT_ORDER)

    def chain_values(self) -> ChainValues:
        return ChainValues(
            order=self.order,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            min_p=self.min_p,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
            repetition_penalty=self.repetition_penalty,
        )

    @property
    def native(self) -> bool:
        """Whether vLLM's own sampler runs this chain (else: this server's processor)."""
        values = self.chain_values()
        return runs_natively(self.order, lambda stage: stage_active(stage, values, self.samplers))

    def filters(self) -> Filters:
        """The stages the inspector recomputes, with the values the engine samples with."""
        return Filters(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            min_p=self.min_p,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
            samplers=self.samplers,
        )


def resolve(fields: SamplerFields, defaults: SamplingDefaults) -> EffectiveSampling:
    """The request's values over its preset's over the server's defaults; a stage its order
    leaves out does not run (llama.cpp's rule), so its values are the neutral ones."""
    preset = PRESETS[fields.preset] if fields.preset else None

    def pick(name: str, default: float) -> float:
        own = getattr(fields, name)
        if own is not None:
            return own
        from_preset = getattr(preset, name, None) if preset else None
        return default if from_preset is None else from_preset

    sampling = EffectiveSampling(
        temperature=pick("temperature", defaults.temperature),
        top_p=pick("top_p", defaults.top_p),
        top_k=max(int(pick("top_k", defaults.top_k)), 0),
        min_p=pick("min_p", defaults.min_p),
        presence_penalty=pick("presence_penalty", 0.0),
        frequency_penalty=pick("frequency_penalty", 0.0),
        repetition_penalty=pick("repetition_penalty", defaults.repetition_penalty),
        seed=fields.seed,
        logit_bias={int(k): v for k, v in (fields.logit_bias or {}).items()},
        ignore_eos=fields.ignore_eos,
        samplers=sampler_config(fields),
        order=parse_order(DEFAULT_ORDER if fields.samplers is None else fields.samplers),
    )
    return without(sampling, [stage for stage in STAGES if stage not in sampling.order])


# What turns off each stage vLLM runs itself (the others declare theirs with their
# parameters: server/protocol/samplers.py).
_OFF: dict[str, dict[str, Any]] = {
    "penalties": {"presence_penalty": 0.0, "frequency_penalty": 0.0, "repetition_penalty": 1.0},
    "top_k": {"top_k": 0},
    "top_p": {"top_p": 1.0},
    "min_p": {"min_p": 0.0},
    "temperature": {"temperature": 1.0},
}


def off(stage: StageName) -> dict[str, Any]:
    if stage in _OFF:
        return _OFF[stage]
    return {
        name: p.off
        for name, p in sampler_params().items()
        if p.stage == stage and p.off is not None
    }


def without(sampling: EffectiveSampling, stages: list[StageName]) -> EffectiveSampling:
    own = {k: v for stage in stages for k, v in off(stage).items() if hasattr(sampling, k)}
    extra = {k: v for stage in stages for k, v in off(stage).items() if k not in own}
    return dataclasses.replace(
        sampling, **own, samplers=dataclasses.replace(sampling.samplers, **extra)
    )


def sampler_config(fields: SamplerFields) -> SamplerConfig:
    """The extra samplers a request set; each unset field keeps llama.cpp's default."""
    given = {
        f.name: getattr(fields, f.name)
        for f in dataclasses.fields(SamplerConfig)
        if getattr(fields, f.name) is not None
    }
    if "dry_sequence_breakers" in given:
        given["dry_sequence_breakers"] = tuple(given["dry_sequence_breakers"])
    return SamplerConfig(**given)


@dataclass(frozen=True)
class TokenRules:
    """vLLM's extensions beyond OpenAI's sampling fields: a floor on the length, token ids
    that stop, words never written, the only ids that may be, stop strings kept."""

    min_tokens: int = 0
    stop_token_ids: tuple[int, ...] = ()
    bad_words: tuple[str, ...] = ()
    allowed_token_ids: tuple[int, ...] = ()
    include_stop_str_in_output: bool = False


def token_rules(fields: SamplingFields) -> TokenRules:
    return TokenRules(
        min_tokens=fields.min_tokens,
        stop_token_ids=tuple(fields.stop_token_ids or ()),
        bad_words=tuple(fields.bad_words or ()),
        allowed_token_ids=tuple(fields.allowed_token_ids or ()),
        include_stop_str_in_output=fields.include_stop_str_in_output,
    )


def choice_seed(seed: int | None, index: int) -> int | None:
    """Each of the n choices is its own engine request; like vLLM's own parallel sampling,
    choice i draws with seed + i, so n > 1 with a seed gives n different, reproducible
    answers. The sum is folded into 0 … 2**64-1, the range the engine serialises and seeds
    with (a negative seed included: vLLM would read -1 as "no seed")."""
    return None if seed is None else (seed + index) % 2**64


# vLLM's sampling with nothing to do: the chain processor did it all.
NEUTRAL = EffectiveSampling(
    temperature=1.0,
    top_p=1.0,
    top_k=0,
    min_p=0.0,
    presence_penalty=0.0,
    frequency_penalty=0.0,
    repetition_penalty=1.0,
    seed=None,
    logit_bias={},
)

# vLLM needs top_p > 0; the smallest positive value keeps what top_p 0 means, only the most
# likely token (the nucleus always keeps one).
MIN_TOP_P = 1e-9


def to_sampling_params(
    sampling: EffectiveSampling,
    output: OutputRequest,
    stop: list[str] | None = None,
    index: int = 0,
    rules: TokenRules = TokenRules(),
    samplers: SamplerArgs | None = None,
) -> SamplingParams:
    """`samplers`: the extra samplers with their breaker ids and coin seed
    (server/services/samplers.py), None when the request uses none. A chain that runs as
    this server's processor leaves vLLM's own sampling neutral."""
    own = sampling if samplers is None or samplers.chain is None else NEUTRAL
    return SamplingParams(
        n=1,
        temperature=own.temperature,
        top_p=max(own.top_p, MIN_TOP_P),
        top_k=own.top_k,
        min_p=own.min_p,
        presence_penalty=own.presence_penalty,
        frequency_penalty=own.frequency_penalty,
        repetition_penalty=own.repetition_penalty,
        seed=choice_seed(sampling.seed, index),
        stop=stop or None,
        stop_token_ids=list(rules.stop_token_ids) or None,
        include_stop_str_in_output=rules.include_stop_str_in_output,
        min_tokens=rules.min_tokens,
        bad_words=list(rules.bad_words) or None,
        allowed_token_ids=list(rules.allowed_token_ids) or None,
        ignore_eos=sampling.ignore_eos,
        max_tokens=output.max_tokens,
        logprobs=_engine_logprobs(output),
        flat_logprobs=output.logprobs_from == "replay",
        prompt_logprobs=output.prompt_logprobs,
        logit_bias=sampling.logit_bias or None,
        structured_outputs=_structured(output),
        extra_args=samplers.to_extra_args() if samplers else None,
        output_kind=RequestOutputKind.DELTA
        if output.stream or output.stop_repeated_calls
        else RequestOutputKind.FINAL_ONLY,
    )


_SCALAR = bounded({"type": ["string", "number", "boolean", "null"]})
_SCALARS = {"type": "array", "items": _SCALAR, "maxItems": 8}
_INNER = {
    "type": "object",
    "maxProperties": 8,
    "additionalProperties": {"anyOf": [_SCALAR, _SCALARS]},
}
# `json_object`: a JSON object at most two levels deep, with at most 8 members per object or
# array. Any JSON object lets a small model at temperature 0 nest or list without end and
# never close it (measured in docs/api/structured-output.md); this bound makes every answer
# finish. A request that needs another shape says so with `json_schema`.
JSON_OBJECT_SCHEMA = {
    "type": "object",
    "maxProperties": 8,
    "additionalProperties": {"anyOf": [_SCALAR, _SCALARS, _INNER]},
}


def _engine_logprobs(output: OutputRequest) -> int | None:
    if output.logprobs is None or output.logprobs_from == "engine":
        return output.logprobs
    return -1 if output.logprobs_from == "replay" else None


def _structured(output: OutputRequest) -> StructuredOutputsParams | None:
    """response_format and tool calls through vLLM's structured outputs (grammar-constrained
    decoding)."""
    if output.grammar is not None:
        return StructuredOutputsParams(grammar=output.grammar)
    if output.json_schema is not None:
        return StructuredOutputsParams(json=output.json_schema)
    if output.json_object:
        return StructuredOutputsParams(json=JSON_OBJECT_SCHEMA)
    return None
