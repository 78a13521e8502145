"""Accuracy matrices and image quality of every processor of a task.

Rows: ``clean`` (the undegraded test images, an upper bound), ``no processing``
(the LQ input resized bicubically to full size) and each processor checkpoint
of the task; columns: each classifier checkpoint of the dataset. Each cell is
top-1 accuracy with a 95 % Wilson interval over test images and the expected
calibration error (``ece``: 15 equal-width bins of the top-1 softmax probability,
:func:`analysis.stats.expected_calibration_error`, from the record table's float16
probabilities). PSNR (dB, peak 1)
and SSIM (piq's Gaussian-window SSIM, 11 taps, sigma 1.5, on [0, 1] images)
are means over images against the clean image, with 95 % CIs. For "RA with
transformer" the classifiers see T(P(x)) and the quality metrics P(x), the
image a person sees (RA paper, section 3.3).
"""

from __future__ import annotations

import math

from ..data.datasets import normal_dataset
from ..data.tasks import create_task
from ..errors import RAExplorerError
from ..pipeline.partial import PartialStore
from ..pipeline.records import RecordSink, RecordTable
from ..pipeline.runner import CLEAN, NO_PROCESSING, world
from ..pipeline.setting import Setting
from ..stats import Z95, expected_calibration_error, mean_interval, wilson_interval
from ..zoo.catalogue import (
    checkpoint_dir,
    main_processors,
    model_digests,
    no_checkpoints_message,
    select_models,
    tasks_in_zoo,
)

__all__ = ["CLEAN", "NO_PROCESSING", "PAPER_TASKS", "accuracy_report", "evaluate", "format_report",
           "main_processors", "measure_task", "paired_difference", "report_tasks",
           "select_models", "tasks_in_zoo", "update_cards"]

PAPER_TASKS = ("sr", "denoise", "jpeg")  # the RA paper's settings: SR x4, sigma 0.1, q 10


def report_tasks(dataset: str, folder=None) -> list[str]:
    """The paper's three tasks, then any other task that has processors in the zoo."""
    paper = [create_task(t).spec for t in PAPER_TASKS]
    return paper + [t for t in tasks_in_zoo(dataset, folder) if t not in paper]


def paired_difference(a, b) -> dict:
    """Accuracy difference mean(a) - mean(b) of paired per-image correctness, with a 95 % CI.

    a, b: bool arrays (N,) for the same images. Uses the matched-pairs Wald
    interval: d = (n10 - n01) / N, se = sqrt(n10 + n01 - (n10 - n01)^2 / N) / N.
    """
    n = len(a)
    n10 = int((a & ~b).sum())
    n01 = int((~a & b).sum())
    d = (n10 - n01) / n
    se = math.sqrt(max(n10 + n01 - (n10 - n01) ** 2 / n, 0.0)) / n
    return {"diff": d, "ci95": [d - Z95 * se, d + Z95 * se], "discordant": [n10, n01]}


def measure_task(task: str, dataset: str | None = None, folder=None, limit: int | None = None,
                 batch_size: int | None = None, device: str | None = None, seed: int = 0,
                 processors=None, classifiers=None, data_root: str | None = None,
                 progress: bool = True, on_progress=None,
                 extra_sinks=(), execution=None, resume: bool | None = None,
                 workers: int | None = None, collections: tuple[str, ...] = ()
                 ) -> tuple[RecordTable, list[dict], list[dict]]:
    """One runner pass over the test split of ``task``: the per-image record table.

    Every (image, model) forward runs once; ``extra_sinks`` (objects with ``add(batch)``, e.g.
    a quality sink) consume the same batches. ``execution``: the classifiers' execution
    policy (None: ``$RA_EXECUTION``, default ``auto``; the table is the same with any exact
    one). ``batch_size`` None: 500, or fewer for large images
    (:meth:`~analysis.pipeline.setting.Setting.batch_size`). ``resume``: None keeps no partial
    results; False keeps them per batch (:mod:`analysis.pipeline.partial`) and starts afresh;
    True goes on from those an interrupted run of the same identity kept. ``workers``: worker
    processes decoding and degrading batches ahead (None: $RA_WORKERS or 0). ``collections``:
    checkpoint collections whose processors of the task join the zoo's (a randomized task's, a
    corruption cell's). Returns (table, classifier cards, processor cards).
    """
    from ..metrics.registry import create_metric

    setting = Setting(task, dataset, folder, device, data_root, workers)
    clf_cards, proc_cards = setting.select(processors, classifiers, collections=collections)
    if not clf_cards:
        raise RAExplorerError(no_checkpoints_message("classifier", setting.dataset, folder))
    dev = setting.device
    sink = RecordSink(setting.load(clf_cards), {"psnr": create_metric("psnr", device=dev),
                                                "ssim": create_metric("ssim", device=dev)},
                      execution)
    rank, size = world()
    batch_size = setting.batch_size(batch_size)
    partial = None if resume is None or extra_sinks else PartialStore(
        "evaluate", {"task": setting.task.spec, "dataset": normal_dataset(setting.dataset),
                     "models": model_digests(clf_cards, proc_cards), "limit": repr(limit),
                     "batch_size": batch_size, "seed": seed, "world_size": size,
                     "metrics": ["psnr", "ssim"]}, resume, rank=rank)
    setting.run(setting.load(proc_cards), [sink, *extra_sinks], partial=partial,
                desc=f"evaluate {setting.task.spec}", progress=progress,
                on_progress=on_progress, batch_size=batch_size, limit=limit, seed=seed)
    test = setting.test
    n = len(test) if limit is None else min(limit, len(test))
    record = setting.provenance(n_images=n, checkpoints=model_digests(clf_cards, proc_cards),
                                seeds={"degradation": seed}, world_size=size)
    record["execution"] = sink.execution()
    if progress and rank == 0 and record["execution"]:
        import sys

        print("execution: " + "; ".join(f"{name} {p.summary()}"
                                        for name, p in sink.predictors.items() if p.plan),
              file=sys.stderr)
    table = sink.table(setting.task.spec, setting.dataset, "test", size, record)
    if partial is not None:
        partial.finish()
    return table, clf_cards, proc_cards


def evaluate(task: str, dataset: str | None = None, folder=None, limit: int | None = None,
             batch_size: int | None = None, device: str | None = None, seed: int = 0,
             processors=None, classifiers=None, data_root: str | None = None,
             progress: bool = True, on_progress=None, collections: tuple[str, ...] = ()) -> dict:
    """The accuracy matrix and PSNR / SSIM of every processor of ``task`` on the test split.

    Rows: clean, no processing, each processor; columns: each classifier. ``on_progress(done,
    total)`` is called after every batch (for a GUI progress bar). Each processor row also
    carries ``vs_plain``: its paired accuracy difference to the task's plain processor on the
    same images, per classifier, with a 95 % CI (absent when the zoo has no plain processor).
    ``collections``: as :func:`measure_task`'s.
    """
    table, clf_cards, proc_cards = measure_task(
        task, dataset, folder, limit, batch_size, device, seed, processors, classifiers,
        data_root, progress, on_progress, collections=collections)
    return accuracy_report(table, proc_cards, clf_cards, seed)


def accuracy_report(table: RecordTable, proc_cards: list[dict], clf_cards: list[dict],
                    seed: int = 0) -> dict:
    """The evaluation document (accuracy matrix, PSNR / SSIM, paired differences to plain)
    computed from a record table."""
    n_total = len(table)
    cards = {c["name"]: c for c in proc_cards}
    clfs = table.classifiers
    hits = {inp: {k: table.correct(inp, k) for k in clfs} for inp in table.inputs}
    plain = next((c["name"] for c in proc_cards
                  if c.get("method") == "plain" and not c.get("lambda")), None)

    def cell(inp, clf):
        h = hits[inp][clf]
        k = int(h.sum())
        low, high = wilson_interval(k, n_total)
        return {"accuracy": k / n_total, "ci95": [low, high], "correct": k,
                "ece": expected_calibration_error(table.prob[(inp, clf)], h)}

    def quality(metric, name):
        if name == CLEAN:
            return None
        mean, low, high = mean_interval(table.quality[(metric, name)].tolist())
        return {"mean": mean, "ci95": [low, high]}

    def versus_plain(name):
        if plain is None or name in (CLEAN, plain):
            return None
        return {k: paired_difference(hits[name][k], hits[plain][k]) for k in clfs}

    return {
        "task": table.task, "dataset": table.dataset, "split": table.split, "n_images": n_total,
        "seed": seed, "classifiers": list(clfs), "plain": plain,
        "models": model_digests(clf_cards, proc_cards),
        "rows": [{"name": name, "method": cards[name].get("method") if name in cards else None,
                  "lambda": cards[name].get("lambda") if name in cards else None,
                  "source": cards[name].get("source") if name in cards else None,
                  "accuracy": {k: cell(name, k) for k in clfs},
                  "vs_plain": versus_plain(name),
                  "psnr": quality("psnr", name), "ssim": quality("ssim", name)}
                 for name in table.inputs],
        "provenance": table.provenance,
    }


def update_cards(result: dict, folder=None) -> list[str]:
    """Write the measured test figures of ``result`` into the model cards; returns names updated.

    Classifiers get ``test_accuracy`` (clean test images); processors get
    ``test_accuracy`` on their source recognizer (or on every classifier when
    they have none), ``test_psnr`` and ``test_ssim``, each keyed by task.
    """
    from ..zoo.checkpoints import update_card

    folder = checkpoint_dir(folder)
    updated = []
    clean = next(r for r in result["rows"] if r["name"] == CLEAN)
    for clf, cell in clean["accuracy"].items():
        update_card(folder / clf, metrics={"test_accuracy": cell["accuracy"],
                                           "test_accuracy_ci95": cell["ci95"],
                                           "test_images": result["n_images"]})
        updated.append(clf)
    for row in result["rows"]:
        if row["method"] is None:
            continue
        accuracy = {k: v["accuracy"] for k, v in row["accuracy"].items()}
        update_card(folder / row["name"], metrics={
            "test_accuracy": accuracy.get(row["source"]) if row["source"] in accuracy else accuracy,
            "test_accuracy_by_classifier": accuracy,
            "test_psnr": row["psnr"]["mean"], "test_ssim": row["ssim"]["mean"],
            "test_images": result["n_images"]})
        updated.append(row["name"])
    return updated


def format_report(result: dict) -> str:
    """A plain-text table: rows = inputs / processors, columns = classifiers (accuracy in %)."""
    clfs = result["classifiers"]
    name_w = max(14, *(len(r["name"]) for r in result["rows"]))
    col_w = max(9, *(len(c) for c in clfs))
    head = (f"Task {result['task']} on {result['dataset']} ({result['split']} split, "
            f"{result['n_images']} images). Accuracy in % (95 % CI half-width); PSNR in dB.")
    lines = [head, "",
             f"{'input':<{name_w}} " + " ".join(f"{c:>{col_w}}" for c in clfs)
             + f" {'PSNR':>7} {'SSIM':>7}"]
    for r in result["rows"]:
        cells = []
        for c in clfs:
            a = r["accuracy"][c]
            half = 100 * (a["ci95"][1] - a["ci95"][0]) / 2
            cells.append(f"{100 * a['accuracy']:{col_w - 5}.1f}±{half:<4.1f}")
        psnr = f"{r['psnr']['mean']:7.2f}" if r["psnr"] else f"{'-':>7}"
        ssim = f"{r['ssim']['mean']:7.4f}" if r["ssim"] else f"{'-':>7}"
        lines.append(f"{r['name']:<{name_w}} " + " ".join(cells) + f" {psnr} {ssim}")
    return "\n".join(lines)
