"""Fix the image or fix the recognizer: one table for RA processing and the recognizer-side
classifiers (augmentation, feature distillation, QualNet, the RA paper's section 7
alternatives), on the same test images and degradations.

Columns are degradations: ``clean`` and each of :data:`DEGRADATIONS` (the paper settings SR x4,
denoising sigma 0.1, JPEG q 10, then the randomized versions and the compound one). Rows are
(classifier, input): every classifier (the vanilla one and each recognizer-side one) on the LQ
input resized bicubically ("no processing"), on the plain processor's output and on the RA
processor's output of the degradation's task family (SR for ``sr`` and ``sr-random`` ...;
none for ``compound``, whose cells are empty for processed inputs).

Corruption error, after Hendrycks & Dietterich's mCE: for a row r and a degraded column c,
CE_c(r) = error_c(r) / error_c(vanilla, no processing); mCE(r) = mean of CE_c(r) over one column
set for every row, the degraded columns where every row has a value (:func:`mce_columns`:
compound, which has no processor, is in no row's mean), so that two rows' mCE always compare
the same columns. Below 1: fewer errors than the vanilla classifier on the LQ input.

One runner pass per degradation writes a per-image record table
(``records_recognizers_<degradation>.parquet``); :func:`table_from_records` recomputes the whole
table from those files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..data.tasks import create_task
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.records import RecordSink, RecordTable
from ..pipeline.runner import CLEAN, NO_PROCESSING, world
from ..pipeline.setting import Setting
from ..stats import wilson_interval
from ..zoo.catalogue import collection_dirs, find_checkpoints, model_digests, select_models

DEGRADATIONS = ("sr", "denoise", "jpeg", "sr-random", "denoise-random", "jpeg-random",
                "compound")
PROCESSED = ("plain", "ra")


def family(degradation: str) -> str | None:
    """The paper task whose processors serve ``degradation`` (None for compound)."""
    name = create_task(degradation).name
    base = name.split("-")[0]
    return base if base in ("sr", "denoise", "jpeg") else None


def record_stem(degradation: str) -> str:

    return f"records_recognizers_{create_task(degradation).slug}"


def cell(correct: np.ndarray) -> dict:
    n, k = len(correct), int(correct.sum())
    low, high = wilson_interval(k, n)
    return {"accuracy": k / n if n else math.nan, "ci95": [low, high], "n": n}


def table_from_records(tables: dict[str, RecordTable], vanilla: str,
                       processors: dict[str, dict[str, str]]) -> dict:
    """The comparison table from per-degradation record tables.

    ``tables``: degradation -> its records; ``processors``: task family -> {"plain": name,
    "ra": name}; ``vanilla``: the classifier the corruption errors are relative to.
    """
    first = next(iter(tables.values()))
    classifiers = list(first.classifiers)
    if vanilla not in classifiers:
        raise RAExplorerError(f"The vanilla classifier {vanilla} is not in the records.")
    rows = []
    for clf in classifiers:
        for kind in ("none", *PROCESSED):
            cells = {"clean": cell(first.correct(CLEAN, clf))} if kind == "none" else {}
            for deg, table in tables.items():
                if kind == "none":
                    cells[deg] = cell(table.correct(NO_PROCESSING, clf))
                    continue
                fam = family(deg)
                name = (processors.get(fam) or {}).get(kind) if fam else None
                if name and name in table.inputs:
                    cells[deg] = cell(table.correct(name, clf))
            rows.append({"classifier": clf, "input": kind, "cells": cells})
    reference = next(r for r in rows if r["classifier"] == vanilla and r["input"] == "none")
    for row in rows:
        row["ce"] = {d: (1 - c["accuracy"]) / (1 - reference["cells"][d]["accuracy"])
                     for d, c in row["cells"].items() if d != "clean"
                     and reference["cells"][d]["accuracy"] < 1}
    columns = mce_columns(rows, list(tables))
    for row in rows:
        row["mce"] = float(np.mean([row["ce"][d] for d in columns])) if columns else None
    return {"degradations": list(tables), "classifiers": classifiers, "vanilla": vanilla,
            "processors": processors, "n_images": len(first), "rows": rows,
            "mce_columns": columns, "dataset": first.dataset, "split": first.split}


def mce_columns(rows: list[dict], degradations: list[str]) -> list[str]:
    """The degraded columns (in table order) where every row has a corruption error: the one
    column set every row's mCE averages over."""
    return [d for d in degradations if all(d in row["ce"] for row in rows)]


INPUT_LABELS = {"none": "no processing", "plain": "plain processor", "ra": "RA processor"}


def cell_text(c: dict | None, digits: int = 2) -> str:
    """One cell as "accuracy % [95 % CI]" ("—" for an empty cell)."""
    if c is None:
        return "—"
    return (f"{100 * c['accuracy']:.{digits}f} "
            f"[{100 * c['ci95'][0]:.1f}, {100 * c['ci95'][1]:.1f}]")


def mce_text(row: dict) -> str:
    """A row's mCE to 3 decimals ("—" without degraded cells)."""
    return "—" if row["mce"] is None else f"{row['mce']:.3f}"


def format_recognizer_table(result: dict) -> str:
    """Markdown: accuracy in % [95 % CI] per degradation, then mCE (see the module docstring)."""
    degs = result["degradations"]
    columns = result["mce_columns"]
    left_out = [d for d in degs if d not in columns]
    plural = "s" if len(columns) != 1 else ""
    over = (f"the same {len(columns)} degraded column{plural} for every row "
            f"({', '.join(columns)})"
            if columns else "no column (no degraded column has a value in every row)")
    dropped = (f" {', '.join(left_out).capitalize()}, where some rows have no value, "
               f"{'is' if len(left_out) == 1 else 'are'} in no "
               "row's mCE." if left_out else "")
    lines = [f"# Fix the image or fix the recognizer ({result['dataset']}, {result['split']} "
             f"split, {result['n_images']} images)", "",
             f"Accuracy in % [95 % Wilson CI]. mCE: the mean over {over} of the row's error "
             f"divided by the error of {result['vanilla']} on the unprocessed LQ input "
             "(Hendrycks & Dietterich's corruption error, one severity per degradation); below "
             f"1 is better than the vanilla classifier without processing.{dropped} Processed "
             "inputs use the processors of the degradation's task family (none for compound).",
             "",
             "| classifier | input | clean | " + " | ".join(degs) + " | mCE |",
             "|---|---|---:|" + "---:|" * len(degs) + "---:|"]
    for row in result["rows"]:
        vals = [cell_text(row["cells"].get(d)) for d in ["clean", *degs]]
        lines.append(f"| {row['classifier']} | {INPUT_LABELS[row['input']]} | "
                     + " | ".join(vals) + f" | {mce_text(row)} |")
    return "\n".join(lines)


def load_tables(folder: Path, degradations=DEGRADATIONS) -> dict[str, RecordTable]:
    """The saved record tables of ``degradations`` in ``folder``."""
    tables = {}
    for deg in degradations:
        path = Path(folder) / f"{record_stem(deg)}.parquet"
        if not path.exists():
            raise RAExplorerError(f"No record table {path}; run python -m analysis recognizer-side.")
        tables[deg] = RecordTable.load(path)
    return tables


def family_processors(dataset: str, folder=None) -> dict[str, dict[str, str]]:
    """{task family: {"plain": name, "ra": name}} from the zoo's cards (``<task>-plain`` /
    ``<task>-ra`` where present, else the first card of the method)."""

    out = {}
    for fam in ("sr", "denoise", "jpeg"):
        _, cards = select_models(create_task(fam).spec, dataset, folder)
        chosen = {}
        for method in PROCESSED:
            names = [c["name"] for c in cards if c.get("method") == method
                     and not (method == "plain" and c.get("lambda"))]
            if f"{fam}-{method}" in names:
                chosen[method] = f"{fam}-{method}"
            elif names:
                chosen[method] = names[0]
        if chosen:
            out[fam] = chosen
    return out


def recognizer_cards(dataset: str, folder=None, recognizer_folder=None,
                     vanilla: str = "resnet20") -> list[dict]:
    """The vanilla classifier's card, then the recognizer-side classifiers' of
    ``recognizer_folder`` (default: the checkpoint folder's ``recognizers/`` collection)."""
    rec_folder = Path(recognizer_folder) if recognizer_folder else collection_dirs(folder).get(
        "recognizers")
    base = [c for c in find_checkpoints(folder, kind="classifier", dataset=dataset)
            if c["name"] == vanilla]
    if not base:
        raise RAExplorerError(f"No classifier {vanilla} for {dataset} in {folder}.")
    side = find_checkpoints(rec_folder, kind="classifier", dataset=dataset) if rec_folder else []
    side = [c for c in side if c.get("method") not in ("standard", "adversarial")]
    if not side:
        raise RAExplorerError(f"No recognizer-side classifier in {rec_folder or folder}; "
                              "python -m analysis build-zoo --only 'resnet20-*' trains them.")
    return base + side


def measure_tables(setting: Setting, clf_cards: list[dict], degradations=DEGRADATIONS,
                   limit: int | None = None, batch_size: int = 500, seed: int = 0,
                   records_dir: Path | None = None, stem=record_stem,
                   progress: bool = True) -> tuple[dict[str, RecordTable], dict, list[dict]]:
    """One runner pass per degradation: ``clf_cards``' classifiers on the clean, the
    unprocessed LQ and the task family's plain and RA outputs, each saved as
    ``records_dir / stem(degradation).parquet`` (when ``records_dir`` is given). Returns the
    record tables by degradation, :func:`family_processors` and the processors' cards."""
    dataset, folder = setting.dataset, setting.folder
    classifiers = setting.load(clf_cards)
    processors = family_processors(dataset, folder)
    proc_cards = find_checkpoints(folder, kind="processor", dataset=dataset)
    proc_cards = [c for c in proc_cards
                  if c["name"] in {n for p in processors.values() for n in p.values()}]
    models = setting.load(proc_cards)
    tables = {}
    for deg in degradations:
        fam = family(deg)
        procs = {n: models[n] for n in (processors.get(fam) or {}).values()} if fam else {}
        sink = RecordSink(classifiers)
        run = setting.for_task(deg)
        run.run(procs, [sink], desc=f"recognizers {deg}", progress=progress,
                batch_size=batch_size, limit=limit, seed=seed)
        prov = run.provenance(n_images=limit or len(run.test),
                              checkpoints=model_digests(clf_cards, [c for c in proc_cards
                                                                    if c["name"] in procs]),
                              seeds={"degradation": seed})
        rank, size = world()
        tables[deg] = sink.table(run.task.spec, dataset, "test", size,   # every rank's images
                                 provenance=prov)
        if records_dir is not None and rank == 0:
            tables[deg].save(Path(records_dir) / f"{stem(deg)}.parquet")
    return tables, processors, proc_cards


def measure_recognizers(dataset: str | None = None, folder=None, recognizer_folder=None,
                        vanilla: str = "resnet20", degradations=DEGRADATIONS,
                        limit: int | None = None, batch_size: int = 500, device=None,
                        seed: int = 0, records_dir: Path | None = None,
                        progress: bool = True) -> dict:
    """One runner pass per degradation (vanilla + every classifier of the recognizer
    collection; no processing, plain and RA processors), each saved as a record table in
    ``records_dir`` (when given); returns :func:`table_from_records` of them."""

    setting = Setting(None, dataset, folder, device)
    clf_cards = recognizer_cards(setting.dataset, setting.folder, recognizer_folder, vanilla)
    tables, processors, proc_cards = measure_tables(
        setting, clf_cards, degradations, limit=limit, batch_size=batch_size, seed=seed,
        records_dir=records_dir, progress=progress)
    result = table_from_records(tables, vanilla, processors)
    result["provenance"] = setting.provenance(
        n_images=result["n_images"], checkpoints=model_digests(clf_cards, proc_cards),
        seeds={"degradation": seed})
    return result


def save_recognizer_table(result: dict, out_dir: Path | None = None) -> list[Path]:

    return write_result(result, out_dir, "recognizers", format_recognizer_table)
