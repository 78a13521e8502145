"""Where each dataset's results go: one folder name per dataset (:func:`dataset_slug`, however
its spec is spelled) and the results folder under the base that keeps datasets apart, plus the
command line that reaches the same folders from another shell."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from pathlib import Path

from ..config import EMBEDDED_DATASET, checkpoints_dir, data_root, default_dataset, results_base
from ..errors import RAExplorerError
from .datasets import normalize_dataset_spec
from .tasks import create_task


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


# verbs that name the checkpoint they write with --out (no --checkpoints option), and those
# without --data-root or --dataset (build-zoo plans the embedded default's recipe only)
_NO_CHECKPOINTS = ("train-classifier", "train-processor", "import-weights")
_NO_DATA_ROOT = ("import-weights", "build-zoo")
_NO_DATASET = ("build-zoo",)


def _verb(command: str) -> str:
    words = command.split()
    return words[3] if len(words) > 3 and words[:3] == ["python", "-m", "analysis"] else ""


def command_in_force(command: str, dataset: str | None = None) -> str:
    """``command`` (a ``python -m analysis VERB ...`` line) with the settings in force that a
    shell without this process's environment would not know: the dataset (``dataset``, else
    $RA_DATASET), checkpoint folder, data root and results folder, as options, each only where
    the verb takes it."""
    verb, extra = _verb(command), []
    dataset = default_dataset(dataset)
    if (not is_embedded(dataset) and "--dataset" not in command
            and verb not in _NO_DATASET):
        extra.append(f"--dataset {shlex.quote(dataset)}")
    if (os.environ.get("RA_CHECKPOINTS") and "--checkpoints" not in command
            and verb not in _NO_CHECKPOINTS):
        extra.append(f"--checkpoints {shlex.quote(os.environ['RA_CHECKPOINTS'])}")
    if data_root() and "--data-root" not in command and verb not in _NO_DATA_ROOT:
        extra.append(f"--data-root {shlex.quote(data_root())}")
    if (os.environ.get("RA_RESULTS") and "--out" not in command
            and verb not in (*_NO_CHECKPOINTS, *_NO_DATASET)):
        extra.append(f"--out {shlex.quote(str(results_dir(dataset=dataset)))}")
    return " ".join([command, *extra])


def is_embedded(dataset: str | None = None) -> bool:
    """Whether ``dataset`` (default: the one in force) is the embedded default."""
    return dataset_slug(default_dataset(dataset)) == EMBEDDED_DATASET


def zoo_commands(dataset: str | None = None, folder=None, task: str = "sr",
                 models: tuple[str, ...] = ("classifier", "plain", "ra"),
                 source: str = "resnet20") -> list[str]:
    """The commands that train ``models`` for ``dataset`` (default: the one in force) into the
    checkpoint folder ``folder`` (default: the one in force).

    On the embedded default that is ``python -m analysis build-zoo`` (its recipe). Any other
    dataset, which build-zoo does not plan, gets one line per model with ``--dataset``:
    ``"classifier"`` (``train-classifier --arch resnet20``, named ``source``), ``"plain"`` and
    ``"ra"`` (``train-processor`` of ``task``, the RA one through ``source``), ``"ra@LAMBDA"``
    (an RA processor of the lambda sweep, ``<task>-ra-lam<LAMBDA>``) and ``"ra-src:NAME"`` (an
    RA processor with source NAME for the transfer table, ``<task>-ra-src-<NAME>``).
    """
    dataset = default_dataset(dataset)
    if is_embedded(dataset):
        return ["python -m analysis build-zoo"]
    zoo = shlex.quote(str(checkpoints_dir(folder)).rstrip("/"))
    data = f"--dataset {shlex.quote(dataset)}"
    name = task.split(":")[0]
    spec = name if create_task(name).spec == create_task(task).spec else task   # sr, not sr:scale=4
    train = f"python -m analysis train-processor {data} --task {shlex.quote(spec)} --method"
    lines = []
    for model in models:
        if model == "classifier":
            lines.append(f"python -m analysis train-classifier {data} --arch resnet20 "
                         f"--out {zoo}/{source}")
        elif model == "plain":
            lines.append(f"{train} plain --out {zoo}/{name}-plain")
        elif model == "ra":
            lines.append(f"{train} ra --classifier {zoo}/{source} --out {zoo}/{name}-ra")
        elif model.startswith("ra@"):
            lam = model[3:]
            lines.append(f"{train} ra --classifier {zoo}/{source} --lambda {lam} "
                         f"--out {zoo}/{name}-ra-lam{lam}")
        elif model.startswith("ra-src:"):
            other = model[7:]
            lines.append(f"{train} ra --classifier {zoo}/{other} --out {zoo}/{name}-ra-src-{other}")
        else:
            raise ValueError(f"unknown zoo model {model!r}")
    return lines


def zoo_advice(dataset: str | None = None, folder=None, task: str = "sr",
               models: tuple[str, ...] = ("classifier", "plain", "ra"),
               source: str = "resnet20", what: str = "them") -> str:
    """``train them with 'COMMAND' then 'COMMAND'`` (:func:`zoo_commands`; ``what`` names
    the models: "them", "it"), ending with, on another dataset than the embedded default,
    where classifiers of one's own come from (``import-weights``)."""
    lines = zoo_commands(dataset, folder, task, models, source)
    text = f"train {what} with " + " then ".join(f"'{line}'" for line in lines)
    if not is_embedded(dataset) and "classifier" in models:
        text += (" (or bring a classifier of your own with 'python -m analysis import-weights "
                 f"--arch ARCH --weights FILE --dataset {shlex.quote(default_dataset(dataset))} "
                 f"--out {shlex.quote(str(checkpoints_dir(folder)).rstrip('/'))}/NAME')")
    return text
