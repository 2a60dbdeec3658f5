"""Output tokens/s of a batch of completions at a fixed concurrency: the load loop of the
cost benches (sampler_cost, chain_cost). Every request gets exactly the tokens it asks for
(ignore_eos), or the run stops with the server's answer: no silent zeros."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

# A fixed prompt of 64 token ids (no tokenizer in the way).
PROMPT = [1000 + (i * 7) % 5000 for i in range(64)]


class RequestFailed(Exception):
    """A request the server refused or answered short: the run stops with its body."""


async def tokens_per_s(
    http: httpx.AsyncClient,
    model: str,
    body_of: Callable[[int], dict[str, Any]],
    streams: int,
    requests: int,
    tokens: int,
    name: str,
) -> float:
    """`requests` completions of PROMPT, `streams` at a time; request i adds `body_of(i)`
    to the common body and is seeded with i."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    produced = 0

    async def worker() -> None:
        nonlocal produced
        while not queue.empty():
            i = queue.get_nowait()
            extra = body_of(i)
            body = {
                "model": model,
                "prompt": PROMPT,
                "max_tokens": tokens,
                "ignore_eos": True,
                "seed": i,
                **extra,
            }
            response = await http.post("/v1/completions", json=body)
            if response.status_code != 200:
                raise RequestFailed(f"{name}: HTTP {response.status_code}: {response.text}")
            answer = response.json()
            made = answer["usage"]["completion_tokens"]
            if made != tokens:
                raise RequestFailed(f"{name}: {made} tokens, not {tokens}: {response.text}")
            if "logprobs" in extra and not answer["choices"][0].get("logprobs"):
                raise RequestFailed(f"{name}: no logprobs in the answer: {response.text}")
            produced += made

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(streams)))
    return produced / (time.perf_counter() - started)
