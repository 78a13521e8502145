"""Processors trained on the corruption benchmark's cells: the RA paper's Tables 12-14 analogs.

A *cell* is one ``corrupt:type=T,level=S`` task (:mod:`analysis.data.corruptions`). The
checkpoint folder's ``corruptions/`` collection (and the folder itself) holds processors trained
on cells (the recipe's :func:`~analysis.training.recipe.corruption_entries`: plain and RA per
type at severity 5; snow and speckle noise at severities 1-5 with unsupervised RA and RA with
transformer too). Every cell with a plain processor is run once on its own test inputs with all
its processors (:mod:`.paired_groups`), judged by every classifier (the clean images once, in
the first cell):

* per cell: the corrupted input's accuracy per classifier (``no_processing``);
* per processor: accuracy per classifier (Wilson 95 % CI), PSNR and SSIM (means with 95 % CIs);
* per non-plain processor: the matched-pairs difference to the cell's plain processor on every
  classifier (``ra_minus_plain``, points with a 95 % CI).

Table 12 is the severity-5 cells on the RA methods' source classifier; Table 13 the cells of the
types trained at several severities; Table 14 the same RA - plain differences on the classifiers
other than the source (transfer across architectures). ``summary`` counts, per classifier and
method, the severity-5 types where the difference's CI lies above 0, includes 0, or lies below.

One record table per cell (``records_<cell slug>.parquet``; the CLI keeps them in
``corruption_processors/`` beside the result files) is written when a folder is given and reused
when it holds the same images, classifiers, inputs and weights, so an interrupted run resumes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import default_dataset
from ..data.corruptions import CORRUPTIONS
from ..data.datasets import normal_dataset
from ..data.sampling import limited_indices
from ..data.tasks import create_task, task_slug
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.records import CELL_RECORD_FOLDERS, reusable_table
from ..pipeline.runner import CLEAN, NO_PROCESSING
from ..pipeline.setting import Setting
from ..zoo.catalogue import checkpoint_dir, find_checkpoints, model_digests
from .paired_groups import accuracy_cell, diff_text, group_rows, measure_groups, pct_text

STEM = "corruption_processors"
RECORDS_FOLDER = CELL_RECORD_FOLDERS[0]   # the cells' record tables, beside the result files
COLLECTION = "corruptions"
METHODS = ("plain", "ra", "ra-unsup", "ra-transformer")   # a cell's rows, in this order
TABLE12_LEVEL = 5


def _cell_key(spec: str) -> tuple[int, int]:
    task = create_task(spec)
    return CORRUPTIONS.index(task.params["type"]), task.params["level"]


def cell_models(dataset: str, folder=None, types=None, levels=None) -> dict[str, dict[str, dict]]:
    """{cell spec: {method: card}} of the processors trained on corruption cells, in the
    collection first, then the folder itself (a method's first card wins); only cells with a
    plain processor (the pairs' reference), in benchmark order; ``types`` / ``levels`` filter.
    One sentence naming the command when there is none."""
    base = checkpoint_dir(folder)
    cells: dict[str, dict[str, dict]] = {}
    for place in (base / COLLECTION, base):
        if not place.is_dir():
            continue
        for card in find_checkpoints(place, kind="processor", dataset=dataset):
            if not str(card.get("task", "")).startswith("corrupt:"):
                continue
            task = create_task(card["task"])
            if (types and task.params["type"] not in types) or (
                    levels and task.params["level"] not in levels):
                continue
            method = card.get("method")
            if method in METHODS:
                cells.setdefault(task.spec, {}).setdefault(method, card)
    usable = {spec: {m: cards[m] for m in METHODS if m in cards}
              for spec, cards in sorted(cells.items(), key=lambda kv: _cell_key(kv[0]))
              if "plain" in cards}
    if not usable:
        raise RAExplorerError(
            f"No plain processor trained on a corruption cell for {dataset} in {base} or "
            f"{base / COLLECTION}; train them with 'python -m analysis build-zoo --only "
            "\"corrupt-*\"' (the embedded default) or 'python -m analysis train-processor "
            "--task corrupt:type=snow,level=5 --method plain'.")
    return usable


def corruption_processor_table(dataset: str | None = None, folder=None, limit: int | None = None,
                               batch_size: int | None = None, device: str | None = None,
                               seed: int = 0, classifiers=None, types=None, levels=None,
                               records_dir: Path | None = None, progress: bool = True) -> dict:
    """The cells' tables of the module docstring on the test split (``limit``: the first N
    images; ``classifiers``: default the zoo's; ``records_dir``: where each cell's record table
    is saved and reused)."""
    name = normal_dataset(default_dataset(dataset))
    cells = cell_models(name, folder, types, levels)
    out_cells, digests, first, clfs, seconds, records = {}, {}, None, None, 0.0, {}
    for k, (spec, cards) in enumerate(cells.items()):
        setting = Setting(spec, dataset, folder, device)
        clf_cards, _ = setting.select(None, classifiers)
        want = model_digests(clf_cards, list(cards.values()))
        # the clean images are the same in every cell: classified in the first cell only
        inputs = [*([CLEAN] if k == 0 else []), NO_PROCESSING, *(c["name"] for c in
                                                                 cards.values())]
        path = (Path(records_dir) / f"records_{task_slug(spec)}.parquet" if records_dir
                else None)
        table = reusable_table(path, limited_indices(setting.test, limit).numpy(),
                               [c["name"] for c in clf_cards], inputs, want)
        if table is not None:
            print(f"corruption processors: {spec} reused from {path.name}", file=sys.stderr)
        else:
            table, _ = measure_groups(setting, {spec: cards}, classifiers,
                                      f"corruption processors {spec}", limit=limit,
                                      batch_size=batch_size, seed=seed, progress=progress,
                                      include_clean=k == 0)
            if path is not None:
                table.save(path)
        clfs = list(table.classifiers)
        digests.update(table.provenance.get("checkpoints", {}))
        seconds += table.provenance.get("wall_seconds") or 0.0   # measured, or when reused
        records[spec] = table.provenance
        first = first or table
        task = create_task(spec)
        out_cells[spec] = {"type": task.params["type"], "level": task.params["level"],
                           "n_images": len(table),
                           "rows": group_rows(table, cards, clfs),
                           "no_processing": {c: accuracy_cell(table.correct(NO_PROCESSING, c))
                                             for c in clfs}}
    source = next((c["source"] for cards in cells.values() for c in cards.values()
                   if c.get("source")), None)      # plain processors name none
    result = {"kind": "corruption-processors", "dataset": name,
              "split": "test", "n_images": len(first), "seed": seed, "classifiers": clfs,
              "source": source,
              "clean": {c: accuracy_cell(first.correct(CLEAN, c)) for c in clfs},
              "cells": out_cells,
              "provenance": combined_provenance(records, digests, seconds)}
    result["summary"] = summary(result)
    return result


def combined_provenance(records: dict[str, dict], digests: dict, seconds: float) -> dict:
    """The result's record from its cells' (``records``: cell spec -> record table
    provenance): the most recently measured cell's command, commit and environment, every
    cell's weights, the summed measuring time, and per cell the commit and start of the run
    that measured it (a reused cell keeps its own)."""
    latest = max(records.values(), key=lambda p: p.get("started") or "")
    cells = {spec: {"commit": (p.get("git") or {}).get("commit"), "started": p.get("started"),
                    "wall_seconds": p.get("wall_seconds")} for spec, p in records.items()}
    return {**latest, "checkpoints": digests, "wall_seconds": round(seconds, 3), "cells": cells}


def summary(result: dict) -> dict:
    """{method: {classifier: {above, includes_zero, below, types}}}: over the severity-5 cells,
    how many types' (method - plain) CI lies above 0, includes 0, or lies below."""
    out: dict[str, dict] = {}
    for cell in result["cells"].values():
        if cell["level"] != TABLE12_LEVEL:
            continue
        for method, row in cell["rows"].items():
            for clf, d in row.get("ra_minus_plain", {}).items():
                tally = out.setdefault(method, {}).setdefault(
                    clf, {"above": 0, "includes_zero": 0, "below": 0, "types": 0})
                low, high = d["ci95"]
                tally["above" if low > 0 else "below" if high < 0 else "includes_zero"] += 1
                tally["types"] += 1
    return out


def format_corruption_processors(result: dict) -> str:
    """Markdown: Table 12 (severity 5 on the source classifier), Table 14 (RA - plain on the
    other classifiers), Table 13 (every severity of the types trained at several), the tally."""
    clfs = result["classifiers"]
    judge = result["source"] if result["source"] in clfs else clfs[0]
    others = [k for k in clfs if k != judge]
    cells = result["cells"]
    lines = [f"# Processors trained on corruption cells ({result['dataset']}, "
             f"{result['n_images']} test images per cell)", "",
             "Each cell's processors on its own corrupted test inputs. Accuracy in % with "
             "Wilson 95 % CIs; differences to the cell's plain processor in points with "
             "matched-pairs 95 % CIs; PSNR in dB against the clean image.", "",
             f"## Severity {TABLE12_LEVEL}, on the source classifier ({judge}) "
             "(Table 12 analog)", "",
             "| type | no processing | plain | RA | RA - plain | PSNR plain | PSNR RA |",
             "|---|---|---|---|---|---:|---:|"]
    level5 = {s: c for s, c in cells.items() if c["level"] == TABLE12_LEVEL}
    for cell in level5.values():
        plain, ra = cell["rows"]["plain"], cell["rows"].get("ra")
        lines.append(
            f"| {cell['type']} | {pct_text(cell['no_processing'][judge])} | "
            f"{pct_text(plain['accuracy'][judge])} | "
            f"{pct_text(ra['accuracy'][judge]) if ra else '—'} | "
            f"{diff_text(ra['ra_minus_plain'][judge]) if ra else '—'} | "
            f"{plain['psnr']['mean']:.2f} | {ra['psnr']['mean'] if ra else float('nan'):.2f} |")
    if others:
        lines += ["", f"## RA - plain at severity {TABLE12_LEVEL} on the other classifiers "
                  "(Table 14 analog; points)", "",
                  "| type | " + " | ".join(others) + " |", "|---|" + "---|" * len(others)]
        for cell in level5.values():
            ra = cell["rows"].get("ra")
            if ra:
                lines.append(f"| {cell['type']} | " + " | ".join(
                    diff_text(ra["ra_minus_plain"][k]) for k in others) + " |")
    several = sorted({c["type"] for c in cells.values()
                      if sum(d["type"] == c["type"] for d in cells.values()) > 1},
                     key=CORRUPTIONS.index)
    if several:
        lines += ["", f"## Across severities, on {judge} (Table 13 analog)", "",
                  "| type | severity | method | accuracy | - plain | PSNR |",
                  "|---|---:|---|---|---|---:|"]
        for cell in cells.values():
            if cell["type"] not in several:
                continue
            for method, row in cell["rows"].items():
                diff = diff_text(row["ra_minus_plain"][judge]) if "ra_minus_plain" in row else "—"
                lines.append(f"| {cell['type']} | {cell['level']} | {method} | "
                             f"{pct_text(row['accuracy'][judge])} | {diff} | "
                             f"{row['psnr']['mean']:.2f} |")
    tally = result["summary"]
    if tally:
        lines += ["", f"## Types at severity {TABLE12_LEVEL} where the method beats plain", "",
                  "| method | classifier | CI above 0 | CI includes 0 | CI below 0 |",
                  "|---|---|---:|---:|---:|"]
        for method, by in tally.items():
            for clf, t in by.items():
                lines.append(f"| {method} | {clf} | {t['above']} of {t['types']} | "
                             f"{t['includes_zero']} | {t['below']} |")
    lines += ["", "Clean images: " + ", ".join(f"{k} {pct_text(c)}"
                                                for k, c in result["clean"].items()) + "."]
    return "\n".join(lines)


def save_corruption_processors(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, STEM, format_corruption_processors)
