"""The quality table (Uelwer et al. Table 2 analog): every metric for every processor of a task.

Rows: ``no processing`` (LQ resized bicubically) and each processor of the
task (for RA with transformer, P's output: the image a person sees); columns:
metrics, each the mean over test images with a 95 % CI of the mean.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..data.datasets import normal_dataset
from ..data.tasks import task_slug
from ..metrics.registry import create_metric, list_metrics
from ..outputs.result_files import write_result
from ..pipeline.partial import PartialStore
from ..pipeline.runner import CLEAN, ProcessedBatch, gather_objects, world
from ..pipeline.setting import Setting
from ..stats import mean_interval
from ..zoo.catalogue import model_digests


def default_metrics(folder=None, dataset: str | None = None) -> list[str]:
    """Every metric available here, for this dataset's classifiers."""
    return [m["name"] for m in list_metrics(folder, dataset) if m["available"]]


class QualitySink:
    """Every metric of ``metrics`` (name -> callable ``m(x, y) -> Tensor[N]``) on the human
    view of every input but clean, for the first ``limit`` images of the pass (all if None).
    Under torchrun, :meth:`gather` collects every rank's values in plan order."""

    def __init__(self, metrics: dict, limit: int | None = None):
        self.metrics = metrics
        self.limit = limit
        self.parts: list[tuple[int, dict[str, dict[str, list[float]]]]] = []
        self.values: dict[str, dict[str, list[float]]] = {}

    def add(self, batch: ProcessedBatch) -> None:
        take = len(batch.indices) if self.limit is None else max(0, min(
            len(batch.indices), self.limit - batch.start))
        if take == 0:
            return
        part = {}
        for row, views in batch.views.items():
            if row == CLEAN:
                continue
            part[row] = {m: metric(views.human[:take], batch.clean[:take]).tolist()
                         for m, metric in self.metrics.items()}
        self.parts.append((batch.number, part))

    def gather(self, world_size: int = 1) -> QualitySink:
        """Join the parts (of every rank) in plan order into ``values``; returns self."""
        self.values = {}
        for _, part in sorted(gather_objects(self.parts, world_size), key=lambda p: p[0]):
            for row, per in part.items():
                into = self.values.setdefault(row, {m: [] for m in self.metrics})
                for m, vals in per.items():
                    into[m] += vals
        return self

    def n_images(self) -> int:
        first = next(iter(self.values.values()), {})
        return len(next(iter(first.values()), []))


def quality_result(sink: QualitySink, task_spec: str, dataset: str, proc_cards: list[dict],
                   seed: int = 0, provenance: dict | None = None) -> dict:
    """The quality document (rows: no processing, each processor; mean and 95 % CI per metric)."""
    def summary(vals):
        mean, low, high = mean_interval(vals)
        return {"mean": mean, "ci95": [low, high]}

    cards = {c["name"]: c for c in proc_cards}
    return {
        "task": task_spec, "dataset": dataset, "split": "test", "n_images": sink.n_images(),
        "seed": seed, "metrics": [m.spec.describe() for m in sink.metrics.values()],
        "rows": [{"name": r, "method": cards[r].get("method") if r in cards else None,
                  "lambda": cards[r].get("lambda") if r in cards else None,
                  "values": {m: summary(v) for m, v in vals.items()}}
                 for r, vals in sink.values.items()],
        "provenance": provenance or {},
    }


def quality_sink(names, folder, device, limit=None) -> QualitySink:
    """A sink computing the registry's metrics ``names`` (built on ``device``)."""
    return QualitySink({n: create_metric(n, device=device, folder=folder) for n in names}, limit)


def quality_table(task: str, dataset: str | None = None, folder=None, metrics=None,
                  limit: int | None = None, batch_size: int | None = None,
                  device: str | None = None, seed: int = 0, data_root: str | None = None,
                  progress: bool = True, on_progress=None, resume: bool | None = None) -> dict:
    """Every metric (default: all available) for no processing and every processor of
    ``task`` on the first ``limit`` test images (all if None); one runner pass.
    ``batch_size`` None: 250, or fewer for large images
    (:meth:`~analysis.pipeline.setting.Setting.batch_size`); ``resume``: as
    :func:`analysis.analyses.evaluate.measure_task`'s (partial results per batch)."""
    setting = Setting(task, dataset, folder, device, data_root)
    names = list(metrics) if metrics else default_metrics(folder, setting.dataset)
    sink = quality_sink(names, folder, setting.device)
    clf_cards, proc_cards = setting.select()
    rank, size = world()
    batch_size = setting.batch_size(batch_size, base=250)
    partial = None if resume is None else PartialStore(
        "quality", {"task": setting.task.spec, "dataset": normal_dataset(setting.dataset),
                    "models": model_digests(clf_cards, proc_cards), "limit": repr(limit),
                    "batch_size": batch_size, "seed": seed, "world_size": size,
                    "metrics": names},
        resume, rank=rank)
    setting.run(setting.load(proc_cards), [sink], partial=partial,
                desc=f"quality {setting.task.spec}", progress=progress,
                on_progress=on_progress, batch_size=batch_size, limit=limit, seed=seed,
                include_clean=False)
    sink.gather(size)
    if partial is not None:
        partial.finish()
    return quality_result(sink, setting.task.spec, setting.dataset, proc_cards, seed,
                          setting.provenance(n_images=sink.n_images(),
                                             checkpoints=model_digests(proc_cards),
                                             seeds={"degradation": seed}))


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


def save_quality(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, f"quality_{task_slug(result['task'])}", format_quality)
