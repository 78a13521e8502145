"""``corruption-grid`` and ``reliability``: the corruption grid as heatmaps (from
``corruption_grid.json``) and reliability diagrams of a task's record table
(``records_<task>.parquet``).

* corruption-grid: one panel per row of the grid (classifier x input; three panels to a line),
  corruption types down, severities across; the colour is the accuracy (%), each cell's text
  the accuracy and the half width of its bootstrap 95 % CI; the panel title gives the row's
  mCE.
* reliability: one panel per input (``--processors``; default clean, no processing and the
  table's first two processors) for one classifier (``--classifier``; default the table's
  first): per confidence bin (15 equal-width bins of the top-1 probability) the accuracy as a
  bar, the bin's mean confidence as a marker, the diagonal of perfect calibration; the panel
  title gives the ECE and the number of images.
"""

from __future__ import annotations

import numpy as np

from ...data.tasks import create_task, task_slug
from ...errors import RAExplorerError, unknown_name
from ...pipeline.records import RecordTable, shipped_records_path
from ...pipeline.runner import CLEAN, NO_PROCESSING
from ...stats import calibration_bins, expected_calibration_error
from .core import (
    FigureOptions,
    PaperFigure,
    figure_provenance,
    load_result,
    new_figure,
    result_provenance,
)
from .style import LINE_COLOURS

GRID_FILE = "corruption_grid.json"
MAX_PANELS_PER_ROW = 3    # a row of the grid per panel; more panels wrap to the next line
GRID_COMMAND = "python -m analysis corruption-grid"


def _short(row: dict) -> str:
    if row["input"] == "none":
        return f"{row['classifier']}\nno processing"
    unseen = not any((row.get("seen") or {}).values())
    return (f"{row['classifier']}\n{row['input']}"
            + (f" (trained on {row['trained_on']} only)" if unseen else ""))


def build_corruption_grid(options: FigureOptions) -> PaperFigure:
    """Heatmaps of accuracy per corruption type x severity, one per row of the grid (or the
    rows whose input is in ``--processors``; ``none`` is the corrupted input itself)."""
    path, result = load_result(options, GRID_FILE, GRID_COMMAND)
    rows = result["rows"]
    if options.processors:
        known = sorted({r["input"] for r in rows})
        for name in options.processors:
            if name not in known:
                raise unknown_name("input of " + path.name, name, known)
        rows = [r for r in rows if r["input"] in options.processors]
    if not rows:
        raise RAExplorerError(f"{path.name} has no rows to plot.")
    types, levels = result["types"], result["levels"]
    spec = {(t, lv): None for t in types for lv in levels}
    for s in result["cells"]:
        params = create_task(s).params
        spec[(params["type"], params["level"])] = s
    ncols = min(len(rows), MAX_PANELS_PER_ROW)
    nrows = -(-len(rows) // ncols)
    fig = new_figure(options.width, nrows * (0.9 + 0.19 * len(types)))
    grid = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(rows):]:
        ax.set_visible(False)
    plotted, image = [], None
    for ax, row in zip(axes, rows):
        acc = np.full((len(types), len(levels)), np.nan)
        for i, t in enumerate(types):
            for j, lv in enumerate(levels):
                s = spec[(t, lv)]
                if s is None:
                    continue
                cell = row["cells"][s]
                acc[i, j] = 100 * cell["accuracy"]
                half = 50 * (cell["ci95"][1] - cell["ci95"][0])
                ax.text(j, i, f"{acc[i, j]:.0f}±{half:.0f}", ha="center", va="center",
                        fontsize=6, color="white" if acc[i, j] < 55 else "black")
                plotted.append({"classifier": row["classifier"], "input": row["input"],
                                "trained_on": row.get("trained_on"), "type": t, "level": lv,
                                "accuracy_pct": acc[i, j],
                                "ci95_low_pct": 100 * cell["ci95"][0],
                                "ci95_high_pct": 100 * cell["ci95"][1], "ece": cell["ece"]})
        image = ax.imshow(acc, cmap="viridis", vmin=0, vmax=100, aspect="auto")
        ax.set_xticks(range(len(levels)), [str(lv) for lv in levels])
        ax.set_xlabel("severity")
        mce = row["mce"]
        ax.set_title(f"{_short(row)}\nmCE {mce['value']:.3f} "
                     f"[{mce['ci95'][0]:.3f}, {mce['ci95'][1]:.3f}]", fontsize=7)
    for first in grid[:, 0]:
        first.set_yticks(range(len(types)), [t.replace("_", " ") for t in types])
    fig.colorbar(image, ax=axes[:len(rows)], shrink=0.6, label="accuracy (%)")
    title = (f"Accuracy per corruption type and severity, {result['n_images']} test images "
             f"(cell: accuracy ± half-width of the bootstrap 95 % CI)")
    prov = result_provenance("corruption-grid", result, path)
    return PaperFigure("corruption-grid", "corruption-grid", fig, plotted, prov, title)


def reliability_diagram(ax, confidence, correct, label: str, colour=LINE_COLOURS[0]) -> dict:
    """Draw the reliability diagram of top-1 predictions on ``ax`` (accuracy bars per bin of
    :func:`analysis.stats.calibration_bins`, mean-confidence markers, the diagonal); returns
    the bins with the ECE added."""
    bins = calibration_bins(confidence, correct)
    edges = np.asarray(bins["edges"])
    width = np.diff(edges)
    acc = np.nan_to_num(np.asarray(bins["accuracy"]))
    ax.bar(edges[:-1], acc, width=width, align="edge", color=colour, edgecolor="black",
           linewidth=0.3, alpha=0.8, label="accuracy")
    ax.plot(bins["confidence"], bins["confidence"], "k_", markersize=5, label="mean confidence")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.6, linestyle="--")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ece = expected_calibration_error(confidence, correct)
    ax.set_title(f"{label}\nECE {ece:.3f} ({int(sum(bins['count']))} images)")
    ax.set_xlabel("confidence (top-1 probability)")
    return {**bins, "ece": ece}


def build_reliability(options: FigureOptions) -> PaperFigure:
    """Reliability diagrams of one classifier on a task's inputs, from its record table."""
    task = options.task_spec()
    path = shipped_records_path(options.results_dir(), task)
    if not path.is_file():
        raise RAExplorerError(f"The figure needs {path}, which is not there; make it with "
                              f"'{options.command(f'python -m analysis reproduce --tasks {task}')}'.")
    table = RecordTable.load(path)
    classifier = options.classifier or table.classifiers[0]
    if classifier not in table.classifiers:
        raise unknown_name("classifier in " + path.name, classifier, table.classifiers)
    processors = [i for i in table.inputs if i not in (CLEAN, NO_PROCESSING)]
    inputs = options.processors or [CLEAN, NO_PROCESSING, *processors[:2]]
    for name in inputs:
        if name not in table.inputs:
            raise unknown_name("input in " + path.name, name, table.inputs)
    fig = new_figure(options.width, 0.45 * options.width / max(2, len(inputs)) * 2 + 0.5)
    axes = fig.subplots(1, len(inputs), sharey=True, squeeze=False)[0]
    plotted = []
    for k, (ax, inp) in enumerate(zip(axes, inputs)):
        bins = reliability_diagram(ax, table.prob[(inp, classifier)].astype(np.float64),
                                   table.correct(inp, classifier), inp,
                                   LINE_COLOURS[k % len(LINE_COLOURS)])
        for b in range(len(bins["count"])):
            plotted.append({"input": inp, "classifier": classifier,
                            "bin_low": bins["edges"][b], "bin_high": bins["edges"][b + 1],
                            "count": bins["count"][b], "accuracy": bins["accuracy"][b],
                            "mean_confidence": bins["confidence"][b], "ece": bins["ece"]})
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left")
    title = f"{task}: reliability of {classifier}, {len(table)} test images"
    prov = figure_provenance("reliability", dataset=table.dataset, split=table.split,
                             n_images=len(table),
                             checkpoints=table.provenance.get("checkpoints", {}),
                             seeds={"degradation": table.provenance.get("seeds", {}).get(
                                 "degradation", 0)}, sources=[path])
    return PaperFigure("reliability", f"reliability_{task_slug(task)}_{classifier}", fig,
                       plotted, prov, title)
