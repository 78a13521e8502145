"""``detection-transfer``: each detector's mAP@[.5:.95] after every processor, with 95 % CIs,
from ``detection_transfer_<task>.json`` (the RA paper's Tables 2, 4, 8, 10 analogs)."""

from __future__ import annotations

import numpy as np

from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure
from .style import BAR_COLOURS, HATCHES

KEY = "map"      # mAP@[.5:.95]; the CSV holds mAP@.5 as well


def build_detection_transfer(options: FigureOptions) -> PaperFigure:
    """One panel per detector, one bar per input (clean, no processing, each processor, or
    ``--processors``) with its 95 % bootstrap CI over canvases; a processor's label carries its
    paired difference to its baseline (the plain processor trained on the same data) in mAP
    points where the row has one."""
    task = options.task_spec()
    path, result = load_result(options, f"detection_transfer_{task_slug(task)}.json",
                               f"python -m analysis detection-transfer --task "
                               f"{options.task_name()}")
    by_name = {r["name"]: r for r in result["rows"]}
    for name in options.processors or []:
        if name not in by_name:
            raise unknown_name("input in " + path.name, name, list(by_name))
    rows = [by_name[n] for n in options.processors] if options.processors else result["rows"]
    dets = list(result["detectors"])
    if not rows or not dets:
        raise RAExplorerError(f"{path.name} has no rows to plot.")
    fig = new_figure(options.width, 0.7 + 0.2 * len(rows))
    axes = fig.subplots(1, len(dets), sharey=True, squeeze=False)[0]
    y = np.arange(len(rows))
    plotted = []
    for ax, d in zip(axes, dets):
        for k, r in enumerate(rows):
            cell = r["map"][d][KEY]
            ax.barh(y[k], 100 * cell["value"],
                    xerr=[[100 * (cell["value"] - cell["low"])],
                          [100 * (cell["high"] - cell["value"])]],
                    color=BAR_COLOURS[k % 8], hatch=HATCHES[k % 8], edgecolor="black",
                    linewidth=0.4, error_kw={"elinewidth": 0.6, "capsize": 1.5})
            vs = (r.get("vs_baseline") or {}).get(d)
            if vs:
                ax.annotate(f"{100 * vs[KEY]['value']:+.1f}", (100 * cell["high"], y[k]),
                            xytext=(2, 0), textcoords="offset points", va="center", fontsize=6)
            plotted.append({
                "detector": d, "input": r["name"], "method": r.get("method"),
                "source": r.get("source"), "source_kind": r.get("source_kind"),
                "baseline": r.get("baseline"),
                **{f"{key}_pct": 100 * r["map"][d][key]["value"] for key in result["keys"]},
                **{f"{key}_ci95_{end}_pct": 100 * r["map"][d][key][end]
                   for key in result["keys"] for end in ("low", "high")},
                **{f"{key}_vs_baseline_points": (100 * vs[key]["value"] if vs else None)
                   for key in result["keys"]}})
        ax.set_title(d)
        ax.set_xlabel("mAP@[.5:.95] (%)")
        ax.grid(axis="x", alpha=0.3, linewidth=0.4)
    axes[0].set_yticks(y, [r["name"] for r in rows])
    axes[0].invert_yaxis()
    title = (f"{task}: detectors' mAP after each processor, {result['n_images']} test canvases; "
             "labels: paired difference to the row's plain baseline (points)")
    prov = figure_provenance("detection-transfer", dataset=result["dataset"],
                             split=result.get("split", "test"), n_images=result["n_images"],
                             checkpoints=result["provenance"].get("checkpoints", {}),
                             seeds=result["provenance"].get("seeds", {}), sources=[path])
    return PaperFigure("detection-transfer", f"detection_transfer_{task_slug(task)}", fig,
                       plotted, prov, title, extra={"detectors": dets})
