"""Refuse to start, in one line, where vLLM found nothing to run on: its CUDA build in a
container that was given no GPU would otherwise fail deep inside the engine's start."""

from __future__ import annotations

from typing import Protocol

NO_DEVICE = (
    "No GPU is visible, and this vLLM build needs one (vLLM found no CUDA device). In Docker, "
    "install the NVIDIA Container Toolkit and give the container the GPU (`docker compose up` "
    "asks for it; by hand: `docker run --gpus all ...`); `docker run --rm --gpus all ubuntu "
    "nvidia-smi` must list the card. Without a GPU, serve the CPU build instead: "
    "`docker compose --profile cpu up`."
)


class Platform(Protocol):
    """The part of vLLM's `current_platform` this check reads."""

    def is_unspecified(self) -> bool: ...


def check_device(platform: Platform) -> None:
    """vLLM's platform is unspecified when no plugin found its device: the CUDA build with no
    GPU (or no driver) visible. The CPU build always finds the CPU, so every CPU profile,
    the Phi-3.5 twin's included, passes."""
    if platform.is_unspecified():
        raise SystemExit(NO_DEVICE)
