"""The quality table (Uelwer et al. Table 2 analog): every metric for every processor of a task.

Rows: ``no processing`` (LQ resized bicubically) and each processor of the
task (for RA with transformer, P's output: the image a person sees); columns:
metrics, each the mean over test images with a 95 % CI of the mean.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch

from ..config import results_dir
from ..data.datasets import iterate_batches, load_dataset
from ..data.tasks import create_task
from ..device import pick_device
from ..metrics.registry import create_metric, list_metrics
from ..stats import mean_interval
from ..zoo import human_view
from ..zoo.checkpoints import load_models
from .evaluate import NO_PROCESSING, select_models


def default_metrics(folder=None, dataset: str | None = None) -> list[str]:
    """Every metric available here, for this dataset's classifiers."""
    return [m["name"] for m in list_metrics(folder, dataset) if m["available"]]


@torch.no_grad()
def quality_table(task: str, dataset: str = "fashion-mnist", folder=None, metrics=None,
                  limit: int | None = None, batch_size: int = 250, device: str | None = None,
                  seed: int = 0, data_root: str | None = None, progress: bool = True) -> dict:
    from tqdm import tqdm

    the_task = create_task(task)
    dev = pick_device(device)
    names = list(metrics) if metrics else default_metrics(folder, dataset)
    created = {n: create_metric(n, device=dev, folder=folder) for n in names}
    _, proc_cards = select_models(the_task.spec, dataset, folder)
    procs = load_models(proc_cards, dev)
    test = load_dataset(dataset, "test", root=data_root)
    n_total = len(test) if limit is None else min(limit, len(test))
    rows = [NO_PROCESSING] + list(procs)
    values = {r: {m: [] for m in names} for r in rows}
    bar = tqdm(total=n_total, desc=f"quality {the_task.spec}", disable=not progress,
               file=sys.stderr, leave=False)
    for images, _, indices in iterate_batches(test, batch_size, limit=limit):
        lq = the_task.degrade_eval(images, indices, seed=seed)
        outputs = {NO_PROCESSING: the_task.upsample(lq, images.shape[-2:])}
        for name, proc in procs.items():
            outputs[name] = human_view(proc, lq.to(dev)).clamp(0, 1)
        for row, out in outputs.items():
            for m, metric in created.items():
                values[row][m] += metric(out, images).tolist()
        bar.update(len(images))
    bar.close()

    def summary(vals):
        mean, low, high = mean_interval(vals)
        return {"mean": mean, "ci95": [low, high]}

    cards = {c["name"]: c for c in proc_cards}
    return {
        "task": the_task.spec, "dataset": dataset, "split": "test", "n_images": n_total,
        "seed": seed, "metrics": [created[m].spec.describe() for m in names],
        "rows": [{"name": r, "method": cards[r].get("method") if r in cards else None,
                  "lambda": cards[r].get("lambda") if r in cards else None,
                  "values": {m: summary(values[r][m]) for m in names}} for r in rows],
    }


def format_quality(result: dict) -> str:
    """Markdown table: one row per input / processor, one column per metric (mean ± CI half-width)."""
    names = [m["name"] for m in result["metrics"]]
    arrows = {m["name"]: "↓" if m["lower_better"] else "↑" for m in result["metrics"]}
    lines = [f"Quality on task {result['task']}, {result['dataset']} {result['split']} split, "
             f"{result['n_images']} images (mean ± 95 % CI half-width; ↑ higher is better, "
             "↓ lower is better).", "",
             "| input | " + " | ".join(f"{n} {arrows[n]}" for n in names) + " |",
             "|---|" + "---:|" * len(names)]
    for row in result["rows"]:
        cells = []
        for n in names:
            v = row["values"][n]
            half = (v["ci95"][1] - v["ci95"][0]) / 2
            digits = 2 if abs(v["mean"]) >= 10 else 4
            cells.append("-" if math.isnan(v["mean"]) else f"{v['mean']:.{digits}f} ± {half:.{digits}f}")
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def task_slug(spec: str) -> str:
    return spec.replace(":", "_").replace("=", "").replace(",", "_")


def result_files(out_dir: Path | None, stem: str) -> tuple[Path, Path]:
    """(``<stem>.json``, ``<stem>.md``) in ``out_dir``, created; ``stem`` may hold dots
    (``denoise_sigma0.1``), so no ``Path.with_suffix``."""
    out_dir = results_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / f"{stem}.json", out_dir / f"{stem}.md"


def save_quality(result: dict, out_dir: Path | None = None) -> list[Path]:
    json_path, md_path = result_files(out_dir, f"quality_{task_slug(result['task'])}")
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(format_quality(result) + "\n")
    return [json_path, md_path]
