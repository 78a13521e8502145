"""Where things are and what the defaults are: the one place that knows the project's layout.

Every other module asks here for the project root, the checkpoint folder, the results folder,
the runs folder (training state, survey database, non-protocol outputs), the default dataset
and the optional TOML settings; none computes a path to the repository itself.

Environment (read by the CLI and the app alike, at call time so tests can set them):

``RA_CHECKPOINTS``   checkpoint folder (default ``<root>/checkpoints``)
``RA_RESULTS``       results folder (default ``<root>/results``)
``RA_DATASET``       dataset spec used when none is given (default ``fashion-mnist``)
``RA_RUNS``          folder for training state and non-protocol outputs (default ``<root>/runs``)
``RA_EXPLORER_CONFIG`` path of the TOML settings (default ``<root>/ra-explorer.toml``)
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_DATASET = "fashion-mnist"        # the embedded default (Debian's dataset-fashion-mnist)


def _from_env(variable: str, default: Path, override=None) -> Path:
    return Path(override or os.environ.get(variable) or default)


def checkpoints_dir(override=None) -> Path:
    """The checkpoint folder: ``override``, else $RA_CHECKPOINTS, else ``<root>/checkpoints``."""
    return _from_env("RA_CHECKPOINTS", PROJECT_ROOT / "checkpoints", override)


def results_dir(override=None) -> Path:
    """The results folder: ``override``, else $RA_RESULTS, else ``<root>/results``."""
    return _from_env("RA_RESULTS", PROJECT_ROOT / "results", override)


def runs_dir(override=None) -> Path:
    """Training state, the survey database and non-protocol outputs: $RA_RUNS or ``<root>/runs``."""
    return _from_env("RA_RUNS", PROJECT_ROOT / "runs", override)


def default_dataset(override: str | None = None) -> str:
    """The dataset spec in force: ``override``, else $RA_DATASET, else the embedded default."""
    return override or os.environ.get("RA_DATASET") or EMBEDDED_DATASET


def settings_path() -> Path:
    return _from_env("RA_EXPLORER_CONFIG", PROJECT_ROOT / "ra-explorer.toml")


def settings() -> dict:
    """The optional TOML settings (``ra-explorer.toml`` or $RA_EXPLORER_CONFIG); {} if absent."""
    import tomllib

    path = settings_path()
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)
