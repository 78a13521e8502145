"""``python -m analysis reproduce``: re-measure every task of the zoo on the full test split and
rewrite results/: per task the raw evaluation (``evaluate_<task>.json``), the per-image record
table and the quality table, then the RA paper's tables (:mod:`.tables`) and, on request, the
paper figures (:mod:`.paper.shipped`). A task whose saved evaluation was measured on the
current checkpoints is reused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..analyses.evaluate import accuracy_report, measure_task, model_digests, report_tasks, select_models
from ..analyses.quality import default_metrics, quality_result, quality_sink, save_quality
from ..config import QUALITY_IMAGES, default_dataset
from ..data.datasets import load_dataset
from ..data.folders import results_dir
from ..data.tasks import create_task
from ..device import pick_device
from ..pipeline.records import records_path
from ..pipeline.runner import world
from ..zoo.catalogue import classifier_cards
from .paper.shipped import write_result_figures
from .tables import write_results


def reusable(path: Path, task: str, dataset: str, folder, limit: int | None) -> dict | None:
    """The saved evaluation of ``task`` if it was measured on exactly the zoo's current
    checkpoints (same names and weight digests), dataset and number of images; else None."""
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    clf_cards, proc_cards = select_models(create_task(task).spec, dataset, folder)
    n = len(load_dataset(dataset, "test")) if limit is None else limit
    same = (saved.get("models") == model_digests(clf_cards, proc_cards)
            and saved.get("dataset") == dataset and saved.get("n_images") == n)
    return saved if same else None


def measure_for_results(task: str, dataset: str, folder=None, limit: int | None = None,
                        out_dir: Path | None = None, progress: bool = True,
                        device: str | None = None, quality_images: int | None = QUALITY_IMAGES):
    """One runner pass over ``task``'s test split for every shipped table of the task: the
    record table (every classifier the app offers: the zoo's and the recognizer-side ones, so
    that the Gallery answers for each from the file), the evaluation (accuracy, PSNR / SSIM,
    paired differences; the zoo's classifiers) and the quality table (first
    ``quality_images`` images). Writes the record table and the quality files; returns
    (evaluation, written paths)."""
    dev = pick_device(device)
    qsink = quality_sink(default_metrics(folder, dataset), folder, dev, limit=quality_images)
    zoo_cards = select_models(create_task(task).spec, dataset, folder)[0]
    offered = [c["name"] for c in zoo_cards] + [
        c["name"] for c in classifier_cards(folder, dataset) if c not in zoo_cards]
    table, _, proc_cards = measure_task(task, dataset, folder, limit, device=device,
                                        progress=progress, extra_sinks=[qsink],
                                        classifiers=offered)
    result = accuracy_report(table.only([c["name"] for c in zoo_cards]), proc_cards, zoo_cards)
    rank, size = world()
    qsink.gather(size)
    if rank != 0:
        return result, []
    out = results_dir(out_dir, dataset=dataset)
    written = [table.save(records_path(out, table.task))]
    quality = quality_result(qsink, table.task, dataset, proc_cards, provenance={
        **table.provenance, "n_images": qsink.n_images()})
    written += save_quality(quality, out)
    return result, written


def regenerate(dataset: str | None = None, folder=None, limit: int | None = None,
               out_dir: Path | None = None, progress: bool = True, device: str | None = None,
               fresh: bool = False, tasks: list[str] | None = None, figures: bool = False):
    """Measure every task (one runner pass each) and rewrite the tables and (``figures``) the
    paper figures in ``<results>/figures``; returns (results, written paths).

    A task whose saved ``evaluate_<task>.json`` was measured on the current
    checkpoints (by weight digest) is reused, unless ``fresh`` (all tasks) or it is one of
    ``tasks`` (task specs to re-measure; the tables still cover every task).
    """
    dataset = default_dataset(dataset)
    again = {create_task(t).spec for t in tasks or []}
    results, written = [], []
    for t in report_tasks(dataset, folder):
        path = results_dir(out_dir, dataset=dataset) / f"evaluate_{create_task(t).slug}.json"
        redo = fresh or create_task(t).spec in again
        saved = None if redo else reusable(path, t, dataset, folder, limit)
        if saved is not None:
            print(f"results: {t} reused from {path.name} (same checkpoints)", file=sys.stderr)
            results.append(saved)
            continue
        result, paths = measure_for_results(t, dataset, folder, limit, out_dir, progress, device)
        results.append(result)
        written += paths
    written += write_results(results, out_dir)
    if figures:
        written += regenerate_figures(results_dir(out_dir, dataset=dataset), folder, dataset, device)
    return results, written


def regenerate_figures(out_dir: Path, folder=None, dataset: str | None = None,
                       device: str | None = None) -> list[Path]:
    """The paper figures of the result files in ``out_dir``, into ``out_dir/figures``
    (:mod:`analysis.reporting.paper.shipped`)."""
    return write_result_figures(out_dir, folder=folder, dataset=dataset, device=device)
