"""``quality``: metric bars with 95 % CIs per method, from ``quality_<task>.json``."""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from ...methods import METHOD_LABELS
from ..tables import table1_rows
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import BAR_COLOURS, HATCHES

DEFAULT_METRICS = ("psnr", "ssim", "lpips-resnet20")


def build_quality(options: FigureOptions) -> PaperFigure:
    """One panel per metric (``--metrics``, default PSNR, SSIM and LPIPS where present), one bar
    per method (no processing and one processor per method, or ``--processors``) with its 95 %
    CI over the images."""
    task = options.task_spec()
    path, result = load_result(options, f"quality_{task_slug(task)}.json",
                               f"python -m analysis quality --task {options.task_name()}")
    described = {m["name"]: m for m in result["metrics"] if m.get("available", True)}
    metrics = options.metrics or [m for m in DEFAULT_METRICS if m in described] or list(described)[:3]
    for m in metrics:
        if m not in described:
            raise unknown_name("metric in " + path.name, m, list(described))
    if options.processors:
        by_name = {r["name"]: r for r in result["rows"]}
        for name in options.processors:
            if name not in by_name:
                raise unknown_name("processor in " + path.name, name, list(by_name))
        rows = [by_name[n] for n in options.processors]
    else:
        rows = table1_rows(result)
    if not rows:
        raise RAExplorerError(f"{path.name} has no rows to plot.")
    labels = [METHOD_LABELS.get(r["method"], r["name"]) if r.get("method") else r["name"]
              for r in rows]
    fig = new_figure(options.width, 0.55 + 0.17 * len(rows))
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    plotted = []
    y = np.arange(len(rows))
    for ax, m in zip(axes, metrics):
        mean = np.array([r["values"][m]["mean"] for r in rows])
        lo = np.array([r["values"][m]["ci95"][0] for r in rows])
        hi = np.array([r["values"][m]["ci95"][1] for r in rows])
        for k in range(len(rows)):
            ax.barh(y[k], mean[k], xerr=[[mean[k] - lo[k]], [hi[k] - mean[k]]],
                    color=BAR_COLOURS[k % 8], hatch=HATCHES[k % 8], edgecolor="black",
                    linewidth=0.4, error_kw={"elinewidth": 0.6, "capsize": 1.5})
        arrow = "↓" if described[m].get("lower_better") else "↑"
        ax.set_title(f"{m} {arrow}")
        span = hi.max() - lo.min()
        ax.set_xlim(max(0.0, lo.min() - 0.15 * span) if lo.min() >= 0 else lo.min() - 0.15 * span,
                    hi.max() + 0.1 * span)
        ax.grid(axis="x", alpha=0.3, linewidth=0.4)
        for r, label, a, b, c in zip(rows, labels, mean, lo, hi):
            plotted.append({"metric": m, "input": r["name"], "label": label, "mean": a,
                            "ci95_low": b, "ci95_high": c})
    axes[0].set_yticks(y, labels)
    axes[0].invert_yaxis()
    title = f"{task}: image quality per method, {result['n_images']} test images"
    prov = figure_provenance("quality", dataset=result["dataset"], split=result.get("split", "test"),
                             n_images=result["n_images"], checkpoints=result.get("models", {}),
                             seeds={"degradation": result.get("seed", 0)}, sources=[path])
    return PaperFigure("quality", f"quality_{task_slug(task)}", fig, plotted, prov, title)
