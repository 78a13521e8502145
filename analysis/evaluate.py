"""Accuracy matrices and image quality of every processor of a task.

Rows: ``clean`` (the undegraded test images, an upper bound), ``no processing``
(the LQ input resized bicubically to full size) and each processor checkpoint
of the task; columns: each classifier checkpoint of the dataset. Each cell is
top-1 accuracy with a 95 % Wilson interval over test images. PSNR (dB, peak 1)
and SSIM (piq's Gaussian-window SSIM, 11 taps, sigma 1.5, on [0, 1] images)
are means over images against the clean image, with 95 % CIs. For "RA with
transformer" the classifiers see T(P(x)) and the quality metrics P(x), the
image a person sees (RA paper, section 3.3).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import torch

from .checkpoints import find_checkpoints, load_models
from .data import iterate_batches, load_dataset
from .device import pick_device
from .errors import RAExplorerError
from .methods import METHODS
from .stats import Z95, mean_interval, wilson_interval
from .tasks import create_task
from .zoo import TransformedProcessor, human_view

CLEAN, NO_PROCESSING = "clean", "no processing"


@dataclass
class Row:
    name: str
    method: str | None
    card: dict | None


def processor_order(card: dict) -> tuple:
    methods = list(METHODS)
    method = card.get("method")
    return (methods.index(method) if method in methods else len(methods),
            card.get("lambda") or 0.0, card["name"])


def main_processors(cards: list[dict], task_name: str) -> list[str]:
    """One processor name per method, in the cards' order: ``<task_name>-<method>`` where it
    exists, else the first card of that method; variants (transfer sources, lambda sweep) are
    left out."""
    by_method: dict[str, list[str]] = {}
    for card in cards:
        by_method.setdefault(card.get("method"), []).append(card["name"])
    return [f"{task_name}-{m}" if f"{task_name}-{m}" in names else names[0]
            for m, names in by_method.items()]


def select_models(task_spec: str, dataset: str, folder=None, processors=None, classifiers=None):
    """Classifier and processor cards for ``dataset`` / ``task_spec`` (optionally named subsets)."""
    clf_cards = find_checkpoints(folder, kind="classifier", dataset=dataset)
    proc_cards = find_checkpoints(folder, kind="processor", dataset=dataset, task=task_spec)
    if classifiers:
        clf_cards = [c for c in clf_cards if c["name"] in classifiers]
    if processors:
        proc_cards = [c for c in proc_cards if c["name"] in processors]
    return clf_cards, sorted(proc_cards, key=processor_order)


PAPER_TASKS = ("sr", "denoise", "jpeg")  # the RA paper's settings: SR x4, sigma 0.1, q 10


def report_tasks(dataset: str, folder=None) -> list[str]:
    """The paper's three tasks, then any other task that has processors in the zoo."""
    paper = [create_task(t).spec for t in PAPER_TASKS]
    return paper + [t for t in tasks_in_zoo(dataset, folder) if t not in paper]


def tasks_in_zoo(dataset: str, folder=None) -> list[str]:
    """The task specs that have at least one processor checkpoint for ``dataset``."""
    specs = {c["task"] for c in find_checkpoints(folder, kind="processor", dataset=dataset)}
    return sorted(specs)


def paired_difference(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Accuracy difference mean(a) - mean(b) of paired per-image correctness, with a 95 % CI.

    a, b: bool tensors (N,) for the same images. Uses the matched-pairs Wald
    interval: d = (n10 - n01) / N, se = sqrt(n10 + n01 - (n10 - n01)^2 / N) / N.
    """
    n = len(a)
    n10 = int((a & ~b).sum())
    n01 = int((~a & b).sum())
    d = (n10 - n01) / n
    se = math.sqrt(max(n10 + n01 - (n10 - n01) ** 2 / n, 0.0)) / n
    return {"diff": d, "ci95": [d - Z95 * se, d + Z95 * se], "discordant": [n10, n01]}


@torch.no_grad()
def evaluate(task: str, dataset: str = "fashion-mnist", folder=None, limit: int | None = None,
             batch_size: int = 500, device: str | None = None, seed: int = 0,
             processors=None, classifiers=None, data_root: str | None = None,
             progress: bool = True, on_progress=None) -> dict:
    """The accuracy matrix and PSNR / SSIM of every processor of ``task`` on the test split.

    ``on_progress(done, total)`` is called after every batch (for a GUI progress bar).

    Each processor row also carries ``vs_plain``: its paired accuracy
    difference to the task's plain processor on the same images, per
    classifier, with a 95 % CI (absent when the zoo has no plain processor).
    """
    from tqdm import tqdm

    from .metrics import create_metric

    the_task = create_task(task)
    dev = pick_device(device)
    clf_cards, proc_cards = select_models(the_task.spec, dataset, folder, processors, classifiers)
    if not clf_cards:
        raise RAExplorerError(f"No classifier checkpoints for dataset {dataset!r} were found; "
                              "train one with 'python -m analysis train-classifier'.")
    clfs = load_models(clf_cards, dev)
    procs = load_models(proc_cards, dev)
    psnr_metric, ssim_metric = create_metric("psnr", device=dev), create_metric("ssim", device=dev)
    test = load_dataset(dataset, "test", root=data_root)
    n_total = len(test) if limit is None else min(limit, len(test))
    rows = [Row(CLEAN, None, None), Row(NO_PROCESSING, None, None)] + [
        Row(c["name"], c.get("method"), c) for c in proc_cards]
    hits = {r.name: {k: [] for k in clfs} for r in rows}
    psnr = {r.name: [] for r in rows[1:]}
    ssim = {r.name: [] for r in rows[1:]}
    bar = tqdm(total=n_total, desc=f"evaluate {the_task.spec}", disable=not progress,
               file=sys.stderr, leave=False)
    for images, labels, indices in iterate_batches(test, batch_size, limit=limit):
        lq = the_task.degrade_eval(images, indices, seed=seed)
        outputs = {CLEAN: images.to(dev),
                   NO_PROCESSING: the_task.upsample(lq, images.shape[-2:]).to(dev)}
        lq = lq.to(dev)
        seen_by_humans = dict(outputs)
        for name, proc in procs.items():
            outputs[name] = proc(lq).clamp(0, 1)
            seen_by_humans[name] = (human_view(proc, lq).clamp(0, 1)
                                    if isinstance(proc, TransformedProcessor) else outputs[name])
        for name, out in outputs.items():
            for clf_name, clf in clfs.items():
                hits[name][clf_name].append(clf(out).argmax(1).cpu() == labels)
            if name != CLEAN:
                psnr[name] += psnr_metric(seen_by_humans[name], images).tolist()
                ssim[name] += ssim_metric(seen_by_humans[name], images).tolist()
        bar.update(len(labels))
        if on_progress is not None:
            on_progress(bar.n, n_total)
    bar.close()
    hits = {r: {k: torch.cat(v) for k, v in per.items()} for r, per in hits.items()}
    plain = next((c["name"] for c in proc_cards
                  if c.get("method") == "plain" and not c.get("lambda")), None)

    def cell(h):
        k = int(h.sum())
        low, high = wilson_interval(k, n_total)
        return {"accuracy": k / n_total, "ci95": [low, high], "correct": k}

    def quality(values):
        if not values:
            return None
        mean, low, high = mean_interval(values)
        return {"mean": mean, "ci95": [low, high]}

    def versus_plain(name):
        if plain is None or name in (CLEAN, plain):
            return None
        return {k: paired_difference(hits[name][k], hits[plain][k]) for k in clfs}

    return {
        "task": the_task.spec, "dataset": dataset, "split": "test", "n_images": n_total,
        "seed": seed, "classifiers": list(clfs), "plain": plain,
        "models": model_digests(clf_cards, proc_cards),
        "rows": [{"name": r.name, "method": r.method,
                  "lambda": r.card.get("lambda") if r.card else None,
                  "source": r.card.get("source") if r.card else None,
                  "accuracy": {k: cell(v) for k, v in hits[r.name].items()},
                  "vs_plain": versus_plain(r.name),
                  "psnr": quality(psnr.get(r.name, [])), "ssim": quality(ssim.get(r.name, []))}
                 for r in rows],
    }


def model_digests(clf_cards: list[dict], proc_cards: list[dict]) -> dict[str, str]:
    """Checkpoint name -> SHA-256 of its weights: what an evaluation was measured on."""
    return {c["name"]: c["weights"]["sha256"] for c in [*clf_cards, *proc_cards]}


def update_cards(result: dict, folder=None) -> list[str]:
    """Write the measured test figures of ``result`` into the model cards; returns names updated.

    Classifiers get ``test_accuracy`` (clean test images); processors get
    ``test_accuracy`` on their source recognizer (or on every classifier when
    they have none), ``test_psnr`` and ``test_ssim``, each keyed by task.
    """
    from .checkpoints import checkpoint_dir, update_card

    folder = checkpoint_dir(folder)
    updated = []
    clean = next(r for r in result["rows"] if r["name"] == CLEAN)
    for clf, cell in clean["accuracy"].items():
        update_card(folder / clf, metrics={"test_accuracy": cell["accuracy"],
                                           "test_accuracy_ci95": cell["ci95"],
                                           "test_images": result["n_images"]})
        updated.append(clf)
    for row in result["rows"]:
        if row["method"] is None:
            continue
        accuracy = {k: v["accuracy"] for k, v in row["accuracy"].items()}
        update_card(folder / row["name"], metrics={
            "test_accuracy": accuracy.get(row["source"]) if row["source"] in accuracy else accuracy,
            "test_accuracy_by_classifier": accuracy,
            "test_psnr": row["psnr"]["mean"], "test_ssim": row["ssim"]["mean"],
            "test_images": result["n_images"]})
        updated.append(row["name"])
    return updated


def format_report(result: dict) -> str:
    """A plain-text table: rows = inputs / processors, columns = classifiers (accuracy in %)."""
    clfs = result["classifiers"]
    name_w = max(14, *(len(r["name"]) for r in result["rows"]))
    col_w = max(9, *(len(c) for c in clfs))
    head = (f"Task {result['task']} on {result['dataset']} ({result['split']} split, "
            f"{result['n_images']} images). Accuracy in % (95 % CI half-width); PSNR in dB.")
    lines = [head, "",
             f"{'input':<{name_w}} " + " ".join(f"{c:>{col_w}}" for c in clfs)
             + f" {'PSNR':>7} {'SSIM':>7}"]
    for r in result["rows"]:
        cells = []
        for c in clfs:
            a = r["accuracy"][c]
            half = 100 * (a["ci95"][1] - a["ci95"][0]) / 2
            cells.append(f"{100 * a['accuracy']:{col_w - 5}.1f}±{half:<4.1f}")
        psnr = f"{r['psnr']['mean']:7.2f}" if r["psnr"] else f"{'-':>7}"
        ssim = f"{r['ssim']['mean']:7.4f}" if r["ssim"] else f"{'-':>7}"
        lines.append(f"{r['name']:<{name_w}} " + " ".join(cells) + f" {psnr} {ssim}")
    return "\n".join(lines)
