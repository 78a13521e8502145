"""``tsne``: the QualNet Fig. 2 style view of ``features_<task>_<classifier>.json``: per
panel, the HQ features as dark circles and one other source (LQ or a processor) as light
crosses, coloured by class, for a chosen subset of classes."""

from __future__ import annotations

from ...analyses.quality import task_slug
from ...errors import RAExplorerError, unknown_name
from .core import FigureOptions, PaperFigure, figure_provenance, new_figure, read_json, result_file
from .style import CLASS_COLOURS

DEFAULT_CLASSES = 4


def lighten(colour: str, amount: float = 0.55) -> tuple[float, float, float]:
    """``colour`` mixed with white (``amount`` of white)."""
    from matplotlib.colors import to_rgb

    return tuple(c + (1 - c) * amount for c in to_rgb(colour))


def build_tsne(options: FigureOptions) -> PaperFigure:
    """Panels: HQ vs each of ``--processors`` (default: LQ, <task>-plain, <task>-ra); classes
    ``--classes`` (default the first four)."""
    task = options.task_spec()
    clf = options.classifier or "resnet20"
    path = result_file(options, f"features_{task_slug(task)}_{clf}.json",
                       f"python -m analysis features --task {options.task_name()} "
                       f"--classifier {clf}")
    report = read_json(path)
    if not report.get("points"):
        raise RAExplorerError(f"{path.name} has no t-SNE embedding; rerun 'python -m analysis "
                              f"features --task {options.task_name()} --classifier {clf}'.")
    name = options.task_name()
    sources = options.processors or [s for s in ("LQ", f"{name}-plain", f"{name}-ra")
                                     if s in report["sources"]]
    for s in sources:
        if s not in report["sources"]:
            raise unknown_name("source in " + path.name, s, report["sources"])
    names = report["class_names"]
    classes = options.classes if options.classes is not None else list(range(DEFAULT_CLASSES))
    for c in classes:
        if not 0 <= c < len(names):
            raise RAExplorerError(f"Class {c} is not a class of {report['dataset']} "
                                  f"(0 to {len(names) - 1}).")
    fig = new_figure(options.width, options.width / len(sources) + 0.55)
    axes = fig.subplots(1, len(sources), squeeze=False)[0]
    chosen = [p for p in report["points"] if p["label"] in classes]
    plotted = []
    for ax, source in zip(axes, sources):
        for c in classes:
            colour = CLASS_COLOURS[c % len(CLASS_COLOURS)]
            hq = [p for p in chosen if p["source"] == "HQ" and p["label"] == c]
            other = [p for p in chosen if p["source"] == source and p["label"] == c]
            ax.scatter([p["x"] for p in other], [p["y"] for p in other], marker="x", s=6,
                       linewidths=0.5, color=lighten(colour), rasterized=False)
            ax.scatter([p["x"] for p in hq], [p["y"] for p in hq], marker="o", s=5,
                       color=colour, edgecolors="black", linewidths=0.2)
            plotted += [{"panel": source, "source": p["source"], "index": p["index"],
                         "label": names[p["label"]], "x": p["x"], "y": p["y"]}
                        for p in (*hq, *other)]
        ax.set_title(f"HQ (circles) vs {source} (crosses)")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=CLASS_COLOURS[c % 10],
                      markeredgecolor="black", markeredgewidth=0.2, label=names[c])
               for c in classes]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(classes))
    title = (f"{task}: t-SNE of {clf} features ({report['n_images']} images per source, "
             f"classes {', '.join(names[c] for c in classes)})")
    prov = figure_provenance("tsne", dataset=report["dataset"], split="test",
                             n_images=report["n_images"], checkpoints=report.get("models", {}),
                             seeds={"tsne": report.get("seed", 0)}, sources=[path])
    return PaperFigure("tsne", f"tsne_{task_slug(task)}_{clf}", fig, plotted, prov, title)
