"""The configuration page's generated tables (docs/hooks/reference.py): every flag the
server's command line takes is on the page under the name the command line knows, and a
setting or a script variable without a description stops the build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from docs.hooks import reference
from server.protocol.samplers import sampler_params
from server.settings import Settings

PAGE = reference.ROOT / "docs" / "running" / "configuration.md"


def test_every_flag_of_the_command_line_is_on_the_page(capsys):
    """The flags pydantic-settings' own parser offers, read from its --help."""
    with pytest.raises(SystemExit):
        Settings(_cli_parse_args=["--help"])
    offered = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9.-]*", capsys.readouterr().out))
    offered -= {"--help", "--sampling-defaults"}  # the nested group also takes one JSON value
    page = reference.render(PAGE.read_text())
    on_page = set(re.findall(r"`(--[a-z][a-z0-9.-]*)`", page))
    assert offered == on_page
    for flag in ("--api-keys", "--store-url", "--log-level", "--engine-seed"):
        assert flag in on_page


def test_the_page_holds_both_tables_and_no_marker():
    page = reference.render(PAGE.read_text())
    assert reference.SETTINGS_MARKER not in page
    assert reference.ENVIRONMENT_MARKER not in page
    assert "| `SETUP_EXTRAS` | `scripts/setup.sh` | `cpu,dev` |" in page


def test_each_row_names_the_environment_variable_the_settings_read(monkeypatch):
    rows = {row.flag: row for row in reference.setting_rows()}
    monkeypatch.setenv(rows["--sampling-defaults.top-p"].env, "0.5")
    monkeypatch.setenv(rows["--max-body-bytes"].env, "123")
    settings = Settings()
    assert settings.sampling_defaults.top_p == 0.5
    assert settings.max_body_bytes == 123


def test_the_cpu_profile_column_shows_what_the_profile_sets():
    rows = {row.flag: row for row in reference.setting_rows()}
    assert rows["--dtype"].default == "auto"
    assert rows["--dtype"].profile == "float32"
    assert rows["--host"].profile == ""


def test_a_setting_without_a_description_stops_the_build():
    class Inner(BaseModel):
        depth: int = 1

    class Undescribed(BaseModel):
        nested: Inner = Field(default_factory=Inner, description="described")

    with pytest.raises(reference.Undocumented, match=r"nested\.depth"):
        reference.setting_rows(Undescribed)


def _scripts(tmp_path: Path, text: str) -> Path:
    (tmp_path / "one.sh").write_text(text)
    return tmp_path


def test_a_script_variable_read_but_not_declared_stops_the_build(tmp_path):
    folder = _scripts(tmp_path, '#!/usr/bin/env bash\nwhere=${WHERE:-/tmp}\necho "$LEVEL"\n')
    with pytest.raises(reference.Undocumented, match=r"\['LEVEL', 'WHERE'\]"):
        reference.script_variables(folder)


def test_a_script_variable_declared_but_not_read_stops_the_build(tmp_path):
    text = "# Environment:\n#   GONE  no longer read\nset -eu\n"
    with pytest.raises(reference.Undocumented, match="GONE"):
        reference.script_variables(_scripts(tmp_path, text))


def test_a_declared_variable_gets_its_description_and_the_scripts_default(tmp_path):
    text = (
        "# Environment:\n"
        "#   PY     the Python to use,\n"
        "#          found on the PATH\n"
        "#   KEEP   1: keep it\n"
        "LOCAL=1\n"
        'py=${PY:-$(command -v python3 || echo "${HOME}")}\n'
        '[[ $KEEP == 1 && $LOCAL == 1 ]] && echo "$py"\n'
    )
    variables = reference.script_variables(_scripts(tmp_path, text))
    assert variables == [
        reference.ScriptVariable(
            "PY",
            "one.sh",
            '$(command -v python3 || echo "${HOME}")',
            "the Python to use, found on the PATH",
        ),
        reference.ScriptVariable("KEEP", "one.sh", "", "1: keep it"),
    ]


def test_the_real_scripts_declare_what_they_read():
    names = {(v.name, v.script) for v in reference.script_variables()}
    assert {
        ("SETUP_EXTRAS", "setup.sh"),
        ("SETUP_PIP", "venv.sh"),
        ("TORCH_INDEX", "venv.sh"),
    } <= names


def test_every_sampler_parameter_is_in_the_samplers_table():
    rows = reference.sampler_rows()
    assert [row.name for row in rows] == list(sampler_params())
    assert all(row.description and row.bounds for row in rows)
    table = reference.render(f"x\n{reference.SAMPLERS_MARKER}\ny")
    assert "| `adaptive_target` | `adaptive_p` | -1.0 … 1.0 | `-1.0` |" in table
