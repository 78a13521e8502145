"""Processors before detectors: the RA paper's detection tables on the detection canvases.

Each test canvas is degraded by the task (per canvas index, as every evaluation), processed by
each processor (they are fully convolutional, so processors trained on the base dataset's
28-pixel images run on whole canvases) and given to each detector; a cell is the detector's
COCO mAP@[.5:.95] and mAP@.5 on the processed canvases with a 95 % percentile-bootstrap CI
over canvases (:func:`analysis.metrics.detection.map_with_ci`), and each processor's row also
holds its paired mAP difference to its baseline on the same canvases: the first plain processor
trained on the same data (the base dataset's items, or the canvases), or the one named
(:func:`analysis.metrics.detection.paired_map_difference`, the same resamples for both).
Rows ``clean`` (undegraded canvases, the detectors' own mAP) and ``no processing`` (the LQ
canvas resized bicubically) bound the processors'. For "RA with transformer" the detector
sees T(P(x)), as a classifier does, and a second row ``<name> (human view)`` gives it P(x): T
was trained on the base dataset's single items, and its instance normalisation takes
statistics over the whole image, so a canvas (mostly background) reaches it with other
statistics than the items it learnt on.

Which processors make which of the paper's tables (one run gives all of a task's):

* Table 8 analog (classification -> detection): the zoo's plain and RA processors (trained
  through a classifier on the base dataset's images) on every detector;
* Table 10 analog (unsupervised RA -> detection): the zoo's ``ra-unsup`` processor likewise;
* Table 2 analog (RA with a detector's loss): a processor trained ``ra`` through detector D
  on the canvases (``train-processor --detector``; its card's ``source_kind`` is
  ``detector``), against a plain processor trained on the canvases alike, on D;
* Table 4 analog (transfer between detectors): the same processor on the other detectors;
* Table 9 analog (detection -> classification): the processors trained on canvases (and the
  baselines they are compared with) on the base dataset's test images, classified by the
  checkpoint folder's classifiers of that dataset (:func:`classification_table`, the
  evaluation's accuracy matrix with paired differences to the plain processor).

A processor is taken when its task is the run's and it was trained on the canvases' base
dataset (classification processors) or on canvases drawn alike (detection processors: only
the counts may differ); a detector when its input channels, class count and image size are
the canvases'. Anything else is refused with one sentence.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..config import default_dataset
from ..data.datasets import DATASETS, normal_dataset, split_dataset_spec
from ..data.folders import results_dir
from ..data.tasks import task_slug
from ..errors import RAExplorerError
from ..metrics.detection import (
    MAP_KEYS,
    MATCH_IOU,
    N_BOOT,
    map_with_ci,
    match_detections,
    paired_map_difference,
)
from ..outputs.result_files import write_result
from ..pipeline.setting import Setting
from ..training.processors import canvas_drawing
from ..zoo.catalogue import find_checkpoints, locate, processor_order
from ..zoo.checkpoints import load_card, load_checkpoint
from .evaluate import accuracy_report, measure_task

BATCH_SIZE = 32          # canvases per forward pass
HUMAN_VIEW = " (human view)"   # the row suffix of a transformer processor's P(x)
SCORE_MIN = 0.5          # a box counts in the per-canvas records when it scores at least this


def detector_inputs(views: dict) -> dict[str, torch.Tensor]:
    """{row name: (B, C, H, W) images a detector is given} of one batch's views: each input's
    machine view, and the human view of a processor whose views differ (RA with transformer)
    as ``<name> (human view)``, right after it."""
    out = {}
    for name, view in views.items():
        out[name] = view.machine
        if view.human is not view.machine:
            out[name + HUMAN_VIEW] = view.human
    return out


def canvas_dataset(spec: str | None = None) -> str:
    """The detection dataset of a run: ``spec`` when it is one, else canvases of ``spec`` (or
    of the dataset in force, $RA_DATASET or the embedded one)."""
    spec = default_dataset(spec)
    name, _ = split_dataset_spec(spec)
    return spec if DATASETS[name].detection else f"canvas:base={spec.replace(',', ';')}"


def home_dataset(canvases: str) -> str:
    """The base dataset of a canvas spec, in normal form: whose results folder the tables of
    its canvases go to (the embedded default's: ``results/``)."""
    _, params = split_dataset_spec(canvases)
    return normal_dataset(str(params.get("base", "fashion-mnist")).replace(";", ","))


def _card(name: str, folder, kind: str, option: str) -> dict:
    card = load_card(locate(name, folder))
    if card["kind"] != kind:
        raise RAExplorerError(f"{option}: {name} is a {card['kind']}, not a {kind}; name "
                              f"{kind}s there (see 'python -m analysis list checkpoints').")
    return card


def _fits_processor(card: dict, task: str, canvases: str, base: str) -> str | None:
    """Why processor ``card`` does not fit the run (None when it does)."""
    if card.get("task") != task:
        return f"it restores {card.get('task')}, not {task}"
    trained = card.get("dataset")
    if normal_dataset(trained) == base:
        return None
    try:
        if canvas_drawing(trained) == canvas_drawing(canvases):
            return None
    except RAExplorerError:
        pass
    return f"it was trained on {trained!r}, neither {base!r} nor these canvases"


def _fits_detector(card: dict, info, canvases: str) -> str | None:
    kwargs = card.get("arch_kwargs") or {}
    wanted = {"in_channels": info.channels, "num_classes": len(info.class_names),
              "image_size": info.size}
    wrong = [f"{k} {kwargs.get(k)} vs {v}" for k, v in wanted.items() if kwargs.get(k) != v]
    return f"it does not fit {canvases!r} ({', '.join(wrong)})" if wrong else None


def select_detection_models(task: str, canvases: str, info, folder=None, processors=None,
                            detectors=None) -> tuple[list[dict], list[dict]]:
    """(processor cards, detector cards) of a run: the named ones (refused with one sentence
    when of another kind or not fitting), else every fitting card of the checkpoint folder
    (processors in method order)."""
    base = home_dataset(canvases)
    if processors:
        procs = [_card(n, folder, "processor", "--processors") for n in dict.fromkeys(processors)]
        for card in procs:
            why = _fits_processor(card, task, canvases, base)
            if why:
                raise RAExplorerError(f"--processors: {card['name']} does not fit: {why}.")
    else:
        procs = sorted((c for c in find_checkpoints(folder, kind="processor")
                        if _fits_processor(c, task, canvases, base) is None), key=processor_order)
    if detectors:
        dets = [_card(n, folder, "detector", "--detectors") for n in dict.fromkeys(detectors)]
        for card in dets:
            why = _fits_detector(card, info, canvases)
            if why:
                raise RAExplorerError(f"--detectors: {card['name']} does not fit: {why}.")
    else:
        dets = [c for c in find_checkpoints(folder, kind="detector")
                if _fits_detector(c, info, canvases) is None]
    if not dets:
        raise RAExplorerError(f"No detector fits {canvases!r}; train one (python -m analysis "
                              f"train-detector --arch fcos --dataset {canvases} --out "
                              "checkpoints/fcos) or name one with --detectors.")
    return procs, dets


def baselines(cards: list[dict], named: str | None = None) -> dict[str, str | None]:
    """{processor: the processor its paired differences are to}: ``named`` for every other
    processor when given, else the first plain processor (without lambda) trained on the same
    dataset (the base dataset's items or the canvases; None when there is none, and for the
    baseline itself)."""
    names = [c["name"] for c in cards]
    if named is not None and named not in names:
        raise RAExplorerError(f"--baseline {named} is not one of the processors measured "
                              f"({', '.join(names) or 'none'}).")
    out = {}
    for card in cards:
        if named is not None:
            base = named
        else:
            base = next((c["name"] for c in cards
                         if c.get("method") == "plain" and not c.get("lambda")
                         and normal_dataset(c.get("dataset")) == normal_dataset(card.get("dataset"))),
                        None)
        out[card["name"]] = None if base == card["name"] else base
    return out


def classification_table(task: str, base: str, folder, proc_cards: list[dict],
                         versus: dict[str, str | None], limit: int | None = None,
                         device: str | None = None, seed: int = 0, data_root: str | None = None,
                         progress: bool = True) -> dict | None:
    """The Table 9 analog: the processors of ``proc_cards`` trained on canvases, each after its
    baseline (``versus``), on the first ``limit`` test images of the base dataset ``base``,
    classified by the folder's classifiers of ``base``: the evaluation's document
    (:func:`analysis.analyses.evaluate.accuracy_report`; its ``plain`` is the first plain
    processor of those). None when no processor was trained on canvases; ``{"skipped": why}``
    when the folder holds no classifier of ``base``."""
    trained = [c["name"] for c in proc_cards if normal_dataset(c.get("dataset")) != base]
    if not trained:
        return None
    if not find_checkpoints(folder, kind="classifier", dataset=base):
        return {"skipped": f"the checkpoint folder holds no classifier of {base}"}
    names = list(dict.fromkeys(n for t in trained for n in (versus.get(t), t) if n))
    table, clf_cards, cards = measure_task(task, base, folder, limit=limit, device=device,
                                           seed=seed, processors=names, data_root=data_root,
                                           progress=progress)
    return accuracy_report(table, cards, clf_cards, seed)


def run_detectors(setting: Setting, procs: dict, dets: dict, limit: int | None = None,
                  batch_size: int = BATCH_SIZE, seed: int = 0, progress: bool = True,
                  on_progress=None) -> tuple[dict, list[dict], dict]:
    """Every detector of ``dets`` (name -> model) on the first ``limit`` test canvases of
    ``setting`` clean, degraded (no processing) and after each processor of ``procs``.

    Returns ``(preds, targets, seconds)``: ``preds[(input, detector)]`` one prediction dict per
    canvas (on the CPU), in row order (:func:`detector_inputs`), ``targets`` the canvases' box
    targets, ``seconds[(input, detector)]`` the detector's wall time on that input (s)."""
    preds: dict = {}
    seconds: dict = {}
    targets = []
    with torch.inference_mode():
        for batch in setting.batches(procs, desc=f"detection-transfer {setting.task.spec}",
                                     progress=progress, on_progress=on_progress,
                                     batch_size=batch_size, limit=limit, seed=seed,
                                     shard=False):
            targets += list(batch.labels)
            for name, images in detector_inputs(batch.views).items():
                for d, det in dets.items():
                    preds.setdefault((name, d), [])
                    seconds.setdefault((name, d), 0.0)
                    t0 = time.perf_counter()
                    out = det(images)
                    seconds[(name, d)] += time.perf_counter() - t0
                    preds[(name, d)] += [{k: v.cpu() for k, v in p.items()} for p in out]
    return preds, targets, seconds


def canvas_records(preds: dict, targets: list[dict], score_min: float = SCORE_MIN) -> dict:
    """Per test canvas, in order: ``canvas`` (its index), ``truth`` (its ground-truth items)
    and, per (input, detector), ``found|<input>|<detector>`` (the items that a box of their
    class scoring at least ``score_min`` matches at IoU >= 0.5,
    :func:`~analysis.metrics.detection.match_detections`) and ``boxes|<input>|<detector>``
    (the boxes scoring at least ``score_min``): {column: list of int}."""
    truths = [{k: np.asarray(v) for k, v in t.items()} for t in targets]
    out = {"canvas": list(range(len(targets))), "truth": [len(t["labels"]) for t in truths]}
    for (name, d), found in preds.items():
        hits, boxes = [], []
        for p, truth in zip(found, truths):
            got = {k: np.asarray(v) for k, v in p.items()}
            hits.append(match_detections(got, truth, score_min)[1])
            boxes.append(int((got["scores"] >= score_min).sum()))
        out[f"found|{name}|{d}"] = hits
        out[f"boxes|{name}|{d}"] = boxes
    return out


def detection_transfer(task: str = "sr", dataset: str | None = None, folder=None,
                       processors: list[str] | None = None, detectors: list[str] | None = None,
                       baseline: str | None = None, limit: int | None = None,
                       batch_size: int = BATCH_SIZE, device: str | None = None, seed: int = 0,
                       n_boot: int = N_BOOT, data_root: str | None = None,
                       progress: bool = True, on_progress=None) -> dict:
    """mAP of every detector on the test canvases after every processor (module docstring).

    Args:
        task: the degradation (task spec), applied to whole canvases.
        dataset: the detection dataset (default: canvases of the dataset in force,
            :func:`canvas_dataset`).
        folder: the checkpoint folder (names are looked up there and in its collections).
        processors, detectors: checkpoint names (default: every fitting one).
        baseline: the processor the paired differences are to (default: per processor, the
            first plain one trained on the same data, :func:`baselines`).
        limit: the first ``limit`` test canvases, and base test images of the Table 9 part
            (default: all).
        seed: seed of the degradations and of the bootstrap.
        n_boot: bootstrap resamples over canvases.

    Returns the result document: ``dataset`` (the canvases' base, whose results folder it
    goes to), ``canvases`` (the detection dataset), ``rows`` (clean, no processing, each processor) each with
    ``map[detector][key] = {"value", "low", "high"}`` for key ``map`` (mAP@[.5:.95]) and
    ``map_50``, ``baseline`` (the processor it is compared with) and ``vs_baseline[detector]``
    (None for a baseline itself, a processor without one and the two bounds),
    ``detectors`` (their cards' essentials), ``seconds`` (each detector's time per row, s),
    ``classification`` (the Table 9 analog on the base dataset's test split,
    :func:`classification_table`, with its own provenance), ``per_canvas``
    (:func:`canvas_records`: per canvas and (input, detector), the items found; saved beside
    the JSON as ``<stem>_canvases.parquet``) and ``provenance``.
    """
    canvases = canvas_dataset(dataset)
    setting = Setting(task, canvases, folder, device, data_root)
    if setting.info.extra.get("task") != "detection":
        raise RAExplorerError(f"{canvases!r} holds class labels, not boxes; name a detection "
                              "dataset (canvas:base=...).")
    spec = setting.task.spec
    proc_cards, det_cards = select_detection_models(spec, canvases, setting.info, folder,
                                                    processors, detectors)
    versus = baselines(proc_cards, baseline)
    procs = {c["name"]: load_checkpoint(c["path"], device=setting.device, kind="processor")[0]
             for c in proc_cards}
    dets = {c["name"]: load_checkpoint(c["path"], device=setting.device, kind="detector")[0]
            for c in det_cards}
    preds, targets, seconds = run_detectors(setting, procs, dets, limit, batch_size, seed,
                                            progress, on_progress)
    inputs = list(dict.fromkeys(name for name, _ in preds))
    cards = {c["name"]: c for c in proc_cards}

    def row(name):
        card = cards.get(name.removesuffix(HUMAN_VIEW), {})
        base = versus.get(name.removesuffix(HUMAN_VIEW))
        return {
            "name": name, "view": "human" if name.endswith(HUMAN_VIEW) else "machine",
            "method": card.get("method"), "lambda": card.get("lambda"),
            "source": card.get("source"),
            "source_kind": (card.get("source_kind") or "classifier") if card.get("source")
            else None,
            "trained_on": card.get("dataset"),
            "map": {d: map_with_ci(preds[(name, d)], targets, n_boot, seed) for d in dets},
            "baseline": base,
            "vs_baseline": None if base is None else
            {d: paired_map_difference(preds[(name, d)], preds[(base, d)], targets,
                                      n_boot, seed) for d in dets},
        }

    rows = [row(name) for name in tqdm(inputs, desc=f"bootstrap CIs ({n_boot} resamples)",
                                       unit="input", file=sys.stderr, disable=not progress)]
    classification = classification_table(spec, home_dataset(setting.dataset), folder,
                                           proc_cards, versus, limit, device, seed, data_root,
                                           progress)
    n = len(targets)
    digests = {c["name"]: c["weights"]["sha256"] for c in [*proc_cards, *det_cards]}
    return {
        "kind": "detection-transfer", "task": spec, "dataset": home_dataset(setting.dataset),
        "canvases": setting.dataset, "split": "test", "n_images": n, "seed": seed,
        "n_boot": n_boot, "baseline": baseline, "keys": list(MAP_KEYS),
        "detectors": {c["name"]: {"arch": c["arch"], "trained_on": c.get("dataset"),
                                  "metrics": c.get("metrics")} for c in det_cards},
        "rows": rows,
        "seconds": {name: {d: round(seconds[(name, d)], 3) for d in dets} for name in inputs},
        "classification": classification,
        "per_canvas": canvas_records(preds, targets),
        "per_canvas_rule": {"score_min": SCORE_MIN, "iou": MATCH_IOU},
        "provenance": setting.provenance(n_images=n, checkpoints=digests,
                                         seeds={"degradation": seed, "bootstrap": seed}),
    }


def _cell(c: dict) -> str:
    return f"{c['value']:.3f} [{c['low']:.3f}, {c['high']:.3f}]"


def _diff(c: dict) -> str:
    return f"{c['value']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]"


def format_detection_transfer(result: dict) -> str:
    """A Markdown table per mAP key: rows = inputs / processors, columns = each detector's mAP
    with its 95 % CI and the paired difference to the row's baseline (column ``vs``)."""
    dets = list(result["detectors"])
    lines = [f"# Detection transfer: {result['task']} on {result['canvases']}", "",
             f"{result['n_images']} test canvases; 95 % percentile-bootstrap CIs over canvases "
             f"({result['n_boot']} resamples); differences are paired, each to the processor in "
             "the row's `vs` column (the plain processor trained on the same data unless "
             "--baseline names one)."]
    titles = {"map": "mAP@[.5:.95]", "map_50": "mAP@.5"}
    for key in result["keys"]:
        head = ["input", "method", "source", "vs"]
        for d in dets:
            head += [f"{d} {titles[key]}", f"{d} difference"]
        lines += ["", f"## {titles[key]}", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for r in result["rows"]:
            source = (f"{r['source']} ({r['source_kind']})" if r.get("source") else "-")
            vs = r.get("vs_baseline")
            cells = [r["name"], r.get("method") or "-", source, r.get("baseline") or "-"]
            for d in dets:
                cells += [_cell(r["map"][d][key]), _diff(vs[d][key]) if vs else "-"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + _classification_lines(result.get("classification")))


def _classification_lines(table: dict | None) -> list[str]:
    """The Table 9 section of the Markdown: accuracy (%) per classifier and the paired
    difference to the plain processor (points, 95 % CI)."""
    if table is None:
        return []
    head = ["", "## Detection -> classification (Table 9 analog)", ""]
    if "skipped" in table:
        return head + [f"Not measured: {table['skipped']}."]
    clfs = table["classifiers"]
    lines = head + [f"The processors trained on canvases on the {table['n_images']} test images "
                    f"of {table['dataset']}, classified by the checkpoint folder's classifiers; "
                    "accuracy in % (Wilson 95 % CI), difference to "
                    f"{table['plain']} in points (matched-pairs 95 % CI).", "",
                    "| input | " + " | ".join(f"{c} | vs {table['plain']}" for c in clfs) + " |",
                    "|" + "---|" * (1 + 2 * len(clfs))]
    for r in table["rows"]:
        cells = [r["name"]]
        for c in clfs:
            a = r["accuracy"][c]
            cells.append(f"{100 * a['accuracy']:.2f} [{100 * a['ci95'][0]:.2f}, "
                         f"{100 * a['ci95'][1]:.2f}]")
            d = (r.get("vs_plain") or {}).get(c)
            cells.append(f"{100 * d['diff']:+.2f} [{100 * d['ci95'][0]:+.2f}, "
                         f"{100 * d['ci95'][1]:+.2f}]" if d else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def result_stem(task_spec: str) -> str:
    """``detection_transfer_<task slug>``: the result files' name."""
    return f"detection_transfer_{task_slug(task_spec)}"


def save_detection_transfer(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``detection_transfer_<task slug>.json`` and ``.md`` in ``out_dir`` (default: the
    results folder of the canvases' base dataset, :func:`home_dataset`), and the per-canvas
    records as ``detection_transfer_<task slug>_canvases.parquet`` beside them (named in the
    JSON's ``per_canvas_file``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = out_dir if out_dir is not None else results_dir(dataset=result["dataset"])
    stem = result_stem(result["task"])
    doc = {k: v for k, v in result.items() if k != "per_canvas"}
    per_canvas = result.get("per_canvas")
    if per_canvas is not None:
        doc["per_canvas_file"] = f"{stem}_canvases.parquet"
    paths = write_result(doc, folder, stem, format_detection_transfer)
    if per_canvas is not None:
        path = Path(paths[0]).parent / doc["per_canvas_file"]
        pq.write_table(pa.table(per_canvas), path)
        paths.append(path)
    return paths


def load_canvas_records(path: Path) -> dict[str, np.ndarray]:
    """The per-canvas records a :func:`save_detection_transfer` wrote: {column: (N,) int}."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: table.column(name).to_numpy() for name in table.column_names}
