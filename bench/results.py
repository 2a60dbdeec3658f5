"""Figures from the committed results under docs/results/, looked up by file and key, so that
a page cannot disagree with its evidence. The docs site renders them at build time
(mkdocs-macros, `module_name` in mkdocs.yml) and the README's test checks its own against
them; a key that is not in its file raises, which fails `mkdocs build`.

A key is a dotted path: names for objects, indexes or a `[name=value,...]` selector (the one
element of a list that matches) for lists, e.g. `results.[target=server,stream=true].seconds`.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

from bench import RESULTS

# A key's parts: a bracketed selector (which may hold dots) or a run of anything but dots.
PART = re.compile(r"\[[^\]]*\]|[^.]+")
# A selector's conditions: split at the commas that start another `name=` (values may hold
# commas of their own).
CONDITION = re.compile(r",(?=\s*\w+=)")
# The provenance every result file should carry (bench.provenance writes them).
PROVENANCE = ("command", "machine", "date")


class MissingResult(KeyError):
    """A page names a figure its results file does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


@cache
def load(file: str, root: Path = RESULTS) -> Any:
    path = root / file
    if not path.is_file():
        raise MissingResult(f"no results file {path}")
    return json.loads(path.read_text())


def matches(item: Any, selector: str) -> bool:
    """Whether a list element has every `name=value` of the selector (values as JSON spells
    them, or as plain strings)."""
    if not isinstance(item, dict):
        return False
    for condition in CONDITION.split(selector):
        name, _, wanted = condition.partition("=")
        name = name.strip()
        if name not in item or wanted.strip() not in (str(item[name]), json.dumps(item[name])):
            return False
    return True


def step(node: Any, part: str, where: str) -> Any:
    if part.startswith("["):
        found = (
            [item for item in node if matches(item, part[1:-1])] if isinstance(node, list) else []
        )
        if len(found) != 1:
            raise MissingResult(f"{where}: {len(found)} elements match {part}, not one")
        return found[0]
    if isinstance(node, list) and part.lstrip("-").isdigit():
        index = int(part)
        if -len(node) <= index < len(node):
            return node[index]
    elif isinstance(node, dict) and part in node:
        return node[part]
    raise MissingResult(f"{where}: no {part!r}")


def value(file: str, key: str, root: Path = RESULTS) -> Any:
    """The value at key in the results file (a path under docs/results/)."""
    node = load(file, root)
    for part in PART.findall(key):
        node = step(node, part, f"{file}: {key}")
    if isinstance(node, float) and not math.isfinite(node):
        raise MissingResult(f"{file}: {key} is {node}, not a figure")
    return node


def result(file: str, key: str, fmt: str = "", root: Path = RESULTS) -> str:
    """The figure at key, formatted with a format spec: `".1f"`, `",d"`, `".1%"`."""
    return format(value(file, key, root), fmt)


def result_range(file: str, key: str, field: str, fmt: str = "", root: Path = RESULTS) -> str:
    """`low` to `high` of one field over the list at key (`ratios`, `tokens_vs_vllm`), joined
    by an en dash as the pages write ranges."""
    items = value(file, key, root)
    if not isinstance(items, list) or not items:
        raise MissingResult(f"{file}: {key} is not a list of results")
    values = [value(file, f"{key}.{i}.{field}", root) for i in range(len(items))]
    return f"{format(min(values), fmt)}\N{EN DASH}{format(max(values), fmt)}"


def measured(file: str, root: Path = RESULTS) -> str:
    """How the file was made, from its provenance: the command, the machine and the date."""
    record = load(file, root)
    missing = [name for name in PROVENANCE if not isinstance(record, dict) or name not in record]
    if missing:
        raise MissingResult(f"{file} records no {', '.join(missing)}")
    machine = record["machine"]
    if isinstance(machine, dict):
        machine = ", ".join(f"{name} {text}" for name, text in machine.items())
    return f"`{record['command'].strip()}` on {machine}, {record['date']}"


def define_env(env: Any) -> None:
    """mkdocs-macros' entry point: the lookups above, as macros of every page."""
    for macro in (result, result_range, value, measured):
        env.macro(macro)
