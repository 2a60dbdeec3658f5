"""The one place where settings become vLLM engine arguments."""

from __future__ import annotations

from vllm.engine.arg_utils import AsyncEngineArgs

from server.settings import Settings


def engine_args(settings: Settings, model: str, served_model_name: str) -> AsyncEngineArgs:
    """Engine arguments for a resolved model. `generation_config="vllm"` keeps the model's
    generation_config.json from silently changing sampling defaults; logprobs are the raw
    model distribution, as OpenAI reports them."""
    return AsyncEngineArgs(
        model=model,
        served_model_name=served_model_name,
        dtype=settings.dtype,
        quantization=settings.quantization,
        max_model_len=settings.max_model_len,
        gpu_memory_utilization=settings.gpu_memory_utilization,
        enforce_eager=settings.enforce_eager,
        max_num_seqs=settings.max_num_seqs,
        max_logprobs=settings.max_logprobs,
        tensor_parallel_size=settings.tensor_parallel_size,
        seed=settings.engine_seed,
        generation_config="vllm",
        logprobs_mode="raw_logprobs",
        disable_log_stats=True,
    )
