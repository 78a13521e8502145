"""Choosing lambda on the validation split (never the test split).

For one task and method, each lambda of a grid fine-tunes the plain base
processor for a short run; every candidate, and the base continued with MSE
only, is measured on the same validation images (PSNR of the image a person
sees; accuracy of the source recognizer). The rule:

    choose the lambda with the highest validation accuracy among those whose
    validation PSNR is at most ``max_psnr_drop`` dB below the plain reference;
    if none qualifies, the smallest lambda.

The record (grid, every measurement, the rule and the choice) is appended to
``results/lambda_selection.json`` and the final checkpoint's card cites it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..config import EMBEDDED_DATASET
from ..data.datasets import load_dataset
from ..data.folders import results_dir
from ..data.tasks import create_task, task_slug
from ..device import pick_device
from ..errors import unknown_name
from ..outputs.provenance import Clock, provenance
from ..zoo.checkpoints import (
    checkpoint_paths,
    load_card,
    load_checkpoint,
    sha256_file,
    weights_file,
)
from .engine import freeze
from .processors import processor_validation, train_processor

SELECTION_NAME = "lambda_selection.json"


def _read_records(name: str, path: Path | None, dataset: str) -> dict:
    """The records of ``path`` (default ``<results of dataset>/<name>``); {} when none."""
    path = Path(path or results_dir(dataset=dataset) / name)
    return json.loads(path.read_text()) if path.exists() else {}


def _chosen(records: dict, key: str, what: str) -> float:
    record = records.get(key)
    if record is None:
        raise KeyError(f"No {what} was selected yet; run the selection first "
                       "(python -m analysis build-zoo does).")
    return float(record["chosen"])


def read_selections(path: Path | None = None, dataset: str = EMBEDDED_DATASET) -> dict:
    """Every recorded lambda choice of ``dataset`` (key -> record); {} when none."""
    return _read_records(SELECTION_NAME, path, dataset)


def selection_key(task: str, method: str, source: str) -> str:
    return f"{create_task(task).spec}|{method}|{source}"


def chosen_lambda(task: str, method: str, source: str, path: Path | None = None,
                  dataset: str = EMBEDDED_DATASET) -> float:
    """The lambda selection chose for (task, method, source) on ``dataset``; KeyError if none."""
    return _chosen(read_selections(path, dataset), selection_key(task, method, source),
                   f"lambda for {task} / {method} / {source}")


def apply_rule(reference_psnr: float, candidates: list[dict], max_psnr_drop: float) -> float:
    """The highest-accuracy lambda within the PSNR budget (ties: smaller lambda)."""
    ok = [c for c in candidates if c["val_psnr"] >= reference_psnr - max_psnr_drop]
    if not ok:
        return min(c["lambda"] for c in candidates)
    return max(ok, key=lambda c: (c["val_accuracy"], -c["lambda"]))["lambda"]


def _provenance(dataset: str, n_images: int, base: str, recognizer: str, device, clock,
                seed: int) -> dict:
    """Provenance of a selection: the base and recognizer weights it rests on."""
    checkpoints = {Path(p).name: sha256_file(weights_file(checkpoint_paths(p)[0], load_card(p)))
                   for p in (base, recognizer)}
    return provenance(dataset=dataset, split="val", n_images=n_images, checkpoints=checkpoints,
                      seeds={"training": seed, "degradation": "per-index"}, device=device,
                      clock=clock)


def _reference(the_task, work: Path, measure, common: dict) -> dict:
    """The plain reference (the base continued with MSE), shared by every grid of a task."""
    reference_path = work / f"{task_slug(the_task.spec)}-reference"
    if not checkpoint_paths(reference_path)[0].exists():
        train_processor(the_task.spec, "plain", out=str(reference_path),
                        **{k: v for k, v in common.items()
                           if k not in ("recognizer", "perceptual")})
    return measure(reference_path)


class _Grid:
    """What a validation grid (lambda or loss weight) sets up once: the clock, the device, the
    task, the validation split, the frozen recognizer that judges each candidate, the work
    folder, and :meth:`measure` (validation PSNR / accuracy of one candidate checkpoint)."""

    def __init__(self, task: str, dataset: str, recognizer: str, device: str | None,
                 work_dir: str, val_limit: int):
        self.clock = Clock()
        self.started = time.perf_counter()
        self.dev = pick_device(device)
        self.task = create_task(task)
        self.val = load_dataset(dataset, "val")
        self.rec, _ = load_checkpoint(recognizer, device=self.dev, kind="classifier")
        freeze(self.rec)
        self.recognizer = recognizer
        self.work = Path(work_dir)
        self.source = Path(recognizer).name
        self.val_limit = val_limit

    def measure(self, path) -> dict:
        model, _ = load_checkpoint(path, device=self.dev)
        return processor_validation(model, self.task, self.val, self.dev, self.rec,
                                    limit=self.val_limit)

    def record_tail(self, reference: dict, candidates: list, chosen, epochs: int, limit,
                    base: str, dataset: str, seed: int) -> dict:
        """The fields every selection record ends with (split, fine-tune, candidates, the time
        of this call with reused runs excluded, provenance)."""
        n = min(self.val_limit, len(self.val))
        return {"split": "val", "val_images": n,
                "fine_tune": {"epochs": epochs, "train_images": limit, "init": Path(base).name},
                "reference_plain": reference, "candidates": candidates, "chosen": chosen,
                "seconds": round(time.perf_counter() - self.started, 3),
                "provenance": _provenance(dataset, n, base, self.recognizer, self.dev,
                                          self.clock, seed)}


def select_lambda(task: str, method: str, grid: list[float], base: str, recognizer: str,
                  work_dir: str = "runs/grid", dataset: str = EMBEDDED_DATASET, epochs: int = 1,
                  limit: int | None = 10000, val_limit: int = 2000, max_psnr_drop: float = 1.0,
                  out: Path | None = None, device: str | None = None, progress: bool = True,
                  **train_options) -> dict:
    """Run the grid (resumable: finished candidates are reused) and record the choice."""
    g = _Grid(task, dataset, recognizer, device, work_dir, val_limit)
    the_task, work, source, measure = g.task, g.work, g.source, g.measure
    slug = f"{task_slug(the_task.spec)}-{method}-{source}"
    common = dict(dataset=dataset, recognizer=recognizer, epochs=epochs, limit=limit,
                  val_limit=200, init=base, progress=progress, state_dir=str(work / "state"),
                  **train_options)
    reference = _reference(the_task, work, measure, common)
    candidates = []
    for lam in grid:
        path = work / f"{slug}-{lam:g}"
        if not checkpoint_paths(path)[0].exists():
            train_processor(the_task.spec, method, out=str(path), lam=lam, **common)
        candidates.append({"lambda": lam, **measure(path)})
    chosen = apply_rule(reference["val_psnr"], candidates, max_psnr_drop)
    record = {
        "task": the_task.spec, "method": method, "source": source, "grid": list(grid),
        "rule": f"highest validation accuracy of {source} with validation PSNR at most "
                f"{max_psnr_drop} dB below plain; otherwise the smallest lambda",
        **g.record_tail(reference, candidates, chosen, epochs, limit, base, dataset,
                        train_options.get("seed", 0)),
    }
    out = Path(out or results_dir(dataset=dataset) / SELECTION_NAME)
    selections = read_selections(out)
    selections[selection_key(the_task.spec, method, source)] = record
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(selections, indent=2) + "\n")
    return record


# ----------------------------------------------------------------------------- loss weights

WEIGHT_SELECTION_NAME = "loss_weight_selection.json"
# Which loss combination trains a term's candidates, and which argument carries the weight.
TERMS = {"P": ("EP", "lam"), "T": ("ET", "texture_weight")}


def weight_key(task: str, term: str, source: str) -> str:
    return f"{create_task(task).spec}|{term}|{source}"


def read_weight_selections(path: Path | None = None, dataset: str = EMBEDDED_DATASET) -> dict:
    """Every recorded loss-weight choice of ``dataset`` (key -> record); {} when none."""
    return _read_records(WEIGHT_SELECTION_NAME, path, dataset)


def chosen_weight(task: str, term: str, source: str, path: Path | None = None,
                  dataset: str = EMBEDDED_DATASET) -> float:
    """The weight selection chose for term P or T on ``source``'s features; KeyError if none."""
    return _chosen(read_weight_selections(path, dataset), weight_key(task, term, source),
                   f"{term} weight for {task} / {source}")


def largest_within(reference_psnr: float, candidates: list[dict], max_psnr_drop: float) -> float:
    """The largest weight whose validation PSNR is at most ``max_psnr_drop`` dB below the
    reference; the smallest weight when none is."""
    ok = [c["weight"] for c in candidates if c["val_psnr"] >= reference_psnr - max_psnr_drop]
    return max(ok) if ok else min(c["weight"] for c in candidates)


def select_loss_weight(task: str, term: str, method: str, grid: list[float], base: str,
                       recognizer: str, perceptual: dict, work_dir: str = "runs/grid",
                       dataset: str = EMBEDDED_DATASET, epochs: int = 1,
                       limit: int | None = 10000, val_limit: int = 2000,
                       max_psnr_drop: float = 0.5, out: Path | None = None,
                       device: str | None = None, progress: bool = True,
                       **train_options) -> dict:
    """Choose the weight of term ``P`` (trained as EP) or ``T`` (as ET) on the validation split.

    Rule, fixed before any run: the largest weight of ``grid`` whose validation PSNR is at
    most ``max_psnr_drop`` dB below the plain reference (the base continued with MSE for the
    same steps); the smallest when none is. A term that cannot move the output within that
    margin is given the most weight it can bear. Resumable; recorded in
    ``results/loss_weight_selection.json``.
    """
    if term not in TERMS:
        raise unknown_name("loss term", term, list(TERMS))
    losses, weight_arg = TERMS[term]
    g = _Grid(task, dataset, recognizer, device, work_dir, val_limit)
    the_task, work, source, measure = g.task, g.work, g.source, g.measure
    common = dict(dataset=dataset, recognizer=recognizer, epochs=epochs, limit=limit,
                  val_limit=200, init=base, progress=progress, state_dir=str(work / "state"),
                  perceptual=perceptual, **train_options)
    reference = _reference(the_task, work, measure, common)
    candidates = []
    for weight in grid:
        path = work / f"{task_slug(the_task.spec)}-{losses}-{source}-{weight:g}"
        if not checkpoint_paths(path)[0].exists():
            train_processor(the_task.spec, method, out=str(path), losses=losses,
                            **{weight_arg: weight}, **common)
        candidates.append({"weight": weight, **measure(path)})
    chosen = largest_within(reference["val_psnr"], candidates, max_psnr_drop)
    record = {
        "task": the_task.spec, "term": term, "trained_as": losses, "method": method,
        "source": source, "grid": list(grid), "perceptual": perceptual,
        "rule": f"the largest weight whose validation PSNR is at most {max_psnr_drop} dB below "
                "plain; otherwise the smallest",
        **g.record_tail(reference, candidates, chosen, epochs, limit, base, dataset,
                        train_options.get("seed", 0)),
    }
    out = Path(out or results_dir(dataset=dataset) / WEIGHT_SELECTION_NAME)
    selections = read_weight_selections(out)
    selections[weight_key(the_task.spec, term, source)] = record
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(selections, indent=2) + "\n")
    return record
