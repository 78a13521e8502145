"""``error-ranking``: Uelwer et al.'s Figure 1 analog, from ``loss_grid_<task>.json``.

One row per model of the loss grid (E, then each combination with standard and robust
features); two markers per row, the classification error (%) of its outputs on the standard
and on the robust evaluator, each with its 95 % Wilson CI; the title gives Spearman's rho of
the two orderings.

``error-ranking-seeds``: the same rows from ``loss_grid_seeds_<task>.json``, every training
seed's error as a small marker and the seeds' mean with +- 1 SD as a bar; the title gives
Spearman's rho per seed.
"""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from ...errors import RAExplorerError
from .core import (
    FigureOptions,
    PaperFigure,
    figure_provenance,
    load_result,
    new_figure,
    result_provenance,
)
from .style import LINE_COLOURS


def _rows_axes(options: FigureOptions, result: dict, n_rows: int):
    """(evaluators as (role, name, colour, marker), figure, axes, row positions) of a figure
    with one row per model of a loss-grid result."""
    evaluators = [("standard", result["evaluators"]["standard"], LINE_COLOURS[0], "o"),
                  ("robust", result["evaluators"]["robust"], LINE_COLOURS[1], "s")]
    fig = new_figure(options.width, 0.7 + 0.16 * n_rows)
    return evaluators, fig, fig.subplots(), np.arange(n_rows)


def _finish(ax, y, labels: list[str], xlabel: str) -> None:
    """Row labels top to bottom, the x label, a light grid and the legend."""
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3, linewidth=0.4)
    ax.legend(loc="lower right", frameon=False)


def build_error_ranking(options: FigureOptions) -> PaperFigure:
    task = options.task_spec()
    path, result = load_result(options, f"loss_grid_{task_slug(task)}.json",
                               f"python -m analysis loss-grid --task {options.task_name()}")
    rows = [r for r in result["error_rows"] if r["name"] not in ("clean", "no processing")]
    if not rows:
        raise RAExplorerError(f"{path.name} has no models to plot.")
    evaluators, fig, ax, y = _rows_axes(options, result, len(rows))
    plotted = []
    for k, (role, clf, colour, marker) in enumerate(evaluators):
        err = np.array([100 * r["error"][clf]["error"] for r in rows])
        lo = np.array([100 * r["error"][clf]["ci95"][0] for r in rows])
        hi = np.array([100 * r["error"][clf]["ci95"][1] for r in rows])
        offset = (k - 0.5) * 0.25
        ax.errorbar(err, y + offset, xerr=[err - lo, hi - err], fmt=marker, color=colour,
                    markersize=3, elinewidth=0.6, capsize=1.5,
                    label=f"{clf} ({role} evaluator)")
        for r, e, a, b in zip(rows, err, lo, hi):
            plotted.append({"model": r["name"], "label": r["label"], "evaluator": clf,
                            "role": role, "error_percent": e, "ci95_low": a, "ci95_high": b})
    _finish(ax, y, [r["label"] for r in rows], "classification error of the outputs (%)")
    rc = result["rank_correlation"]
    rho = "undefined" if rc["spearman_rho"] is None else f"{rc['spearman_rho']:.2f}"
    title = (f"{task}: error on a standard vs a robust evaluator, {result['n_images']} test "
             f"images (Spearman rho {rho})")
    prov = figure_provenance("error-ranking", dataset=result["dataset"],
                             split=result.get("split", "test"), n_images=result["n_images"],
                             checkpoints=result.get("provenance", {}).get("checkpoints", {}),
                             seeds={"degradation": 0}, sources=[path])
    return PaperFigure("error-ranking", f"error-ranking_{task_slug(task)}", fig, plotted, prov,
                       title, extra={"spearman_rho": rc["spearman_rho"]})


def build_error_ranking_seeds(options: FigureOptions) -> PaperFigure:
    task = options.task_spec()
    path, result = load_result(options, f"loss_grid_seeds_{task_slug(task)}.json",
                               "python -m analysis loss-grid --across-seeds --task "
                               f"{options.task_name()}")
    summary = result["summary"]
    rows = summary["rows"]
    evaluators, fig, ax, y = _rows_axes(options, result, len(rows))
    plotted = []
    for k, (role, clf, colour, marker) in enumerate(evaluators):
        offset = (k - 0.5) * 0.25
        mean = np.array([100 * r["error"][clf]["mean"] for r in rows])
        sd = np.array([100 * r["error"][clf]["sd"] for r in rows])
        ax.errorbar(mean, y + offset, xerr=sd, fmt=marker, color=colour, markersize=3,
                    elinewidth=0.6, capsize=1.5, label=f"{clf} ({role} evaluator), mean ± SD")
        for i, r in enumerate(rows):
            values = [100 * v for v in r["error"][clf]["values"]]
            ax.plot(values, [y[i] + offset] * len(values), marker, color=colour, markersize=1.8,
                    alpha=0.45, markerfacecolor="none", markeredgewidth=0.5)
            for seed, v in zip(summary["seeds"], values):
                plotted.append({"label": r["label"], "evaluator": clf, "role": role,
                                "seed": seed, "error_percent": v})
            plotted.append({"label": r["label"], "evaluator": clf, "role": role, "seed": "mean",
                            "error_percent": mean[i], "sd": sd[i]})
    _finish(ax, y, [r["label"] for r in rows],
            "classification error of the outputs (%); small markers: one training seed")
    rhos = ", ".join("undefined" if result["per_seed"][str(s)]["rank_correlation"]
                     ["spearman_rho"] is None else
                     f"{result['per_seed'][str(s)]['rank_correlation']['spearman_rho']:.2f}"
                     for s in summary["seeds"])
    title = (f"{task}: error on a standard vs a robust evaluator over {len(summary['seeds'])} "
             f"training seeds, {result['n_images']} test images (Spearman rho per seed {rhos})")
    prov = result_provenance("error-ranking-seeds", result, path)
    return PaperFigure("error-ranking-seeds", f"error-ranking-seeds_{task_slug(task)}", fig,
                       plotted, prov, title,
                       extra={"spearman_rho": summary["spearman_rho"]["values"]})
