"""``corruption-gain`` and ``severity-curves``: the processors trained on corruption cells
(``corruption_processors.json``, the RA paper's Tables 12-14).

* corruption-gain: RA - plain (points) at severity 5 per corruption type (down) and classifier
  (across; the RA source first), a diverging heatmap whose cell text is the difference and the
  half width of its matched-pairs 95 % CI; a cell whose CI lies above or below 0 is marked.
* severity-curves: for each type trained at several severities, the source classifier's
  accuracy against severity, one line per method (with the Wilson 95 % CIs as error bars) and
  no processing as a dashed line.
"""

from __future__ import annotations

import numpy as np

from ...errors import RAExplorerError
from .core import FigureOptions, PaperFigure, load_result, new_figure, result_provenance
from .style import LINE_COLOURS

CELLS_FILE = "corruption_processors.json"
CELLS_COMMAND = "python -m analysis corruption-processors"
GAIN_LEVEL = 5


def _judge(result: dict) -> str:
    clfs = result["classifiers"]
    return result["source"] if result.get("source") in clfs else clfs[0]


def build_corruption_gain(options: FigureOptions) -> PaperFigure:
    """RA - plain at severity 5 per type x classifier (Tables 12 and 14)."""
    path, result = load_result(options, CELLS_FILE, CELLS_COMMAND)
    judge = _judge(result)
    clfs = [judge, *[k for k in result["classifiers"] if k != judge]]
    cells = [c for c in result["cells"].values()
             if c["level"] == GAIN_LEVEL and "ra" in c["rows"]]
    if not cells:
        raise RAExplorerError(f"{path.name} has no severity-{GAIN_LEVEL} cell with an RA "
                              "processor.")
    gain = np.array([[100 * c["rows"]["ra"]["ra_minus_plain"][k]["diff"] for k in clfs]
                     for c in cells])
    top = max(float(np.abs(gain).max()), 1.0)
    fig = new_figure(options.width, 1.0 + 0.2 * len(cells))
    ax = fig.subplots()
    image = ax.imshow(gain, cmap="RdBu", vmin=-top, vmax=top, aspect="auto")
    plotted = []
    for i, cell in enumerate(cells):
        for j, k in enumerate(clfs):
            d = cell["rows"]["ra"]["ra_minus_plain"][k]
            low, high = 100 * d["ci95"][0], 100 * d["ci95"][1]
            mark = "*" if low > 0 or high < 0 else ""
            ax.text(j, i, f"{gain[i, j]:+.1f}±{(high - low) / 2:.1f}{mark}", ha="center",
                    va="center", fontsize=6,
                    color="white" if abs(gain[i, j]) > 0.6 * top else "black")
            plotted.append({"type": cell["type"], "level": cell["level"], "classifier": k,
                            "source": k == judge, "ra_minus_plain_points": gain[i, j],
                            "ci95_low_points": low, "ci95_high_points": high,
                            "plain_accuracy_pct": 100 * cell["rows"]["plain"]["accuracy"][k][
                                "accuracy"],
                            "ra_accuracy_pct": 100 * cell["rows"]["ra"]["accuracy"][k][
                                "accuracy"]})
    ax.set_xticks(range(len(clfs)), [f"{k}\n(source)" if k == judge else k for k in clfs],
                  fontsize=7)
    ax.set_yticks(range(len(cells)), [c["type"].replace("_", " ") for c in cells])
    fig.colorbar(image, ax=ax, shrink=0.7, label="RA - plain (points)")
    title = (f"RA - plain at severity {GAIN_LEVEL}, {result['n_images']} test images per type "
             "(± half-width of the matched-pairs 95 % CI; * CI excludes 0)")
    prov = result_provenance("corruption-gain", result, path)
    return PaperFigure("corruption-gain", "corruption-gain", fig, plotted, prov, title)


def build_severity_curves(options: FigureOptions) -> PaperFigure:
    """Accuracy against severity per method on the source classifier (Table 13)."""
    path, result = load_result(options, CELLS_FILE, CELLS_COMMAND)
    judge = _judge(result)
    by_type: dict[str, list[dict]] = {}
    for cell in result["cells"].values():
        by_type.setdefault(cell["type"], []).append(cell)
    curves = {t: sorted(cs, key=lambda c: c["level"]) for t, cs in by_type.items()
              if len(cs) > 1}
    if not curves:
        raise RAExplorerError(f"{path.name} has no corruption type trained at several "
                              "severities.")
    fig = new_figure(options.width, 0.45 * options.width / max(2, len(curves)) * 2 + 0.6)
    axes = fig.subplots(1, len(curves), sharey=True, squeeze=False)[0]
    plotted = []
    for ax, (kind, cells) in zip(axes, curves.items()):
        levels = [c["level"] for c in cells]
        methods = [m for m in ("plain", "ra", "ra-unsup", "ra-transformer")
                   if any(m in c["rows"] for c in cells)]
        none = [100 * c["no_processing"][judge]["accuracy"] for c in cells]
        ax.plot(levels, none, "--", color="0.5", label="no processing")
        for n, method in enumerate(methods):
            pts = [(c["level"], c["rows"][method]["accuracy"][judge]) for c in cells
                   if method in c["rows"]]
            x = [p[0] for p in pts]
            y = [100 * p[1]["accuracy"] for p in pts]
            err = [[100 * (p[1]["accuracy"] - p[1]["ci95"][0]) for p in pts],
                   [100 * (p[1]["ci95"][1] - p[1]["accuracy"]) for p in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", markersize=3, capsize=2,
                        color=LINE_COLOURS[n % len(LINE_COLOURS)], label=method)
            for (level, cell), acc in zip(pts, y):
                plotted.append({"type": kind, "level": level, "method": method,
                                "classifier": judge, "accuracy_pct": acc,
                                "ci95_low_pct": 100 * cell["ci95"][0],
                                "ci95_high_pct": 100 * cell["ci95"][1]})
        ax.set_title(kind.replace("_", " "))
        ax.set_xticks(levels)
        ax.set_xlabel("severity")
    axes[0].set_ylabel(f"accuracy on {judge} (%)")
    axes[0].legend(fontsize=6)
    title = (f"Accuracy against severity on {judge}, {result['n_images']} test images per "
             "cell (Wilson 95 % CIs)")
    prov = result_provenance("severity-curves", result, path)
    return PaperFigure("severity-curves", "severity-curves", fig, plotted, prov, title)
