"""``tsne``: the QualNet Fig. 2 style view of ``features_<task>_<classifier>.json``: per
panel, the HQ features as dark circles and one other source (LQ or a processor) as light
crosses, coloured by class, for a chosen subset of classes.

Panels are the sources of one classifier (``--processors``), or, with two or more
``--classifiers``, one classifier each against one source (the first of ``--processors``,
default LQ) -- QualNet's Figure 2 (vanilla, augmentation, feature distillation, QualNet), with
each panel's convergence measures (distance to the own HQ feature, k-NN agreement,
silhouette) from its report under the panel."""

from __future__ import annotations

from ...data.tasks import task_slug
from ...errors import RAExplorerError, unknown_name
from ...palette import class_colour
from .core import FigureOptions, PaperFigure, figure_provenance, load_result, new_figure

DEFAULT_CLASSES = 4


def lighten(colour: str, amount: float = 0.55) -> tuple[float, float, float]:
    """``colour`` mixed with white (``amount`` of white)."""
    from matplotlib.colors import to_rgb

    return tuple(c + (1 - c) * amount for c in to_rgb(colour))


def classes_of(options: FigureOptions, report: dict) -> list[int]:
    names = report["class_names"]
    classes = options.classes if options.classes is not None else list(range(DEFAULT_CLASSES))
    for c in classes:
        if not 0 <= c < len(names):
            raise RAExplorerError(f"Class {c} is not a class of {report['dataset']} "
                                  f"(0 to {len(names) - 1}).")
    return classes


def draw_panel(ax, report: dict, source: str, classes: list[int], panel: str) -> list[dict]:
    """HQ as dark circles and ``source`` as light crosses, per class; the plotted rows."""
    names = report["class_names"]
    chosen = [p for p in report["points"] if p["label"] in classes]
    rows = []
    for c in classes:
        colour = class_colour(c)
        hq = [p for p in chosen if p["source"] == "HQ" and p["label"] == c]
        other = [p for p in chosen if p["source"] == source and p["label"] == c]
        ax.scatter([p["x"] for p in other], [p["y"] for p in other], marker="x", s=6,
                   linewidths=0.5, color=lighten(colour), rasterized=False)
        ax.scatter([p["x"] for p in hq], [p["y"] for p in hq], marker="o", s=5,
                   color=colour, edgecolors="black", linewidths=0.2)
        rows += [{"panel": panel, "source": p["source"], "index": p["index"],
                  "label": names[p["label"]], "x": p["x"], "y": p["y"]} for p in (*hq, *other)]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    return rows


def class_legend(fig, names: list[str], classes: list[int]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=class_colour(c),
                      markeredgecolor="black", markeredgewidth=0.2, label=names[c])
               for c in classes]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(classes))


def build_tsne_by_classifier(options: FigureOptions) -> PaperFigure:
    """QualNet Fig. 2: one panel per classifier of ``--classifiers``, HQ vs one source."""
    task = options.task_spec()
    source = (options.processors or ["LQ"])[0]
    reports, paths = {}, []
    for clf in options.classifiers:
        path, report = feature_report_of(options, clf)
        if source not in report["sources"]:
            raise unknown_name("source in " + path.name, source, report["sources"])
        reports[clf], paths = report, [*paths, path]
    first = next(iter(reports.values()))
    names = first["class_names"]
    classes = classes_of(options, first)
    fig = new_figure(options.width, options.width / len(reports) + 0.85)
    axes = fig.subplots(1, len(reports), squeeze=False)[0]
    plotted = []
    for ax, (clf, report) in zip(axes, reports.items()):
        plotted += draw_panel(ax, report, source, classes, clf)
        m = report["measures"]["sources"][source]
        ax.set_title(clf)
        ax.set_xlabel(f"HQ dist. {m['hq_distance']:.2f}, k-NN {m['knn_agreement']:.2f}, "
                      f"silh. {m['silhouette']:.2f}")
    class_legend(fig, names, classes)
    title = (f"{task}: t-SNE of each classifier's features, HQ (circles) vs {source} "
             f"(crosses); classes {', '.join(names[c] for c in classes)}")
    models = {}
    for report in reports.values():
        models.update(report.get("models", {}))
    prov = figure_provenance("tsne", dataset=first["dataset"], split="test",
                             n_images=first["n_images"], checkpoints=models,
                             seeds={"tsne": first.get("seed", 0)}, sources=paths)
    return PaperFigure("tsne", f"tsne_{task_slug(task)}_" + "_".join(reports), fig, plotted,
                       prov, title)


def feature_report_of(options: FigureOptions, clf: str):
    """(path, report) of ``features_<task>_<clf>.json``, or one sentence naming the command."""
    task = options.task_spec()
    command = f"python -m analysis tsne --task {options.task_name()} --classifier {clf}"
    path, report = load_result(options, f"features_{task_slug(task)}_{clf}.json", command)
    if not report.get("points"):
        raise RAExplorerError(f"{path.name} has no t-SNE embedding; rerun "
                              f"'{options.command(command)}'.")
    return path, report


def default_classifier(options: FigureOptions) -> str:
    """resnet20, else the first classifier with a feature report of the task in the results
    folder (a dataset of one's own has its own classifiers)."""
    prefix = f"features_{task_slug(options.task_spec())}_"
    found = sorted(p.name[len(prefix):-len(".json")]
                   for p in options.results_dir().glob(f"{prefix}*.json"))
    return "resnet20" if not found or "resnet20" in found else found[0]


def build_tsne(options: FigureOptions) -> PaperFigure:
    """Panels: HQ vs each of ``--processors`` (default: LQ, <task>-plain, <task>-ra); classes
    ``--classes`` (default the first four). Two or more ``--classifiers``: one panel each."""
    if options.classifiers and len(options.classifiers) > 1:
        return build_tsne_by_classifier(options)
    task = options.task_spec()
    clf = options.classifier or default_classifier(options)
    path, report = feature_report_of(options, clf)
    name = options.task_name()
    sources = options.processors or [s for s in ("LQ", f"{name}-plain", f"{name}-ra")
                                     if s in report["sources"]]
    for s in sources:
        if s not in report["sources"]:
            raise unknown_name("source in " + path.name, s, report["sources"])
    names = report["class_names"]
    classes = classes_of(options, report)
    fig = new_figure(options.width, options.width / len(sources) + 0.55)
    axes = fig.subplots(1, len(sources), squeeze=False)[0]
    plotted = []
    for ax, source in zip(axes, sources):
        plotted += draw_panel(ax, report, source, classes, source)
        ax.set_title(f"HQ (circles) vs {source} (crosses)")
    class_legend(fig, names, classes)
    title = (f"{task}: t-SNE of {clf} features ({report['n_images']} images per source, "
             f"classes {', '.join(names[c] for c in classes)})")
    prov = figure_provenance("tsne", dataset=report["dataset"], split="test",
                             n_images=report["n_images"], checkpoints=report.get("models", {}),
                             seeds={"tsne": report.get("seed", 0)}, sources=[path])
    return PaperFigure("tsne", f"tsne_{task_slug(task)}_{clf}", fig, plotted, prov, title)
