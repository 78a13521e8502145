"""The package as a user installs it: ``pip install .`` (not editable) gives a wheel that holds every
module of the source tree and the app, a ``ra-explorer`` command, data folders under the current
directory (never site-packages), and an ``app`` verb whose server answers its health check.

The wheel is built from a copy of the sources and installed into a fresh virtual environment
whose dependencies are the project's own environment (a ``.pth`` file naming its site-packages;
``--no-index``, so nothing is downloaded), then run from a directory outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "requirements.txt", "requirements-test.txt")
TEST_ONLY = ("pytest", "pypdf", "playwright")


def modules_of(package: str) -> list[str]:
    """Every module of ``package`` in the source tree, dotted."""
    mods = []
    for path in sorted((REPO / package).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods.append(".".join(parts))
    return mods


def pyproject_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def user_env(**extra) -> dict:
    """The environment of a user outside the checkout: no RA_* settings, nothing of the
    checkout on the path, no extra package index."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RA_") and k not in ("PYTHONPATH", "PIP_FIND_LINKS")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, venv python, site-packages, a working directory outside the checkout, timings)."""
    tmp = tmp_path_factory.mktemp("package")
    src = tmp / "src"
    src.mkdir()
    for package in ("analysis", "app"):
        shutil.copytree(REPO / package, src / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static"))
    for name in SOURCES:
        shutil.copy(REPO / name, src / name)
    env = user_env()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--wheel-dir", str(tmp / "dist"),
                    str(src)], check=True, capture_output=True, timeout=300, env=env)
    built = time.perf_counter() - t0
    (wheel,) = (tmp / "dist").glob("ra_explorer-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(python), "-c", purelib], check=True, capture_output=True,
                               text=True).stdout.strip())
    # the project's environment supplies the dependencies (and pip) to the new one
    (site / "_project_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    t0 = time.perf_counter()
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]     # every dependency is satisfied here
    work = tmp / "elsewhere"
    work.mkdir()
    return {"wheel": wheel, "python": python, "bin": venv / "bin", "site": site, "work": work,
            "seconds": {"build": built, "install": time.perf_counter() - t0}}


def run(installed, *args, env=None, timeout=300):
    return subprocess.run([*args], cwd=installed["work"], env=env or user_env(),
                          capture_output=True, text=True, timeout=timeout)


def test_wheel_holds_every_module_the_app_and_the_command(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(meta).decode()
        entry_points = wheel.read(meta.replace("METADATA", "entry_points.txt")).decode()
    sources = [p.relative_to(REPO).as_posix() for package in ("analysis", "app")
               for p in (REPO / package).rglob("*.py") if "static" not in p.parts]
    assert "app/views/compare.py" in sources and "analysis/pipeline/runner.py" in sources
    assert sorted(set(sources) - names) == []
    assert "app/streamlit_config.toml" in names
    assert not any(n.startswith("app/static/") for n in names)
    assert "ra-explorer = analysis.cli.main:main" in entry_points
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    assert any(r.startswith("torch") for r in requires)
    for name in TEST_ONLY:             # test-only packages: in the "test" extra, nowhere else
        mine = [r for r in requires if r.split(">")[0].split("=")[0].strip() == name]
        assert mine and all('extra == "test"' in r for r in mine), (name, mine)
    assert "License-Expression: MIT" in metadata


def test_installed_copy_runs_from_another_directory(installed):
    expected = f"ra-explorer {pyproject_version()}"
    for command in ([str(installed["bin"] / "ra-explorer"), "--version"],
                    [str(installed["python"]), "-m", "analysis", "--version"]):
        done = run(installed, *command)
        assert done.returncode == 0 and done.stdout.strip() == expected, (command, done.stderr)

    done = run(installed, str(installed["bin"] / "ra-explorer"), "list", "checkpoints",
               "--checkpoints", str(REPO / "checkpoints"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resnet20 " in done.stdout and "sr-plain" in done.stdout

    done = run(installed, str(installed["bin"] / "ra-explorer"), "list",
               "checkpoints")   # no checkpoints here
    assert done.returncode == 0 and str(installed["work"] / "checkpoints") in done.stdout

    script = ("import analysis.config as c\n"
              "print(c.SOURCE_CHECKOUT, c.home(), c.checkpoints_dir(), c.results_base(),"
              " c.runs_dir(), c.settings_path(), sep='\\n')\n")
    work = installed["work"]
    done = run(installed, str(installed["python"]), "-c", script)
    assert done.stdout.split("\n")[:6] == ["None", str(work), str(work / "checkpoints"),
                                           str(work / "results"), str(work / "runs"),
                                           str(work / "ra-explorer.toml")], done.stderr
    home = work / "home"
    done = run(installed, str(installed["python"]), "-c", script, env=user_env(RA_HOME=str(home)))
    assert done.stdout.split("\n")[1:3] == [str(home), str(home / "checkpoints")], done.stderr


def test_installed_copy_imports_every_module(installed):
    # app's pages (views/) and navigation (main.py) are scripts Streamlit runs, not imports
    modules = [m for m in modules_of("analysis") + modules_of("app")
               if not m.startswith("app.views.") and m != "app.main"]
    assert "analysis.survey.db" in modules and "app.components.common" in modules
    script = ("import importlib, sys\n"
              f"site = {str(installed['site'])!r}\n"
              "for name in sys.argv[1:]:\n"
              "    m = importlib.import_module(name)\n"
              "    assert m.__file__.startswith(site), (name, m.__file__)\n"
              "print(len(sys.argv) - 1)\n")
    done = run(installed, str(installed["python"]), "-c", script, *modules)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) == len(modules)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_verb_serves_the_app(installed):
    port = free_port()
    env = user_env(RA_PRELOAD="0", RA_SURVEY_DEMO="0")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(installed["python"]), "-m", "analysis", "app", "--port", str(port)],
                            cwd=installed["work"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        answer = None
        while time.perf_counter() - t0 < 120 and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    answer = r.read().decode()
                    break
            except OSError:
                time.sleep(0.25)
        assert answer == "ok", proc.poll()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"127.0.0.1:{port}" in out, out[-2000:]   # the address of app/streamlit_config.toml


def test_citation_and_licence_name_the_project_as_it_is():
    citation = (REPO / "CITATION.cff").read_text()
    assert f"version: {pyproject_version()}" in citation
    for title in ("Transferable Recognition-Aware Image Processing",
                  "Evaluating Robust Perceptual Losses for Image Reconstruction",
                  "Quality-Agnostic Image Recognition via Invertible Decoder"):
        assert f"title: {title}" in citation
    assert "license: MIT" in citation
    licence = (REPO / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Copyright (c) 2026 RA Explorer contributors" in licence
    assert "## [Unreleased]" in (REPO / "CHANGELOG.md").read_text()
