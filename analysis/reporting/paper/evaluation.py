"""Figures over ``evaluate_<task>.json`` (``python -m analysis reproduce``): the lambda trade-off
(Table 16 analog) and the transfer heatmap (Table 3 analog). Rows come from
:mod:`analysis.reporting.tables`, as the tables and the app's plotly figures read them."""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from ..tables import lambda_rows, task_name, transfer_rows
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import LINE_COLOURS, LINESTYLES, MARKERS

RESULTS_COMMAND = "python -m analysis reproduce"


def load_evaluation(options: FigureOptions):
    return load_result(options, f"evaluate_{task_slug(options.task_spec())}.json",
                       RESULTS_COMMAND)


def evaluation_provenance(kind: str, result: dict, path, options: FigureOptions) -> dict:
    return figure_provenance(kind, dataset=result["dataset"], split=result.get("split", "test"),
                             n_images=result["n_images"], checkpoints=result.get("models", {}),
                             seeds={"degradation": result.get("seed", 0), "figure": options.seed},
                             sources=[path])


def chosen_classifiers(result: dict, wanted: list[str] | None) -> list[str]:
    known = result["classifiers"]
    for name in wanted or []:
        if name not in known:
            raise unknown_name("classifier", name, known)
    return list(wanted) if wanted else list(known)


def lambda_sources(result: dict) -> list[str]:
    """The classifiers that are the source of RA processors at two or more lambdas (the
    sources a ``lambda`` figure can be drawn for)."""
    return [c for c in result["classifiers"]
            if sum(r["method"] == "ra" for r in lambda_rows(result, c)) >= 2]


def build_lambda(options: FigureOptions) -> PaperFigure:
    """PSNR (x) vs accuracy (y, %, 95 % Wilson CI as error bars), one line per classifier, one
    point per lambda of the RA processors trained with the source ``--classifier`` (default
    the source of <task>-ra); lambda = 0 is the plain processor."""
    path, result = load_evaluation(options)
    ra = next((r for r in result["rows"] if r["name"] == f"{task_name(result)}-ra"), {})
    source = (options.classifier or ra.get("source")
              or next(iter(result["classifiers"]), "resnet20"))
    rows = lambda_rows(result, source)
    if source not in lambda_sources(result):
        advice = options.zoo_advice(("ra@0.01", "ra@0.1"), source)
        raise RAExplorerError(f"{path.name} holds fewer than two RA processors with source "
                              f"{source} at different lambdas; {advice}, then "
                              f"'{options.command(RESULTS_COMMAND)}'.")
    clfs = chosen_classifiers(result, options.classifiers)
    fig = new_figure(options.width, options.width * 0.62)
    ax = fig.add_subplot()
    plotted = []
    psnr = [r["psnr"]["mean"] for r in rows]
    for k, clf in enumerate(clfs):
        acc = np.array([100 * r["accuracy"][clf]["accuracy"] for r in rows])
        lo = np.array([100 * r["accuracy"][clf]["ci95"][0] for r in rows])
        hi = np.array([100 * r["accuracy"][clf]["ci95"][1] for r in rows])
        label = f"{clf} (source)" if clf == source else clf
        ax.errorbar(psnr, acc, yerr=[acc - lo, hi - acc], color=LINE_COLOURS[k % 8],
                    marker=MARKERS[k % 8], linestyle=LINESTYLES[k % 8], capsize=1.5,
                    elinewidth=0.5, label=label, gid=f"line-{clf}")
        for r, a, lo_, hi_ in zip(rows, acc, lo, hi):
            plotted.append({"classifier": clf, "processor": r["name"], "lambda": r["lambda"] or 0.0,
                            "psnr_db": r["psnr"]["mean"], "accuracy_pct": a,
                            "ci95_low_pct": lo_, "ci95_high_pct": hi_})
    if source in clfs:   # λ beside each point of the source's line
        for r, x in zip(rows, psnr):
            ax.annotate(f"λ={r['lambda'] or 0:g}", (x, 100 * r["accuracy"][source]["accuracy"]),
                        xytext=(-3, 4), textcoords="offset points", ha="right", va="bottom",
                        fontsize=6)
    ax.set_xlabel("PSNR (dB)")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3, linewidth=0.4)
    ax.legend(ncols=min(3, len(clfs)), loc="lower left")
    title = (f"{result['task']}: PSNR vs accuracy of RA (source {source}) at each λ, "
             f"{result['n_images']} test images")
    return PaperFigure("lambda", f"lambda_{task_slug(result['task'])}", fig, plotted,
                       evaluation_provenance("lambda", result, path, options), title,
                       extra={"classifiers": clfs})


def build_transfer(options: FigureOptions) -> PaperFigure:
    """Heatmap: RA trained on a source classifier (rows) tested on each target (columns); the
    cell is the paired accuracy gain over plain in points, its 95 % CI written in the cell."""
    path, result = load_evaluation(options)
    rows = transfer_rows(result)
    if not rows or result.get("plain") is None:
        source = next((r["source"] for r in result["rows"]
                       if r["method"] == "ra" and r.get("source")), None)
        other = next((c for c in result["classifiers"] if c != source), "resnet32")
        models = (*(("plain",) if result.get("plain") is None else ()),
                  "ra" if source is None else f"ra-src:{other}")
        advice = options.zoo_advice(models, source or next(iter(result["classifiers"]),
                                                          "resnet20"))
        raise RAExplorerError(f"{path.name} holds no RA processors trained on several source "
                              f"classifiers and a plain one; {advice}, then "
                              f"'{options.command(RESULTS_COMMAND)}'.")
    clfs = chosen_classifiers(result, options.classifiers)
    gain = np.array([[100 * r["vs_plain"][c]["diff"] for c in clfs] for r in rows])
    fig = new_figure(options.width, 0.9 + 0.32 * len(rows) + 0.3)
    ax = fig.add_subplot()
    image = ax.imshow(gain, cmap="cividis", aspect="auto")
    plotted = []
    mid = (np.nanmax(gain) + np.nanmin(gain)) / 2
    for i, r in enumerate(rows):
        for j, c in enumerate(clfs):
            d = r["vs_plain"][c]
            lo, hi = 100 * d["ci95"][0], 100 * d["ci95"][1]
            ax.text(j, i, f"{gain[i, j]:+.1f}\n[{lo:+.1f}, {hi:+.1f}]", ha="center", va="center",
                    fontsize=6, color="black" if gain[i, j] > mid else "white")
            plotted.append({"source": r["source"], "processor": r["name"], "target": c,
                            "gain_points": gain[i, j], "ci95_low_points": lo,
                            "ci95_high_points": hi,
                            "accuracy_pct": 100 * r["accuracy"][c]["accuracy"]})
    ax.set_xticks(range(len(clfs)), clfs, rotation=20, ha="right")
    ax.set_yticks(range(len(rows)), [r["source"] for r in rows])
    ax.set_xlabel("target classifier")
    ax.set_ylabel("source classifier")
    fig.colorbar(image, ax=ax, label="gain over plain (points)", shrink=0.9)
    title = (f"{result['task']}: paired accuracy gain of RA over plain, source x target, "
             f"{result['n_images']} test images")
    return PaperFigure("transfer", f"transfer_{task_slug(result['task'])}", fig, plotted,
                       evaluation_provenance("transfer", result, path, options), title)
