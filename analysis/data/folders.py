"""Where each dataset's results go: one folder name per dataset (:func:`dataset_slug`, however
its spec is spelled) and the results folder under the base that keeps datasets apart, plus the
command line that reaches the same folders from another shell."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from pathlib import Path

from ..config import EMBEDDED_DATASET, data_root, default_dataset, results_base
from ..errors import RAExplorerError
from .datasets import normalize_dataset_spec


def dataset_slug(spec: str) -> str:
    """A folder name for a dataset spec: lower case letters, digits, '-' and '.'; long specs
    (deep paths) keep their first 30 and last 38 characters and a hash of the whole spec, so
    two folders that end alike stay apart. The spec is first put in its normal form
    (:func:`analysis.data.datasets.normalize_dataset_spec`), so every spelling of one dataset
    gets one folder: ``"fashion-mnist"`` -> ``"fashion-mnist"``, ``"imagefolder:/data/pets/"``
    -> ``"imagefolder-data-pets-channels-3-policy-resize-center-crop-size-64"``."""
    try:     # one folder per dataset, however its spec is spelled (trailing slash, defaults)
        spec = normalize_dataset_spec(spec)
    except (RAExplorerError, OSError, ValueError):   # an unreadable spec keeps its own
        pass                                          # spelling; loading it will say why
    slug = re.sub(r"[^a-z0-9.]+", "-", spec.strip().lower()).strip("-.") or "dataset"
    if len(slug) <= 80:
        return slug
    return (slug[:30].rstrip("-.") + "-" + slug[-38:].lstrip("-.") + "-"
            + hashlib.sha256(spec.encode()).hexdigest()[:10])


def results_dir(override=None, dataset: str | None = None) -> Path:
    """The results folder of ``dataset``.

    ``override`` (a folder the user named) is returned as given. Otherwise the base is
    :func:`analysis.config.results_base` ($RA_RESULTS or ``<root>/results``): the embedded
    default's results live in the base itself (the shipped files), every other dataset's in
    ``<base>/datasets/<slug>`` (see :func:`dataset_slug`), so that no run on one dataset can
    touch another's files.
    """
    if override:
        return Path(override)
    base = results_base()
    if dataset is None or dataset_slug(dataset) == EMBEDDED_DATASET:
        return base
    return base / "datasets" / dataset_slug(dataset)


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
