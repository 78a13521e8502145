"""Partial results of a long pass, kept per batch so that an interrupted run can resume.

A :class:`PartialStore` is the folder ``<runs>/partial/<verb>-<key>/`` of one run: ``key`` is
a digest of the run's identity (verb, task, dataset, checkpoints' weights, images, batch size,
seeds and settings: everything its numbers depend on), so only the same run finds it again.
After each batch of the runner's plan the batch's parts are written to ``batch-NNNNNN.pt``
(``torch.save``, renamed into place, so a kill leaves whole files only); ``--resume`` reads
them back with ``torch.load(weights_only=True)`` and the pass skips those batches. Under
torchrun each rank keeps its own batch files: a rank without ``--resume`` deletes its own and
starts afresh, a rank that finishes deletes its own, and the last one to finish removes the
folder.

Parts are what the sinks keep per batch (:class:`~analysis.pipeline.records.RecordSink`,
the quality sink, the boundary table's records): dicts, lists, tuples, numbers, strings and
numpy arrays (stored as tensors, read back as arrays).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from ..config import runs_dir
from ..errors import RAExplorerError


def _to_storable(value):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, dict):
        return {k: _to_storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_storable(v) for v in value)
    return value


def _from_stored(value):
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            return value["__ndarray__"].numpy()
        return {k: _from_stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_from_stored(v) for v in value)
    return value


def run_key(identity: dict) -> str:
    """A 16-hex-digit digest of a run's identity (JSON with sorted keys)."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PartialStore:
    """The partial results of one run (see the module docstring).

    Args:
        verb: the verb that runs (names the folder).
        identity: what the run's numbers depend on (JSON-able); its digest names the folder.
        resume: read the batches a killed run of the same identity left; else start afresh.
        base: the folder holding partial runs (default ``<runs>/partial``, :func:`runs_dir`).
        rank: the torchrun rank (each rank keeps its own batches).

    Attributes: ``folder`` (Path), ``done`` (batch number -> its stored parts).
    """

    def __init__(self, verb: str, identity: dict, resume: bool = False, base=None,
                 rank: int = 0):
        self.folder = Path(base or runs_dir() / "partial") / f"{verb}-{run_key(identity)}"
        self.rank = rank
        self.done: dict[int, object] = {}
        if resume and self.folder.is_dir():
            self._read()
            if rank == 0:
                print(f"Resuming from {len(self.done)} finished batches in {self.folder}.",
                      file=sys.stderr)
        else:
            if resume and rank == 0:
                print(f"No partial results of this run in {self.folder}; starting from the "
                      "first image.", file=sys.stderr)
            # each rank clears its own batches: a rank removing the folder under the others
            # would take a file another rank is writing (torchrun's ranks start unsynchronised)
            self._remove_own()
        self.folder.mkdir(parents=True, exist_ok=True)
        if rank == 0:
            identity_file = self.folder / "identity.json"
            tmp = identity_file.with_name("identity.json.tmp")
            tmp.write_text(json.dumps(identity, sort_keys=True, default=str, indent=1))
            os.replace(tmp, identity_file)

    def _remove_own(self) -> None:
        """Delete this rank's batch files (and a ``.tmp`` a kill left)."""
        for path in self.folder.glob(f"batch-*.r{self.rank}.pt*"):
            path.unlink(missing_ok=True)

    def _path(self, number: int) -> Path:
        return self.folder / f"batch-{number:06d}.r{self.rank}.pt"

    def _read(self) -> None:
        for path in sorted(self.folder.glob(f"batch-*.r{self.rank}.pt")):
            try:
                stored = torch.load(path, weights_only=True)
            except Exception as exc:      # noqa: BLE001 - any unreadable file is named
                raise RAExplorerError(f"The partial result {path} is unreadable ({exc}); delete "
                                      f"{self.folder} or run without --resume.") from None
            self.done[int(path.name.split("-")[1].split(".")[0])] = _from_stored(stored)

    def save(self, number: int, parts) -> None:
        """Keep batch ``number``'s ``parts`` (written whole or not at all)."""
        path = self._path(number)
        path.parent.mkdir(parents=True, exist_ok=True)   # a twin run may have removed it
        tmp = path.with_name(path.name + ".tmp")
        torch.save(_to_storable(parts), tmp)
        os.replace(tmp, path)
        self.done[number] = parts

    def finish(self) -> None:
        """The run is complete: remove this rank's partial results, and the folder once no
        rank's are left (the last rank to finish removes it)."""
        self._remove_own()
        if not any(self.folder.glob("batch-*")):
            shutil.rmtree(self.folder, ignore_errors=True)
