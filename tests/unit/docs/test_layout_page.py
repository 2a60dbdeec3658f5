"""docs/development/layout.md against the tree: every module of server/ is named on the page
in the row of its layer (bench/layers.py's), every module the page names exists, and every
top-level path the page lists is there."""

from __future__ import annotations

import re
from pathlib import Path

from bench.layers import LAYERS, PACKAGE, ROOT, layer_of

PAGE = ROOT / "docs" / "development" / "layout.md"


def modules_on_page(text: str) -> dict[str, str]:
    """Module (dotted, or a folder's path ending in '/') -> the layer row naming it."""
    named = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0].strip("`/") not in LAYERS:
            continue
        layer = cells[0].strip("`/")
        package = "server." + layer + "." if cells[0].endswith("/`") else "server."
        for name in re.findall(r"`([^`]+)`", cells[1]):
            if name.endswith("/"):
                named[str(PACKAGE / layer / name)] = layer
            else:
                named[package + name.replace("/", ".")] = layer
    return named


def modules_in_tree(package: Path = PACKAGE) -> set[str]:
    """Every module of the package; a subpackage's `__init__` by the subpackage's name."""
    found = set()
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            if len(parts) <= 3:  # server/ and its layers: the table's rows themselves
                continue
            parts.pop()
        found.add(".".join(parts))
    return found


def test_every_module_is_on_the_page_in_its_layers_row():
    named = modules_on_page(PAGE.read_text())
    missing = sorted(modules_in_tree() - named.keys())
    assert missing == [], f"not on {PAGE.name}: {missing}"
    wrong = {m: row for m, row in named.items() if "." in m and layer_of(m) != row}
    assert wrong == {}


def test_every_module_the_page_names_exists():
    tree = modules_in_tree()
    named = modules_on_page(PAGE.read_text())
    gone = sorted(m for m in named if m not in tree and not Path(m).is_dir())
    assert gone == []


def test_every_path_of_the_overview_exists():
    overview = PAGE.read_text().split("```text\n", 1)[1].split("```", 1)[0]
    paths = [
        name.rstrip(",") for line in overview.splitlines() for name in line.split("   ")[0].split()
    ]
    assert len(paths) >= 10
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_the_checks_see_a_module_left_out_and_one_that_is_gone(tmp_path):
    page = "| `services/` | `chat`, `gone` | the endpoints |\n"
    named = modules_on_page(page)
    assert named == {"server.services.chat": "services", "server.services.gone": "services"}
    assert "server.services.checks" in modules_in_tree() - named.keys()
    assert "server.services.gone" not in modules_in_tree()
