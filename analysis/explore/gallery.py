"""Filters, sorting and paging over the per-image record table (the app's gallery).

Everything here is a view over a :class:`~analysis.pipeline.records.RecordTable` (one row per
test image, built by ``python -m analysis evaluate``): nothing is classified anew, so a filter
over the whole test split is a few vectorised comparisons. A :class:`Query` names the
classifier, two inputs A and B (any processors, ``no processing`` or ``clean``), a filter of
:data:`FILTERS`, an optional class and confidence range, and a sort key of :data:`SORTS`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import RAExplorerError
from ..outputs.measured_weights import changed_weights
from ..pipeline.records import RecordTable, shipped_records_path
from ..pipeline.runner import CLEAN, NO_PROCESSING

Mask = Callable[[RecordTable, "Query"], np.ndarray]


def _processed_inputs(table: RecordTable) -> list[str]:
    """Every input but the clean image (what a method produced, and no processing)."""
    return [i for i in table.inputs if i != CLEAN]


def _processor_outputs(table: RecordTable) -> list[str]:
    """The processors' outputs (neither the clean image nor no processing)."""
    return [i for i in table.inputs if i not in (CLEAN, NO_PROCESSING)]


def _a_right_b_wrong(t: RecordTable, q: Query) -> np.ndarray:
    return t.correct(q.a, q.classifier) & ~t.correct(q.b, q.classifier)


def _a_wrong_b_right(t: RecordTable, q: Query) -> np.ndarray:
    return ~t.correct(q.a, q.classifier) & t.correct(q.b, q.classifier)


def _a_wrong(t: RecordTable, q: Query) -> np.ndarray:
    return ~t.correct(q.a, q.classifier)


def _a_and_b_right(t: RecordTable, q: Query) -> np.ndarray:
    return t.correct(q.a, q.classifier) & t.correct(q.b, q.classifier)


def _methods_disagree(t: RecordTable, q: Query) -> np.ndarray:
    outputs = _processor_outputs(t)
    if len(outputs) < 2:
        return np.zeros(len(t), bool)
    preds = np.stack([t.pred[(i, q.classifier)] for i in outputs])
    return (preds != preds[0]).any(0)


def _all_wrong(t: RecordTable, q: Query) -> np.ndarray:
    return np.stack([~t.correct(i, q.classifier) for i in _processed_inputs(t)]).all(0)


def _a_b_disagree(t: RecordTable, q: Query) -> np.ndarray:
    return t.pred[(q.a, q.classifier)] != t.pred[(q.b, q.classifier)]


def _everything(t: RecordTable, q: Query) -> np.ndarray:
    return np.ones(len(t), bool)


# name -> (mask, its meaning for the caption, with {a} and {b} for the query's two inputs)
FILTERS: dict[str, tuple[Mask, str]] = {
    "A right, B wrong": (_a_right_b_wrong, "the classifier is right on {a} and wrong on {b}"),
    "A wrong, B right": (_a_wrong_b_right, "the classifier is wrong on {a} and right on {b}"),
    "A and B disagree": (_a_b_disagree, "the top-1 classes on {a} and {b} differ"),
    "A wrong": (_a_wrong, "the classifier is wrong on {a}"),
    "A and B right": (_a_and_b_right, "the classifier is right on {a} and on {b}"),
    "methods disagree": (_methods_disagree,
                         "the top-1 classes differ between any two processors' outputs"),
    "all wrong": (_all_wrong, "the classifier is wrong on no processing and every processor"),
    "all images": (_everything, "every image of the table"),
}


def _quality_difference(metric: str) -> Callable[[RecordTable, Query], np.ndarray]:
    def score(t: RecordTable, q: Query) -> np.ndarray:
        for name in (q.a, q.b):
            if (metric, name) not in t.quality:
                raise RAExplorerError(f"The record table holds no {metric.upper()} of {name!r} "
                                      "(the clean image has none); choose two processed inputs.")
        return (t.quality[(metric, q.a)].astype(np.float64)
                - t.quality[(metric, q.b)].astype(np.float64))
    return score


def _confidence_change(t: RecordTable, q: Query) -> np.ndarray:
    """Softmax probability of the true class is not stored; the top-1 probability is."""
    return (t.prob[(q.a, q.classifier)].astype(np.float64)
            - t.prob[(q.b, q.classifier)].astype(np.float64))


def _confidence_a(t: RecordTable, q: Query) -> np.ndarray:
    return t.prob[(q.a, q.classifier)].astype(np.float64)


def _index(t: RecordTable, q: Query) -> np.ndarray:
    return t.index.astype(np.float64)


# name -> (score per image, unit); a gallery is sorted by the score, largest first by default
SORTS: dict[str, tuple[Callable[[RecordTable, Query], np.ndarray], str]] = {
    "PSNR A - B": (_quality_difference("psnr"), "dB"),
    "SSIM A - B": (_quality_difference("ssim"), ""),
    "confidence A - B": (_confidence_change, "top-1 probability"),
    "confidence on A": (_confidence_a, "top-1 probability"),
    "index": (_index, ""),
}


@dataclass(frozen=True)
class Query:
    """One gallery request. ``a`` / ``b``: input names of the table; ``class_index``: keep only
    that true class (None: all); ``confidence``: keep images whose top-1 probability on A lies
    in [low, high]; ``descending``: largest score first."""

    classifier: str
    a: str
    b: str
    filter: str = "A right, B wrong"
    class_index: int | None = None
    confidence: tuple[float, float] = (0.0, 1.0)
    sort: str = "PSNR A - B"
    descending: bool = True


@dataclass
class Selection:
    """The matching images in gallery order: dataset indices and their sort scores (N,)."""

    query: Query
    indices: np.ndarray        # (N,) int64 dataset indices
    scores: np.ndarray         # (N,) float64, the sort key's value
    total: int                 # rows of the table searched

    def __len__(self) -> int:
        return len(self.indices)

    def page(self, number: int, per_page: int = 24) -> tuple[np.ndarray, np.ndarray]:
        """(indices, scores) of page ``number`` (0-based); clipped to the last page."""
        start = min(max(number, 0), self.pages(per_page) - 1) * per_page
        return self.indices[start:start + per_page], self.scores[start:start + per_page]

    def pages(self, per_page: int = 24) -> int:
        return max(1, -(-len(self) // per_page))

    def to_csv(self) -> str:
        """``index,score`` rows in gallery order, headed by the query (for a paper's appendix
        or another tool)."""
        q = self.query
        buf = io.StringIO()
        buf.write(f"# filter={q.filter}; classifier={q.classifier}; A={q.a}; B={q.b}; "
                  f"class={q.class_index}; confidence={q.confidence[0]}-{q.confidence[1]}; "
                  f"sort={q.sort}; {len(self)} of {self.total} images\n")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["index", _column(q.sort)])
        writer.writerows((int(i), f"{s:.6g}") for i, s in zip(self.indices, self.scores))
        return buf.getvalue()


def _column(sort: str) -> str:
    return sort.replace(" ", "_").replace("-", "minus").lower()


def check_query(table: RecordTable, q: Query) -> None:
    """One sentence for a query the table cannot answer."""
    if q.classifier not in table.classifiers:
        raise RAExplorerError(
            f"The record table of {table.task} holds no predictions of {q.classifier!r} (it has "
            f"{', '.join(table.classifiers)}); rerun 'python -m analysis evaluate --task "
            f"{table.task.split(':')[0]}' with that classifier in the zoo.")
    for name in (q.a, q.b):
        if name not in table.inputs:
            raise RAExplorerError(f"The record table has no input {name!r}; choose one of "
                                  f"{', '.join(table.inputs)}.")
    if q.filter not in FILTERS:
        raise RAExplorerError(f"Unknown filter {q.filter!r}; use one of {', '.join(FILTERS)}.")
    if q.sort not in SORTS:
        raise RAExplorerError(f"Unknown sort {q.sort!r}; use one of {', '.join(SORTS)}.")


def select(table: RecordTable, q: Query) -> Selection:
    """The images of ``table`` that match ``q``, sorted by its score (ties by index)."""
    check_query(table, q)
    mask = FILTERS[q.filter][0](table, q)
    if q.class_index is not None:
        mask &= table.label == q.class_index
    low, high = q.confidence
    if (low, high) != (0.0, 1.0):
        conf = table.prob[(q.a, q.classifier)].astype(np.float64)
        mask &= (conf >= low) & (conf <= high)
    scores = SORTS[q.sort][0](table, q)[mask]
    indices = table.index[mask].astype(np.int64)
    key = np.nan_to_num(scores, nan=-np.inf)
    order = np.lexsort((indices, -key if q.descending else key))
    return Selection(q, indices[order], scores[order], len(table))


def describe(selection: Selection, class_names: list[str] | None = None) -> str:
    """One sentence: how many images match, of how many, and what the filter means."""
    q = selection.query
    what = FILTERS[q.filter][1].format(a=q.a, b=q.b)
    extra = ""
    if q.class_index is not None:
        name = class_names[q.class_index] if class_names else str(q.class_index)
        extra += f", true class {name}"
    if q.confidence != (0.0, 1.0):
        extra += f", top-1 probability on {q.a} in [{q.confidence[0]:.2f}, {q.confidence[1]:.2f}]"
    return (f"{len(selection):,} of {selection.total:,} test images: {what} "
            f"({q.classifier}{extra}).")


@lru_cache(maxsize=4)
def read_table_once(path: str, mtime_ns: int) -> RecordTable:
    """One read of a record table file per version of it (about 0.4 s for 10,000 rows); the
    caller must not change the arrays."""
    return RecordTable.load(path)


def shipped_table(results_dir, task_spec: str, dataset: str, classifier: str,
                  digests: dict[str, str], inputs=None) -> tuple[RecordTable | None, Path]:
    """(table, path) of the task's shipped record table
    (:func:`~analysis.pipeline.records.shipped_records_path`) when it holds ``classifier`` for
    ``dataset`` and was measured on the same weights (``digests``: checkpoint name -> SHA-256;
    the classifier's must match, every other one the table holds too; a model the table lacks
    is simply not one of its inputs), else (None, path): a table made with other weights must
    not answer for these. ``inputs``, when given: the inputs the caller can show; the table's
    others (a processor whose weights this machine's store lacks) are left out, so that a
    filter over every processor means the ones shown."""
    path = shipped_records_path(results_dir, task_spec)
    if not path.is_file():
        return None, path
    table = read_table_once(str(path), path.stat().st_mtime_ns)
    saved = table.provenance.get("checkpoints", {})
    if (table.dataset == dataset and classifier in table.classifiers
            and saved.get(classifier) == digests.get(classifier)
            and not changed_weights(saved, digests)):
        return (table if inputs is None else table.with_inputs(inputs)), path
    return None, path
