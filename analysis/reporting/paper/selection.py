"""Choosing test images for the image figures: by index, or by a filter over the per-image
record table (``results/records_<task>.parquet``; measured on the first
:data:`SEARCH_IMAGES` test images when that table is missing or was made with other weights)."""

from __future__ import annotations

import numpy as np

from ...analyses.quality import task_slug
from ...errors import RAExplorerError, unknown_name
from ...pipeline.records import RecordTable
from ...pipeline.runner import NO_PROCESSING

SEARCH_IMAGES = 500
_MEASURED: dict = {}   # tables measured in this process, by task, dataset, weights


def _ra_right_plain_wrong(t: RecordTable, clf: str, plain: str, ra: str) -> np.ndarray:
    return t.correct(ra, clf) & ~t.correct(plain, clf)


def _plain_wrong(t: RecordTable, clf: str, plain: str, ra: str) -> np.ndarray:
    return ~t.correct(plain, clf)


def _both_right(t: RecordTable, clf: str, plain: str, ra: str) -> np.ndarray:
    return t.correct(ra, clf) & t.correct(plain, clf)


def _methods_disagree(t: RecordTable, clf: str, plain: str, ra: str) -> np.ndarray:
    preds = np.stack([t.pred[(i, clf)] for i in t.inputs if i not in ("clean", NO_PROCESSING)])
    return (preds != preds[0]).any(0)


FILTERS = {"ra-right-plain-wrong": _ra_right_plain_wrong, "plain-wrong": _plain_wrong,
           "both-right": _both_right, "methods-disagree": _methods_disagree}
# the app's names (analysis.explore.workspace.FILTERS) are accepted too
ALIASES = {"RA right and plain wrong": "ra-right-plain-wrong", "plain wrong": "plain-wrong",
           "methods disagree": "methods-disagree"}


def filter_name(name: str) -> str:
    key = ALIASES.get(name, name.replace("_", "-"))
    if key not in FILTERS:
        raise unknown_name("image filter", name, list(FILTERS))
    return key


def record_table(task_spec: str, dataset: str, results_dir, classifier: str,
                 digests: dict[str, str], measure) -> tuple[RecordTable, str]:
    """(table, where it came from): the shipped table if it holds ``classifier`` measured on
    the same weights (``digests``: name -> SHA-256), else ``measure()`` (a fresh table)."""
    path = results_dir / f"records_{task_slug(task_spec)}.parquet"
    if path.is_file():
        table = RecordTable.load(path)
        saved = table.provenance.get("checkpoints", {})
        if (table.dataset == dataset and classifier in table.classifiers
                and all(saved.get(n) == d for n, d in digests.items())):
            return table, path.name
    key = (task_spec, dataset, classifier, tuple(sorted(digests.items())))
    if key not in _MEASURED:
        _MEASURED.clear()          # one table kept: enough for a figure set, small in memory
        _MEASURED[key] = measure()
    return _MEASURED[key], f"the first {SEARCH_IMAGES} test images, measured now"


def choose(table: RecordTable, name: str, classifier: str, plain: str, ra: str, k: int,
           seed: int) -> list[int]:
    """``k`` dataset indices matching filter ``name`` (a seeded sample, in index order)."""
    key = filter_name(name)
    for inp in (plain, ra):
        if inp not in table.inputs:
            raise RAExplorerError(f"The record table has no input {inp!r}; the filter needs the "
                                  "plain and the RA processor of the task.")
    matches = table.index[FILTERS[key](table, classifier, plain, ra)]
    if len(matches) == 0:
        raise RAExplorerError(f"No test image matches the filter {key} for {classifier}; choose "
                              "another filter or give --indices.")
    rng = np.random.default_rng(seed)
    picked = rng.choice(matches, size=min(k, len(matches)), replace=False)
    return sorted(int(i) for i in picked)
