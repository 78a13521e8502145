"""The figure set ``python -m analysis reproduce`` writes to ``results/figures/``: for each task
with an evaluation, the Fig. 3 and Fig. 4 analogs and the quality bars; the lambda trade-off and
the transfer heatmap where the zoo has them; the corruption grid's heatmaps where its result
file is there; the loss grid's error ranking (per training seed where its file is there), the detection,
category and architecture transfer bars, the seeds' spread and the
metric agreement of their result files; the BD ECDFs of every boundary table, the t-SNE of every
feature report and, for a task with reports of several classifiers (the vanilla one and the
recognizer-side ones), QualNet's Fig. 2 analog with one panel each. Built from the result files
there (and, for the image figures, the checkpoints on a few images), so it is cheap."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ...errors import RAExplorerError
from ...zoo.catalogue import classifier_cards
from . import FigureOptions, build_figure, save_figure
from .style import PRESETS

FORMATS = ("png", "pdf")
# image figures: the default filter (RA right, plain wrong), else the next choice (a zoo where
# no image qualifies, as the tiny test zoo); the figure's provenance says which was used
FALLBACKS = {"examples": [{}, {"filter": "plain-wrong"}, {"indices": [0, 1, 2]}],
             "boundary-maps": [{}, {"filter": "plain-wrong", "rows": 1}, {"indices": [0]}]}
DPI = 200


def planned(results: Path, folder=None) -> list[tuple[str, dict]]:
    """(kind, FigureOptions fields) of every figure the result files in ``results`` allow."""
    plan = []
    for path in sorted(results.glob("evaluate_*.json")):
        task = json.loads(path.read_text())["task"]
        plan += [("examples", {"task": task}),
                 ("boundary-maps", {"task": task}),   # FigureOptions' defaults
                 ("quality", {"task": task, "width": PRESETS["double"]}),
                 ("lambda", {"task": task, "width": PRESETS["single"] * 1.4}),
                 ("transfer", {"task": task})]
    for path in sorted(results.glob("boundaries_*.json")):
        report = json.loads(path.read_text())
        pair = report["pairs"][0]
        plan.append(("bd", {"task": report["task"], "classifier": pair["source"],
                            "target": pair["target"]}))
    if (results / "corruption_grid.json").is_file():
        plan.append(("corruption-grid", {}))
    if (results / "corruption_processors.json").is_file():
        plan += [("corruption-gain", {}), ("severity-curves", {})]
    for path in sorted(results.glob("loss_grid_*.json")):
        kind = "error-ranking-seeds" if path.name.startswith("loss_grid_seeds_") else \
            "error-ranking"
        plan.append((kind, {"task": json.loads(path.read_text())["task"]}))
    for kind in ("detection-transfer", "category-transfer",   # Tables 2/4/8/10 and 7
                 "architecture-transfer", "seeds"):          # Table 11, seeds
        for path in sorted(results.glob(f"{kind.replace('-', '_')}_*.json")):
            plan.append((kind, {"task": json.loads(path.read_text())["task"]}))
    for path in sorted(results.glob("agreement_*.json")):      # which metrics track recognition
        plan.append(("agreement", {"task": json.loads(path.read_text())["task"]}))
    by_task: dict[str, list[str]] = {}
    for path in sorted(results.glob("features_*.json")):
        report = json.loads(path.read_text())
        by_task.setdefault(report["task"], []).append(report["classifier"])
        plan.append(("tsne", {"task": report["task"], "classifier": report["classifier"]}))
    for task, names in by_task.items():   # QualNet Fig. 2: one panel per classifier, HQ vs LQ
        if len(names) > 1:
            plan.append(("tsne", {"task": task, "classifiers": classifier_order(names, folder)}))
    return plan


def classifier_order(names: list[str], folder=None) -> list[str]:
    """``names`` in the zoo's order (its own classifiers, then the recognizer-side ones)."""

    try:
        known = [c["name"] for c in classifier_cards(folder)]
    except RAExplorerError:
        known = []
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))


def write_result_figures(results: Path, out_dir: Path | None = None, folder=None,
                         dataset: str | None = None, device: str | None = None,
                         formats=FORMATS, dpi: int = DPI) -> list[Path]:
    """Write every figure of :func:`planned` (PNG + PDF + CSV) to ``out_dir`` (default
    ``results/figures``); a figure the zoo cannot make (say, no lambda sweep for a task) is
    skipped with one line on stderr. Returns the paths written."""
    results = Path(results)
    out_dir = Path(out_dir) if out_dir is not None else results / "figures"
    written = []
    for kind, fields in planned(results, folder):
        fig, reasons = None, []
        for choice in FALLBACKS.get(kind, [{}]):
            options = FigureOptions(results=results, checkpoints=folder, dataset=dataset,
                                    device=device, dpi=dpi, **fields, **choice)
            try:
                fig = build_figure(kind, options)
                break
            except RAExplorerError as exc:
                if str(exc) not in reasons:
                    reasons.append(str(exc))
        if fig is None:     # one line, however many of the fallbacks were tried
            print(f"figures: {kind} for {fields['task']} skipped: {' '.join(reasons)}",
                  file=sys.stderr)
            continue
        written += save_figure(fig, out_dir / fig.name, formats, dpi)
        fig.figure.clear()
    return written
