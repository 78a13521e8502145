"""Where things are and what the defaults are: the one place that knows the project's layout.

Every other module asks here for the project root, the checkpoint folder, the results folder,
the runs folder (training state, survey database, non-protocol outputs), the default dataset
and the optional TOML settings; none computes a path to the repository itself.

Environment (read by the CLI and the app alike, at call time so tests can set them):

``RA_CHECKPOINTS``   checkpoint folder (default ``<root>/checkpoints``)
``RA_RESULTS``       results folder (default ``<root>/results``)
``RA_DATASET``       dataset spec used when none is given (default ``fashion-mnist``)
``RA_RUNS``          folder for training state and non-protocol outputs (default ``<root>/runs``)
``RA_DATA_ROOT``     folder holding the dataset files (``--data-root``; default: each dataset's own)
``RA_EXPLORER_CONFIG`` path of the TOML settings (default ``<root>/ra-explorer.toml``)
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_DATASET = "fashion-mnist"        # the embedded default (Debian's dataset-fashion-mnist)
QUALITY_IMAGES = 2000   # the quality tables' protocol: the first 2,000 test images
ROBUSTNESS_IMAGES = 2000   # the robust classifiers' PGD accuracy: the first 2,000 test images


def _from_env(variable: str, default: Path, override=None) -> Path:
    return Path(override or os.environ.get(variable) or default)


def checkpoints_dir(override=None) -> Path:
    """The checkpoint folder: ``override``, else $RA_CHECKPOINTS, else ``<root>/checkpoints``."""
    return _from_env("RA_CHECKPOINTS", PROJECT_ROOT / "checkpoints", override)


def results_dir(override=None, dataset: str | None = None) -> Path:
    """The results folder of ``dataset``.

    ``override`` (a folder the user named) is returned as given. Otherwise the base is
    $RA_RESULTS or ``<root>/results``: the embedded default's results live in the base itself
    (the shipped files), every other dataset's in ``<base>/datasets/<slug>`` (see
    :func:`dataset_slug`), so that no run on one dataset can touch another's files.
    """
    if override:
        return Path(override)
    base = _from_env("RA_RESULTS", PROJECT_ROOT / "results")
    if dataset is None or dataset_slug(dataset) == EMBEDDED_DATASET:
        return base
    return base / "datasets" / dataset_slug(dataset)


def dataset_slug(spec: str) -> str:
    """A folder name for a dataset spec: lower case letters, digits, '-' and '.'; long specs
    (deep paths) keep their first 30 and last 38 characters and a hash of the whole spec, so
    two folders that end alike stay apart. The spec is first put in its normal form
    (:func:`analysis.data.datasets.normalize_dataset_spec`), so every spelling of one dataset
    gets one folder: ``"fashion-mnist"`` -> ``"fashion-mnist"``, ``"imagefolder:/data/pets/"``
    -> ``"imagefolder-data-pets-channels-3-policy-resize-center-crop-size-64"``."""
    try:     # one folder per dataset, however its spec is spelled (trailing slash, defaults)
        from .data.datasets import normalize_dataset_spec

        spec = normalize_dataset_spec(spec)
    except Exception:   # an unreadable spec keeps its own spelling; loading it will say why
        pass
    slug = re.sub(r"[^a-z0-9.]+", "-", spec.strip().lower()).strip("-.") or "dataset"
    if len(slug) <= 80:
        return slug
    return (slug[:30].rstrip("-.") + "-" + slug[-38:].lstrip("-.") + "-"
            + hashlib.sha256(spec.encode()).hexdigest()[:10])


def command_in_force(command: str) -> str:
    """``command`` (a ``python -m analysis VERB ...`` line) with the settings in force that a
    shell without this process's environment would not know: the dataset, checkpoint folder,
    data root and results folder, as options."""
    extra = []
    if default_dataset() != EMBEDDED_DATASET and "--dataset" not in command:
        extra.append(f"--dataset {shlex.quote(default_dataset())}")
    if os.environ.get("RA_CHECKPOINTS") and "--checkpoints" not in command:
        extra.append(f"--checkpoints {shlex.quote(os.environ['RA_CHECKPOINTS'])}")
    if data_root() and "--data-root" not in command:
        extra.append(f"--data-root {shlex.quote(data_root())}")
    if os.environ.get("RA_RESULTS") and "--out" not in command:
        extra.append(f"--out {shlex.quote(str(results_dir(dataset=default_dataset())))}")
    return " ".join([command, *extra])




def data_root(override=None) -> str | None:
    """The folder holding the dataset files: ``override`` (``--data-root``), else $RA_DATA_ROOT,
    else None (each dataset's own default: Debian's Fashion-MNIST folder, $RA_CIFAR10 or
    ``./data`` for CIFAR-10)."""
    value = override or os.environ.get("RA_DATA_ROOT")
    return str(value) if value else None


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
