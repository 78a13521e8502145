"""The per-image record table: one row per test image, built by the runner in one pass.

For every image and every input (clean, no processing, each processor) it holds, per classifier,
the top-1 class and its softmax probability (of the machine view), and per input the image's
PSNR (dB, peak 1) and SSIM against the clean image (of the human view; NaN for clean). Accuracy
tables, claims, filters and galleries are views over it.

Stored as Parquet (zstd): columns ``index``, ``label``, ``pred|<input>|<classifier>`` (int16),
``prob|<input>|<classifier>`` (float16), ``psnr|<input>`` and ``ssim|<input>`` (float32); the
schema metadata ``ra_explorer`` holds the task, dataset, split, the input and classifier names
and the provenance (JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.tasks import task_slug
from ..errors import RAExplorerError
from .runner import CLEAN, ProcessedBatch, gather_objects

FORMAT = "ra-explorer-records/1"


# sub-folders of a results folder whose record tables answer for their tasks as well: the
# corruption processors' per-cell tables (every test image of a corruption cell)
CELL_RECORD_FOLDERS = ("corruption_processors",)


def records_path(folder, task_spec: str) -> Path:
    """``folder/records_<task>.parquet``: where a task's record table is saved and looked up."""
    return Path(folder) / f"records_{task_slug(task_spec)}.parquet"


def shipped_records_path(folder, task_spec: str) -> Path:
    """The record table a results ``folder`` holds for a task: ``records_path(folder, ...)``
    where it is a file, else the first of :data:`CELL_RECORD_FOLDERS` that holds one, else
    ``records_path(folder, ...)`` (absent)."""
    own = records_path(folder, task_spec)
    if own.is_file():
        return own
    for sub in CELL_RECORD_FOLDERS:
        cell = records_path(Path(folder) / sub, task_spec)
        if cell.is_file():
            return cell
    return own

IMAGE_METRICS = ("psnr", "ssim")


@dataclass
class RecordTable:
    """Per-image records. Arrays are aligned with ``index`` (N,)."""

    task: str
    dataset: str
    split: str
    inputs: list[str]
    classifiers: list[str]
    index: np.ndarray                                  # (N,) int64 dataset indices
    label: np.ndarray                                  # (N,) int64
    pred: dict[tuple[str, str], np.ndarray]            # (input, classifier) -> (N,) int16
    prob: dict[tuple[str, str], np.ndarray]            # (input, classifier) -> (N,) float16
    quality: dict[tuple[str, str], np.ndarray]         # (metric, input) -> (N,) float32
    provenance: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)

    def correct(self, input_name: str, classifier: str) -> np.ndarray:
        """(N,) bool: the classifier's top-1 on ``input_name`` equals the label."""
        return self.pred[(input_name, classifier)] == self.label

    def only(self, classifiers: list[str]) -> RecordTable:
        """The same table with the columns of ``classifiers`` alone (arrays shared, not
        copied)."""
        keep = [c for c in self.classifiers if c in set(classifiers)]
        return RecordTable(self.task, self.dataset, self.split, list(self.inputs), keep,
                           self.index, self.label,
                           {k: v for k, v in self.pred.items() if k[1] in keep},
                           {k: v for k, v in self.prob.items() if k[1] in keep},
                           dict(self.quality), self.provenance)

    def with_inputs(self, inputs) -> RecordTable:
        """The same table with the rows of ``inputs`` alone (in the table's order; names it
        lacks are ignored; arrays shared, not copied)."""
        keep = [i for i in self.inputs if i in set(inputs)]
        return RecordTable(self.task, self.dataset, self.split, keep, list(self.classifiers),
                           self.index, self.label,
                           {k: v for k, v in self.pred.items() if k[0] in keep},
                           {k: v for k, v in self.prob.items() if k[0] in keep},
                           {k: v for k, v in self.quality.items() if k[1] in keep},
                           self.provenance)

    def with_classifiers(self, other: RecordTable) -> RecordTable:
        """This table plus the classifiers of ``other`` that it lacks: ``other`` must be a
        table of the same task, dataset, split, images (index and label, in order) and inputs
        (a pass of the same command with other ``--classifiers``); its image metrics must
        equal this table's where both have them (the same processors ran). Provenance: this
        table's, its ``checkpoints`` joined by ``other``'s, and ``other``'s whole record under
        ``added`` (one entry per added pass, with the classifiers it added)."""

        same = (self.task, self.dataset, self.split) == (other.task, other.dataset, other.split)
        if not (same and other.inputs == self.inputs and np.array_equal(other.index, self.index)
                and np.array_equal(other.label, self.label)):
            raise RAExplorerError(
                f"Cannot add the classifiers of a {other.task} table of {len(other)} images to "
                f"a {self.task} table of {len(self)}: the task, dataset, split, images and inputs "
                "must be the same.")
        for key, values in other.quality.items():
            if key in self.quality and not np.allclose(values, self.quality[key], rtol=1e-4,
                                                       atol=1e-4, equal_nan=True):
                raise RAExplorerError(f"The {key[0]} of {key[1]} differs between the tables: "
                                      "they were not made with the same processors.")
        mine, theirs = self.provenance.get("checkpoints", {}), other.provenance.get(
            "checkpoints", {})
        changed = sorted(n for n in set(mine) & set(theirs) if mine[n] != theirs[n])
        if changed:
            raise RAExplorerError(f"The tables were made with different weights of "
                                  f"{', '.join(changed)}.")
        new = [c for c in other.classifiers if c not in self.classifiers]
        if not new:
            raise RAExplorerError("The other table adds no classifier.")
        pred = {**self.pred, **{(i, c): other.pred[(i, c)] for i in self.inputs for c in new}}
        prob = {**self.prob, **{(i, c): other.prob[(i, c)] for i in self.inputs for c in new}}
        prov = dict(self.provenance)
        added = {k: v for k, v in other.provenance.items() if k != "checkpoints"}
        prov["checkpoints"] = {**mine, **theirs}
        prov["added"] = [*prov.get("added", []), {"classifiers": new, **added}]
        return RecordTable(self.task, self.dataset, self.split, list(self.inputs),
                           [*self.classifiers, *new], self.index, self.label, pred, prob,
                           dict(self.quality), prov)

    # ------------------------------------------------------------------ storage
    def save(self, path: str | Path) -> Path:
        """Write the table as Parquet (the folder is created)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {"index": pa.array(self.index.astype(np.int64)),
                   "label": pa.array(self.label.astype(np.int64))}
        for (inp, clf), values in self.pred.items():
            columns[f"pred|{inp}|{clf}"] = pa.array(values.astype(np.int16))
        for (inp, clf), values in self.prob.items():
            columns[f"prob|{inp}|{clf}"] = pa.array(values.astype(np.float16))
        for (metric, inp), values in self.quality.items():
            columns[f"{metric}|{inp}"] = pa.array(values.astype(np.float32))
        meta = {"format": FORMAT, "task": self.task, "dataset": self.dataset,
                "split": self.split, "inputs": self.inputs, "classifiers": self.classifiers,
                "provenance": self.provenance}
        table = pa.table(columns).replace_schema_metadata({"ra_explorer": json.dumps(meta)})
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RecordTable:
        import pyarrow.parquet as pq


        try:
            table = pq.read_table(path)
            meta = json.loads(table.schema.metadata[b"ra_explorer"])
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise RAExplorerError(f"{path} is not a record table of this project ({exc}).") from exc
        cols = {name: table.column(name).to_numpy() for name in table.column_names}
        pred, prob, quality = {}, {}, {}
        for name, values in cols.items():
            head, _, rest = name.partition("|")
            if head == "pred":
                inp, clf = rest.rsplit("|", 1)
                pred[(inp, clf)] = values
            elif head == "prob":
                inp, clf = rest.rsplit("|", 1)
                prob[(inp, clf)] = values
            elif head in IMAGE_METRICS:
                quality[(head, rest)] = values
        return cls(meta["task"], meta["dataset"], meta["split"], meta["inputs"],
                   meta["classifiers"], cols["index"], cols["label"], pred, prob, quality,
                   meta.get("provenance", {}))


class RecordSink:
    """Consumes :class:`~analysis.pipeline.runner.ProcessedBatch` es and builds the table.

    ``classifiers``: name -> model (eval mode, on the runner's device); ``metrics``: name ->
    callable ``m(x, y) -> Tensor[N]`` (the registry's PSNR and SSIM) applied to human views;
    ``execution``: the execution policy of the classifier forwards (None: ``$RA_EXECUTION``,
    default ``auto``; see :mod:`analysis.pipeline.execution`), whose top-1 classes and float16
    probabilities equal float32 eager's.
    """

    def __init__(self, classifiers: dict[str, torch.nn.Module], metrics: dict | None = None,
                 execution=None):
        from .execution import predictors

        self.classifiers = classifiers
        self.predictors = predictors(classifiers, execution)
        self.metrics = metrics or {}
        self.parts: list[tuple[int, dict]] = []
        self.inputs: list[str] | None = None

    @torch.inference_mode()
    def add(self, batch: ProcessedBatch) -> None:
        if self.inputs is None:
            self.inputs = list(batch.views)
        part = {"index": batch.indices.numpy().astype(np.int64),
                "label": batch.labels.numpy().astype(np.int64)}
        for inp, views in batch.views.items():
            for clf_name, predictor in self.predictors.items():
                cls, top = predictor.classify(views.machine)   # argmax of the logits, softmax
                part[("pred", inp, clf_name)] = cls.cpu().numpy().astype(np.int16)
                part[("prob", inp, clf_name)] = top.cpu().numpy().astype(np.float16)
            if inp == CLEAN:
                continue
            for m_name, metric in self.metrics.items():
                part[(m_name, inp)] = metric(views.human, batch.clean).cpu().numpy().astype(
                    np.float32)
        self.parts.append((batch.number, part))

    def execution(self) -> dict:
        """{classifier: its execution plan as a dict} (for provenance; empty before a batch)."""
        return {name: p.plan.as_dict() for name, p in self.predictors.items()
                if p.plan is not None}

    def table(self, task: str, dataset: str, split: str, world_size: int = 1,
              provenance: dict | None = None) -> RecordTable:
        """The table of every batch (gathered from all ranks under torchrun), in plan order."""
        parts = sorted(gather_objects(self.parts, world_size), key=lambda p: p[0])
        inputs = self.inputs or _part_inputs(self.parts)   # every batch resumed: from the parts
        if world_size > 1:  # ranks without a batch learn the input names from the others
            inputs = next((n for n in gather_objects([self.inputs], world_size) if n), inputs)
        chunks = [p for _, p in parts]

        def cat(key, dtype):
            return (np.concatenate([c[key] for c in chunks]) if chunks
                    else np.empty(0, dtype=dtype))

        clfs = list(self.classifiers)
        nan_clean = [(m, CLEAN) for m in self.metrics if CLEAN in inputs]
        quality = {(m, inp): cat((m, inp), np.float32) for m in self.metrics
                   for inp in inputs if inp != CLEAN}
        for key in nan_clean:
            quality[key] = np.full(sum(len(c["index"]) for c in chunks), np.nan, np.float32)
        return RecordTable(
            task, dataset, split, inputs, clfs, cat("index", np.int64), cat("label", np.int64),
            {(i, c): cat(("pred", i, c), np.int16) for i in inputs for c in clfs},
            {(i, c): cat(("prob", i, c), np.float16) for i in inputs for c in clfs},
            quality, provenance or {})


def reusable_table(path, index: np.ndarray, classifiers, inputs, digests: dict):
    """The record table saved at ``path`` when it holds exactly these images (``index``),
    ``classifiers`` and ``inputs`` (names, in order) and was measured with these weights
    (``digests``: name -> SHA-256, its provenance's ``checkpoints``); else None. A saved
    cell of an interrupted run is reused only when nothing it depends on changed."""
    if path is None or not Path(path).exists():
        return None
    table = RecordTable.load(path)
    same = (np.array_equal(table.index, index) and table.classifiers == list(classifiers)
            and table.inputs == list(inputs)
            and table.provenance.get("checkpoints") == digests)
    return table if same else None


def _part_inputs(parts: list) -> list[str]:
    """The input names of a record sink's parts, in their order (an empty list without any)."""
    keys = parts[0][1] if parts else {}
    return list(dict.fromkeys(k[1] for k in keys if isinstance(k, tuple) and k[0] == "pred"))


@torch.inference_mode()
def run_sinks(batches, sinks) -> None:
    """Feed every batch of ``batches`` to every sink (one pass for all analyses)."""
    for batch in batches:
        for sink in sinks:
            sink.add(batch)
