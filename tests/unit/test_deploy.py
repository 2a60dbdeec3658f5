"""Static checks of the Docker files (no Docker engine runs on these machines)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is missing: scripts/setup.sh installs it (dev extras)")
        return found
    return str(path)


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.cpu"])
def test_dockerfiles_pass_hadolint(dockerfile):
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", dockerfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_fits_the_compose_specification():
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_promises():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    gpu, cpu = compose["services"]["server"], compose["services"]["server-cpu"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert "hf-cache:/cache" in gpu["volumes"]
    assert gpu["environment"]["HF_TOKEN"] == "${HF_TOKEN:-}"
    assert gpu["env_file"][0]["path"] == "server.env"
    for service in (gpu, cpu):
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["restart"] == "unless-stopped"
        assert service["ports"] == ["8000:8000"]
    assert cpu["profiles"] == ["cpu"] and gpu["profiles"] == ["gpu"]
    assert "COMPOSE_PROFILES=gpu" in (ROOT / ".env").read_text()


def test_dockerfile_promises():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM vllm/vllm-openai:" in text
    assert "USER 1000" in text
    assert "HEALTHCHECK" in text and "/health" in text
    assert 'VOLUME ["/cache"]' in text
    assert "EXPOSE 8000" in text
    assert "SAMPLING_SERVER_CONFIG=config/phi35-awq-6gb.yaml" in text
