"""``agreement`` and ``agreement-scatter``: which metrics track recognition, from
``agreement_<task>.json`` and the per-image table beside it.

``agreement``: one row per metric (``--metrics``, default all), Spearman's rho of the oriented
metric with the logit margin and its 95 % bootstrap CI, one marker per input (``--processors``,
default the plain and the RA processor), for ``--classifier`` (default the classifiers pooled);
MIQA's classification SRCC (their data) as grey diamonds where the metric is one they report.

``agreement-scatter``: per test image, ``--metrics`` (the first; default psnr) against
``--classifier``'s (default the first one) logit margin, one panel per input (``--processors``,
default the plain and the RA processor); right and wrong images apart.
"""

from __future__ import annotations

import numpy as np

from ...analyses.metric_agreement import POOLED, images_name
from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from ...explore.agreement_view import scatter_frame
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import LINE_COLOURS, MARKERS


def _result(options: FigureOptions):
    task = options.task_spec()
    command = f"python -m analysis agreement --task {options.task_name()}"
    path, result = load_result(options, f"agreement_{task_slug(task)}.json", command)
    return task, command, path, result


def _inputs(options: FigureOptions, result: dict, path) -> list[str]:
    processed = [i["name"] for i in result["inputs"] if i["name"] != "clean"]
    if options.processors:
        for name in options.processors:
            if name not in processed:
                raise unknown_name("input in " + path.name, name, processed)
        return list(options.processors)
    task_ra = f"{result['task'].split(':')[0]}-ra"
    default = [i for i in (result.get("plain_reference"), task_ra) if i in processed]
    return default or processed[:2]


def _provenance(kind: str, result: dict, paths) -> dict:
    return figure_provenance(kind, dataset=result["dataset"], split=result.get("split", "test"),
                             n_images=result["n_images"],
                             checkpoints=result.get("provenance", {}).get("checkpoints", {}),
                             seeds={"degradation": result.get("seed", 0),
                                    "bootstrap": result.get("seed", 0)}, sources=paths)


def build_agreement(options: FigureOptions) -> PaperFigure:
    """Spearman rho of each metric with the logit margin (95 % CI), a marker per input, MIQA's
    classification SRCC beside it."""
    task, _, path, result = _result(options)
    clf = options.classifier or (POOLED if len(result["classifiers"]) > 1
                                 else result["classifiers"][0])
    if clf != POOLED and clf not in result["classifiers"]:
        raise unknown_name("classifier in " + path.name, clf, [POOLED, *result["classifiers"]])
    inputs = _inputs(options, result, path)
    rows = {(r["metric"], r["input"]): r for r in result["agreement"] if r["classifier"] == clf}
    described = list(dict.fromkeys(m for m, _ in rows))
    metrics = options.metrics or described
    for m in metrics:
        if m not in described:
            raise unknown_name("metric in " + path.name, m, described)
    first = inputs[0]
    metrics = sorted(metrics, key=lambda m: -np.nan_to_num(
        rows[(m, first)]["spearman_margin"]["value"] if (m, first) in rows else np.nan, nan=-9))
    if not metrics:
        raise RAExplorerError(f"{path.name} has no metric to plot.")
    fig = new_figure(options.width, 0.7 + 0.15 * len(metrics))
    ax = fig.subplots()
    y = np.arange(len(metrics))
    plotted = []
    for k, inp in enumerate(inputs):
        offset = (k - (len(inputs) - 1) / 2) * 0.22
        stats = [rows[(m, inp)]["spearman_margin"] if (m, inp) in rows else
                 {"value": np.nan, "ci95": [np.nan, np.nan]} for m in metrics]
        value = np.array([s["value"] for s in stats], dtype=float)
        lo = np.array([s["ci95"][0] for s in stats], dtype=float)
        hi = np.array([s["ci95"][1] for s in stats], dtype=float)
        ax.errorbar(value, y + offset, xerr=[value - lo, hi - value], fmt=MARKERS[k % 8],
                    color=LINE_COLOURS[k % len(LINE_COLOURS)], markersize=3, elinewidth=0.6,
                    capsize=1.5, label=inp)
        plotted += [{"metric": m, "input": inp, "classifier": clf, "spearman_margin": v,
                     "ci95_low": a, "ci95_high": b} for m, v, a, b in zip(metrics, value, lo, hi)]
    miqa = result.get("miqa_classification_srcc", {})
    marked = [(k, miqa[m]) for k, m in enumerate(metrics) if m in miqa]
    if marked:
        ax.scatter([v for _, v in marked], [k for k, _ in marked], marker="D", s=10,
                   color="#999999", label="MIQA classification SRCC (their data)", zorder=3)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(y, metrics)
    ax.invert_yaxis()
    ax.set_xlabel("Spearman rho of the oriented metric with the logit margin (95 % CI)")
    ax.grid(axis="x", alpha=0.3, linewidth=0.4)
    ax.legend(loc="lower right", frameon=False)
    title = (f"{task}: per-image agreement of the metrics with recognition ({clf}), "
             f"{result['n_images']} test images")
    return PaperFigure("agreement", f"agreement_{task_slug(task)}", fig, plotted,
                       _provenance("agreement", result, [path]), title)


def build_agreement_scatter(options: FigureOptions) -> PaperFigure:
    """Per test image, a metric against a classifier's logit margin, a panel per input."""
    import pandas as pd

    task, command, path, result = _result(options)
    images_path = options.results_dir() / images_name(task)
    if not images_path.is_file():
        raise RAExplorerError(f"The figure needs {images_path}, which is not there; the "
                              f"agreement verb writes it: '{options.command(command)}'.")
    images = pd.read_parquet(images_path)
    clf = options.classifier or result["classifiers"][0]
    if clf not in result["classifiers"]:
        raise unknown_name("classifier in " + path.name, clf, result["classifiers"])
    metric = (options.metrics or ["psnr"])[0]
    inputs = _inputs(options, result, path)
    lower = {m["name"]: m["lower_better"] for m in result["metrics"]}
    fig = new_figure(options.width, 0.45 * options.width if len(inputs) > 1 else 0.7 *
                     options.width)
    axes = fig.subplots(1, len(inputs), sharex=True, sharey=True, squeeze=False)[0]
    plotted = []
    for ax, inp in zip(axes, inputs):
        frame = scatter_frame(images, metric, inp, clf)
        for right, name, colour, marker in ((True, "right", LINE_COLOURS[0], "o"),
                                            (False, "wrong", LINE_COLOURS[1], "x")):
            part = frame[frame["correct"] == right]
            ax.scatter(part[metric], part["margin"], s=4, marker=marker, color=colour,
                       linewidths=0.5, alpha=0.6, label=name)
        ax.axhline(0, color="black", linewidth=0.4, linestyle=":")
        ax.set_title(inp)
        ax.set_xlabel(metric + (" ↓" if lower.get(metric) else " ↑"))
        ax.grid(alpha=0.3, linewidth=0.4)
        plotted += [{"input": inp, "index": int(i), "metric": metric, "value": float(v),
                     "classifier": clf, "margin": float(g), "correct": bool(c)}
                    for i, v, g, c in zip(frame["index"], frame[metric], frame["margin"],
                                          frame["correct"])]
    axes[0].set_ylabel(f"logit margin of {clf}")
    axes[0].legend(loc="lower right", frameon=False, markerscale=2)
    title = f"{task}: {metric} against the margin of {clf}, {len(images)} test images"
    return PaperFigure("agreement-scatter", f"agreement-scatter_{task_slug(task)}", fig, plotted,
                       _provenance("agreement-scatter", result, [path, images_path]), title)
