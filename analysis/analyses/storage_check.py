"""Does float16 storage move a checked-in model? The stored weights against the float32 training state.

The zoo stores its weights as float16 (half the bytes in git). ``build-zoo``
keeps each run's float32 training state (``runs/NAME.state.pt``, read with
``torch.load(weights_only=True)``); this module rebuilds the model of a card
from that state and compares it with the checkpoint on the test split:

* classifiers: test accuracy of each and how many predictions differ;
* processors: accuracy of the card's source classifier on the outputs (for a plain
  processor, the source its task's RA processors name, or ``--classifier``), how many of
  its predictions differ, and the mean PSNR of the outputs against the clean images;
* detectors (``--dataset`` their canvases): COCO mAP@[.5:.95] on the clean test canvases, and
  on how many canvases the number of items found (by a box of the item's class scoring at
  least 0.5 at IoU >= 0.5) differs.

A checkpoint stored as float32 (the ``categories/`` and ``architectures/`` collections were
trained that way) is its own reference: with ``cast`` the stored weights are compared with their
float16 rounding, the weights float16 storage would hold, and :func:`convert` rewrites the
ones within tolerance as float16 (:func:`analysis.zoo.checkpoints.restore_as`).

The rule: float16 storage is fine where accuracy (a detector's mAP) moves by < 0.1 point.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import torch

from ..config import EMBEDDED_DATASET
from ..data.datasets import split_dataset_spec
from ..data.folders import dataset_slug
from ..errors import RAExplorerError
from ..metrics.detection import mean_average_precision
from ..metrics.pixel import psnr
from ..outputs.result_files import result_files
from ..pipeline.setting import Setting
from ..training.state import card_state_identity, load_model_state, read_state
from ..zoo.catalogue import BASES_FOLDER, find_checkpoints, locate, ra_source, refuse_absent
from ..zoo.checkpoints import build_model, load_checkpoint, restore_as
from .detection_transfer import canvas_records

TOLERANCE_POINTS = 0.1
DETECTOR_BATCH = 32      # canvases per forward pass
CAST = "float16 cast of the stored float32 weights"   # the candidate with ``cast``


def float16_rounded(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose floating-point parameters and buffers are rounded to float16
    and back: what float16 storage would load (``save_checkpoint(dtype="float16")``)."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in [*rounded.parameters(), *rounded.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().to(tensor.dtype))
    return rounded


def float32_model(card: dict, state_dir: Path) -> torch.nn.Module:
    """The card's model with the float32 weights of its training state (weights only, no pickle)."""
    path = Path(state_dir) / f"{card['name']}.state.pt"
    if not path.exists():
        raise RAExplorerError(f"No training state {path} for {card['name']!r}: the float32 weights "
                              "exist only on the machine that trained the model.")

    advice = f"it cannot serve as the float32 reference of {card['name']!r}; move it away"
    state = read_state(path, card_state_identity(card), advice=advice)["model"]
    model = build_model(card)
    load_model_state(model, state, path, advice=advice)
    return model.eval()


@torch.inference_mode()
def _predictions(models, judge, setting: Setting, limit, batch_size, seed=0):
    """One runner pass over the test split for all ``models``: (labels (N,), per model:
    predictions (N,) and the PSNR of its human view (N,), or None for classifiers).

    Classifiers (the setting's task None) are judged on the clean images; processors by
    ``judge`` on their machine view."""
    task = setting.task
    procs = {} if task is None else {str(i): m for i, m in enumerate(models)}
    preds = [[] for _ in models]
    psnrs = [[] for _ in models]
    labels_all = []
    for batch in setting.batches(procs, batch_size=batch_size, limit=limit, seed=seed,
                                 include_clean=False, shard=False):
        labels_all.append(batch.labels)
        for i, (model, p, q) in enumerate(zip(models, preds, psnrs)):
            if task is None:
                p.append(model(batch.clean).argmax(1).cpu())
                continue
            views = batch.views[str(i)]
            q.append(psnr(views.human, batch.clean).cpu())
            p.append(judge(views.machine).argmax(1).cpu())
    return torch.cat(labels_all), [(torch.cat(p), torch.cat(q) if q else None)
                                   for p, q in zip(preds, psnrs)]


@torch.inference_mode()
def _detections(models, setting: Setting, limit, batch_size=DETECTOR_BATCH, seed=0):
    """One pass over the clean test canvases of ``setting``: (box targets, per model one
    prediction dict per canvas, on the CPU)."""
    preds = [[] for _ in models]
    targets = []
    for batch in setting.batches({}, batch_size=batch_size, limit=limit, seed=seed,
                                 include_clean=False, shard=False):
        targets += list(batch.labels)
        for model, p in zip(models, preds):
            p += [{k: v.cpu() for k, v in d.items()} for d in model(batch.clean)]
    return targets, preds


def check_detector(row: dict, stored, full, setting: Setting, limit=None) -> dict:
    """``row`` completed for a detector: mAP@[.5:.95] (in [0, 1]) of ``full`` and ``stored`` on
    the clean test canvases of ``setting`` and the canvases whose count of items found differs."""
    targets, (p16, p32) = _detections([stored, full], setting.for_task(None), limit)
    m16 = mean_average_precision(p16, targets)["map"]
    m32 = mean_average_precision(p32, targets)["map"]
    row.update({"images": len(targets), "measure": "mAP@[.5:.95]",
                "map_float32": m32, "map_stored": m16,
                "map_change_points": 100 * (m16 - m32),
                "predictions_changed": _found_differs(p16, p32, targets)})
    row["within_tolerance"] = abs(row["map_change_points"]) < TOLERANCE_POINTS
    return row


def _found_differs(preds_a: list[dict], preds_b: list[dict], targets: list[dict]) -> int:
    """On how many canvases the count of items found (the detection tables' per-canvas
    records, :func:`~.detection_transfer.canvas_records`) differs between two predictions."""
    found = canvas_records({("a", "d"): preds_a, ("b", "d"): preds_b}, targets)
    return sum(x != y for x, y in zip(found["found|a|d"], found["found|b|d"]))


def change_points(row: dict) -> float:
    """A row's change in points: accuracy, or a detector's mAP."""
    return row["map_change_points"] if "map_change_points" in row else \
        row["accuracy_change_points"]


def judge_name(card: dict, folder, source: str | None = None) -> str:
    """The classifier that judges a processor: its card's source, else the RA source the
    cards of its task and dataset name (``source`` chooses, or stands in where none does)."""
    if card.get("source"):
        return card["source"]
    procs = find_checkpoints(folder, kind="processor", dataset=card.get("dataset"),
                             task=card.get("task"))
    judge = ra_source(procs, source, what=f"task {card.get('task')}")
    if judge is None:
        raise RAExplorerError(f"{card['name']} has no source classifier and no RA processor of "
                              f"task {card.get('task')} names one; pass --classifier CLASSIFIER.")
    return judge


def check_model(card: dict, state_dir: Path, setting: Setting, limit=None, batch_size=500,
                source: str | None = None, cast: bool = False) -> dict:
    """Compare the stored (float16) checkpoint of ``card`` with its float32 training state, on
    the test split of ``setting`` (its folder holds the judges); with ``cast``, a float32-stored
    checkpoint with its float16 rounding (:func:`float16_rounded`)."""
    dev = setting.device
    stored = load_checkpoint(card["path"], device=dev)[0]
    storage = card.get("weights", {}).get("dtype", "float32")
    if cast:
        if storage != "float32":
            raise RAExplorerError(f"{card['name']} is stored as {storage}; the float16 cast "
                                  "check is for checkpoints stored as float32.")
        full, stored = stored, float16_rounded(stored)
    else:
        full = float32_model(card, state_dir).to(dev)
    row = {"name": card["name"], "kind": card["kind"], "storage": storage}
    if cast:
        row["candidate"] = CAST
    if card["kind"] == "detector":
        return check_detector(row, stored.eval(), full.eval(), setting, limit)
    if card["kind"] == "classifier":
        run, judge = setting.for_task(None), None
    else:
        run = setting.for_task(card["task"])
        row["judge"] = judge_name(card, setting.folder, source)
        judge = setting.checkpoint(row["judge"], kind="classifier")[0]
    labels, [(p16, psnr16), (p32, psnr32)] = _predictions(
        [stored, full], judge, run, limit, batch_size)
    row.update({
        "images": len(labels),
        "accuracy_float32": float((p32 == labels).float().mean()),
        "accuracy_stored": float((p16 == labels).float().mean()),
        "predictions_changed": int((p16 != p32).sum()),
    })
    row["accuracy_change_points"] = 100 * (row["accuracy_stored"] - row["accuracy_float32"])
    if psnr16 is not None:
        row["psnr_float32"] = float(psnr32.mean())
        row["psnr_stored"] = float(psnr16.mean())
    row["within_tolerance"] = abs(row["accuracy_change_points"]) < TOLERANCE_POINTS
    return row


def collection_name(place: Path) -> str:
    """A checkpoint folder's name in a result file's name: ``architectures``; a bases folder
    with the folder around it, ``architectures-bases``."""
    return f"{place.parent.name}-{place.name}" if place.name == BASES_FOLDER else place.name


def storage_check(names=None, folder=None, state_dir="runs", dataset_name=EMBEDDED_DATASET,
                  limit=None, batch_size=500, device=None, progress=True,
                  source: str | None = None, cast: bool = False) -> dict:
    """Check every checkpoint of ``dataset_name`` in ``folder`` (or those in ``names``, in the
    folder or one of its collections) that has a training state; ``source`` judges plain
    processors where the cards name no RA source (or several). ``cast``: float32-stored
    checkpoints against their float16 rounding, no training state needed (default: every
    float32-stored checkpoint of the folder itself)."""
    setting = Setting(None, dataset_name, folder, device)
    folder = setting.folder
    refuse_absent(names or [], folder)
    cards = {c["name"]: c for c in find_checkpoints(folder, dataset=dataset_name)}
    for name in names or []:
        if name not in cards:
            cards.update({c["name"]: c for c in find_checkpoints(
                locate(name, folder).parent, dataset=dataset_name) if c["name"] == name})
    if names:
        unknown = [n for n in names if n not in cards]
        if unknown:
            other = {c["name"]: c.get("dataset") for c in find_checkpoints(folder)}
            if unknown[0] in other:
                raise RAExplorerError(f"The checkpoint {unknown[0]!r} in {folder} was trained on "
                                      f"{other[unknown[0]]!r}, not {dataset_name!r}; pass "
                                      f"--dataset {other[unknown[0]]}.")
            raise RAExplorerError(f"No checkpoint named {unknown[0]!r} in {folder}.")
        chosen = [cards[n] for n in names]
    elif cast:
        chosen = [c for c in cards.values() if c["weights"].get("dtype") == "float32"]
    else:
        chosen = [c for c in cards.values() if (Path(state_dir) / f"{c['name']}.state.pt").exists()]
    if not chosen and cast:
        raise RAExplorerError(f"No checkpoint of {dataset_name} in {folder} is stored as "
                              "float32.")
    if not chosen:
        raise RAExplorerError(f"No checkpoint in {folder} has a training state in {state_dir}; "
                              "the float32 weights exist only where the model was trained.")
    on_canvases = [c["name"] for c in chosen if c["kind"] == "processor"
                   and split_dataset_spec(c.get("dataset") or dataset_name)[0] == "canvas"]
    if on_canvases:   # refused before anything runs: their judges are detectors
        raise RAExplorerError(f"float16-check judges processors by a classifier, and "
                              f"{on_canvases[0]} works on detection canvases; check the "
                              "detectors alone with --models.")
    rows = []
    for card in chosen:
        rows.append(check_model(card, Path(state_dir), setting, limit, batch_size, source, cast))
        if progress:
            r = rows[-1]
            print(f"{r['name']}: {change_points(r):+.2f} points, "
                  f"{r['predictions_changed']} prediction(s) changed", file=sys.stderr)
    used = {c["name"] for c in chosen} | {r["judge"] for r in rows if r.get("judge")}
    return {"dataset": dataset_name, "split": "test", "tolerance_points": TOLERANCE_POINTS,
            "reference": "the stored float32 weights" if cast else "the float32 training state",
            "candidate": CAST if cast else "the stored weights",
            "collection": "-".join(sorted({collection_name(Path(c["path"]).parent)
                                           for c in chosen})),
            "rows": rows, "provenance": setting.provenance(
                n_images=max(r["images"] for r in rows),
                checkpoints={n: cards[n]["weights"]["sha256"] for n in sorted(used) if n in cards},
                seeds={"degradation": 0})}


def convert(result: dict, folder=None, note: str | None = None) -> list[str]:
    """Rewrite as float16 every checkpoint of a ``cast`` check's ``result`` that is within
    tolerance (the rest stay float32); the card keeps its fields and gains ``storage``:
    the check's figures, the float32 weights' digest the check cites, and ``note`` (where the
    check is kept). Returns the names rewritten."""
    if result.get("candidate") != CAST:
        raise RAExplorerError("Only a float16 cast check (--cast) can convert checkpoints.")
    done = []
    for row in result["rows"]:
        if not row["within_tolerance"]:
            continue
        digest = result["provenance"]["checkpoints"].get(row["name"])
        restore_as(locate(row["name"], folder), "float16", storage={
            "from": "float32", "float32_sha256": digest, "check": note, "images": row["images"],
            **{k: row[k] for k in ("accuracy_change_points", "map_change_points") if k in row},
            "predictions_changed": row["predictions_changed"]})
        done.append(row["name"])
    return done


def format_storage_check(result: dict) -> str:
    if result.get("candidate") == CAST:
        title = (f"float16 storage (the stored float32 weights rounded to float16) vs the stored "
                 f"float32 weights, {result['dataset']} ")
    else:
        title = f"float16 storage vs the float32 training weights, {result['dataset']} "
    lines = [title +
             f"{result['split']} split. Accuracy: the classifier itself, or the processor's source "
             f"classifier on its outputs (judge); for a detector, its mAP@[.5:.95] on the clean "
             f"canvases, and the canvases whose count of items found differs. Tolerance: "
             f"|change| < {result['tolerance_points']} point.", "",
             "| model | judge | images | float32 acc % | stored acc % | change (points) "
             "| predictions changed | float32 PSNR | stored PSNR |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        ps = (f"{r['psnr_float32']:.3f} | {r['psnr_stored']:.3f}" if "psnr_stored" in r
              else "- | -")
        before, after = ((r["map_float32"], r["map_stored"]) if "map_stored" in r else
                         (r["accuracy_float32"], r["accuracy_stored"]))
        lines.append(f"| {r['name']} | {r.get('judge', r.get('measure', '-'))} | {r['images']} | "
                     f"{100 * before:.2f} | {100 * after:.2f} | "
                     f"{change_points(r):+.2f} | {r['predictions_changed']} | {ps} |")
    return "\n".join(lines)


def storage_check_stem(result: dict) -> str:
    """``float16_check``; a cast check's ``float16_cast_check_<collection>[_<dataset>]`` (the
    folder of its checkpoints, and the dataset where it is not the embedded default), so that
    the checks of several collections and datasets sit side by side; a check of detectors only
    is ``float16_cast_check_<collection>-detectors`` (their canvases follow from their cards)."""
    if result.get("candidate") != CAST:
        return "float16_check"
    stem = f"float16_cast_check_{result['collection']}"
    if result["rows"] and all("map_stored" in r for r in result["rows"]):
        return f"{stem}-detectors"
    if dataset_slug(result["dataset"]) != EMBEDDED_DATASET:
        stem += f"_{dataset_slug(result['dataset'])}"
    return stem


def save_storage_check(result: dict, out_dir: Path | None = None) -> list[Path]:
    json_path, md_path = result_files(out_dir, storage_check_stem(result), result.get("dataset"))
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(format_storage_check(result) + "\n")
    return [json_path, md_path]
