"""Figures read from results files: lookups, formats, and a docs build that stops on a key its
file does not hold."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench import ROOT
from bench.results import MissingResult, measured, result, result_range, value

RUN = {
    "command": "python -m bench demo",
    "machine": "2 cores, x86_64",
    "date": "2026-12-05",
    "rows": [
        {"target": "server", "stream": True, "tokens_per_s": 43.61, "requests": 31248},
        {"target": "server", "stream": False, "tokens_per_s": 44.3, "requests": 8},
        {"target": "vllm", "stream": True, "tokens_per_s": float("nan"), "requests": 8},
        {"target": "output (shm queue, zmq)", "stream": True, "tokens_per_s": 1.0, "requests": 2},
    ],
    "share": 0.625,
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "run.json").write_text(json.dumps(RUN))
    (tmp_path / "bare.json").write_text(json.dumps({"seconds": 71.4}))
    return tmp_path


def test_keys_reach_objects_indexes_and_selected_list_elements(root):
    assert value("run.json", "rows.1.requests", root) == 8
    assert value("run.json", "rows.[target=server,stream=true].requests", root) == 31248
    assert value("run.json", "rows.-1.stream", root) is True
    assert (
        value("run.json", "rows.[target=output (shm queue, zmq),stream=true].requests", root) == 2
    )


def test_figures_are_formatted_by_their_spec(root):
    assert result("run.json", "rows.0.tokens_per_s", ".1f", root) == "43.6"
    assert result("run.json", "rows.0.requests", ",d", root) == "31,248"
    assert result("run.json", "share", ".1%", root) == "62.5%"
    assert result_range("run.json", "rows", "requests", ",d", root) == "2\N{EN DASH}31,248"


@pytest.mark.parametrize(
    ("file", "key"),
    [
        ("missing.json", "share"),
        ("run.json", "shares"),
        ("run.json", "rows.4.requests"),
        ("run.json", "rows.[target=llamacpp].requests"),
        ("run.json", "rows.[target=server].requests"),
        ("run.json", "rows.2.tokens_per_s"),
        ("run.json", "share.value"),
    ],
)
def test_a_key_the_file_does_not_hold_raises(root, file, key):
    with pytest.raises(MissingResult):
        result(file, key, root=root)


def test_provenance_is_rendered_and_required(root):
    assert measured("run.json", root) == "`python -m bench demo` on 2 cores, x86_64, 2026-12-05"
    with pytest.raises(MissingResult, match="command, machine, date"):
        measured("bare.json", root)


def build(tmp_path: Path, page: str) -> subprocess.CompletedProcess[str]:
    """mkdocs build --strict of a one-page site with the project's own macros settings."""
    docs = tmp_path / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text(page)
    plugins = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["plugins"]
    macros = next(p["macros"] for p in plugins if isinstance(p, dict) and "macros" in p)
    macros["module_name"] = str(ROOT / macros["module_name"])
    site = {"site_name": "t", "strict": True, "plugins": [{"macros": macros}]}
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(site))
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_the_docs_build_renders_a_figure_and_fails_on_a_missing_key(tmp_path):
    tokens = value("numerics.json", "tokens")
    page = '# Numerics {#numerics}\n\nAnswers of {{ result("numerics.json", "tokens") }} tokens.\n'
    ok = build(tmp_path / "ok", page)
    assert ok.returncode == 0, ok.stderr
    assert f"Answers of {tokens} tokens." in (tmp_path / "ok" / "site" / "index.html").read_text()

    broken = build(tmp_path / "broken", '{{ result("numerics.json", "no_such_key") }}\n')
    assert broken.returncode != 0
    assert "no_such_key" in broken.stderr


def test_every_committed_result_records_how_it_was_made():
    """Each results file says its command, its machine and its date (docs can show them)."""
    files = sorted((ROOT / "docs" / "results").rglob("*.json"))
    assert len(files) > 10
    lacking = [
        str(path.relative_to(ROOT))
        for path in files
        if not all(key in json.loads(path.read_text()) for key in ("command", "date", "machine"))
    ]
    assert lacking == []
