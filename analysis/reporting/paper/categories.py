"""``category-transfer``: plain and RA accuracy per (processors' half, evaluation half) with 95 %
CIs, from ``category_transfer_<task>.json`` (the RA paper's Table 7 analog)."""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import BAR_COLOURS, HATCHES

METHODS = ("plain", "ra")


def build_category_transfer(options: FigureOptions) -> PaperFigure:
    """One pair of bars (plain, RA) per (processors' half, evaluation half) cell with its
    Wilson 95 % CI; each pair is labelled with RA - plain (points) and its paired CI."""
    task = options.task_spec()
    path, result = load_result(options, f"category_transfer_{task_slug(task)}.json",
                               f"python -m analysis category-transfer --task "
                               f"{options.task_name()}")
    pairs = [(s, e) for s, row in result["cells"].items() for e in row]
    fig = new_figure(options.width, 2.4)
    ax = fig.subplots()
    x = np.arange(len(pairs))
    width = 0.38
    plotted = []
    for k, method in enumerate(METHODS):
        for i, (s, e) in enumerate(pairs):
            cell = result["cells"][s][e][method]
            low, high = cell["ci95"]
            ax.bar(x[i] + (k - 0.5) * width, 100 * cell["accuracy"], width,
                   yerr=[[100 * (cell["accuracy"] - low)], [100 * (high - cell["accuracy"])]],
                   color=BAR_COLOURS[k], hatch=HATCHES[k], edgecolor="black", linewidth=0.4,
                   error_kw={"elinewidth": 0.6, "capsize": 1.5},
                   label=("plain" if method == "plain" else "RA") if i == 0 else None)
    for i, (s, e) in enumerate(pairs):
        c = result["cells"][s][e]
        d = c["ra_minus_plain"]
        top = 100 * max(c[m]["ci95"][1] for m in METHODS)
        ax.annotate(f"{100 * d['diff']:+.1f}\n[{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]",
                    (x[i], top), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=5.5)
        plotted.append({"processors_half": s, "evaluation_half": e,
                        "classifier": c["classifier"], "same_half": s == e,
                        **{f"{m}_pct": 100 * c[m]["accuracy"] for m in METHODS},
                        **{f"{m}_ci95_{end}_pct": 100 * c[m]["ci95"][j]
                           for m in METHODS for j, end in enumerate(("low", "high"))},
                        "ra_minus_plain_points": 100 * d["diff"],
                        "ra_minus_plain_ci95_low_points": 100 * d["ci95"][0],
                        "ra_minus_plain_ci95_high_points": 100 * d["ci95"][1],
                        **{f"psnr_{m}_db": c["psnr"][m]["mean"] for m in METHODS}})
    ax.set_xticks(x, [f"P on {s}\nevaluated on {e}" + ("" if s == e else "\n(unseen classes)")
                      for s, e in pairs])
    ax.set_ylabel("accuracy (%)")
    ax.grid(axis="y", alpha=0.3, linewidth=0.4)
    ax.legend(loc="lower right", fontsize=6)
    lows = [100 * result["cells"][s][e][m]["ci95"][0] for s, e in pairs for m in METHODS]
    highs = [100 * result["cells"][s][e][m]["ci95"][1] for s, e in pairs for m in METHODS]
    ax.set_ylim(max(0.0, min(lows) - 5), min(100.0, max(highs) + 6))
    n = sum(result["n_images"].values())
    title = (f"{task}: transfer across categories (halves a, b of {result['dataset']}), "
             f"{n} test images; labels: RA - plain (points, paired 95 % CI)")
    record = result["provenance"]
    prov = figure_provenance("category-transfer", dataset=result["dataset"],
                             split=result.get("split", "test"), n_images=n,
                             checkpoints=record.get("checkpoints", {}),
                             seeds=record.get("seeds", {}),
                             sources=[path])
    return PaperFigure("category-transfer", f"category_transfer_{task_slug(task)}", fig,
                       plotted, prov, title)
