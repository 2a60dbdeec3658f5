"""vLLM's RequestOutput -> this server's own records (pure), so that the response code does
not depend on vLLM's types."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vllm.logprobs import Logprob
from vllm.outputs import RequestOutput

# JSON has no -inf; vLLM's own server uses the same stand-in for filtered-out tokens.
LOGPROB_FLOOR = -9999.0


def finite(logprob: float) -> float:
    """A logprob that JSON can carry: -inf and NaN become LOGPROB_FLOOR."""
    if math.isnan(logprob) or logprob < LOGPROB_FLOOR:
        return LOGPROB_FLOOR
    return logprob


@dataclass(frozen=True)
class TokenLogprob:
    token_id: int
    logprob: float
    top: tuple[tuple[int, float], ...]  # the most likely tokens, best first


@dataclass(frozen=True)
class ChoiceOutput:
    """New output of one choice since the last delta (all of it when not streaming)."""

    index: int
    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[TokenLogprob, ...] | None
    finish_reason: str | None
    prompt_logprobs: tuple[TokenLogprob | None, ...] | None
    cached_tokens: int = 0  # prompt tokens the engine's prefix cache already held


def token_logprob(token_id: int, candidates: Mapping[int, Logprob], top_n: int) -> TokenLogprob:
    ranked = sorted(candidates.items(), key=lambda item: (item[1].rank or 0, -item[1].logprob))
    top = tuple((tid, finite(lp.logprob)) for tid, lp in ranked[:top_n])
    chosen = candidates.get(token_id)
    return TokenLogprob(token_id, finite(chosen.logprob) if chosen else LOGPROB_FLOOR, top)


def _sample_logprobs(
    token_ids: Sequence[int],
    positions: Sequence[Mapping[int, Logprob] | None] | None,
    top_n: int,
) -> tuple[TokenLogprob, ...] | None:
    if positions is None:
        return None
    return tuple(
        token_logprob(tid, pos or {}, top_n) for tid, pos in zip(token_ids, positions, strict=False)
    )


def _prompt_logprobs(
    token_ids: Sequence[int],
    positions: Sequence[Mapping[int, Logprob] | None] | None,
    top_n: int,
) -> tuple[TokenLogprob | None, ...] | None:
    if positions is None:
        return None
    return tuple(
        None if pos is None else token_logprob(tid, pos, top_n)
        for tid, pos in zip(token_ids, positions, strict=False)
    )


# Post-sampling logprobs of the new tokens from their whole raw distributions (replay.py).
PostSamplingLogprobs = Callable[[Sequence[int], Any, int], tuple[TokenLogprob, ...] | None]


def to_delta(
    out: RequestOutput, index: int, top_n: int, post_sampling: PostSamplingLogprobs | None = None
) -> ChoiceOutput:
    """One engine request carries one choice (n is fanned out by the caller). Every
    generated token has its logprob, the end-of-sequence token that ended the answer
    included: it adds no text, but it counts in usage, and its probability is the model's
    probability of stopping there."""
    completion = out.outputs[0]
    token_ids = tuple(completion.token_ids)
    if post_sampling is not None:
        logprobs = post_sampling(token_ids, completion.logprobs, top_n)
    else:
        logprobs = _sample_logprobs(token_ids, completion.logprobs, top_n)
    return ChoiceOutput(
        index=index,
        text=completion.text,
        token_ids=token_ids,
        logprobs=logprobs,
        finish_reason=completion.finish_reason,
        prompt_logprobs=_prompt_logprobs(out.prompt_token_ids or (), out.prompt_logprobs, top_n),
        cached_tokens=out.num_cached_tokens or 0,
    )
