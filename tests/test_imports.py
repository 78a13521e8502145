"""Every import in analysis/ and app/ resolves, those inside functions included: a renamed or
moved name cannot hide behind a lazy import that no other test reaches.

Each file is parsed with ``ast``; for every ``import X`` the module X is imported, and for every
``from X import a, b`` the module X is imported and each name must be an attribute of it or a
submodule. An optional dependency may be absent: a module in ``OPTIONAL`` (checked with
``importlib.util.find_spec`` before use, e.g. ONNX Runtime) or an import guarded by
``try: ... except ImportError``."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analysis", "app")
OPTIONAL = {"onnxruntime", "onnx"}   # not in requirements.txt; their users check find_spec


def _guarded(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside a ``try`` whose handlers catch ImportError."""
    guarded = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        names = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            names |= {k.id for k in kinds if isinstance(k, ast.Name)}
        if names & {"ImportError", "ModuleNotFoundError", "Exception"}:
            for stmt in node.body:
                guarded |= {id(n) for n in ast.walk(stmt)
                            if isinstance(n, (ast.Import, ast.ImportFrom))}
    return guarded


def _base_package(path: Path, root: Path) -> str:
    """The package a file's relative imports start from (its dotted folder under ``root``)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1])


def unresolved_imports(path: Path, root: Path = ROOT) -> list[str]:
    """Every import of the Python file ``path`` (dotted under ``root``) that does not resolve,
    as "file:line: why" sentences; [] when all do."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded, package = _guarded(tree), _base_package(path, root)
    problems = []
    where = f"{path.relative_to(root)}"

    def load(module: str, node) -> object | None:
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            top = module.split(".")[0]
            if isinstance(exc, ModuleNotFoundError) and top not in PACKAGES and \
                    (id(node) in guarded or top in OPTIONAL) and exc.name.split(".")[0] == top:
                return None                          # an optional dependency, not installed
            problems.append(f"{where}:{node.lineno}: module {module!r} does not import ({exc})")
            return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                load(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            mod = load(module, node)
            if mod is None:
                continue
            for alias in node.names:
                if alias.name == "*" or hasattr(mod, alias.name):
                    continue
                try:
                    importlib.import_module(f"{module}.{alias.name}")
                except ImportError:
                    problems.append(f"{where}:{node.lineno}: cannot import name "
                                    f"{alias.name!r} from {module!r}")
    return problems


def test_every_import_in_analysis_and_app_resolves():
    files = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))
    assert len(files) > 50
    problems = [msg for path in files for msg in unresolved_imports(path)]
    assert problems == [], "\n".join(problems)


def test_a_broken_lazy_import_is_found(tmp_path, monkeypatch):
    """The check itself fails on a wrong name inside a function (never run) and on a relative
    import of a module that is not there, and passes on the right ones."""
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("VALUE = 1\n")
    (pkg / "user.py").write_text(
        "def later():\n"
        "    from .good import VALUE, MISSING\n"          # MISSING: the renamed name
        "    from analysis.config import settings\n"
        "    from analysis.metrics.registry import _config\n"   # the bug behind issue 32, item 1
        "    from . import nowhere\n"
        "    return VALUE\n"
        "try:\n"
        "    import not_an_installed_package_xyz\n"        # optional: tolerated
        "except ImportError:\n"
        "    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    problems = unresolved_imports(pkg / "user.py", root=tmp_path)
    assert len(problems) == 3, problems
    assert "'MISSING' from 'lazypkg.good'" in problems[0]
    assert "'_config' from 'analysis.metrics.registry'" in problems[1]
    assert "'nowhere' from 'lazypkg'" in problems[2]
    (pkg / "user.py").write_text("def later():\n    from .good import VALUE\n    return VALUE\n")
    assert unresolved_imports(pkg / "user.py", root=tmp_path) == []
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]
