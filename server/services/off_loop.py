"""Templating and tokenization grow with the input (a 100k-character prompt takes a while):
they run in one worker thread, not on the event loop, so /health, /metrics and every stream
keep answering meanwhile. One thread, as vLLM's own server does: the Rust tokenizer must not
be used by two threads at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
A = TypeVar("A")

_PREPARE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")


async def off_loop(work: Callable[[A], T], argument: A) -> T:
    return await asyncio.get_running_loop().run_in_executor(_PREPARE, work, argument)
