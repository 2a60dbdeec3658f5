"""Checks of the Docker files without a Docker engine (none runs on these machines): linters,
their promises, their RUN steps run outside Docker, and the GPU image's Python environment
resolved from the package registry."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.gpu import image_closure

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


def test_gpu_image_holds_what_the_server_imports_and_declares():
    """The GPU image is set up by its Dockerfile, not by scripts/setup.sh, so nothing else in
    this suite would notice a package missing there (it once lacked sqlalchemy and psycopg, and
    the server could not start). Resolve its environment from the package registry (vLLM's
    image at the Dockerfile's version plus the Dockerfile's install step) and look in it for
    every module server/ imports and every dependency pyproject.toml declares."""
    try:
        verdict = image_closure.verdict(ROOT, tool("uv"))
    except image_closure.ResolutionError as error:
        pytest.fail(
            "could not resolve the GPU image's environment from the package registry "
            f"(unreachable, or the requirements conflict):\n{error}"
        )
    assert verdict.holds, verdict.summary()


PROJECT = """\
[project]
name = "scratch-project"
version = "0"
dependencies = {dependencies}
[tool.setuptools]
packages = ["scratch"]
"""


@pytest.mark.parametrize(
    ("dependencies", "installs"),
    [('["six", "idna"]', True), ('["six>=1.17"]', False)],
    ids=["fits-the-base", "would-upgrade-the-base"],
)
def test_gpu_install_step_never_changes_what_the_base_image_has(tmp_path, dependencies, installs):
    """The Dockerfile's own install step, run as written against a scratch environment in the
    place of the image's system Python: with six 1.16.0 installed (the base image's torch, say),
    a project that needs six >= 1.17 fails to install instead of upgrading it; one that fits
    installs its new dependencies and leaves six as it was."""
    uv = tool("uv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env["PATH"] = f"{Path(uv).parent}:{env['PATH']}"
    base = tmp_path / "base"
    python = base / "bin" / "python"
    for command in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(base)],
        [uv, "pip", "install", "--quiet", "--python", str(python), "six==1.16.0"],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True)
    project = tmp_path / "project"
    (project / "scratch").mkdir(parents=True)
    (project / "scratch" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(PROJECT.format(dependencies=dependencies))
    steps = image_closure.instructions((ROOT / "Dockerfile").read_text())
    step = image_closure.install_step(steps).replace("--system", f"--python {python}")
    result = subprocess.run(
        ["sh", "-c", step], cwd=project, env=env, capture_output=True, text=True
    )
    listed = subprocess.run(
        [uv, "pip", "list", "--python", str(python), "--format", "freeze"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "six==1.16.0" in listed
    if installs:
        assert result.returncode == 0, result.stderr
        assert any(line.startswith("idna==") for line in listed)
    else:
        assert result.returncode != 0
        assert "six==1.16.0" in result.stderr, result.stderr


def _user_step(dockerfile: Path) -> str:
    """The Dockerfile's RUN instruction that creates the user, continuation lines joined."""
    instructions = image_closure.instructions(dockerfile.read_text())
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
