"""Static checks of the Docker files (no Docker engine runs on these machines)."""

import os
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


def test_shell_scripts_pass_shellcheck():
    scripts = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scripts").rglob("*.sh"))
    result = subprocess.run(
        [tool("shellcheck"), *scripts, ".ci/run"], cwd=ROOT, capture_output=True, text=True
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


def _user_step(dockerfile: Path) -> str:
    """The Dockerfile's RUN instruction that creates the user, continuation lines joined."""
    instructions, current = [], ""
    for line in dockerfile.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            instructions.append(current.strip())
            current = ""
    (step,) = [i for i in instructions if i.startswith("RUN ") and "useradd" in i]
    return step.removeprefix("RUN ")


UBUNTU_2404_USER = {
    # What Ubuntu 24.04's base image (under vllm/vllm-openai >= 0.28) ships for UID 1000.
    "passwd": "ubuntu:x:1000:1000:Ubuntu:/home/ubuntu:/bin/bash\n",
    "group": "ubuntu:x:1000:\n",
    "shadow": "ubuntu:!:19000:0:99999:7:::\n",
    "gshadow": "ubuntu:!::\n",
}


def _scratch_root(tmp_path: Path, with_uid_1000: bool) -> Path:
    """A root file system for chroot: this machine's programs (read-only bind mounts are
    made inside the namespace), a copy of its account files without UID/GID 1000, plus
    Ubuntu 24.04's `ubuntu` user when asked for."""
    root = tmp_path / ("with" if with_uid_1000 else "without")
    for name in ("usr", "home", "tmp", "dev", "proc"):
        (root / name).mkdir(parents=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        if Path(f"/{link}").is_symlink():
            (root / link).symlink_to(os.readlink(f"/{link}"))
    shutil.copytree("/etc", root / "etc", symlinks=True, ignore_dangling_symlinks=True)
    for name, extra in UBUNTU_2404_USER.items():
        path = root / "etc" / name
        if not path.exists():
            continue
        kept = [
            line
            for line in path.read_text().splitlines(keepends=True)
            if not (name in ("passwd", "group") and line.split(":")[2:3] == ["1000"])
            and not line.startswith(("ubuntu:", "app:"))
        ]
        path.write_text("".join(kept) + (extra if with_uid_1000 else ""))
    if with_uid_1000:
        (root / "home" / "ubuntu").mkdir()
        os.chown(root / "home" / "ubuntu", 1000, 1000)
    return root


@pytest.mark.parametrize("with_uid_1000", [True, False], ids=["ubuntu-24.04", "ubuntu-22.04"])
def test_gpu_dockerfile_user_step_runs_whether_or_not_uid_1000_exists(tmp_path, with_uid_1000):
    """`useradd --uid 1000` alone failed on vLLM's Ubuntu 24.04 images ("UID 1000 is not
    unique"): run the Dockerfile's own user step against both kinds of base."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("useradd") is None:
        pytest.skip("needs root, unshare and useradd to run the step in a scratch root")
    root = _scratch_root(tmp_path, with_uid_1000)
    step = _user_step(ROOT / "Dockerfile")
    script = (
        f"mount --bind -o ro /usr {root}/usr && mount --bind /dev {root}/dev "
        f'&& exec chroot {root} /bin/sh -c "$STEP"'
    )
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
        env={**os.environ, "STEP": step},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passwd = (root / "etc" / "passwd").read_text().splitlines()
    owners = [line.split(":")[0] for line in passwd if line.split(":")[2] == "1000"]
    assert owners == ["app"]
    assert (root / "cache").stat().st_uid == 1000
    assert (root / "home" / "app").is_dir()
