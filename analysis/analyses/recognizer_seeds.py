"""Seeds behind the recognizer side: the fix-the-recognizer table (:mod:`.recognizer_side`) for
every training seed of the recognizer-side classifiers, and its claims restated across seeds.

The classifiers are the vanilla one, those of the ``recognizers/`` collection (seed 0) and their
replicates in ``recognizers/seeds/`` (``<name>-seed<N>``,
:func:`analysis.training.recipe.recognizer_seed_entries`), all run on the same degraded test
images in one pass per degradation. A replicate belongs to the classifier whose name it
carries before ``-seed<N>``; its seed is the one its card records.

Per row (a classifier and an input: no processing, the plain or the RA processor's output) the
mCE of every seed (Hendrycks & Dietterich's corruption error relative to the vanilla classifier
on the unprocessed input, over the one column set of :func:`.recognizer_side.mce_columns`) and
the accuracy per column, summarised as the mean over seeds, the standard deviation across seeds
(``ddof=1``) and the range. The table's claims, per seed:

* each recognizer-side classifier without processing against the vanilla classifier behind
  the RA processor (mCE difference; how many seeds have it lower);
* every pair of recognizer-side classifiers without processing (mCE difference A - B; how
  many seeds have A lower), e.g. QualNet against augmentation;
* the row with the lowest mCE.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from ..data.tasks import create_task
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.setting import Setting
from ..zoo.catalogue import find_checkpoints, model_digests, nested_collection_dirs
from .recognizer_side import (
    DEGRADATIONS,
    INPUT_LABELS,
    measure_tables,
    recognizer_cards,
    table_from_records,
)
from .seed_spread import card_seed

COLLECTION = "recognizers/seeds"   # the checkpoint folder's recognizer-side seed replicates
SEED_SUFFIX = re.compile(r"-seed\d+$")
STEM = "recognizer_seeds"


def record_stem(degradation: str) -> str:
    """``records_recognizer_seeds_<task slug>``: a degradation's per-image record table."""
    return f"records_{STEM}_{create_task(degradation).slug}"


def replicate_name(name: str) -> str:
    """The classifier a checkpoint replicates: ``name`` without its ``-seed<N>``."""
    return SEED_SUFFIX.sub("", name)


def seed_groups(cards: list[dict], vanilla: str | None = None) -> dict[str, dict[int, str]]:
    """{classifier: {training seed: checkpoint name}} of ``cards``, in card order (``vanilla``
    under its own name); a classifier with two checkpoints of one seed is one sentence."""
    groups: dict[str, dict[int, str]] = {}
    for card in cards:
        name = card["name"] if card["name"] == vanilla else replicate_name(card["name"])
        seeds = groups.setdefault(name, {})
        seed = card_seed(card)
        if seed in seeds:
            raise RAExplorerError(f"Both {seeds[seed]} and {card['name']} are "
                                  f"{replicate_name(card['name'])} trained with seed {seed}; "
                                  "keep one of them.")
        seeds[seed] = card["name"]
    return {name: dict(sorted(seeds.items())) for name, seeds in groups.items()}


def seed_cards(dataset: str, folder=None, vanilla: str = "resnet20") -> list[dict]:
    """The vanilla and recognizer-side classifiers (:func:`.recognizer_side.recognizer_cards`),
    then the replicates of ``recognizers/seeds/``; one sentence when no recognizer-side
    classifier has two seeds."""
    cards = recognizer_cards(dataset, folder, vanilla=vanilla)
    where = nested_collection_dirs(folder).get(COLLECTION)
    if where is not None:
        cards += [c for c in find_checkpoints(where, kind="classifier", dataset=dataset)
                  if c.get("method") not in ("standard", "adversarial")]
    if not any(len(seeds) > 1 for seeds in seed_groups(cards, vanilla).values()):
        raise RAExplorerError(
            f"No recognizer-side classifier on {dataset} has a second training seed in "
            f"{where or 'recognizers/seeds/'}; 'python -m analysis build-zoo --only "
            "\"resnet20-*-seed*\"' trains them.")
    return cards


def _spread(values: list[float]) -> dict:
    """Mean, SD across seeds (``ddof=1``; None for one value), range and the values."""
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()),
            "sd": float(array.std(ddof=1)) if len(array) > 1 else None,
            "min": float(array.min()), "max": float(array.max()),
            "values": [float(v) for v in array]}


def across_seeds(table: dict, groups: dict[str, dict[int, str]]) -> dict:
    """The claims of the module docstring from ``table`` (:func:`.recognizer_side.table_from_records`
    over every seed's classifiers) and ``groups`` (:func:`seed_groups`).

    Returns ``rows`` (per classifier and input: ``seeds``, ``mce`` and per column ``cells``
    spreads), ``against_ra``, ``pairs`` and ``best`` (per seed: the row with the lowest mCE and
    the classifiers compared). Without an mCE (no degraded column has a value in every row)
    the rows carry ``mce`` None and the claims are empty."""
    by_name = {(r["classifier"], r["input"]): r for r in table["rows"]}
    vanilla = table["vanilla"]
    columns = ["clean", *table["degradations"]]
    rows = []
    for name, seeds in groups.items():
        for kind in INPUT_LABELS:
            held = {s: by_name[(n, kind)] for s, n in seeds.items() if (n, kind) in by_name}
            held = {s: r for s, r in held.items() if r["cells"]}
            if not held:
                continue
            mces = [r["mce"] for r in held.values()]
            rows.append({
                "classifier": name, "input": kind, "seeds": list(held),
                "checkpoints": [seeds[s] for s in held],
                "mce": _spread(mces) if None not in mces else None,
                "cells": {c: _spread([r["cells"][c]["accuracy"] for r in held.values()])
                          for c in columns if all(c in r["cells"] for r in held.values())}})
    if not table.get("mce_columns"):
        return {"rows": rows, "against_ra": [], "pairs": [], "best": {}}
    ra_mce = by_name[(vanilla, "ra")]["mce"] if (vanilla, "ra") in by_name else None
    side = {n: s for n, s in groups.items() if n != vanilla}
    against_ra = []
    if ra_mce is not None:
        for name, seeds in side.items():
            diffs = [by_name[(n, "none")]["mce"] - ra_mce for n in seeds.values()]
            against_ra.append({"classifier": name, "seeds": list(seeds), **_spread(diffs),
                               "lower": sum(d < 0 for d in diffs)})
    pairs = []
    for (a, sa), (b, sb) in itertools.combinations(side.items(), 2):
        common = [s for s in sa if s in sb]
        if not common:
            continue
        diffs = [by_name[(sa[s], "none")]["mce"] - by_name[(sb[s], "none")]["mce"]
                 for s in common]
        pairs.append({"a": a, "b": b, "seeds": common, **_spread(diffs),
                      "a_lower": sum(d < 0 for d in diffs)})
    all_seeds = sorted({s for seeds in side.values() for s in seeds})
    best = {}
    for seed in all_seeds:
        candidates = []
        for name, seeds in groups.items():   # the vanilla classifier: its one checkpoint
            held = next(iter(seeds.values())) if name == vanilla else seeds.get(seed)
            for kind in INPUT_LABELS:
                row = by_name.get((held, kind))
                if row is not None and row["mce"] is not None:
                    candidates.append((row["mce"], name, kind))
        mce, name, kind = min(candidates)
        best[str(seed)] = {"classifier": name, "input": kind, "mce": mce,
                           "compared": list(dict.fromkeys(c[1] for c in candidates))}
    return {"rows": rows, "against_ra": against_ra, "pairs": pairs, "best": best}


def measure_recognizer_seeds(dataset: str | None = None, folder=None, vanilla: str = "resnet20",
                             degradations=DEGRADATIONS, limit: int | None = None,
                             batch_size: int = 500, device=None, seed: int = 0,
                             records_dir: Path | None = None, progress: bool = True) -> dict:
    """The table of the module docstring: one runner pass per degradation with every seed's
    classifiers (record tables ``records_recognizer_seeds_<task>.parquet`` in ``records_dir``
    when given). ``seed`` is the degradations' seed, not a training seed."""
    setting = Setting(None, dataset, folder, device)
    cards = seed_cards(setting.dataset, setting.folder, vanilla)
    tables, processors, proc_cards = measure_tables(
        setting, cards, degradations, limit=limit, batch_size=batch_size, seed=seed,
        records_dir=records_dir, stem=record_stem, progress=progress)
    table = table_from_records(tables, vanilla, processors)
    groups = seed_groups(cards, vanilla)
    return {"kind": STEM, "dataset": table["dataset"], "split": table["split"],
            "n_images": table["n_images"], "vanilla": vanilla,
            "degradations": table["degradations"], "mce_columns": table["mce_columns"],
            "processors": processors, "groups": {n: {str(s): c for s, c in g.items()}
                                                 for n, g in groups.items()},
            **across_seeds(table, groups),
            "provenance": setting.provenance(
                n_images=table["n_images"], checkpoints=model_digests(cards, proc_cards),
                seeds={"degradation": seed})}


def _text(s: dict, scale: float = 100.0, digits: int = 2, sign: str = "") -> str:
    """``mean (SD sd; min to max)``; one seed: its value alone."""
    if s["sd"] is None:
        return f"{scale * s['mean']:{sign}.{digits}f}"
    return (f"{scale * s['mean']:{sign}.{digits}f} (SD {scale * s['sd']:.{digits}f}; "
            f"{scale * s['min']:{sign}.{digits}f} to {scale * s['max']:{sign}.{digits}f})")


def format_recognizer_seeds(result: dict) -> str:
    """Markdown: mCE and accuracy per row over seeds, then the claims per seed."""
    degs = result["degradations"]
    lines = [f"# Fix the recognizer, across training seeds ({result['dataset']}, "
             f"{result['split']} split, {result['n_images']} images)", "",
             "Each row: a classifier over its training seeds (the recognizer-side ones of "
             "checkpoints/recognizers/ and their replicates in recognizers/seeds/) on one input. "
             "Mean over seeds (SD across seeds; range). mCE: mean over the degraded columns "
             f"{', '.join(result['mce_columns'])} of the row's error divided by "
             f"{result['vanilla']}'s error on the unprocessed input; below 1 is better.", "",
             "| classifier | input | seeds | mCE | clean | " + " | ".join(degs) + " |",
             "|---|---|---|---|---:|" + "---:|" * len(degs)]
    for row in result["rows"]:
        cells = [_text(row["cells"][c], digits=1) if c in row["cells"] else "—"
                 for c in ["clean", *degs]]
        mce = _text(row["mce"], 1.0, 3) if row["mce"] else "—"
        lines.append(f"| {row['classifier']} | {INPUT_LABELS[row['input']]} | "
                     f"{', '.join(map(str, row['seeds']))} | {mce} | " + " | ".join(cells) + " |")
    if result["against_ra"]:
        lines += ["", f"## Against {result['vanilla']} behind the RA processor", "",
                  "mCE without processing minus the vanilla classifier's mCE behind the RA "
                  "processor, per seed; 'lower': seeds where the recognizer side wins.", "",
                  "| classifier | seeds | mCE difference | lower |", "|---|---|---|---:|"]
        for d in result["against_ra"]:
            lines.append(f"| {d['classifier']} | {len(d['seeds'])} | {_text(d, 1.0, 3, '+')} | "
                         f"{d['lower']} of {len(d['seeds'])} |")
    if result["pairs"]:
        lines += ["", "## Pairs of recognizer-side classifiers (no processing)", "",
                  "mCE of A minus mCE of B, seed by seed; 'A lower': seeds where A has the "
                  "lower mCE.", "", "| A | B | seeds | mCE A - B | A lower |",
                  "|---|---|---|---|---:|"]
        for d in result["pairs"]:
            lines.append(f"| {d['a']} | {d['b']} | {len(d['seeds'])} | {_text(d, 1.0, 3, '+')} "
                         f"| {d['a_lower']} of {len(d['seeds'])} |")
    if result["best"]:
        lines += ["", "## The lowest mCE per seed", "",
                  "| seed | classifier | input | mCE | classifiers compared |",
                  "|---|---|---|---:|---:|"]
        for seed, b in result["best"].items():
            lines.append(f"| {seed} | {b['classifier']} | {INPUT_LABELS[b['input']]} | "
                         f"{b['mce']:.3f} | {len(b['compared'])} |")
    return "\n".join(lines)


def save_recognizer_seeds(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``recognizer_seeds.json`` / ``.md`` in ``out_dir`` (default: results/)."""
    return write_result(result, out_dir, STEM, format_recognizer_seeds)
