"""server/engine/device.py: a CUDA build with no GPU stops at start-up in one line."""

from dataclasses import dataclass

import pytest

from server.engine.device import NO_DEVICE, check_device


@dataclass
class FakePlatform:
    unspecified: bool

    def is_unspecified(self) -> bool:
        return self.unspecified


def test_no_device_stops_with_one_line_that_says_what_to_do():
    with pytest.raises(SystemExit) as stopped:
        check_device(FakePlatform(unspecified=True))
    assert stopped.value.code == NO_DEVICE
    assert "\n" not in NO_DEVICE
    for advice in ("NVIDIA Container Toolkit", "--gpus all", "docker compose --profile cpu up"):
        assert advice in NO_DEVICE


def test_a_platform_vllm_found_passes():
    check_device(FakePlatform(unspecified=False))


def test_this_environment_has_a_platform():
    """The CPU build always finds the CPU: the check never stops the suite's own servers."""
    from vllm.platforms import current_platform

    assert not current_platform.is_unspecified()
    check_device(current_platform)
