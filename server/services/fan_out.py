"""One prompt's n choices as engine requests, merged into one stream of deltas."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence

from vllm.exceptions import VLLMClientError
from vllm.v1.engine.exceptions import EngineDeadError

from server.engine.engine import Engine
from server.protocol.common import SamplingFields
from server.protocol.errors import APIError
from server.sampling.outputs import ChoiceOutput, to_delta
from server.sampling.params import (
    EffectiveSampling,
    OutputRequest,
    to_sampling_params,
    token_rules,
)
from server.sampling.replay import PostSampling, Replay, top_logprobs
from server.services.samplers import sampler_args
from server.services.streams import merge
from server.tools.repeats import without_repeats


def choice_deltas(
    engine: Engine,
    prompt_ids: Sequence[int],
    fields: SamplingFields,
    sampling: EffectiveSampling,
    output: OutputRequest,
    request_id: str,
    first_index: int = 0,
) -> AsyncIterator[ChoiceOutput]:
    """One engine request per choice, merged. vLLM refuses n > 1 with greedy decoding;
    OpenAI answers it with n identical choices, so n is fanned out here instead."""
    top_n = max(output.logprobs or 0, output.prompt_logprobs or 0)
    stop = fields.stop_list()
    rules = token_rules(fields)

    async def one(index: int) -> AsyncIterator[ChoiceOutput]:
        choice = index - first_index
        samplers = sampler_args(sampling, engine.vocabulary, choice)
        params = to_sampling_params(sampling, output, stop, choice, rules, samplers)
        post_sampling = None
        if output.logprobs_from == "replay":
            replay = Replay(sampling, samplers, prompt_ids, rules.allowed_token_ids)
            post_sampling = PostSampling(replay, engine.info.vocab_size)
        written: list[int] = []
        request = engine.generate(prompt_ids, params, f"{request_id}-{index}")
        async with contextlib.aclosing(request) as outputs:  # type: ignore[type-var]
            try:
                async for out in outputs:
                    delta = to_delta(out, index, top_n, post_sampling)
                    if output.logprobs_from == "prefills" and output.logprobs is not None:
                        rid = f"{request_id}-{index}-raw"
                        delta = await raw_by_prefills(engine, prompt_ids, written, delta, rid)
                    written += delta.token_ids
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

    async def raw_by_prefills(
        engine: Engine, prompt_ids: Sequence[int], written: list[int], delta: ChoiceOutput, rid: str
    ) -> ChoiceOutput:
        """Raw logprobs on an engine that reports processed ones: each new position's whole
        distribution read through its own prefill (the prefix cache holds the rest)."""
        context = [*prompt_ids, *written]
        logprobs = []
        for token in delta.token_ids:
            row = await engine.next_token_distribution(context, f"{rid}-{len(context)}")
            logprobs.append(top_logprobs(token, row, output.logprobs or 0))
            context.append(token)
        return dataclasses.replace(delta, logprobs=tuple(logprobs))

    if output.stop_repeated_calls:
        whole = not output.stream
        return merge([without_repeats(one(first_index + i), whole) for i in range(fields.n)])
    return merge([one(first_index + i) for i in range(fields.n)])
