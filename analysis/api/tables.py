"""The API's tables: image-quality metrics by name (with their direction and range) and the
per-image record table as a pandas DataFrame."""

from __future__ import annotations

from pathlib import Path

from ..config import default_dataset
from ..data.folders import results_dir
from ..data.tasks import Task
from ..errors import RAExplorerError
from ..metrics.registry import create_metric as _create_metric
from ..metrics.registry import list_metrics as _list_metrics
from ..metrics.spec import Metric
from ..pipeline.records import RecordTable, shipped_records_path
from .models import create_task


def create_metric(name: str, device: str | None = None) -> Metric:
    """An image-quality metric by name (as pyiqa's ``create_metric``).

    Args:
        name: ``"psnr"``, ``"ssim"``, ``"lpips-alex"``, ... (:func:`list_metrics`).
        device: default CUDA when available, else the CPU.

    Returns:
        A callable ``metric(x, y) -> (N,)`` for distorted ``x`` and reference ``y``, both
        (N, 1 or 3, H, W) in [0, 1], with ``metric.lower_better`` and ``metric.value_range``.

    Example:
        >>> psnr = ra.create_metric("psnr")
        >>> psnr(y[None], x[None]), psnr.lower_better, psnr.value_range
        (tensor([19.83]), False, (0.0, 80.0))
    """
    return _create_metric(name, device)


def list_metrics() -> list[dict]:
    """Every metric: ``name``, ``lower_better``, ``range`` [low, high], ``needs_weights``,
    ``available`` (and ``unavailable_reason``), ``description``.

    Example:
        >>> lower = [m["name"] for m in ra.list_metrics() if m["lower_better"]]
        >>> print(", ".join(lower[:3]))
        gmsd, mse, hf-mse
    """
    return _list_metrics()


def records(task: str | Task, dataset: str | None = None, results: str | Path | None = None):
    """The per-image record table of a task as a pandas DataFrame, one row per (test image,
    input, classifier): ``index``, ``label``, ``input`` (``clean``, ``no processing`` or a
    processor), ``classifier``, ``pred`` (top-1 class), ``prob`` (its softmax probability),
    ``correct``, ``psnr`` (dB) and ``ssim`` of the input's human view against the clean image
    (NaN for clean). ``df.attrs`` holds the task, dataset, split and provenance.

    Args:
        task: a task spec (``"sr"``, ``"denoise:sigma=0.1"``, ...).
        dataset: default ``$RA_DATASET`` or fashion-mnist.
        results: the results folder (default the dataset's, under ``$RA_RESULTS`` or
            ``results/``).

    Example:
        >>> df = ra.records("sr")
        >>> df.groupby(["input", "classifier"]).correct.mean()    # accuracy table
    """
    import numpy as np
    import pandas as pd

    spec, dataset = create_task(task).spec, default_dataset(dataset)
    path = shipped_records_path(results_dir(results, dataset=dataset), spec)
    if not path.is_file():
        raise RAExplorerError(f"No record table of {spec} on {dataset} at {path}; write one with "
                              f"'python -m analysis evaluate --task {spec} --records {path}'.")
    table = RecordTable.load(path)
    nan = np.full(len(table), np.nan, dtype=np.float32)
    frames = [pd.DataFrame({
        "index": table.index, "label": table.label, "input": inp, "classifier": clf,
        "pred": table.pred[(inp, clf)].astype(np.int64),
        "prob": table.prob[(inp, clf)].astype(np.float32),
        "correct": table.correct(inp, clf),
        "psnr": table.quality.get(("psnr", inp), nan), "ssim": table.quality.get(("ssim", inp), nan)})
        for inp in table.inputs for clf in table.classifiers if (inp, clf) in table.pred]
    df = pd.concat(frames, ignore_index=True)
    df["input"] = pd.Categorical(df["input"], categories=table.inputs)
    df["classifier"] = pd.Categorical(df["classifier"], categories=table.classifiers)
    df.attrs = {"task": table.task, "dataset": table.dataset, "split": table.split,
                "path": str(path), "provenance": table.provenance}
    return df
