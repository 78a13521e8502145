"""analysis/config.py: a source checkout is its own root wherever it runs from; the version is
pyproject's. (An installed copy's root, $RA_HOME or the current directory, is tried on a real
install in tests/test_packaging.py.)"""

import tomllib
from pathlib import Path

from analysis import config

REPO = Path(__file__).resolve().parent.parent


def test_a_checkout_is_its_own_root_whatever_the_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RA_HOME", str(tmp_path / "home"))    # for installed copies only
    for name in ("RA_CHECKPOINTS", "RA_RESULTS", "RA_RUNS", "RA_EXPLORER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert config.SOURCE_CHECKOUT == REPO == config.home() == config.PROJECT_ROOT
    assert config.checkpoints_dir() == REPO / "checkpoints"
    assert config.results_base() == REPO / "results"
    assert config.runs_dir() == REPO / "runs"
    assert config.settings_path() == REPO / "ra-explorer.toml"
    monkeypatch.setenv("RA_CHECKPOINTS", str(tmp_path / "zoo"))
    assert config.checkpoints_dir() == tmp_path / "zoo"


def test_version_is_pyprojects():
    import analysis

    with (REPO / "pyproject.toml").open("rb") as fh:
        expected = tomllib.load(fh)["project"]["version"]
    assert config.version() == analysis.__version__ == expected
