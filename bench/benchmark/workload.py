"""The benchmark's fixed workload and how it is driven: the same prompt ids and output length
for every target, each concurrency level run to a request count, streamed and not."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.benchmark.report import CpuUse, Result, Sample, report, summarise


def resolve(config: str):
    """The settings, model path and served name a config gives this server."""
    from server.__main__ import resolve_model
    from server.settings import load_settings

    settings = load_settings(["--config", config])
    model, served = resolve_model(settings)
    return settings, model, served


@dataclass(frozen=True)
class Workload:
    prompt_ids: list[int]
    prompt_text: str  # the ids decoded, for llama.cpp
    eos_id: int
    output_tokens: int
    levels: list[int]
    requests_per_level: int

    def requests(self, concurrency: int) -> int:
        return max(self.requests_per_level, 4 * concurrency)


def workload(args: argparse.Namespace) -> Workload:
    # a fixed, model-independent prompt: token ids 1000..1000+P (every vocabulary has them)
    prompt = [1000 + (i * 7) % 5000 for i in range(args.prompt_tokens)]
    text, eos = "", -1
    if "llamacpp" in args.targets:  # its API takes text: the ids decoded by the model's tokenizer
        from transformers import AutoTokenizer

        settings, model, _ = resolve(args.config)
        if settings.model is not None:
            raise SystemExit("the llamacpp target serves the embedded model: use a CPU preset")
        tokenizer = AutoTokenizer.from_pretrained(model)
        text, eos = tokenizer.decode(prompt), tokenizer.eos_token_id
    return Workload(prompt, text, eos, args.output_tokens, args.concurrency, args.requests)


async def run_level(
    one: Callable[[], Awaitable[Sample]], concurrency: int, total: int, front: Callable[[], float]
) -> tuple[list[Sample], float, CpuUse]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    samples: list[Sample] = []

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            samples.append(await one())

    front_before, client_before = front(), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    cpu = CpuUse(front() - front_before, time.process_time() - client_before)
    return samples, seconds, cpu


async def run_levels(
    target: str,
    work: Workload,
    one: Callable[[bool], Awaitable[Sample]],
    front: Callable[[], float],
    in_process: bool,
) -> list[Result]:
    results = []
    await one(True)  # warm-up
    for stream in (True, False):
        for level in work.levels:
            samples, seconds, cpu = await run_level(
                lambda s=stream: one(s), level, work.requests(level), front
            )
            if in_process:  # the front end and the "client" are this one process
                cpu = CpuUse(cpu.client, 0.0)
            results.append(summarise(target, level, stream, samples, seconds, cpu))
            report(results[-1])
    return results
