"""``architecture-transfer``: accuracy on the source classifier per processing architecture and
method with 95 % CIs, from ``architecture_transfer_<task>.json`` (the RA paper's Table 11
analog)."""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import BAR_COLOURS, HATCHES

LABELS = {"plain": "plain", "ra": "RA", "ra-unsup": "unsupervised RA",
          "ra-transformer": "RA with transformer"}


def build_architecture_transfer(options: FigureOptions) -> PaperFigure:
    """One group of bars per architecture (one bar per method, Wilson 95 % CI) of accuracy on
    the RA processors' source classifier; each RA bar is labelled with RA - plain (points)."""
    task = options.task_spec()
    path, result = load_result(options, f"architecture_transfer_{task_slug(task)}.json",
                               f"python -m analysis architecture-transfer --task "
                               f"{options.task_name()}")
    judged = result["source"] if result["source"] in result["classifiers"] else \
        result["classifiers"][0]
    archs = list(result["architectures"])
    methods = [m for m in LABELS if any(m in a["rows"] for a in result["architectures"].values())]
    fig = new_figure(options.width, 2.4)
    ax = fig.subplots()
    x = np.arange(len(archs))
    width = 0.8 / len(methods)
    plotted, lows, highs = [], [], []
    for k, method in enumerate(methods):
        for i, arch in enumerate(archs):
            row = result["architectures"][arch]["rows"].get(method)
            if row is None:
                continue
            cell = row["accuracy"][judged]
            low, high = cell["ci95"]
            lows.append(100 * low)
            highs.append(100 * high)
            centre = x[i] + (k - (len(methods) - 1) / 2) * width
            ax.bar(centre, 100 * cell["accuracy"], width,
                   yerr=[[100 * (cell["accuracy"] - low)], [100 * (high - cell["accuracy"])]],
                   color=BAR_COLOURS[k], hatch=HATCHES[k], edgecolor="black", linewidth=0.4,
                   error_kw={"elinewidth": 0.6, "capsize": 1.5},
                   label=LABELS[method] if i == 0 else None)
            entry = {"architecture": arch, "method": method, "processor": row["name"],
                     "classifier": judged, "accuracy_pct": 100 * cell["accuracy"],
                     "ci95_low_pct": 100 * low, "ci95_high_pct": 100 * high,
                     "psnr_db": row["psnr"]["mean"], "ssim": row["ssim"]["mean"]}
            d = (row.get("ra_minus_plain") or {}).get(judged)
            if d is not None:
                ax.annotate(f"{100 * d['diff']:+.1f}", (centre, 100 * high), xytext=(0, 1.5),
                            textcoords="offset points", ha="center", va="bottom", fontsize=5,
                            rotation=90)
                entry.update({"ra_minus_plain_points": 100 * d["diff"],
                              "ra_minus_plain_ci95_low_points": 100 * d["ci95"][0],
                              "ra_minus_plain_ci95_high_points": 100 * d["ci95"][1]})
            plotted.append(entry)
    ax.set_xticks(x, [f"{a}\n({result['architectures'][a]['parameters']:,} parameters)"
                      if result["architectures"][a].get("parameters") else a for a in archs])
    ax.set_ylabel(f"accuracy on {judged} (%)")
    ax.grid(axis="y", alpha=0.3, linewidth=0.4)
    ax.legend(loc="upper left", fontsize=6, ncol=len(methods), frameon=False)
    ax.set_ylim(max(0.0, min(lows) - 5), min(100.0, max(highs) + 9))
    title = (f"{task}: processing architectures on {result['dataset']}, "
             f"{result['n_images']} test images; labels: RA - plain of the same architecture "
             "(points)")
    record = result["provenance"]
    prov = figure_provenance("architecture-transfer", dataset=result["dataset"],
                             split=result.get("split", "test"), n_images=result["n_images"],
                             checkpoints=record.get("checkpoints", {}),
                             seeds=record.get("seeds", {}), sources=[path])
    return PaperFigure("architecture-transfer", f"architecture_transfer_{task_slug(task)}", fig,
                       plotted, prov, title)
