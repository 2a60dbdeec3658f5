"""The context budget: how many tokens a request may generate, or why it cannot run."""

from __future__ import annotations

from dataclasses import dataclass

from server.engine.engine import ModelInfo
from server.protocol.errors import APIError


@dataclass(frozen=True)
class Limits:
    """Operator caps below the model's own context, and on an inspection's work."""

    max_prompt_tokens: int | None = None
    max_tokens: int | None = None
    max_inspect_candidates: int = 32_000
    inspect_prefills: int = 4


def output_budget(
    prompt_tokens: int,
    requested: int | None,
    info: ModelInfo,
    prompt_param: str,
    limits: Limits = Limits(),
    output_param: str = "max_tokens",
) -> int:
    """How many tokens may be generated; unset means up to the end of the context (or the
    operator's cap), as OpenAI's chat API does. Too long a request is refused with the
    sizes, never truncated."""
    if limits.max_prompt_tokens is not None and prompt_tokens > limits.max_prompt_tokens:
        raise APIError(
            f"The prompt has {prompt_tokens} tokens; this server accepts at most "
            f"{limits.max_prompt_tokens}.",
            param=prompt_param,
            code="prompt_too_long",
        )
    if limits.max_tokens is not None and requested is not None and requested > limits.max_tokens:
        raise APIError(
            f"{output_param} is {requested}; this server allows at most {limits.max_tokens}.",
            param=output_param,
            code="invalid_value",
        )
    limit = info.max_model_len
    available = limit - prompt_tokens
    if requested is None and available >= 1:
        return min(available, limits.max_tokens or available)
    if requested is not None and prompt_tokens + requested <= limit:
        return requested
    asked = prompt_tokens + (requested or 1)
    raise APIError(
        f"This model's maximum context length is {limit} tokens. However, you requested "
        f"{asked} tokens ({prompt_tokens} in the {prompt_param}, {requested or 1} in the "
        f"completion). Please reduce the length of the {prompt_param} or completion.",
        param=prompt_param,
        code="context_length_exceeded",
    )
