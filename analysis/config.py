"""Environment and base folders: the one place that knows the project's layout and defaults.

Every other module asks here for the project root, the checkpoint folder, the base results
folder, the runs folder (training state, survey database, non-protocol outputs), the data root,
the default dataset and the optional TOML settings; none computes a path to the repository
itself. It imports nothing of the project (a dataset's own results folder, which needs the
dataset's normal form, is :func:`analysis.data.folders.results_dir`).

The root (``<root>`` below, :func:`home`): a source checkout is its own root (the folder above
``analysis/`` when it holds ``pyproject.toml`` and ``checkpoints/``), so a checkout reads and
writes its own folders wherever it is run from. An installed copy (``pip install .``) never
looks inside site-packages: its root is $RA_HOME, else the current directory.

Environment (read by the CLI and the app alike, at call time so tests can set them):

``RA_HOME``          root of an installed copy (default: the current directory; a checkout
                     is always its own root)
``RA_CHECKPOINTS``   checkpoint folder (default ``<root>/checkpoints``)
``RA_RESULTS``       base results folder (default ``<root>/results``)
``RA_DATASET``       dataset spec used when none is given (default ``fashion-mnist``)
``RA_RUNS``          folder for training state and non-protocol outputs (default ``<root>/runs``)
``RA_DATA_ROOT``     folder holding the dataset files (``--data-root``; default: each dataset's own)
``RA_EXPLORER_CONFIG`` path of the TOML settings (default ``<root>/ra-explorer.toml``)
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def _checkout() -> Path | None:
    """The source checkout holding this package, or None for an installed copy."""
    above = Path(__file__).resolve().parent.parent
    if (above / "pyproject.toml").is_file() and (above / "checkpoints").is_dir():
        return above
    return None


SOURCE_CHECKOUT = _checkout()   # None when the package is installed (site-packages)


def home() -> Path:
    """The root of the data folders: the source checkout, else $RA_HOME, else the current
    directory (see the module docstring)."""
    if SOURCE_CHECKOUT is not None:
        return SOURCE_CHECKOUT
    return Path(os.environ.get("RA_HOME") or Path.cwd()).resolve()


PROJECT_ROOT = home()   # the root when this module was imported (home() follows later changes)
EMBEDDED_DATASET = "fashion-mnist"        # the embedded default (Debian's dataset-fashion-mnist)
QUALITY_IMAGES = 2000   # the quality tables' protocol: the first 2,000 test images
ROBUSTNESS_IMAGES = 2000   # the robust classifiers' PGD accuracy: the first 2,000 test images


def _from_env(variable: str, default: Path, override=None) -> Path:
    return Path(override or os.environ.get(variable) or default)


def version() -> str:
    """The project's version: ``pyproject.toml``'s in a source checkout, else the installed
    distribution's (``ra-explorer``, from its metadata); ``unknown`` for a copy of the
    package without either."""
    if SOURCE_CHECKOUT is not None:
        import tomllib

        with (SOURCE_CHECKOUT / "pyproject.toml").open("rb") as fh:
            return tomllib.load(fh)["project"]["version"]
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("ra-explorer")
    except PackageNotFoundError:
        return "unknown"


def checkpoints_dir(override=None) -> Path:
    """The checkpoint folder: ``override``, else $RA_CHECKPOINTS, else ``<root>/checkpoints``."""
    return _from_env("RA_CHECKPOINTS", home() / "checkpoints", override)


def results_base(override=None) -> Path:
    """The base results folder: ``override``, else $RA_RESULTS, else ``<root>/results`` (each
    dataset's own folder under it: :func:`analysis.data.folders.results_dir`)."""
    return _from_env("RA_RESULTS", home() / "results", override)


def data_root(override=None) -> str | None:
    """The folder holding the dataset files: ``override`` (``--data-root``), else $RA_DATA_ROOT,
    else None (each dataset's own default: Debian's Fashion-MNIST folder, $RA_CIFAR10 or
    ``./data`` for CIFAR-10)."""
    value = override or os.environ.get("RA_DATA_ROOT")
    return str(value) if value else None


def weights_store_dir(override=None) -> Path:
    """Where the weights of cards whose ``weights.store`` is ``outside`` live (the zoo's models
    beyond its 80 MiB, kept out of the repository with their cards inside it): ``override``,
    else $RA_WEIGHTS_STORE, else ``<root>/weights-store`` (not tracked by git)."""
    return _from_env("RA_WEIGHTS_STORE", home() / "weights-store", override)


def runs_dir(override=None) -> Path:
    """Training state, the survey database and non-protocol outputs: $RA_RUNS or ``<root>/runs``."""
    return _from_env("RA_RUNS", home() / "runs", override)


def default_dataset(override: str | None = None) -> str:
    """The dataset spec in force: ``override``, else $RA_DATASET, else the embedded default."""
    return override or os.environ.get("RA_DATASET") or EMBEDDED_DATASET


def default_workers(override: int | None = None) -> int:
    """Worker processes that decode and degrade test batches ahead of the networks: ``override``,
    else $RA_WORKERS, else 0 (in the running process). A value that is not a whole number >= 0
    is one sentence."""
    if override is not None:
        return override
    value = os.environ.get("RA_WORKERS", "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise InputError(f"RA_WORKERS={value!r} is not a whole number >= 0; set it to e.g. 2, "
                         "or unset it.")
    return int(value)


def settings_path() -> Path:
    return _from_env("RA_EXPLORER_CONFIG", home() / "ra-explorer.toml")


def settings() -> dict:
    """The optional TOML settings (``ra-explorer.toml`` or $RA_EXPLORER_CONFIG); {} if absent."""
    import tomllib

    path = settings_path()
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)
