"""The configuration page's tables, generated when the site is built from the one place each
is declared: every setting from the settings model (server/settings.py), every environment
variable of the scripts from the `# Environment:` comment block at the top of each script.
A setting or a variable without a description stops the build, so the page cannot fall
behind the code (tests/unit/docs/test_reference.py checks the same on every test run)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from server.protocol.samplers import SamplerConfig, sampler_params
from server.settings import DEFAULT_PROFILE, ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
SETTINGS_MARKER = "<!-- reference: settings -->"
SAMPLERS_MARKER = "<!-- reference: samplers -->"
ENVIRONMENT_MARKER = "<!-- reference: script environment -->"
# Read by the scripts from the shell itself, never set by a user for them.
SHELL_VARIABLES = frozenset({"HOME", "PATH", "PWD", "SECONDS", "USER"})


class Undocumented(ValueError):
    """A setting or an environment variable that the page could not describe."""


@dataclass(frozen=True)
class SettingRow:
    flag: str
    env: str
    default: str
    profile: str  # its value in the CPU engine profile, "" where the profile leaves it
    description: str


@dataclass(frozen=True)
class ScriptVariable:
    name: str
    script: str  # relative to scripts/
    default: str
    description: str


def setting_rows(model: type[BaseModel] = Settings) -> list[SettingRow]:
    """One row per leaf setting; a nested model's fields as `--parent.child`."""
    profile = yaml.safe_load(DEFAULT_PROFILE.read_text()) or {}
    return _rows(model, [], profile)


def _rows(model: type[BaseModel], path: list[str], profile: dict[str, Any]) -> list[SettingRow]:
    rows = []
    for name, field in model.model_fields.items():
        if not field.description:
            raise Undocumented(f"setting {'.'.join([*path, name])} has no description")
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            rows += _rows(nested, [*path, name], profile.get(name) or {})
            continue
        flag = "--" + ".".join(part.replace("_", "-") for part in [*path, name])
        if field.annotation is bool:
            flag += f"`, `--no-{flag.removeprefix('--')}"
        rows.append(
            SettingRow(
                flag=flag,
                env=ENV_PREFIX + "__".join([*path, name]).upper(),
                default=_shown(_default(field)),
                profile=_shown(profile[name]) if name in profile else "",
                description=field.description,
            )
        )
    return rows


def _default(field: FieldInfo) -> object:
    return field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]


def _shown(value: object) -> str:
    """A value as a reader would type it: paths under the home folder or this checkout
    relative to them, None as unset, booleans in lower case."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if value == []:
        return "none"
    if isinstance(value, Path):
        if value.is_relative_to(ROOT):
            return str(value.relative_to(ROOT))
        if value.is_relative_to(Path.home()):
            return str(Path("~") / value.relative_to(Path.home()))
    return str(value)


def settings_table(rows: list[SettingRow]) -> str:
    lines = [
        "| flag | environment | default | CPU profile | |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        profile = f"`{row.profile}`" if row.profile else ""
        lines.append(
            f"| `{row.flag}` | `{row.env}` | `{row.default}` | {profile} | "
            f"{_cell(row.description)} |"
        )
    return "\n".join(lines)


_DECLARED = re.compile(r"^#\s{2,}([A-Z][A-Z0-9_]*)\s{2,}(\S.*)$")
_CONTINUED = re.compile(r"^#\s{4,}(\S.*)$")
_WITH_DEFAULT = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?[-=]")
_READ = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
_ASSIGNED = re.compile(
    r"(?<![\w$])([A-Z][A-Z0-9_]*)=|\b(?:local|declare|mapfile|readarray|read)\s+(?:-\w+\s+)*([A-Z][A-Z0-9_]*)"
)


def declared(text: str) -> dict[str, str]:
    """The `# Environment:` block of a script: `#   NAME  description`, continued on lines
    indented further."""
    lines = text.splitlines()
    if "# Environment:" not in lines:
        return {}
    found: dict[str, str] = {}
    name = None
    for line in lines[lines.index("# Environment:") + 1 :]:
        if entry := _DECLARED.match(line):
            name = entry.group(1)
            found[name] = entry.group(2)
        elif name and (more := _CONTINUED.match(line)):
            found[name] += " " + more.group(1)
        else:
            break
    return found


def reads(text: str) -> set[str]:
    """The environment variables a script reads: those with a default (`${NAME:-...}`) and
    those it reads without ever setting them itself."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assigned = {name for pair in _ASSIGNED.findall(code) for name in pair if name}
    plain = set(_READ.findall(code)) - assigned - SHELL_VARIABLES
    return set(_WITH_DEFAULT.findall(code)) | plain


def default_of(text: str, name: str) -> str:
    """What `${NAME:-default}` falls back to in the script ("" when it has none)."""
    start = text.find(f"${{{name}:-")
    if start < 0:
        return ""
    depth, end = 0, start + len(name) + 4
    for index in range(start + 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            end = index
            break
    return text[start + len(name) + 4 : end]


def script_variables(folder: Path = SCRIPTS) -> list[ScriptVariable]:
    """Every variable every script reads, each with its description; one read but not
    declared, or declared but not read, is refused."""
    found = []
    for script in sorted(folder.rglob("*.sh")):
        text = script.read_text()
        described, read = declared(text), reads(text)
        relative = str(script.relative_to(folder))
        if missing := sorted(read - described.keys()):
            raise Undocumented(f"scripts/{relative} reads {missing} without describing them")
        if stale := sorted(described.keys() - read):
            raise Undocumented(f"scripts/{relative} describes {stale} but never reads them")
        found += [
            ScriptVariable(name, relative, default_of(text, name), description)
            for name, description in described.items()
        ]
    return found


def environment_table(variables: list[ScriptVariable]) -> str:
    lines = ["| variable | script | default | |", "|---|---|---|---|"]
    for variable in variables:
        default = f"`{variable.default}`" if variable.default else ""
        lines.append(
            f"| `{variable.name}` | `scripts/{variable.script}` | {default} | "
            f"{_cell(variable.description)} |"
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Prose in a table cell (a code span may hold a pipe as it is)."""
    return text.replace("|", "\\|")


@dataclass(frozen=True)
class SamplerRow:
    name: str
    stage: str
    bounds: str
    default: str
    description: str


def sampler_rows() -> list[SamplerRow]:
    """One row per parameter of the samplers vLLM lacks, from their one declaration
    (server/protocol/samplers.py)."""
    defaults = SamplerConfig()
    rows = []
    for name, spec in sampler_params().items():
        schema = TypeAdapter(spec.type).json_schema()
        if not schema.get("description"):
            raise Undocumented(f"sampler parameter {name} has no description")
        default = getattr(defaults, name)
        rows.append(
            SamplerRow(
                name,
                spec.stage,
                _bounds(schema),
                str(list(default)) if isinstance(default, tuple) else str(default),
                schema["description"],
            )
        )
    return rows


def _bounds(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " or ".join(map(str, schema["enum"]))
    if schema.get("type") == "array":
        item = schema["items"]
        return f"up to {schema['maxItems']} strings of {item['minLength']} … {item['maxLength']}"
    return f"{schema['minimum']} … {schema['maximum']}"


def samplers_table(rows: list[SamplerRow]) -> str:
    lines = ["| parameter | stage | range | default | |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| `{row.name}` | `{row.stage}` | {row.bounds} | `{_cell(row.default)}` | "
            f"{_cell(row.description)} |"
        )
    return "\n".join(lines)


def render(markdown: str) -> str:
    """The page with each marker replaced by its table."""
    if SAMPLERS_MARKER in markdown:
        markdown = markdown.replace(SAMPLERS_MARKER, samplers_table(sampler_rows()))
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_table(setting_rows()))
    if ENVIRONMENT_MARKER in markdown:
        markdown = markdown.replace(ENVIRONMENT_MARKER, environment_table(script_variables()))
    return markdown


def on_page_markdown(markdown: str, **_: object) -> str:
    try:
        return render(markdown)
    except Undocumented as error:
        raise PluginError(f"docs/hooks/reference.py: {error}") from error
