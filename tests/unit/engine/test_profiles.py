"""Each preset resolves to exactly the engine arguments it promises."""

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from server.engine.config import engine_args, fit_dtype
from server.settings import CONFIG_DIR, load_settings

CPU = {
    "max_model_len": 8192,
    "gpu_memory_utilization": 0.3,
    "enforce_eager": True,
    "max_num_seqs": 64,
    "quantization": None,
}
PROMISES = {
    "cpu.yaml": {"dtype": "float32", **CPU},
    "cpu-bf16.yaml": {"dtype": "bfloat16", **CPU},
    "phi35-awq-6gb.yaml": {
        "model": "thesven/Phi-3.5-mini-instruct-awq",
        "served_model_name": "Phi-3.5-mini-instruct",
        "dtype": "half",
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.85,
        "enforce_eager": True,
        "max_num_seqs": 8,
    },
    "phi35-awq-24gb.yaml": {
        "model": "thesven/Phi-3.5-mini-instruct-awq",
        "dtype": "half",
        "max_model_len": 32768,
        "gpu_memory_utilization": 0.9,
        "enforce_eager": False,
        "max_num_seqs": 64,
    },
}
ALWAYS = {
    "generation_config": "vllm",
    "logprobs_mode": "raw_logprobs",
    "max_logprobs": -1,
    "tensor_parallel_size": 1,
    "pipeline_parallel_size": 1,
}


def test_every_profile_is_covered():
    assert {p.name for p in CONFIG_DIR.glob("*.yaml")} == set(PROMISES)


@pytest.mark.parametrize("preset", sorted(PROMISES))
def test_profile_engine_arguments(preset):
    settings = load_settings(["--config", str(CONFIG_DIR / preset)])
    model = settings.model or "/cache/embedded"
    args = engine_args(settings, model, settings.served_model_name or model)
    for name, value in {**PROMISES[preset], **ALWAYS}.items():
        assert getattr(args, name) == pytest.approx(value), name


def test_the_kv_cache_budget_of_the_laptop_profile_fits_a_6_gb_card():
    """384 KiB per token in fp16: the context must fit beside ~3 GB of weights and runtime."""
    settings = load_settings(["--config", str(CONFIG_DIR / "phi35-awq-6gb.yaml")])
    kv_bytes = settings.max_model_len * 384 * 1024
    usable = 6 * 2**30 * settings.gpu_memory_utilization
    assert kv_bytes + 3 * 2**30 < usable


def test_distributed_settings_pass_through(tmp_path: Path):
    settings = load_settings(
        [
            "--tensor-parallel-size",
            "2",
            "--pipeline-parallel-size",
            "2",
            "--distributed-executor-backend",
            "ray",
        ]
    )
    args = engine_args(settings, "m", "m")
    assert (args.tensor_parallel_size, args.pipeline_parallel_size) == (2, 2)
    assert args.distributed_executor_backend == "ray"


def test_cpu_profile_environment():
    from server.engine.config import engine_environment

    settings = load_settings(["--config", str(CONFIG_DIR / "cpu.yaml")])
    env = engine_environment(settings, preload=["/lib/a.so", "/lib/b.so"], cpu=True)
    assert env == {"VLLM_CPU_NUM_OF_RESERVED_CPU": "0", "LD_PRELOAD": "/lib/a.so:/lib/b.so"}
    gpu = load_settings(["--config", str(CONFIG_DIR / "phi35-awq-6gb.yaml")])
    assert engine_environment(gpu, cpu=False) == {}


def test_several_cpu_workers_get_a_binding_that_works_here(monkeypatch):
    from server.engine.config import engine_environment

    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    one_node = {0: [0, 1, 2, 3]}
    tp2 = load_settings(["--tensor-parallel-size", "2", "--no-cpu-preload"])
    env = engine_environment(tp2, cpu=True, nodes=one_node)
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1|2-3"
    dp2_tp2 = load_settings(["--tensor-parallel-size", "2", "--data-parallel-size", "2"])
    assert (
        engine_environment(dp2_tp2, cpu=True, nodes=one_node)["VLLM_CPU_OMP_THREADS_BIND"]
        == "0|1|2|3"
    )
    # a NUMA node per worker: vLLM's own binding
    two_nodes = {0: [0, 1], 1: [2, 3]}
    assert "VLLM_CPU_OMP_THREADS_BIND" not in engine_environment(tp2, cpu=True, nodes=two_nodes)
    # one given by hand is kept
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "1|0")
    assert "VLLM_CPU_OMP_THREADS_BIND" not in engine_environment(tp2, cpu=True, nodes=one_node)
    assert "VLLM_CPU_OMP_THREADS_BIND" not in engine_environment(tp2, cpu=False)


def test_pipeline_parallel_and_ray_are_refused_on_the_cpu_engine_only():
    from server.engine.config import check_parallelism

    pp2 = load_settings(["--pipeline-parallel-size", "2"])
    with pytest.raises(SystemExit, match="pipeline_parallel_size"):
        check_parallelism(pp2, cpu=True)
    check_parallelism(pp2, cpu=False)
    ray = load_settings(["--distributed-executor-backend", "ray"])
    with pytest.raises(SystemExit, match="ray"):
        check_parallelism(ray, cpu=True)
    check_parallelism(ray, cpu=False)


@dataclasses.dataclass
class Args:
    """The part of vLLM's engine arguments fit_dtype reads."""

    model: str
    dtype: str
    quantization: str | None

    def create_model_config(self) -> SimpleNamespace:
        return SimpleNamespace(quantization=self.quantization)


@pytest.mark.parametrize(
    ("dtype", "quantization", "cpu", "fitted"),
    [
        ("float32", "compressed-tensors", True, "bfloat16"),
        ("float32", "awq", True, "bfloat16"),
        ("float32", None, True, "float32"),
        ("bfloat16", "awq", True, "bfloat16"),
        ("float32", "awq", False, "float32"),
        ("half", "awq", False, "half"),
    ],
)
def test_a_quantized_checkpoint_gets_16_bit_activations_on_the_cpu(
    dtype, quantization, cpu, fitted
):
    """vLLM's CPU 4-bit GEMM has no float32 kernel: the engine would die at the first request."""
    assert fit_dtype(Args("m", dtype, quantization), cpu).dtype == fitted
