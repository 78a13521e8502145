"""``bd``: ECDFs of the boundary distances BD(Rs), BD(Rt) and IBD along RA vs random
directions, from ``boundaries_<task>_<source>_<target>.json`` (Table 17's records)."""

from __future__ import annotations

import math

import numpy as np

from ...data.tasks import task_slug
from ...errors import RAExplorerError
from ...zoo.catalogue import classifier_cards
from .core import (
    FigureOptions,
    PaperFigure,
    check_weights,
    figure_provenance,
    new_figure,
    read_result,
)
from .style import LINE_COLOURS, LINESTYLES

DIRECTION_LABELS = {"random": "random", "ra": "RA (d_RA)"}


def bd_command(options: FigureOptions) -> str:
    """The ``bd`` line that makes the figure's boundary table for its dataset: the pair asked
    for, else two classifiers of the dataset's zoo (resnet20 and densenet-bc first)."""
    try:
        names = [c["name"] for c in classifier_cards(options.checkpoints, options.dataset_spec())]
    except RAExplorerError:
        names = []
    names = sorted(names, key=lambda n: (n not in ("resnet20", "densenet-bc"), n != "resnet20"))
    source = options.classifier or (names[0] if names else "resnet20")
    others = [n for n in names if n != source]
    target = options.target or (others[0] if others else "densenet-bc")
    return options.command(f"python -m analysis bd --task {options.task_name()} "
                           f"--source {source} --target {target}")


def boundaries_file(options: FigureOptions):
    slug = task_slug(options.task_spec())
    folder = options.results_dir()
    source = options.classifier or "*"
    target = options.target or "*"
    found = sorted(folder.glob(f"boundaries_{slug}_{source}_{target}.json"))
    if not found:
        raise RAExplorerError(f"The figure needs a boundaries_{slug}_*.json in {folder} for this "
                              f"pair, which is not there; make it with '{bd_command(options)}'.")
    pair = (read_result(options, found[0], bd_command(options)).get("pairs") or [{}])[0]
    check_weights(options, found[0], options.command(
        f"python -m analysis bd --task {options.task_name()} --source "
        f"{pair.get('source', options.classifier)} --target {pair.get('target', options.target)}"))
    return found[0]


def ecdf(values) -> tuple[np.ndarray, np.ndarray]:
    """(sorted uncensored values, fraction of all values <= each): censored pairs count in the
    denominator, so a curve that ends below 1 shows how many never crossed."""
    arr = np.asarray(values, dtype=np.float64)
    n = arr.size
    xs = np.sort(arr[~np.isnan(arr)])
    return xs, np.arange(1, xs.size + 1) / max(n, 1)


def method_phrase(report: dict) -> str:
    """How the figure's numbers were measured: the BD method, and the nearest boundary's
    attack and budget when the report has them."""
    method = "exact region walk" if report.get("method") == "exact" else "sampled search"
    nearest = report.get("nearest")
    if nearest:
        method += f"; NB: {nearest['attack'].upper()} {nearest['steps']} steps, an upper bound"
    return method


def build_bd(options: FigureOptions) -> PaperFigure:
    """Three panels (BD of the source, BD of the target, IBD), each the ECDF along random and
    along RA directions, x on a log scale in [0,1]-pixel L2; with the nearest boundary NB in the
    records (``bd --nearest``, the default), NB is a third line in the two BD panels (not in
IBD's: IBD compares two classifiers along one shared direction, and each classifier's NB
point is its own) and a second row
    shows BD / NB of each classifier per direction and, with perceptual distances, BD in
    perceptual units (``lpips-<classifier>``)."""
    path = boundaries_file(options)
    report = read_result(options, path, bd_command(options))
    if not report.get("records"):
        raise RAExplorerError(f"{path.name} has no per-image records to plot; rerun "
                              f"'{bd_command(options)}'.")
    pair = report["pairs"][0]
    src, tgt = pair["source"], pair["target"]
    records = report["records"]
    has_nearest = all("nearest" in r for r in records)
    has_perceptual = all("perceptual" in r for r in records) and bool(report.get("perceptual"))
    labels = dict(DIRECTION_LABELS)
    if has_nearest:
        labels["nearest"] = f"nearest (NB, {report['nearest']['attack'].upper()})"
    values = {}
    for direction in labels:
        if direction == "nearest":
            bd_s = [r["nearest"][src] for r in records]
            bd_t = [r["nearest"][tgt] for r in records]
        else:
            bd_s = [r["bd"][src][direction] for r in records]
            bd_t = [r["bd"][tgt][direction] for r in records]
        values[direction] = {f"BD({src})": bd_s, f"BD({tgt})": bd_t}
        if direction != "nearest":   # IBD is along one direction both share; NB's points differ
            values[direction][f"IBD({src}, {tgt})"] = [
                abs(a - b) if not (math.isnan(a) or math.isnan(b)) else math.nan
                for a, b in zip(bd_s, bd_t)]
    rows = 2 if has_nearest or has_perceptual else 1
    fig = new_figure(options.width, options.width * 0.36 * rows)
    axes = fig.subplots(rows, 3, squeeze=False)
    plotted = []

    def draw(ax, curves, quantity, xlabel):
        for k, (label, key, vals) in enumerate(curves):
            xs, fs = ecdf(vals)
            censored = int(np.isnan(np.asarray(vals, float)).sum())
            ax.step(xs, fs, where="post", color=LINE_COLOURS[k % len(LINE_COLOURS)],
                    linestyle=LINESTYLES[k % len(LINESTYLES)],
                    label=f"{label} ({censored} censored)" if censored else label)
            plotted.extend({"quantity": quantity, "direction": key, "distance": float(f"{x:.7g}"),
                            "fraction_at_most": float(f"{f:.6g}")} for x, f in zip(xs, fs))
        ax.set_xscale("log")
        ax.set_title(quantity)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, linewidth=0.4)
        ax.legend(loc="upper left")
        ax.set_ylim(0, 1.02)

    for ax, quantity in zip(axes[0], values["random"]):
        draw(ax, [(label, d, values[d][quantity]) for d, label in labels.items()
                  if quantity in values[d]], quantity, "distance ([0,1]-pixel L2)")
    if rows == 2:
        second = list(axes[1])
        if has_nearest:
            for c in (src, tgt):
                nb = [r["nearest"][c] for r in records]
                curves = [(DIRECTION_LABELS[d], d, [r["bd"][c][d] / n if n > 0 else math.nan
                                                    for r, n in zip(records, nb)])
                          for d in DIRECTION_LABELS]
                ax = second.pop(0)
                draw(ax, curves, f"BD({c}) / NB({c})", "ratio (1: as near as the attack's point)")
                ax.axvline(1.0, color="black", linewidth=0.5)
        if has_perceptual:
            metric = report["perceptual"]
            curves = [(f"{labels[d]}, {c}", f"{d}/{c}", [r["perceptual"][c].get(d, math.nan)
                                                          for r in records])
                      for c in (src, tgt) for d in labels]
            draw(second.pop(0), curves, f"BD in {metric} units", f"{metric} (x, crossing point)")
        for ax in second:
            ax.set_axis_off()
    for row in axes:
        row[0].set_ylabel("fraction of images")
    title = (f"{report['task']}: BD / IBD along RA vs random directions, {pair['selected']} images "
             f"({src} vs {tgt}; {method_phrase(report)})")
    prov = figure_provenance("bd", dataset=report["dataset"], split="test",
                             n_images=pair["selected"], checkpoints=report.get("models", {}),
                             seeds={"directions": report.get("seed", 0)}, sources=[path])
    return PaperFigure("bd", f"bd_{task_slug(report['task'])}_{src}_{tgt}", fig, plotted, prov,
                       title)
