"""Gallery on detection canvases: the test canvases on which one input lets a detector find
items that another does not, from the per-canvas records ``detection-transfer`` writes
(:func:`analysis.analyses.detection_transfer.canvas_records`), and their thumbnails.

Nothing is detected anew to filter: a canvas's record holds, per (input, detector), the
ground-truth items that a box of their class scoring at least 0.5 matches at IoU 0.5
(``found``) and the boxes scoring at least 0.5 (``boxes``). A records file answers only for
the weights it was measured on (the result's checkpoint digests against the folder's cards).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..analyses.detection_transfer import home_dataset, load_canvas_records, result_stem
from ..data.folders import results_dir
from ..errors import RAExplorerError
from ..outputs.measured_weights import changed_weights
from .detection_view import CanvasModels

Records = dict[str, np.ndarray]


def default_pair(models: CanvasModels, inputs: list[str], detector: str) -> tuple[str, str]:
    """The pair a canvas gallery opens on, from the cards: A the processor trained RA through
    ``detector`` (else through any detector, else the last input), B the plain processor
    trained on canvases (else the first input, "no processing")."""
    cards = models.cards

    def through(name: str, det: str | None) -> bool:
        card = cards.get(name) or {}
        return (card.get("method") == "ra" and card.get("source_kind") == "detector"
                and (det is None or card.get("source") == det))

    a = next((n for n in inputs if through(n, detector)),
             next((n for n in inputs if through(n, None)), inputs[-1]))
    b = next((n for n in inputs if (cards.get(n) or {}).get("method") == "plain"
              and str((cards.get(n) or {}).get("dataset", "")).startswith("canvas:")), inputs[0])
    return a, b


def _found(r: Records, name: str, detector: str) -> np.ndarray:
    key = f"found|{name}|{detector}"
    if key not in r:
        raise RAExplorerError(f"The per-canvas records hold no {name!r} on {detector!r}; rerun "
                              "'python -m analysis detection-transfer' with it in the folder.")
    return r[key].astype(np.int64)


# name -> (mask over canvases, its meaning with {a}, {b} and {d} for the query)
CANVAS_FILTERS: dict[str, tuple[Callable[[Records, CanvasQuery], np.ndarray], str]] = {
    "A finds more items than B": (
        lambda r, q: _found(r, q.a, q.detector) > _found(r, q.b, q.detector),
        "{d} finds more items on {a} than on {b}"),
    "A finds every item, B misses one": (
        lambda r, q: (_found(r, q.a, q.detector) == r["truth"])
        & (_found(r, q.b, q.detector) < r["truth"]),
        "{d} finds every item on {a} and misses one or more on {b}"),
    "B finds more items than A": (
        lambda r, q: _found(r, q.b, q.detector) > _found(r, q.a, q.detector),
        "{d} finds more items on {b} than on {a}"),
    "A misses an item": (lambda r, q: _found(r, q.a, q.detector) < r["truth"],
                         "{d} misses one or more items on {a}"),
    "all canvases": (lambda r, q: np.ones(len(r["canvas"]), bool), "every test canvas"),
}
# name -> score per canvas (a gallery is sorted by it, largest first)
CANVAS_SORTS: dict[str, Callable[[Records, CanvasQuery], np.ndarray]] = {
    "items found A - B": lambda r, q: (_found(r, q.a, q.detector)
                                       - _found(r, q.b, q.detector)).astype(np.float64),
    "items missed on A": lambda r, q: (r["truth"] - _found(r, q.a, q.detector)).astype(
        np.float64),
    "index": lambda r, q: r["canvas"].astype(np.float64),
}


@dataclass(frozen=True)
class CanvasQuery:
    """One canvas-gallery request: detector ``detector``, inputs ``a`` and ``b`` (processor
    names, ``no processing`` or ``clean``), a filter of :data:`CANVAS_FILTERS` and a sort of
    :data:`CANVAS_SORTS`."""

    detector: str
    a: str
    b: str
    filter: str = "A finds more items than B"
    sort: str = "items found A - B"


@dataclass
class CanvasSelection:
    """The matching canvases in gallery order: ``indices`` (N,) canvas indices, ``scores`` (N,)
    the sort key, ``found_a`` / ``found_b`` / ``truth`` (N,) item counts, ``total`` canvases
    searched."""

    query: CanvasQuery
    indices: np.ndarray
    scores: np.ndarray
    found_a: np.ndarray
    found_b: np.ndarray
    truth: np.ndarray
    total: int

    def __len__(self) -> int:
        return len(self.indices)

    def describe(self) -> str:
        """One sentence: how many canvases match, of how many, and what the filter means."""
        q = self.query
        what = CANVAS_FILTERS[q.filter][1].format(a=q.a, b=q.b, d=q.detector)
        return f"{len(self):,} of {self.total:,} test canvases: {what}."


def select_canvases(records: Records, q: CanvasQuery) -> CanvasSelection:
    """The canvases of ``records`` that match ``q``, sorted by its score (ties by index)."""
    if q.filter not in CANVAS_FILTERS:
        raise RAExplorerError(f"Unknown filter {q.filter!r}; use one of "
                              f"{', '.join(CANVAS_FILTERS)}.")
    if q.sort not in CANVAS_SORTS:
        raise RAExplorerError(f"Unknown sort {q.sort!r}; use one of {', '.join(CANVAS_SORTS)}.")
    mask = CANVAS_FILTERS[q.filter][0](records, q)
    scores = CANVAS_SORTS[q.sort](records, q)[mask]
    indices = records["canvas"][mask].astype(np.int64)
    order = np.lexsort((indices, -scores))
    return CanvasSelection(q, indices[order], scores[order],
                           _found(records, q.a, q.detector)[mask][order],
                           _found(records, q.b, q.detector)[mask][order],
                           records["truth"][mask][order].astype(np.int64), len(mask))


@lru_cache(maxsize=4)
def _read_once(path: str, mtime_ns: int) -> Records:
    return load_canvas_records(Path(path))


def shipped_canvas_records(results_dir, task_spec: str, canvases: str,
                           digests: dict[str, str]) -> tuple[Records | None, Path]:
    """(records, path of the result JSON) of ``detection-transfer`` for ``task_spec`` in
    ``results_dir`` when it was measured on ``canvases`` with the same weights (``digests``:
    checkpoint name -> SHA-256 of every processor and detector of the folder), else (None,
    path)."""
    path = Path(results_dir) / f"{result_stem(task_spec)}.json"
    if not path.is_file():
        return None, path
    result = json.loads(path.read_text())
    parquet = path.parent / str(result.get("per_canvas_file", ""))
    saved = result.get("provenance", {}).get("checkpoints", {})
    if (result.get("canvases") != canvases or not result.get("per_canvas_file")
            or not parquet.is_file() or changed_weights(saved, digests)):
        return None, path
    return _read_once(str(parquet), parquet.stat().st_mtime_ns), path


def records_of(models: CanvasModels) -> tuple[Records | None, Path]:
    """:func:`shipped_canvas_records` of the loaded ``models`` in the results folder of the
    canvases' base dataset (where ``detection-transfer`` writes them)."""
    setting = models.setting
    return shipped_canvas_records(results_dir(dataset=home_dataset(setting.dataset)),
                                  setting.task.spec, setting.dataset, models.digests)


@torch.inference_mode()
def canvas_thumbnails(models: CanvasModels, indices: list[int], inputs: list[str],
                      gap: int = 2, seed: int = 0) -> dict[int, np.ndarray]:
    """{index: the images of ``inputs`` side by side, ``gap`` white pixels apart} for test
    canvases ``indices`` ((H, k * W + (k - 1) * gap), or with 3 channels), degraded and
    processed as ``detection-transfer`` does; one batch for all of them."""
    if not indices:
        return {}
    procs = {n: m for n, m in models.processors.items() if n in inputs}
    batch = next(iter(models.setting.batches(procs, progress=False, indices=list(indices),
                                             batch_size=len(indices), seed=seed,
                                             shard=False)))
    out = {}
    for row, index in enumerate(indices):
        parts = []
        for name in inputs:
            image = batch.views[name].human[row].detach().cpu().float().clamp(0, 1).numpy()
            parts.append(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
        white = np.ones((parts[0].shape[0], gap, *parts[0].shape[2:]), np.float32)
        out[int(index)] = np.concatenate([x for p in parts for x in (p, white)][:-1], axis=1)
    return out
