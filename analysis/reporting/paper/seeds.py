"""``seeds``: RA - plain on the source classifier per method and training seed, each with its
matched-pairs 95 % CI, and the mean over seeds, from ``seeds_<task>.json`` (the across-seed
restatement of the RA paper's Table 1 claims)."""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import BAR_COLOURS

LABELS = {"ra": "RA", "ra-unsup": "unsupervised RA", "ra-transformer": "RA with transformer",
          "perceptual": "perceptual", "robust-perceptual": "robust-perceptual"}
MARKERS = ("o", "s", "^", "D", "v")


def build_seeds(options: FigureOptions) -> PaperFigure:
    """One row per method: a marker per training seed at RA - plain (points) with its 95 % CI
    and a bar at the mean over seeds; 0 drawn as a line."""
    task = options.task_spec()
    path, result = load_result(options, f"seeds_{task_slug(task)}.json",
                               f"python -m analysis seeds --task {options.task_name()}")
    judged = result["source"] if result["source"] in result["classifiers"] else \
        result["classifiers"][0]
    seeds = list(result["per_seed"])
    methods = [m for m in LABELS if any(m in rows for rows in result["per_seed"].values())]
    fig = new_figure(options.width, 0.8 + 0.32 * len(methods))
    ax = fig.subplots()
    y = np.arange(len(methods))[::-1]
    plotted = []
    for i, method in enumerate(methods):
        values = []
        for k, seed in enumerate(seeds):
            row = result["per_seed"][seed].get(method)
            if row is None:
                continue
            d = row["ra_minus_plain"][judged]
            value, (low, high) = 100 * d["diff"], (100 * d["ci95"][0], 100 * d["ci95"][1])
            values.append(value)
            offset = (k - (len(seeds) - 1) / 2) * 0.18
            ax.errorbar(value, y[i] + offset, xerr=[[value - low], [high - value]],
                        fmt=MARKERS[k % len(MARKERS)], color=BAR_COLOURS[k % len(BAR_COLOURS)],
                        markersize=3, elinewidth=0.6, capsize=1.5,
                        label=f"seed {seed}" if i == 0 else None)
            plotted.append({"method": method, "seed": int(seed), "processor": row["name"],
                            "classifier": judged, "ra_minus_plain_points": value,
                            "ci95_low_points": low, "ci95_high_points": high,
                            "psnr_db": row["psnr"]["mean"]})
        if values:
            ax.plot([np.mean(values)] * 2, [y[i] - 0.35, y[i] + 0.35], color="black",
                    linewidth=1.0)
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set_yticks(y, [LABELS[m] for m in methods])
    ax.set_xlabel(f"method - plain of the same seed on {judged} (points; bar: mean over seeds)")
    ax.grid(axis="x", alpha=0.3, linewidth=0.4)
    ax.legend(loc="lower right", fontsize=6, frameon=False)
    title = (f"{task}: {len(seeds)} training seeds on {result['dataset']}, "
             f"{result['n_images']} test images, matched-pairs 95 % CIs")
    record = result["provenance"]
    prov = figure_provenance("seeds", dataset=result["dataset"],
                             split=result.get("split", "test"), n_images=result["n_images"],
                             checkpoints=record.get("checkpoints", {}),
                             seeds=record.get("seeds", {}), sources=[path])
    return PaperFigure("seeds", f"seeds_{task_slug(task)}", fig, plotted, prov, title)
