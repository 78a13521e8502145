"""Transfer across categories: the RA paper's Table 7 on two disjoint halves of a dataset's classes.

The halves ``a`` and ``b`` are those of :mod:`analysis.data.categories` (fixed by a seed before
any run). On each half ``s`` a classifier ``R_s`` and a plain and an RA processor ``P_s`` (RA
through ``R_s``) were trained on that half's training images only; nothing of half ``s`` saw an
image of the other half. A cell (train half ``s``, evaluation half ``e``) is the accuracy of
``R_e`` on half ``e``'s test images, degraded by the task and restored by ``P_s``: the diagonal
is the usual setting, the off-diagonal cells ask whether RA still helps on classes neither the
processor nor the recognizer it was trained through has seen. Each cell holds the plain and the
RA accuracy (Wilson 95 % intervals over the test images), their paired difference RA - plain
with a matched-pairs 95 % CI (:func:`analysis.analyses.evaluate.paired_difference`) and both
processors' PSNR (dB, mean over images with a 95 % CI). Per evaluation half the bounds ``clean``
and ``no processing`` come along.

The models live in the checkpoint folder's ``categories/`` collection and are found by their
cards: per half, the classifier trained on ``<dataset>:categories=<half>`` and the processors of
the task trained there, ``plain`` (lambda 0) and ``ra`` through that classifier.
"""

from __future__ import annotations

from pathlib import Path

from ..config import default_dataset
from ..data.categories import HALVES
from ..data.datasets import CATEGORIES, normal_dataset, normalize_dataset_spec, split_dataset_spec
from ..data.folders import results_dir
from ..data.tasks import create_task, task_slug
from ..errors import RAExplorerError
from ..metrics.registry import create_metric
from ..outputs.result_files import write_result
from ..pipeline.records import RecordSink
from ..pipeline.runner import CLEAN, NO_PROCESSING
from ..pipeline.setting import Setting
from ..specs import canonical_spec, format_value
from ..zoo.catalogue import checkpoint_dir, find_checkpoints
from .evaluate import paired_difference
from .paired_groups import accuracy_cell, diff_text, mean_cell, pct_text

COLLECTION = "categories"       # the checkpoint folder's collection of the split models


def half_dataset(base: str, half: str) -> str:
    """The normal spec of half ``half`` of dataset ``base`` (``fashion-mnist`` ->
    ``fashion-mnist:categories=a``; an image folder keeps its path and options)."""
    name, params = split_dataset_spec(base)
    if CATEGORIES in params:
        raise RAExplorerError(f"The dataset {base!r} already keeps some categories; name the "
                              "whole dataset, whose halves a and b the table compares.")
    if name == "imagefolder":
        path = params.pop("path")
        tail = ",".join(f"{k}={format_value(v)}" for k, v in sorted(params.items()))
        spec = f"imagefolder:{path}:" + ",".join(filter(None, [tail, f"categories={half}"]))
    else:
        spec = canonical_spec(name, {**params, CATEGORIES: half})
    return normalize_dataset_spec(spec)


def category_folder(folder=None) -> Path:
    """The collection holding the split models: ``<checkpoint folder>/categories``, or
    ``folder`` itself when it is that collection."""
    base = checkpoint_dir(folder)
    return base if base.name == COLLECTION else base / COLLECTION


def _one(cards: list[dict], what: str, where: Path) -> dict:
    if len(cards) != 1:
        found = ", ".join(c["name"] for c in cards) or "none"
        raise RAExplorerError(f"The category table needs exactly one {what} in {where} "
                              f"(found: {found}); train it as docs/own-data.md says.")
    return cards[0]


def category_models(task_spec: str, base: str, folder=None) -> dict[str, dict[str, dict]]:
    """{half: {"classifier", "plain", "ra": card}} of the task on dataset ``base``'s halves,
    from the ``categories/`` collection of ``folder``; one sentence when one is missing."""
    where = category_folder(folder)
    if not where.is_dir():
        raise RAExplorerError(f"There is no folder {where} of category-split models; train "
                              "them as docs/own-data.md says.")
    out = {}
    for half in HALVES:
        spec = half_dataset(base, half)
        clf = _one(find_checkpoints(where, kind="classifier", dataset=spec),
                   f"classifier trained on {spec}", where)
        procs = find_checkpoints(where, kind="processor", dataset=spec, task=task_spec)
        plain = _one([c for c in procs if c.get("method") == "plain" and not c.get("lambda")],
                     f"plain {task_spec} processor trained on {spec}", where)
        ra = _one([c for c in procs if c.get("method") == "ra" and c.get("source") == clf["name"]],
                  f"RA {task_spec} processor trained on {spec} through {clf['name']}", where)
        out[half] = {"classifier": clf, "plain": plain, "ra": ra}
    return out


def category_transfer(task: str = "sr", dataset: str | None = None, folder=None,
                      limit: int | None = None, batch_size: int | None = None,
                      device: str | None = None, seed: int = 0, data_root: str | None = None,
                      progress: bool = True, on_progress=None) -> dict:
    """The 2 x 2 table of the module docstring for ``task`` on ``dataset``'s halves.

    Args:
        task: the degradation (task spec).
        dataset: the whole dataset (default: the one in force); its halves are evaluated.
        folder: the checkpoint folder whose ``categories/`` collection holds the models.
        limit: the first ``limit`` test images of each half (default: all).
        seed: seed of the degradations.

    Returns the result document: ``cells[train half][eval half]`` with ``plain``, ``ra``
    (accuracy cells), ``ra_minus_plain`` (paired difference, ``diff`` and ``ci95`` in
    accuracy units) and ``psnr`` {plain, ra}; ``bounds[eval half]`` {clean, no processing};
    ``models`` (each half's card names and weight digests) and ``provenance``: one record of
    the whole run (dataset the whole one, ``n_images`` both halves' test images, every
    checkpoint used, wall seconds summed over the halves).
    """
    base = normal_dataset(default_dataset(dataset))
    spec = create_task(task).spec
    models = category_models(spec, base, folder)
    cells: dict[str, dict] = {s: {} for s in HALVES}
    bounds, records, n_images, classes = {}, {}, {}, {}
    for e in HALVES:
        setting = Setting(spec, half_dataset(base, e), folder, device, data_root)
        clf_card = models[e]["classifier"]
        classifier = setting.load([clf_card])
        proc_cards = [models[s][m] for s in HALVES for m in ("plain", "ra")]
        procs = setting.load(proc_cards)
        sink = RecordSink(classifier, {"psnr": create_metric("psnr", device=setting.device)},
                          execution="eager")
        setting.run(procs, [sink], desc=f"category-transfer {spec} on half {e}",
                    progress=progress, on_progress=on_progress, batch_size=batch_size,
                    limit=limit, seed=seed)
        n = len(setting.test) if limit is None else min(limit, len(setting.test))
        digests = {c["name"]: c["weights"]["sha256"] for c in [clf_card, *proc_cards]}
        record = setting.provenance(n_images=n, checkpoints=digests, seeds={"degradation": seed})
        table = sink.table(spec, setting.dataset, "test", 1, record)
        name = clf_card["name"]
        bounds[e] = {CLEAN: accuracy_cell(table.correct(CLEAN, name)),
                     NO_PROCESSING: accuracy_cell(table.correct(NO_PROCESSING, name))}
        for s in HALVES:
            plain, ra = models[s]["plain"]["name"], models[s]["ra"]["name"]
            hits_plain, hits_ra = table.correct(plain, name), table.correct(ra, name)
            cells[s][e] = {
                "plain": accuracy_cell(hits_plain), "ra": accuracy_cell(hits_ra),
                "ra_minus_plain": paired_difference(hits_ra, hits_plain),
                "psnr": {"plain": mean_cell(table.quality[("psnr", plain)]),
                         "ra": mean_cell(table.quality[("psnr", ra)])},
                "processors": {"plain": plain, "ra": ra}, "classifier": name,
            }
        records[e] = record
        n_images[e] = n
        classes[e] = list(setting.info.class_names)
    return {
        "kind": "category-transfer", "task": spec, "dataset": base, "split": "test",
        "halves": {h: {"dataset": half_dataset(base, h),
                       "classes": classes[h]} for h in HALVES},
        "n_images": n_images, "seed": seed,
        "models": {h: {role: {"name": c["name"], "sha256": c["weights"]["sha256"],
                              "lambda": c.get("lambda")}
                       for role, c in models[h].items()} for h in HALVES},
        "cells": cells, "bounds": bounds, "provenance": _run_provenance(base, records),
    }


def _run_provenance(base: str, records: dict[str, dict]) -> dict:
    """One provenance record of a run from each half's record (keyed by half)."""
    first = records[HALVES[0]]
    return {**first, "dataset": base,
            "n_images": sum(r["n_images"] for r in records.values()),
            "checkpoints": {k: v for r in records.values() for k, v in r["checkpoints"].items()},
            "wall_seconds": round(sum(r["wall_seconds"] for r in records.values()), 3)}


def format_category_transfer(result: dict) -> str:
    """A Markdown table: one row per (train half, evaluation half) with plain and RA accuracy
    (%), RA - plain (points, paired 95 % CI) and both PSNRs (dB); then the bounds."""
    lines = [f"# Transfer across categories: {result['task']} on {result['dataset']}", "",
             "Halves: " + "; ".join(f"{h} = {v['dataset']}" for h, v in result["halves"].items())
             + ". Test images per evaluation half: "
             + ", ".join(f"{h} {n}" for h, n in result["n_images"].items())
             + ". Accuracy in % with Wilson 95 % CIs; RA - plain in points with a "
               "matched-pairs 95 % CI; PSNR in dB.", "",
             "| processors trained on | evaluated on (classifier) | plain | RA | RA - plain "
             "| PSNR plain | PSNR RA |", "|---|---|---|---|---|---|---|"]
    for s, row in result["cells"].items():
        for e, c in row.items():
            kind = "same half" if s == e else "unseen classes"
            lines.append(f"| {s} | {e} ({c['classifier']}, {kind}) | {pct_text(c['plain'])} | "
                         f"{pct_text(c['ra'])} | {diff_text(c['ra_minus_plain'])} | "
                         f"{c['psnr']['plain']['mean']:.2f} | {c['psnr']['ra']['mean']:.2f} |")
    lines += ["", "| evaluated on | clean | no processing |", "|---|---|---|"]
    for e, b in result["bounds"].items():
        lines.append(f"| {e} | {pct_text(b[CLEAN])} | {pct_text(b[NO_PROCESSING])} |")
    return "\n".join(lines)


def result_stem(task_spec: str) -> str:
    """``category_transfer_<task slug>``: the result files' name."""
    return f"category_transfer_{task_slug(task_spec)}"


def save_category_transfer(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``category_transfer_<task slug>.json`` and ``.md`` in ``out_dir`` (default: the
    dataset's results folder)."""
    folder = out_dir if out_dir is not None else results_dir(dataset=result["dataset"])
    return write_result(result, folder, result_stem(result["task"]), format_category_transfer)
