"""Does float16 storage move a checked-in model? The stored weights against the float32 training state.

The zoo stores its weights as float16 (half the bytes in git). ``build-zoo``
keeps each run's float32 training state (``runs/NAME.state.pt``, read with
``torch.load(weights_only=True)``); this module rebuilds the model of a card
from that state and compares it with the checkpoint on the test split:

* classifiers: test accuracy of each and how many predictions differ;
* processors: accuracy of the card's source classifier on the outputs (for a plain
  processor, the source its task's RA processors name, or ``--classifier``), how many of
  its predictions differ, and the mean PSNR of the outputs against the clean images.

The issue's rule: float16 storage is fine where accuracy moves by < 0.1 point.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from ..config import EMBEDDED_DATASET
from ..errors import RAExplorerError
from ..metrics.pixel import psnr
from ..outputs.result_files import result_files
from ..pipeline.setting import Setting
from ..training.state import card_state_identity, load_model_state, read_state
from ..zoo.catalogue import find_checkpoints, ra_source
from ..zoo.checkpoints import build_model, load_checkpoint

TOLERANCE_POINTS = 0.1


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
                source: str | None = None) -> dict:
    """Compare the stored (float16) checkpoint of ``card`` with its float32 training state, on
    the test split of ``setting`` (its folder holds the judges)."""
    dev = setting.device
    stored = load_checkpoint(card["path"], device=dev)[0]
    full = float32_model(card, state_dir).to(dev)
    row = {"name": card["name"], "kind": card["kind"],
           "storage": card.get("weights", {}).get("dtype", "float32")}
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


def storage_check(names=None, folder=None, state_dir="runs", dataset_name=EMBEDDED_DATASET,
                  limit=None, batch_size=500, device=None, progress=True,
                  source: str | None = None) -> dict:
    """Check every checkpoint of ``dataset_name`` in ``folder`` (or those in ``names``) that
    has a training state; ``source`` judges plain processors where the cards name no RA
    source (or several)."""
    setting = Setting(None, dataset_name, folder, device)
    folder = setting.folder
    cards = {c["name"]: c for c in find_checkpoints(folder, dataset=dataset_name)}
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
    else:
        chosen = [c for c in cards.values() if (Path(state_dir) / f"{c['name']}.state.pt").exists()]
    if not chosen:
        raise RAExplorerError(f"No checkpoint in {folder} has a training state in {state_dir}; "
                              "the float32 weights exist only where the model was trained.")
    rows = []
    for card in chosen:
        rows.append(check_model(card, Path(state_dir), setting, limit, batch_size, source))
        if progress:
            r = rows[-1]
            print(f"{r['name']}: {r['accuracy_change_points']:+.2f} points, "
                  f"{r['predictions_changed']} prediction(s) changed", file=sys.stderr)
    used = {c["name"] for c in chosen} | {r["judge"] for r in rows if r.get("judge")}
    return {"dataset": dataset_name, "split": "test", "tolerance_points": TOLERANCE_POINTS,
            "rows": rows, "provenance": setting.provenance(
                n_images=max(r["images"] for r in rows),
                checkpoints={n: cards[n]["weights"]["sha256"] for n in sorted(used) if n in cards},
                seeds={"degradation": 0})}


def format_storage_check(result: dict) -> str:
    lines = [f"float16 storage vs the float32 training weights, {result['dataset']} "
             f"{result['split']} split. Accuracy: the classifier itself, or the processor's source "
             f"classifier on its outputs (judge). Tolerance: "
             f"|change| < {result['tolerance_points']} point.", "",
             "| model | judge | images | float32 acc % | stored acc % | change (points) "
             "| predictions changed | float32 PSNR | stored PSNR |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        ps = (f"{r['psnr_float32']:.3f} | {r['psnr_stored']:.3f}" if "psnr_stored" in r
              else "- | -")
        lines.append(f"| {r['name']} | {r.get('judge', '-')} | {r['images']} | "
                     f"{100 * r['accuracy_float32']:.2f} | {100 * r['accuracy_stored']:.2f} | "
                     f"{r['accuracy_change_points']:+.2f} | {r['predictions_changed']} | {ps} |")
    return "\n".join(lines)


def save_storage_check(result: dict, out_dir: Path | None = None) -> list[Path]:
    json_path, md_path = result_files(out_dir, "float16_check", result.get("dataset"))
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(format_storage_check(result) + "\n")
    return [json_path, md_path]
