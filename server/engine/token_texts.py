"""vLLM writes the text of every candidate it reports in logprobs by decoding each token on
its own, on the event loop's thread: for whole-vocabulary logprobs (post-sampling logprobs
replayed on a raw engine, server/sampling/replay.py) that is 49,152 decodes per position,
about 0.4 s. A single token's text never changes, so the tokenizer the engine uses keeps
each one after its first decode (about 12 ms per position then)."""

from __future__ import annotations

from functools import cache
from typing import Any


def cache_single_token_texts(tokenizer: Any) -> None:
    decode = tokenizer.decode

    @cache
    def one(token_id: int) -> str:
        return decode([token_id])

    def cached(ids: Any, *args: Any, **kwargs: Any) -> str:
        if not args and not kwargs and isinstance(ids, list) and len(ids) == 1:
            return one(ids[0])
        return decode(ids, *args, **kwargs)

    tokenizer.decode = cached
