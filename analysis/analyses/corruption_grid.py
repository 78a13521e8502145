"""The corruption grid: accuracy and calibration of classifiers per corruption type x severity,
on the corrupted input and on the outputs of given processors, with mCE.

Cells are the corruption benchmark's tasks (``corrupt:type=T,level=S``, :mod:`analysis.data.
corruptions`): by default the 19 types x 5 severities. Rows are (classifier, input): each
classifier on the corrupted image itself ("no processing": the task's LQ image, the same size
as the clean one) and on each named processor's output. A processor trained on another task
(the zoo's ``denoise-plain`` / ``denoise-ra`` saw Gaussian noise of sigma 0.1, not these
corruptions) keeps its training task in its row (``trained_on``) and ``seen: false`` for the
cells it was not trained on.

Per cell: top-1 accuracy with a percentile-bootstrap 95 % CI over images (one set of resamples
for every cell and row, so that cells and rows are paired), and the expected calibration error
(:func:`analysis.stats.expected_calibration_error`, 15 bins). Per row, after Hendrycks &
Dietterich (ICLR 2019), over the 15 ImageNet-C types present (the 4 extra ones are held-out
types there; all present types when none of the 15 is):

* ``mean_error``: the unnormalised mCE, the mean error over those types and every severity;
* ``mce``: the normalised mCE, mean over types c of CE_c = sum_s E(row, c, s) / sum_s
  E(vanilla, c, s), with the vanilla classifier on the unprocessed corrupted input as the
  reference (its own mce is 1; below 1 is fewer errors than it);

each with the bootstrap CI of the same resamples. The clean images are classified in the first
cell only (its record table holds them; the others hold the corrupted and processed inputs).
One runner pass per cell writes its record table (``records_grid_<task slug>.parquet``; the
CLI keeps them in ``corruption_grid/`` beside the result files) when a folder is given; a saved
table of the same images, classifiers, inputs and weights is reused, so an interrupted grid
resumes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..config import default_dataset
from ..data.corruptions import COMMON, CORRUPTIONS, LEVELS
from ..data.sampling import limited_indices
from ..data.tasks import corruption_specs, create_task, task_slug
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.records import RecordSink, RecordTable, reusable_table
from ..pipeline.runner import CLEAN, NO_PROCESSING, world
from ..pipeline.setting import Setting
from ..stats import expected_calibration_error
from ..zoo.catalogue import (
    classifier_cards,
    find_checkpoints,
    model_digests,
    no_checkpoints_message,
)
from .agreement_stats import N_BOOT, interval, resample_counts

STEM = "corruption_grid"
RECORDS_FOLDER = "corruption_grid"   # the cells' record tables, beside the result files
NONE = "none"     # the row input "no processing" (the corrupted image itself)
VANILLA = "resnet20"   # the default reference classifier (the recognizer side starts from it)


def default_classifiers(dataset: str | None = None, folder=None) -> list[str]:
    """The full protocol's classifiers: :data:`VANILLA` (where the folder has none of that name,
    e.g. on another dataset, its first standard classifier by name); the zoo's standard
    classifier of every
    other architecture a recognizer-side classifier has (vgg11-bn beside ``vgg11-bn-qualnet``);
    then every recognizer-side classifier (a classifier of
    :data:`~analysis.zoo.catalogue.CLASSIFIER_COLLECTIONS`) of the dataset in ``folder``, by
    name: the QualNet paper's Table 1 and 2 rows (augmentation, feature distillation, QualNet,
    train on LQ, fine-tune on processed) beside the classifiers they start from."""
    dataset = default_dataset(dataset)
    zoo = find_checkpoints(folder, kind="classifier", dataset=dataset)
    names = {c["name"] for c in zoo}
    side = [c for c in classifier_cards(folder, dataset=dataset) if c["name"] not in names]
    archs = {c.get("arch") for c in side}
    plain = sorted(c["name"] for c in zoo if c.get("method") == "standard")
    vanilla = VANILLA if VANILLA in names else next(iter(plain or sorted(names)), VANILLA)
    standard = sorted(c["name"] for c in zoo if c.get("arch") in archs
                      and c.get("method") == "standard" and c["name"] != vanilla)
    return [vanilla, *standard, *sorted(c["name"] for c in side)]


def record_stem(spec: str) -> str:
    return f"records_grid_{task_slug(spec)}"


def processor_cards(names, dataset: str, folder) -> list[dict]:
    """The zoo's processor cards named (any task), refused when one changes the image size."""
    cards = {c["name"]: c for c in find_checkpoints(folder, kind="processor", dataset=dataset)}
    out = []
    for name in names or []:
        if name not in cards:
            raise RAExplorerError(f"No processor {name} for {dataset}; known processors: "
                                  f"{', '.join(sorted(cards)) or 'none'}.")
        if create_task(cards[name]["task"]).scale != 1:
            raise RAExplorerError(f"{name} was trained for {cards[name]['task']}, which changes "
                                  "the image size; the corruption grid needs processors whose "
                                  "input and output sizes match (denoise, jpeg, ...).")
        out.append(cards[name])
    return out


def measure_grid(classifiers=("resnet20",), processors=(), types=CORRUPTIONS, levels=LEVELS,
                 dataset: str | None = None, folder=None, limit=None, batch_size: int = 500,
                 device=None, seed: int = 0, records_dir: Path | None = None,
                 vanilla: str | None = None, n_boot: int = N_BOOT,
                 progress: bool = True) -> dict:
    """One runner pass per cell (each ``corrupt:type=T,level=S`` of ``types`` x ``levels``)
    with ``classifiers`` (the zoo's and the recognizer side's, ``resnet20-qualnet`` ...) on the
    corrupted input and on each of ``processors`` (zoo names);
    ``limit``: the first N test images, or a :class:`~analysis.data.sampling.Sample`; record
    tables saved in (and reused from) ``records_dir`` when given. Returns
    :func:`grid_from_records` (``vanilla``: default the first classifier)."""
    setting = Setting(None, dataset, folder, device)
    known = classifier_cards(setting.folder, dataset=setting.dataset)
    clf_cards = [c for c in known if c["name"] in set(classifiers)]
    missing = [n for n in classifiers if n not in {c["name"] for c in clf_cards}]
    if missing:
        raise RAExplorerError(no_checkpoints_message("classifier", setting.dataset, folder)
                              if not known else
                              f"No classifier {', '.join(missing)} for {setting.dataset}; its "
                              f"classifiers: {', '.join(sorted(c['name'] for c in known))} "
                              "(pass them with --classifiers).")
    clf_cards.sort(key=lambda c: list(classifiers).index(c["name"]))
    proc_cards = processor_cards(processors, setting.dataset, setting.folder)
    models = setting.load(clf_cards)
    procs = setting.load(proc_cards)
    digests = model_digests(clf_cards, proc_cards)
    n = len(setting.test) if limit is None else min(int(limit), len(setting.test))
    index = limited_indices(setting.test, limit).numpy()
    tables = {}
    for k, spec in enumerate(corruption_specs(types, levels)):
        # the clean images are the same in every cell: classified in the first cell only
        inputs = [CLEAN, NO_PROCESSING, *procs] if k == 0 else [NO_PROCESSING, *procs]
        path = Path(records_dir) / f"{record_stem(spec)}.parquet" if records_dir else None
        saved = reusable_table(path, index, models, inputs, digests)
        if saved is not None:
            tables[spec] = saved
            print(f"grid: {spec} reused from {path.name}", file=sys.stderr)
            continue
        run = setting.for_task(spec)
        sink = RecordSink(models)
        run.run(procs, [sink], desc=f"grid {spec}", progress=progress, batch_size=batch_size,
                limit=limit, seed=seed, include_clean=k == 0)
        rank, size = world()
        prov = run.provenance(n_images=n, checkpoints=digests, seeds={"degradation": seed},
                              world_size=size)
        tables[spec] = sink.table(spec, setting.dataset, "test", size, provenance=prov)
        if path is not None and rank == 0:
            tables[spec].save(path)
    result = grid_from_records(tables, {c["name"]: c for c in proc_cards}, vanilla, n_boot,
                               seed)
    result["provenance"] = setting.provenance(n_images=n, checkpoints=digests,
                                              seeds={"degradation": seed, "bootstrap": seed})
    return result


def _mce(acc: np.ndarray, ref: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """(B, 2): unnormalised and normalised mCE from accuracies (B, K) of a row and of the
    reference row, ``groups`` the column indices of each type."""
    err, ref_err = 1 - acc, 1 - ref
    mean_error = np.mean([err[:, g].mean(1) for g in groups], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ce = np.stack([err[:, g].sum(1) / ref_err[:, g].sum(1) for g in groups], axis=1)
    return np.stack([mean_error, ce.mean(1)], axis=1)


def grid_from_records(tables: dict[str, RecordTable], processors: dict[str, dict],
                      vanilla: str | None = None, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The grid document from one record table per cell (spec -> table, the same images in
    each; the first table holds the clean input's records too); ``processors``: name -> card
    of the processor inputs. See the module docstring."""
    specs = list(tables)
    first = tables[specs[0]]
    for spec, table in tables.items():
        if not np.array_equal(table.index, first.index):
            raise RAExplorerError(f"The record table of {spec} holds other images than that of "
                                  f"{specs[0]}; measure every cell on the same images.")
    if CLEAN not in first.inputs:
        raise RAExplorerError(f"The record table of {specs[0]}, the grid's first cell, holds no "
                              "clean-image records; measure the grid again from its first cell.")
    classifiers = list(first.classifiers)
    vanilla = vanilla or classifiers[0]
    if vanilla not in classifiers:
        raise RAExplorerError(f"The vanilla classifier {vanilla} is not in the grid's "
                              f"classifiers ({', '.join(classifiers)}).")
    cells = [create_task(s) for s in specs]
    types = list(dict.fromkeys(t.params["type"] for t in cells))
    levels = sorted({t.params["level"] for t in cells})
    mce_types = [t for t in types if t in COMMON] or types
    groups = [np.array([k for k, t in enumerate(cells) if t.params["type"] == c])
              for c in mce_types]
    mce_cols = np.concatenate(groups)
    inputs = [i for i in first.inputs if i != CLEAN]
    n = len(first)

    def matrix(inp, clf):   # (n, K) correctness of one row over every cell
        return np.stack([tables[s].correct(inp, clf) for s in specs], axis=1).astype(np.float64)

    rows = {(clf, inp): matrix(inp, clf) for clf in classifiers for inp in inputs}
    full = {key: m.mean(0) for key, m in rows.items()}
    boots = {key: [] for key in rows}
    for w in resample_counts(n, n_boot, seed):
        for key, m in rows.items():
            boots[key].append(w @ m / n)
    boots = {key: np.concatenate(b) for key, b in boots.items()}
    ref = (vanilla, NO_PROCESSING)
    out_rows = []
    for (clf, inp), m in rows.items():
        card = processors.get(inp)
        trained_on = card["task"] if card else None
        acc_b = boots[(clf, inp)]
        summary_full = _mce(full[(clf, inp)][None], full[ref][None], groups)[0]
        summary_b = _mce(acc_b, boots[ref], groups)
        cell_docs = {}
        for k, spec in enumerate(specs):
            doc = interval(float(full[(clf, inp)][k]), acc_b[:, k])
            cell_docs[spec] = {"accuracy": doc["value"], "ci95": doc["ci95"],
                               "ece": expected_calibration_error(tables[spec].prob[(inp, clf)],
                                                                 m[:, k] > 0)}
        clean = first.correct(CLEAN, clf)
        out_rows.append({
            "classifier": clf, "input": NONE if inp == NO_PROCESSING else inp,
            "method": card.get("method") if card else None, "trained_on": trained_on,
            "seen": {s: trained_on == s for s in specs} if card else None,
            "clean": {"accuracy": float(clean.mean()),
                      "ece": expected_calibration_error(first.prob[(CLEAN, clf)], clean)},
            "cells": cell_docs,
            "mean_accuracy": float(m[:, mce_cols].mean()),
            "mean_error": interval(float(summary_full[0]), summary_b[:, 0]),
            "mce": interval(float(summary_full[1]), summary_b[:, 1])})
    return {"kind": "corruption-grid", "dataset": first.dataset, "split": first.split,
            "n_images": n, "types": types, "levels": levels, "cells": specs,
            "classifiers": classifiers, "vanilla": vanilla,
            "processors": {name: {"task": c["task"], "method": c.get("method"),
                                  "lambda": c.get("lambda"), "source": c.get("source")}
                           for name, c in processors.items()},
            "mce_types": mce_types, "n_boot": n_boot, "seed": seed, "rows": out_rows}


def row_label(row: dict) -> str:
    """``resnet20, no processing`` / ``resnet20, denoise-ra (trained on denoise:sigma=0.1)``."""
    if row["input"] == NONE:
        return f"{row['classifier']}, no processing"
    unseen = not any((row["seen"] or {}).values())
    note = f"trained on {row['trained_on']}" + (", not on these corruptions" if unseen else "")
    return f"{row['classifier']}, {row['input']} ({note})"


def _pct(doc: dict, digits: int = 1) -> str:
    return (f"{100 * doc['value']:.{digits}f} [{100 * doc['ci95'][0]:.{digits}f}, "
            f"{100 * doc['ci95'][1]:.{digits}f}]")


def format_grid(result: dict) -> str:
    """Markdown: a summary table (clean accuracy, mean accuracy, mCE both ways, mean ECE), then
    per row a type x severity table of accuracy % [95 % CI] and ECE."""
    specs = result["cells"]
    by_type = {t: [s for s in specs if create_task(s).params["type"] == t]
               for t in result["types"]}
    lines = [f"# Corruption grid ({result['dataset']}, {result['split']} split, "
             f"{result['n_images']} images)", "",
             f"{len(result['types'])} ImageNet-C types x severities "
             f"{', '.join(map(str, result['levels']))} (imagecorruptions, reflect-padded to 32 "
             "px; see analysis/data/corruptions.py). Accuracy in % with percentile-bootstrap 95 % "
             f"CIs over images ({result['n_boot']} resamples, paired across cells and rows). "
             f"mCE over {', '.join(result['mce_types'])}: unnormalised = mean error; normalised "
             f"= mean over types of the summed error over severities divided by that of "
             f"{result['vanilla']} on the unprocessed corrupted input (Hendrycks & Dietterich). "
             "ECE: 15 equal-width confidence bins. Processors keep their training task in the "
             "row label: rows marked 'not on these corruptions' were never trained on them.",
             "", "| row | clean acc. | mean acc. | mean error (unnorm. mCE) | normalised mCE "
                 "| mean ECE |", "|---|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        ece = np.mean([c["ece"] for c in row["cells"].values()])
        lines.append(f"| {row_label(row)} | {100 * row['clean']['accuracy']:.1f} | "
                     f"{100 * row['mean_accuracy']:.1f} | {_pct(row['mean_error'])} | "
                     f"{row['mce']['value']:.3f} [{row['mce']['ci95'][0]:.3f}, "
                     f"{row['mce']['ci95'][1]:.3f}] | {ece:.3f} |")
    levels = result["levels"]
    for row in result["rows"]:
        lines += ["", f"## {row_label(row)}", "",
                  "| type | " + " | ".join(f"severity {lv}" for lv in levels) + " |",
                  "|---|" + "---:|" * len(levels)]
        for t, cells in by_type.items():
            found = {create_task(s).params["level"]: row["cells"][s] for s in cells}
            vals = [(f"{100 * found[lv]['accuracy']:.1f} [{100 * found[lv]['ci95'][0]:.1f}, "
                     f"{100 * found[lv]['ci95'][1]:.1f}] (ECE {found[lv]['ece']:.3f})")
                    if lv in found else "—" for lv in levels]
            lines.append(f"| {t} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def save_grid(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, STEM, format_grid)
