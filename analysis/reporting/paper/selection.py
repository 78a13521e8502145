"""Choosing test images for the image figures: by index, or by a filter over the per-image
record table (``results/records_<task>.parquet``; measured on the first
:data:`SEARCH_IMAGES` test images when that table is missing or was made with other weights)."""

from __future__ import annotations

import numpy as np

from ...errors import RAExplorerError, unknown_name
from ...explore.gallery import Query, select, shipped_table
from ...pipeline.records import RecordTable

SEARCH_IMAGES = 500
_MEASURED: dict = {}   # tables measured in this process, by task, dataset, weights


# the figure's filter names -> (the gallery's filter, which processor is A, which is B)
FILTERS = {"ra-right-plain-wrong": ("A right, B wrong", "ra", "plain"),
           "plain-wrong": ("A wrong", "plain", "ra"),
           "both-right": ("A and B right", "ra", "plain"),
           "methods-disagree": ("methods disagree", "ra", "plain")}
# the gallery's names with A = RA and B = plain are accepted too
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
    table, path = shipped_table(results_dir, task_spec, dataset, classifier, digests)
    if table is not None:
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
    gallery_filter, a, b = FILTERS[key]
    roles = {"ra": ra, "plain": plain}
    matches = select(table, Query(classifier, roles[a], roles[b], filter=gallery_filter,
                                  sort="index")).indices
    if len(matches) == 0:
        raise RAExplorerError(f"No test image matches the filter {key} for {classifier}; choose "
                              "another filter or give --indices.")
    rng = np.random.default_rng(seed)
    picked = rng.choice(matches, size=min(k, len(matches)), replace=False)
    return sorted(int(i) for i in picked)
