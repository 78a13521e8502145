"""Rows of processors paired with a plain processor of their own group (an architecture, a
training seed): accuracy per classifier with a Wilson 95 % CI, PSNR and SSIM with 95 % CIs,
and each non-plain processor's matched-pairs difference to its group's plain one
(:func:`analysis.analyses.evaluate.paired_difference`), from one record table."""

from __future__ import annotations

from ..pipeline.records import RecordTable
from ..stats import mean_interval, wilson_interval
from .evaluate import paired_difference


def accuracy_cell(hits) -> dict:
    """{accuracy, ci95 (Wilson), correct} of per-image correctness ``hits`` (N,) bool."""
    k, n = int(hits.sum()), len(hits)
    low, high = wilson_interval(k, n)
    return {"accuracy": k / n, "ci95": [low, high], "correct": k}


def mean_cell(values) -> dict:
    """{mean, ci95} of per-image values (N,)."""
    mean, low, high = mean_interval(values.tolist())
    return {"mean": mean, "ci95": [low, high]}


def group_rows(table: RecordTable, cards: dict[str, dict], classifiers: list[str],
               plain: str = "plain") -> dict[str, dict]:
    """{key: row} for the processors ``cards`` ({key: card}, ``plain`` among the keys) of one
    group: ``name``, ``lambda``, ``accuracy[classifier]``, ``psnr``, ``ssim`` and, for every
    key but ``plain``, ``ra_minus_plain[classifier]`` against the group's plain processor."""
    base = cards[plain]["name"]
    rows = {}
    for key, card in cards.items():
        name = card["name"]
        rows[key] = {"name": name, "lambda": card.get("lambda"),
                     "accuracy": {k: accuracy_cell(table.correct(name, k)) for k in classifiers},
                     "psnr": mean_cell(table.quality[("psnr", name)]),
                     "ssim": mean_cell(table.quality[("ssim", name)])}
        if key != plain:
            rows[key]["ra_minus_plain"] = {
                k: paired_difference(table.correct(name, k), table.correct(base, k))
                for k in classifiers}
    return rows
