"""`system_fingerprint` changes with whatever changes the arithmetic, and only with that."""

from server.engine.fingerprint import (
    KernelPath,
    cpu_kernel_class,
    kernel_path,
    system_fingerprint,
)

SETTINGS = {"dtype": "float32", "enforce_eager": True, "max_num_seqs": 64}
WEIGHTS = {"config.json": "abc", "model.safetensors": 1234}
AMX = KernelPath("cpu AMX")


def test_cpu_classes_from_flags():
    assert cpu_kernel_class({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}) == "AMX"
    assert cpu_kernel_class({"avx2", "avx512f", "avx512_bf16"}) == "AVX512_BF16"
    assert cpu_kernel_class({"avx2", "avx512f"}) == "AVX512"
    assert cpu_kernel_class({"avx2", "fma"}) == "AVX2"
    assert cpu_kernel_class({"asimd"}) == "baseline"


def test_limits_come_from_the_environment():
    limited = kernel_path(None, {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"})
    assert limited.device.startswith("cpu ")
    assert dict(limited.limits) == {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    assert kernel_path(None, {"HOME": "/root"}).limits == ()
    assert kernel_path("NVIDIA GeForce RTX 2060 sm_75", {"ONEDNN_MAX_CPU_ISA": "AVX2"}) == (
        KernelPath("NVIDIA GeForce RTX 2060 sm_75")
    )


def test_the_fingerprint_tells_kernel_paths_apart():
    base = system_fingerprint(SETTINGS, WEIGHTS, AMX)
    assert base.startswith("fp_") and len(base) == 15
    assert base == system_fingerprint(SETTINGS, WEIGHTS, KernelPath("cpu AMX"))
    others = {
        system_fingerprint(SETTINGS, WEIGHTS, KernelPath("cpu AVX2")),
        system_fingerprint(
            SETTINGS, WEIGHTS, KernelPath("cpu AMX", (("ATEN_CPU_CAPABILITY", "avx2"),))
        ),
        system_fingerprint(SETTINGS, WEIGHTS, KernelPath("NVIDIA H100 sm_90")),
        system_fingerprint(SETTINGS | {"dtype": "bfloat16"}, WEIGHTS, AMX),
    }
    assert base not in others and len(others) == 4


def test_sizes_and_limits_that_change_no_arithmetic_leave_it_alone():
    assert system_fingerprint(SETTINGS, WEIGHTS, AMX) == system_fingerprint(
        SETTINGS | {"max_num_seqs": 1, "max_model_len": 2048}, WEIGHTS, AMX
    )
