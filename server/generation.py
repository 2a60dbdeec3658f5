"""What the chat and completions endpoints share: the model check, the context budget, and
running the n choices of one prompt as engine requests."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from vllm.exceptions import VLLMClientError
from vllm.v1.engine.exceptions import EngineDeadError

from server.api_error import APIError
from server.engine import Engine, ModelInfo
from server.outputs import ChoiceOutput, to_delta
from server.sampling import OutputRequest, resolve, to_sampling_params
from server.schemas.chat import ChatMessage
from server.schemas.common import PromptTokensDetails, SamplingFields, SamplingKnobs, Usage
from server.settings import SamplingDefaults
from server.streams import merge
from server.tools.plan import ToolPlan
from server.tools.render import template_input
from server.tools.repeats import without_repeats


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Usage:
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached_tokens),
    )


class CachedTokens:
    """Prompt tokens found in the prefix cache, as usage reports them: per prompt, the first
    choice's count (the other choices of the same prompt reuse what it computed)."""

    def __init__(self, choices_per_prompt: int = 1) -> None:
        self._per_prompt = choices_per_prompt
        self._counts: dict[int, int] = {}

    def see(self, delta: ChoiceOutput) -> None:
        if delta.index % self._per_prompt == 0:
            self._counts[delta.index] = max(self._counts.get(delta.index, 0), delta.cached_tokens)

    @property
    def total(self) -> int:
        return sum(self._counts.values())


def check_model(requested: str, info: ModelInfo) -> None:
    if requested != info.id:
        raise APIError(
            f"The model `{requested}` does not exist. This server serves `{info.id}`.",
            status=404,
            param="model",
            code="model_not_found",
        )


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


def render_messages(
    engine: Engine,
    messages: Sequence[ChatMessage],
    add_generation_prompt: bool = True,
    plan: ToolPlan | None = None,
    param: str = "messages",
) -> list[int]:
    """Messages (and tools) through the model's chat template, as chat, Responses, the
    inspector and tokenize all need them; a template that refuses them is the caller's 400."""
    turns, tools = template_input(messages, plan, engine.info.template)
    try:
        return engine.apply_chat_template(turns, add_generation_prompt, tools)
    except Exception as exc:
        raise APIError(
            f"The messages could not be formatted with the model's chat template: {exc}",
            param=param,
        ) from exc


def check_logit_bias(fields: SamplingKnobs, info: ModelInfo) -> None:
    for key in fields.logit_bias or {}:
        if not 0 <= int(key) < info.vocab_size:
            raise APIError(
                f"Invalid key in 'logit_bias': {key} is not a token id of this model "
                f"(0 to {info.vocab_size - 1}).",
                param="logit_bias",
                code="invalid_value",
            )


def check_token_ids(ids: Sequence[int], info: ModelInfo, param: str) -> None:
    """Token ids a caller sent must be in the served model's vocabulary (the schema can
    only bound them by the widest vocabulary)."""
    bad = [t for t in ids if not 0 <= t < info.vocab_size]
    if bad:
        raise APIError(
            f"Token ids outside the vocabulary (0 to {info.vocab_size - 1}): {bad[:5]}",
            param=param,
            code="invalid_value",
        )


def check_stream_options(fields: SamplingFields) -> None:
    if fields.stream_options is not None and not fields.stream:
        raise APIError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )


def choice_deltas(
    engine: Engine,
    prompt_ids: Sequence[int],
    fields: SamplingFields,
    defaults: SamplingDefaults,
    output: OutputRequest,
    request_id: str,
    first_index: int = 0,
) -> AsyncIterator[ChoiceOutput]:
    """One engine request per choice, merged. vLLM refuses n > 1 with greedy decoding;
    OpenAI answers it with n identical choices, so n is fanned out here instead."""
    top_n = max(output.logprobs or 0, output.prompt_logprobs or 0)
    sampling = resolve(fields, defaults)
    stop = fields.stop_list()

    async def one(index: int) -> AsyncIterator[ChoiceOutput]:
        params = to_sampling_params(sampling, output, stop, index - first_index)
        request = engine.generate(prompt_ids, params, f"{request_id}-{index}")
        async with contextlib.aclosing(request) as outputs:  # type: ignore[type-var]
            try:
                async for out in outputs:
                    delta = to_delta(out, index, top_n)
                    if delta.finish_reason not in (None, "stop", "length"):
                        raise APIError(
                            "The server had an error while processing your request.",
                            status=500,
                            type="server_error",
                        )
                    yield delta
            except VLLMClientError as exc:
                # What vLLM refuses as the caller's mistake (an unusable schema, say).
                raise APIError(str(exc), param=getattr(exc, "parameter", None)) from exc
            except EngineDeadError as exc:
                raise APIError(
                    "The engine stopped working; retry on another replica or after a restart.",
                    status=503,
                    type="service_unavailable",
                    code="engine_unavailable",
                ) from exc

    if output.stop_repeated_calls:
        whole = not output.stream
        return merge([without_repeats(one(first_index + i), whole) for i in range(fields.n)])
    return merge([one(first_index + i) for i in range(fields.n)])
