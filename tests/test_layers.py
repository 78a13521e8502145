"""The project's import order, kept true: imports run one way and no two modules import each other.

Every ``import`` and ``from ... import`` in ``analysis/`` and ``app/`` is read with ``ast`` (module
level and inside functions alike) and checked against the floors below. A module may import from its
own floor or any floor beneath it; an import that climbs is reported, and so is every cycle between
modules (whatever the floors). The checker is also run on a small tree written here with one upward
import and one cycle, so that a checker that finds nothing cannot pass unnoticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Floors from the ground up: (floor number, module prefixes). The longest matching prefix wins, so a
# package's own floor can be overridden for one module of it.
FLOORS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("analysis.errors", "analysis.checks", "analysis.palette", "analysis.device", "analysis.stats",
         "analysis.specs", "analysis.side_by_side", "analysis.config")),
    (1, ("analysis.data",)),
    (2, ("analysis.methods",)),    # the method vocabulary the zoo, the tables and the trainers read
    (3, ("analysis.zoo",)),
    (4, ("analysis.metrics", "analysis.pipeline", "analysis.outputs")),
    (5, ("analysis.training",)),
    (6, ("analysis.analyses",)),
    (7, ("analysis.explore",)),
    (8, ("analysis.reporting", "analysis.survey")),
    (9, ("analysis.cli", "analysis.api", "analysis.__main__", "app")),
)
# The package's face (analysis/__init__.py) may name anything: it exports the public API lazily.
UNCHECKED = ("analysis",)


def floor_of(module: str) -> int | None:
    """The floor of a dotted module name, or None for a module outside the floors (stdlib, PyPI)."""
    best, best_len = None, -1
    for number, prefixes in FLOORS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = number, len(prefix)
    return best


def module_name(path: Path, root: Path) -> str:
    """``analysis/data/tasks.py`` -> ``analysis.data.tasks``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, root: Path, known: set[str]) -> list[tuple[str, int]]:
    """The project modules ``path`` imports, with line numbers: ``from a.b import c`` names ``a.b.c``
    when that is a module of the tree, else ``a.b``."""
    importer = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, importer, path.name == "__init__.py")
            for alias in node.names:
                child = f"{target}.{alias.name}"
                found.append((child if child in known else target, node.lineno))
    return [(name, line) for name, line in found if name in known]


def import_graph(root: Path, packages=("analysis", "app")) -> dict[str, list[tuple[str, int]]]:
    """Module -> the tree's modules it imports (with the line of each import)."""
    files = [p for package in packages for p in sorted((root / package).rglob("*.py"))]
    known = {module_name(p, root) for p in files}
    return {module_name(p, root): imports_of(p, root, known) for p in files}


def upward_imports(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Each import that runs from a lower floor to a higher one, as a readable line."""
    found = []
    for importer, targets in graph.items():
        low = floor_of(importer)
        if importer in UNCHECKED or low is None:
            continue
        for target, line in targets:
            high = floor_of(target)
            if high is not None and high > low:
                found.append(f"{importer}:{line} (floor {low}) imports {target} (floor {high})")
    return sorted(set(found))


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    edges = {m: sorted({t for t, _ in targets if t != m}) for m, targets in graph.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_module_has_a_floor():
    unplaced = [m for m in import_graph(ROOT) if m not in UNCHECKED and floor_of(m) is None]
    assert not unplaced, f"modules without a floor in FLOORS: {unplaced}"


def test_no_import_runs_upward():
    upward = upward_imports(import_graph(ROOT))
    assert not upward, "imports that climb the floors:\n" + "\n".join(upward)


def test_no_cycles_between_modules():
    found = cycles(import_graph(ROOT))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_checker_finds_an_upward_import_and_a_cycle(tmp_path):
    package = tmp_path / "analysis"
    (package / "data").mkdir(parents=True)
    (package / "reporting").mkdir()
    for folder in (package, package / "data", package / "reporting"):
        (folder / "__init__.py").write_text("")
    # data climbs to reporting inside a function, the way a hidden upward import does.
    (package / "data" / "low.py").write_text(
        "def f():\n    from ..reporting.high import g\n    return g\n")
    (package / "reporting" / "high.py").write_text(
        "from analysis.data.low import f\n\ndef g():\n    return f\n")
    (package / "errors.py").write_text("")
    graph = import_graph(tmp_path, packages=("analysis",))
    assert upward_imports(graph) == [
        "analysis.data.low:2 (floor 1) imports analysis.reporting.high (floor 8)"]
    assert cycles(graph) == [["analysis.data.low", "analysis.reporting.high"]]
    # The same tree without the climbing import is clean.
    (package / "data" / "low.py").write_text("def f():\n    return 1\n")
    graph = import_graph(tmp_path, packages=("analysis",))
    assert upward_imports(graph) == [] and cycles(graph) == []
