"""server/'s layers and the imports between its modules, read from the source (no import
is executed), checked by tests/unit/test_layers.py and drawn as docs/results/layers.png:
one column per layer, lowest on the left, an arrow per import."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "server"
OUT = ROOT / "docs" / "results" / "layers.png"

# Lowest first. A module may import from its own layer and from those before it.
LAYERS = (
    "foundation",
    "protocol",
    "sampling",
    "tools",
    "engine",
    "store",
    "services",
    "http",
    "entry",
)
WHY = {
    "foundation": "settings, metrics",
    "protocol": "the OpenAI API's models,\nthe error type",
    "sampling": "to SamplingParams, stages,\nlogprobs, outputs",
    "tools": "tool calls: plan, grammar,\nparse, render",
    "engine": "the vLLM engine and\nwhat it starts with",
    "store": "stored responses:\nSQLite or PostgreSQL",
    "services": "the endpoints: checks,\ntemplate, budget, fan-out",
    "http": "app, routes, middleware,\nerror handlers",
    "entry": "python -m server",
}
_TOP = {"server.settings": "foundation", "server.metrics": "foundation"}

Graph = Mapping[str, set[str]]


def layer_of(module: str) -> str:
    if module in _TOP:
        return _TOP[module]
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "entry"  # server, server.__main__


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the server modules it imports (at any depth of the file, so an import
    inside a function counts as much as one at the top). Packages' `__init__` files hold
    only their docstrings and are left out."""
    modules = {_module_name(p): p for p in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            # `from server.engine import embedded_model` imports a module, not a name
            found = next((t for t in targets if t in modules), None)
            if found is not None and found != name:
                imported.add(found)
        graph[name] = imported
    return graph


def back_arrows(graph: Graph) -> list[tuple[str, str]]:
    """Imports that point up, from a lower layer to a higher one."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    return sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if rank[layer_of(target)] > rank[layer_of(module)]
    )


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def draw(graph: Graph, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns: dict[str, list[str]] = {layer: [] for layer in LAYERS}
    for module in sorted(graph):
        columns[layer_of(module)].append(module)
    tallest = max(len(c) for c in columns.values())
    place: dict[str, tuple[float, float]] = {}
    for x, layer in enumerate(LAYERS):
        for y, module in enumerate(columns[layer]):
            place[module] = (x * 3.0, tallest - y)
    fig, ax = plt.subplots(figsize=(len(LAYERS) * 2.6, tallest * 0.42 + 1.6))
    for module, targets in graph.items():
        for target in targets:
            (x0, y0), (x1, y1) = place[module], place[target]
            same = x0 == x1  # within a layer: an arc on the left of the column
            ax.annotate(
                "",
                xy=(x1 - 0.1 if same else x1 + 1.6, y1),
                xytext=(x0 - 0.1, y0),
                arrowprops={
                    "arrowstyle": "->",
                    "color": "#cc7755" if same else "#8888aa",
                    "alpha": 0.45,
                    "lw": 0.7,
                    "connectionstyle": "arc3,rad=0.4" if same else "arc3,rad=0.0",
                },
            )
    for module, (x, y) in place.items():
        label = module.split(".")[-1] if module.count(".") > 1 else module
        ax.text(
            x,
            y,
            label,
            fontsize=8,
            va="center",
            ha="left",
            bbox={"boxstyle": "round,pad=0.2", "fc": "#eef2ff", "ec": "#6677aa", "lw": 0.6},
        )
    for x, layer in enumerate(LAYERS):
        ax.text(x * 3.0, tallest + 1.45, layer, fontsize=11, weight="bold", ha="left", va="bottom")
        ax.text(
            x * 3.0, tallest + 1.35, WHY[layer], fontsize=6.5, ha="left", va="top", color="#555555"
        )
    arrows = sum(len(t) for t in graph.values())
    ax.set_title(
        f"server/: {len(graph)} modules in {len(LAYERS)} layers, {arrows} imports, "
        f"{len(back_arrows(graph))} pointing up, {len(cycles(graph))} cycles "
        "(arrows run from a module to what it imports)",
        fontsize=10,
    )
    ax.set_xlim(-0.3, len(LAYERS) * 3.0)
    ax.set_ylim(0, tallest + 2.1)
    ax.axis("off")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    print(f"wrote {out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    graph = import_graph()
    for module, target in back_arrows(graph):
        print(f"points up: {module} -> {target}")
    for group in cycles(graph):
        print("cycle:", " <-> ".join(group))
    draw(graph, args.out)
    return 1 if back_arrows(graph) or cycles(graph) else 0


if __name__ == "__main__":
    raise SystemExit(main())
