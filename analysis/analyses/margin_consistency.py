"""Decision-margin consistency between classifiers: Pearson's r of two classifiers' per-image
margins over the same images, for every pair of classifiers and every input (clean, no
processing, each processor), with percentile-bootstrap 95 % CIs over images; per input the mean
r over the pairs, and its paired difference to the task's plain processor (does RA processing
make the classifiers agree?).

Margins, one per source file in the results folder:

* ``signed-confidence`` (the record table ``records_<task>.parquet``, every test image): the
  table keeps each classifier's top-1 class and that class's softmax probability p_top, not its
  logits, so the margin is +p_top where the top-1 class is the label and -p_top where it is not
  (sure and right > unsure > sure and wrong; the two extremes of the probability margin
  p_y - max_{k != y} p_k given p_top);
* ``logit`` (the ``agreement`` verb's per-image table ``agreement_<task>_images.parquet``, the
  images it ran): z_y - max_{k != y} z_k;
* ``bd`` (a boundary result ``boundaries_<task>_<a>_<b>.json``, the images it selected): each
  classifier's distance ([0, 1]-pixel L2) from the plain output to its decision boundary along
  each direction (random, RA); an image censored for either classifier of a pair is left out of
  that pair.

All correlations of one source use the same resamples (``seed``), so the mean over pairs and the
differences between inputs are paired. Shapes: margins (n,) per (input, classifier).
"""

from __future__ import annotations

import json
import math
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np

from ..data.folders import results_dir
from ..data.tasks import create_task, task_slug
from ..errors import RAExplorerError
from ..outputs.provenance import Clock, provenance
from ..outputs.result_files import write_result
from ..pipeline.records import RecordTable, records_path
from ..pipeline.runner import CLEAN, NO_PROCESSING
from ..zoo.catalogue import find_checkpoints
from .agreement_stats import N_BOOT, bootstrap_values, interval, weighted_pearson
from .metric_agreement import images_name

ZOO_GROUP = "zoo"      # the group of the checkpoint folder's own classifiers

SOURCES = {
    "signed-confidence": "+p_top where the top-1 class is the label, -p_top where it is not "
                         "(record table: top-1 class and its softmax probability per classifier)",
    "logit": "z_y - max_{k != y} z_k (the agreement verb's per-image logits)",
    "bd": "L2 distance ([0, 1] pixels) from the plain output to the classifier's decision "
          "boundary along the direction (boundary result's per-image records)",
}


def signed_confidence(pred: np.ndarray, prob: np.ndarray, label: np.ndarray) -> np.ndarray:
    """(n,) float64: ``prob`` (the top-1 probability) where ``pred`` is ``label``, else
    ``-prob``."""
    prob = np.asarray(prob, dtype=np.float64)
    return np.where(np.asarray(pred) == np.asarray(label), prob, -prob)


def record_margins(table: RecordTable) -> dict[tuple[str, str], np.ndarray]:
    """(input, classifier) -> (n,) signed top-1 confidence of every image of ``table``."""
    return {key: signed_confidence(table.pred[key], table.prob[key], table.label)
            for key in table.pred}


def pair_correlations(margins: dict[tuple[str, str], np.ndarray], inputs: list[str],
                      classifiers: list[str], n_boot: int = N_BOOT, seed: int = 0):
    """(rows, boots): one row per input and pair of ``classifiers`` (``{"input", "a", "b",
    "n", "pearson": {"value", "ci95"}}``) and {(input, a, b): (value, (n_boot,) resampled r)}.
    Every pair and input is resampled with the same counts (paired)."""
    rows, boots = [], {}
    for inp in inputs:
        for a, b in combinations(classifiers, 2):
            if (inp, a) not in margins or (inp, b) not in margins:
                continue
            x, y = margins[(inp, a)], margins[(inp, b)]
            full, values = bootstrap_values(weighted_pearson, x, y, n=len(x), n_boot=n_boot,
                                            seed=seed)
            boots[(inp, a, b)] = (full, values)
            rows.append({"input": inp, "a": a, "b": b, "n": int(len(x)),
                         "pearson": interval(full, values)})
    return rows, boots


def _mean_over_pairs(boots: dict, inp: str):
    mine = [v for k, v in boots.items() if k[0] == inp]
    if not mine:
        return None
    with warnings.catch_warnings():        # an all-NaN mean is NaN, said without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        full = float(np.nanmean([f for f, _ in mine]))
        values = np.nanmean(np.stack([b for _, b in mine]), axis=0)
    return full, values


def input_summary(boots: dict, inputs: list[str], reference: str | None) -> list[dict]:
    """Per input: the mean Pearson r over the classifier pairs with its CI, and (where
    ``reference``, the plain processor, was measured) the paired difference mean r(input) -
    mean r(reference) with its CI."""
    ref = _mean_over_pairs(boots, reference) if reference else None
    rows = []
    for inp in inputs:
        mean = _mean_over_pairs(boots, inp)
        if mean is None:
            continue
        row = {"input": inp, "pairs": sum(k[0] == inp for k in boots),
               "mean_pearson": interval(*mean)}
        if ref is not None and inp != reference:
            row["minus_reference"] = interval(mean[0] - ref[0], mean[1] - ref[1])
        rows.append(row)
    return rows


def consistency_tables(margins: dict, inputs: list[str], classifiers: list[str],
                       reference: str | None, n_boot: int = N_BOOT, seed: int = 0,
                       groups: dict[str, list[str]] | None = None) -> dict:
    """{"pairs": :func:`pair_correlations` rows, "inputs": :func:`input_summary` rows,
    "groups": {name: {"classifiers", "inputs"}}}: for each group of ``groups`` (name ->
    classifiers) with two or more of ``classifiers``, the summary over the pairs among them
    alone, from the same resamples."""
    rows, boots = pair_correlations(margins, inputs, classifiers, n_boot, seed)
    out = {"pairs": rows, "inputs": input_summary(boots, inputs, reference), "groups": {}}
    for name, members in (groups or {}).items():
        members = [c for c in classifiers if c in members]
        if len(members) >= 2 and len(members) < len(classifiers):
            mine = {k: v for k, v in boots.items() if k[1] in members and k[2] in members}
            out["groups"][name] = {"classifiers": members,
                                   "inputs": input_summary(mine, inputs, reference)}
    return out


def bd_consistency(report: dict, n_boot: int = N_BOOT, seed: int = 0) -> list[dict]:
    """Per direction and pair of the boundary result's classifiers: Pearson's r of their
    per-image BDs over the images where both are measured (not censored)."""
    records = report.get("records") or []
    classifiers = [c if isinstance(c, str) else c.get("name") for c in report["classifiers"]]
    directions = sorted({d for r in records for c in r.get("bd", {}).values() for d in c})
    rows = []
    for direction in directions:
        for a, b in combinations(classifiers, 2):
            pairs = [(r["bd"][a].get(direction), r["bd"][b].get(direction)) for r in records
                     if a in r.get("bd", {}) and b in r.get("bd", {})]
            x, y = (np.array([p[k] for p in pairs if None not in p and all(map(math.isfinite, p))],
                             dtype=np.float64) for k in (0, 1))
            if len(x) < 3:
                continue
            full, values = bootstrap_values(weighted_pearson, x, y, n=len(x), n_boot=n_boot,
                                            seed=seed)
            rows.append({"direction": direction, "a": a, "b": b, "n": int(len(x)),
                         "pearson": interval(full, values)})
    return rows


def logit_margins(path: Path) -> tuple[dict, list[str], list[str]]:
    """(margins, inputs, classifiers) of an agreement per-image table
    (``agreement_<task>_images.parquet``: columns ``margin|<input>|<classifier>``)."""
    import pandas as pd

    frame = pd.read_parquet(path)
    margins, inputs, classifiers = {}, [], []
    for column in frame.columns:
        head, _, rest = column.partition("|")
        if head != "margin":
            continue
        inp, clf = rest.rsplit("|", 1)
        margins[(inp, clf)] = frame[column].to_numpy(np.float64)
        inputs += [inp] if inp not in inputs else []
        classifiers += [clf] if clf not in classifiers else []
    return margins, inputs, classifiers


def plain_input(inputs: list[str], task_name: str) -> str | None:
    """``<task>-plain`` where it is among ``inputs``, else the first input named ``*-plain``."""
    if f"{task_name}-plain" in inputs:
        return f"{task_name}-plain"
    return next((i for i in inputs if i.endswith("-plain")), None)


def margin_consistency(task: str, dataset: str | None = None, results=None,
                       n_boot: int = N_BOOT, seed: int = 0,
                       classifiers: list[str] | None = None, checkpoints=None) -> dict:
    """Decision-margin consistency of ``task`` from the result files in ``results`` (default:
    the dataset's results folder): the record table (required), and the agreement per-image
    table and boundary results where they are there; ``classifiers``: the pairs among these
    alone (default: every classifier of each file). Beside all pairs, each source is also
    summarised over the pairs of the zoo's own classifiers (group ``zoo``: the classifiers of
    the checkpoint folder ``checkpoints`` itself, not of its collections such as the
    recognizer-side one), when the file holds others too. Returns the result document."""
    clock = Clock()
    spec = create_task(task).spec
    name = spec.split(":")[0]
    folder = results_dir(results, dataset=dataset)
    path = records_path(folder, spec)
    if not path.is_file():
        raise RAExplorerError(f"No record table of {spec} at {path}; write one with "
                              f"'python -m analysis evaluate --task {name}'.")
    table = RecordTable.load(path)
    if classifiers:
        unknown = [c for c in classifiers if c not in table.classifiers]
        if unknown:
            raise RAExplorerError(f"The record table {path.name} has no classifier "
                                  f"{unknown[0]!r}; it holds {', '.join(table.classifiers)}.")
        table = table.only(classifiers)
    reference = plain_input(table.inputs, name)
    groups = {ZOO_GROUP: [c["name"] for c in find_checkpoints(checkpoints, kind="classifier",
                                                              dataset=table.dataset)]}
    sources = {"signed-confidence": {
        "file": path.name, "n_images": len(table), "classifiers": table.classifiers,
        **consistency_tables(record_margins(table), table.inputs, table.classifiers, reference,
                             n_boot, seed, groups)}}
    images = folder / images_name(spec)
    if images.is_file():
        margins, inputs, clfs = logit_margins(images)
        clfs = [c for c in clfs if not classifiers or c in classifiers]
        sources["logit"] = {"file": images.name, "n_images": len(next(iter(margins.values()))),
                            "classifiers": clfs,
                            **consistency_tables(margins, inputs, clfs, plain_input(inputs, name),
                                                 n_boot, seed, groups)}
    bd = []
    for file in sorted(folder.glob(f"boundaries_{task_slug(spec)}_*.json")):
        report = json.loads(file.read_text())
        rows = [r for r in bd_consistency(report, n_boot, seed)
                if not classifiers or {r["a"], r["b"]} <= set(classifiers)]
        if rows:
            bd.append({"file": file.name, "at": report.get("plain"), "rows": rows})
    if bd:
        sources["bd"] = bd
    return {"task": spec, "dataset": table.dataset, "split": table.split, "n_boot": n_boot,
            "seed": seed, "plain_reference": reference, "definitions": SOURCES,
            "sources": sources,
            "provenance": provenance(dataset=table.dataset, split=table.split,
                                     n_images=len(table),
                                     checkpoints=table.provenance.get("checkpoints", {}),
                                     seeds={"bootstrap": seed}, device="cpu", clock=clock)}


def _ci(stat: dict, digits: int = 2) -> str:
    value = stat["value"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    low, high = stat["ci95"]
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def focus_inputs(inputs: list[str], reference: str | None, task_name: str) -> list[str]:
    """The inputs the pair table shows: clean, no processing, the plain and the RA processor."""
    return [i for i in (CLEAN, NO_PROCESSING, reference, f"{task_name}-ra") if i in inputs]


def _summary_lines(rows: list[dict]) -> list[str]:
    lines = ["| input | mean r over pairs | minus plain |", "|---|---:|---:|"]
    return lines + [f"| {r['input']} | {_ci(r['mean_pearson'])} | "
                    + (_ci(r["minus_reference"], 3) if "minus_reference" in r else "-") + " |"
                    for r in rows]


def _source_tables(source: dict, reference: str | None, task_name: str) -> list[str]:
    lines = _summary_lines(source["inputs"])
    for name, group in source.get("groups", {}).items():
        k = len(group["classifiers"])
        lines += ["", f"The {name} classifiers alone ({', '.join(group['classifiers'])}: "
                  f"{k * (k - 1) // 2} pairs):", "", *_summary_lines(group["inputs"])]
    shown = focus_inputs([r["input"] for r in source["inputs"]], reference, task_name)
    by = {(r["input"], r["a"], r["b"]): r for r in source["pairs"]}
    pairs = list(dict.fromkeys((r["a"], r["b"]) for r in source["pairs"]))
    lines += ["", "| pair | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
    lines += [f"| {a} / {b} | " + " | ".join(
        _ci(by[(i, a, b)]["pearson"]) if (i, a, b) in by else "-" for i in shown) + " |"
        for a, b in pairs]
    return lines


def format_margins(result: dict) -> str:
    """Markdown: per margin source, the mean r over pairs per input with its difference to the
    plain processor, and every pair on clean, no processing, plain and RA inputs (the JSON has
    every input); the BD pairs per direction."""
    task_name = result["task"].split(":")[0]
    lines = [f"Decision-margin consistency, task {result['task']}, {result['dataset']} "
             f"{result['split']} split: Pearson r of two classifiers' per-image margins; "
             f"percentile-bootstrap 95 % CIs over images ({result['n_boot']} resamples, paired "
             f"across pairs and inputs). 'minus plain': mean r of the input minus that of "
             f"{result['plain_reference']} (paired)."]
    for name in ("signed-confidence", "logit"):
        source = result["sources"].get(name)
        if source:
            lines += ["", f"### {name} margin ({source['file']}, {source['n_images']:,} images, "
                      f"{len(source['classifiers'])} classifiers): "
                      + result["definitions"][name], "",
                      *_source_tables(source, result["plain_reference"], task_name)]
    for block in result["sources"].get("bd", []):
        lines += ["", f"### BD at {block['at']} ({block['file']}): "
                  + result["definitions"]["bd"], "",
                  "| direction | pair | images | Pearson r |", "|---|---|---:|---:|"]
        lines += [f"| {r['direction']} | {r['a']} / {r['b']} | {r['n']} | {_ci(r['pearson'])} |"
                  for r in block["rows"]]
    return "\n".join(lines)


def save_margins(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, f"margins_{task_slug(result['task'])}", format_margins)
