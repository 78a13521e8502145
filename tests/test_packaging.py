"""The installed package holds every module of the source tree (the package list is found
automatically, so a new sub-package cannot be left out of an installed copy)."""

import os
import shutil
import subprocess
import sys

from analysis.config import PROJECT_ROOT


def source_modules() -> list[str]:
    mods = []
    for path in sorted((PROJECT_ROOT / "analysis").rglob("*.py")):
        parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods.append(".".join(parts))
    return mods


def test_installed_copy_imports_every_module(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(PROJECT_ROOT / "analysis", src / "analysis",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(PROJECT_ROOT / name, src / name)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(src)],
                   check=True, capture_output=True, timeout=300)
    modules = source_modules()
    assert "analysis.survey.db" in modules and "analysis.pipeline.runner" in modules
    script = ("import importlib, sys\n"
              f"site = {str(site)!r}\n"
              "for name in sys.argv[1:]:\n"
              "    m = importlib.import_module(name)\n"
              "    assert m.__file__.startswith(site), (name, m.__file__)\n"
              "print(len(sys.argv) - 1)\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", script, *modules], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) == len(modules)
