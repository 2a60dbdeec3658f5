"""OpenAI request fields -> vLLM SamplingParams (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from vllm import SamplingParams
from vllm.sampling_params import RequestOutputKind

from server.schemas.common import SamplingFields
from server.settings import SamplingDefaults


@dataclass(frozen=True)
class OutputRequest:
    """What one engine request must produce, decided by the endpoint."""

    max_tokens: int
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    stream: bool = False


def choice_seed(seed: int | None, index: int) -> int | None:
    """Each of the n choices is its own engine request; like vLLM's own parallel sampling,
    choice i draws with seed + i, so n > 1 with a seed gives n different, reproducible
    answers."""
    return None if seed is None else seed + index


def to_sampling_params(
    fields: SamplingFields,
    defaults: SamplingDefaults,
    output: OutputRequest,
    index: int = 0,
) -> SamplingParams:
    """Unset fields take the server's defaults, never the model's generation_config."""

    def pick(value: float | None, default: float) -> float:
        return default if value is None else value

    top_k = fields.top_k if fields.top_k is not None else defaults.top_k
    logit_bias = {int(k): v for k, v in fields.logit_bias.items()} if fields.logit_bias else None
    return SamplingParams(
        n=1,
        temperature=pick(fields.temperature, defaults.temperature),
        top_p=pick(fields.top_p, defaults.top_p),
        top_k=max(top_k, 0),
        min_p=pick(fields.min_p, defaults.min_p),
        presence_penalty=pick(fields.presence_penalty, 0.0),
        frequency_penalty=pick(fields.frequency_penalty, 0.0),
        repetition_penalty=pick(fields.repetition_penalty, defaults.repetition_penalty),
        seed=choice_seed(fields.seed, index),
        stop=fields.stop_list() or None,
        max_tokens=output.max_tokens,
        logprobs=output.logprobs,
        prompt_logprobs=output.prompt_logprobs,
        logit_bias=logit_bias,
        output_kind=RequestOutputKind.DELTA if output.stream else RequestOutputKind.FINAL_ONLY,
    )
