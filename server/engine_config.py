"""The one place where settings become vLLM engine arguments."""

from __future__ import annotations

from vllm.engine.arg_utils import AsyncEngineArgs

from server.settings import Settings

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
    )
