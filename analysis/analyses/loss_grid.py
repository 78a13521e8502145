"""Uelwer et al. reproduced: the E / P / T loss grid's quality table (their Table 2) and the
classification error of each model's outputs on a standard and on a robust evaluator (their
Figure 1), with the rank correlation between the two orderings.

Models: E is the task's plain processor (``<task>-plain``, MSE only); the grid's processors
(EP, EPT, ET, P, PT on standard and on robust features) live in the loss-grid folder
(``checkpoints/loss-grid/``, see :mod:`analysis.training.recipe`). The evaluators are other
networks than the loss networks (the paper evaluates with a ResNet-50 while its losses use
VGG features): by default the zoo's RA source (resnet20, standard) and resnet20-robust.

One runner pass: the evaluators' predictions on every output over the whole split (or
``limit`` images), and the image metrics on the first ``quality_limit`` of them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..config import QUALITY_IMAGES
from ..data.folders import zoo_advice
from ..data.tasks import task_slug
from ..errors import RAExplorerError
from ..outputs.provenance import provenance_summary
from ..outputs.result_files import write_result
from ..pipeline.records import RecordSink
from ..pipeline.runner import NO_PROCESSING, world
from ..pipeline.setting import Setting
from ..stats import wilson_interval
from ..zoo.catalogue import checkpoint_dir, find_checkpoints, model_digests, select_models
from .quality import quality_result, quality_sink

COMBOS = ("E", "EP", "EPT", "ET", "P", "PT")
DEFAULT_EVALUATORS = ("resnet20", "resnet20-robust")


def default_grid_folder(folder=None) -> Path:
    """The ``loss-grid`` collection of the checkpoint folder ``folder``."""

    return checkpoint_dir(folder) / "loss-grid"


def default_metrics(standard: str, robust: str) -> list[str]:
    """The paper's columns: PSNR, SSIM, UQI, IFC, GMSD, LPIPS-style (standard network) and
    R-LPIPS-style (robust network); then MSE and its high-frequency part (hf-mse, the echo
    artifact indicator of :mod:`analysis.metrics.artifacts`)."""
    return ["psnr", "ssim", "uqi", "ifc", "gmsd", f"lpips-{standard}", f"rlpips-{robust}",
            "mse", "hf-mse"]


def features_of(card: dict) -> str:
    """``standard``, ``robust`` or ``none`` (E): the loss network's role, from the card."""
    if card.get("method") == "plain":
        return "none"
    return "robust" if card.get("method") == "robust-perceptual" else "standard"


def grid_models(task_spec: str, dataset: str, folder=None, grid_folder=None) -> list[dict]:
    """E (the task's plain processor) then the grid's processor cards, in Table 2's order
    (E; each combination with standard, then robust features)."""
    _, main = select_models(task_spec, dataset, folder)
    plain = [c for c in main if c.get("method") == "plain"]
    if not plain:
        advice = zoo_advice(dataset, folder, task_spec, ("plain",), what="it")
        raise RAExplorerError(f"No plain processor for {task_spec} on {dataset}; E is the plain "
                              f"model: {advice}.")
    grid_folder = grid_folder or default_grid_folder(folder)
    grid = find_checkpoints(grid_folder, kind="processor",
                            dataset=dataset, task=task_spec)
    grid = [c for c in grid if c.get("method") in ("perceptual", "robust-perceptual")]
    if not grid:
        raise RAExplorerError(f"No loss-grid processors for {task_spec} in {grid_folder}; "
                              "python -m analysis build-zoo trains them.")

    def order(card):
        combo = (card.get("training") or {}).get("losses", "EP").upper()
        return (COMBOS.index(combo) if combo in COMBOS else len(COMBOS),
                features_of(card) == "robust", card["name"])

    return [plain[0]] + sorted(grid, key=order)


def row_label(card: dict) -> str:
    """``E``, or the card's loss combination and features: ``EPT (robust)``."""
    if features_of(card) == "none":
        return "E"
    combo = (card.get("training") or {}).get("losses", "EP").upper()
    return f"{combo} ({features_of(card)})"


def rank_correlation(a: list[float], b: list[float]) -> dict:
    """Spearman's rho and Kendall's tau (tau-b) between two orderings of the same models,
    with their two-sided p-values (scipy)."""
    import warnings

    from scipy.stats import kendalltau, spearmanr

    def number(v):  # undefined (a constant column) is None, not NaN, in the JSON
        return None if v is None or math.isnan(float(v)) else float(v)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = spearmanr(a, b)
        tau = kendalltau(a, b)
    return {"spearman_rho": number(rho.statistic), "spearman_p": number(rho.pvalue),
            "kendall_tau": number(tau.statistic), "kendall_p": number(tau.pvalue),
            "n_models": len(a)}


def error_rows(table, names: list[str], evaluators: list[str]) -> list[dict]:
    """Classification error (1 - accuracy) of each input on each evaluator, 95 % Wilson CI."""
    rows = []
    for name in names:
        cells = {}
        for clf in evaluators:
            correct = table.correct(name, clf)
            n, k = len(correct), int(correct.sum())
            low, high = wilson_interval(k, n)
            cells[clf] = {"error": 1 - k / n, "ci95": [1 - high, 1 - low], "n": n}
        rows.append({"name": name, "error": cells})
    return rows


def check_evaluators(setting: Setting, evaluators: tuple[str, str]) -> list[dict]:
    """The cards of the (standard, robust) evaluators among the setting's classifiers: both
    present, the robust one trained adversarially and the standard one not (one sentence
    otherwise)."""
    standard, robust = evaluators
    clf_cards, _ = setting.select(classifiers=list(evaluators))
    by_name = {c["name"]: c for c in clf_cards}
    missing = [e for e in evaluators if e not in by_name]
    if missing:
        raise RAExplorerError(f"Evaluator(s) {', '.join(missing)} not found among the "
                              f"classifiers of {setting.dataset}.")
    if not (by_name[robust].get("training") or {}).get("adversarial"):
        raise RAExplorerError(f"The robust evaluator {robust} was not trained adversarially.")
    if (by_name[standard].get("training") or {}).get("adversarial"):
        raise RAExplorerError(f"The standard evaluator {standard} was trained adversarially.")
    return clf_cards


def loss_grid_report(task: str = "sr", dataset: str | None = None, folder=None,
                     grid_folder=None, metrics: list[str] | None = None,
                     evaluators: tuple[str, str] = DEFAULT_EVALUATORS,
                     limit: int | None = None, quality_limit: int = QUALITY_IMAGES,
                     batch_size: int = 250, device: str | None = None, seed: int = 0,
                     data_root: str | None = None, progress: bool = True) -> dict:
    """The Table 2 and Figure 1 analogs of one task (see the module docstring).

    ``limit``: test images for the errors (None: the whole split); ``quality_limit``: the first
    that many of them also get every metric of ``metrics`` (default :func:`default_metrics`).
    """
    setting = Setting(task, dataset, folder, device, data_root)
    spec, dataset = setting.task.spec, setting.dataset
    standard, robust = evaluators
    clf_cards = check_evaluators(setting, evaluators)
    by_name = {c["name"]: c for c in clf_cards}
    proc_cards = grid_models(spec, dataset, folder, grid_folder)
    procs = setting.load(proc_cards)
    classifiers = setting.load([by_name[e] for e in evaluators])
    names = list(metrics) if metrics else default_metrics(standard, robust)
    quality = quality_sink(names, folder, setting.device, limit=quality_limit)
    records = RecordSink(classifiers)
    setting.run(procs, [quality, records], desc=f"loss grid {spec}", progress=progress,
                batch_size=batch_size, limit=limit, seed=seed, include_clean=True)
    quality.gather()
    table = records.table(spec, dataset, "test", world()[1])   # every rank's images
    q = quality_result(quality, spec, dataset, proc_cards, seed)
    labels = {c["name"]: row_label(c) for c in proc_cards}
    features = {c["name"]: features_of(c) for c in proc_cards}
    for row in q["rows"]:
        row["label"] = labels.get(row["name"], row["name"])
        row["features"] = features.get(row["name"])
    models = [c["name"] for c in proc_cards]
    errors = error_rows(table, ["clean", NO_PROCESSING] + models, list(evaluators))
    for row in errors:
        row["label"] = labels.get(row["name"], row["name"])
    model_errors = {r["name"]: r["error"] for r in errors if r["name"] in models}
    correlation = rank_correlation([model_errors[m][standard]["error"] for m in models],
                                   [model_errors[m][robust]["error"] for m in models])
    return {
        "task": spec, "dataset": dataset, "split": "test",
        "n_images": len(table), "quality_images": quality.n_images(),
        "evaluators": {"standard": standard, "robust": robust},
        "metrics": q["metrics"], "quality_rows": q["rows"], "error_rows": errors,
        "rank_correlation": correlation,
        "settings": {c["name"]: {k: (c.get("training") or {}).get(k) for k in (
            "losses", "layers", "layer_weights", "texture_layers", "texture_weight",
            "patch_pixels", "feature_norm")} | {"lambda": c.get("lambda"),
                                                "source": c.get("source")}
            for c in proc_cards},
        "provenance": setting.provenance(
            n_images=len(table), checkpoints=model_digests(clf_cards, proc_cards),
            seeds={"degradation": seed}),
    }


def _pm(v: dict, digits: int) -> str:
    if math.isnan(v["mean"]):
        return "-"
    half = (v["ci95"][1] - v["ci95"][0]) / 2
    return f"{v['mean']:.{digits}f} ± {half:.{digits}f}"


def format_loss_grid(result: dict) -> str:
    """Markdown: the quality table, then the error table with the rank correlation."""

    names = [m["name"] for m in result["metrics"]]
    arrows = {m["name"]: "↓" if m["lower_better"] else "↑" for m in result["metrics"]}
    std, rob = result["evaluators"]["standard"], result["evaluators"]["robust"]
    lines = [f"# Loss grid (Uelwer et al. Table 2 and Figure 1 analogs): {result['task']}, "
             f"{result['dataset']}", "",
             f"Quality on the first {result['quality_images']} test images (mean ± 95 % CI "
             "half-width; ↑ higher is better, ↓ lower is better). lpips-* / rlpips-* are "
             "LPIPS-style distances on this project's classifiers with unit weights "
             "(uncalibrated, not the LPIPS package's).", "",
             "| model | checkpoint | " + " | ".join(f"{n} {arrows[n]}" for n in names) + " |",
             "|---|---|" + "---:|" * len(names)]
    for row in result["quality_rows"]:
        cells = [_pm(row["values"][n], 2 if abs(row["values"][n]["mean"]) >= 10 else 4)
                 for n in names]
        lines.append(f"| {row['label']} | {row['name']} | " + " | ".join(cells) + " |")
    rc = result["rank_correlation"]
    lines += ["", f"Classification error in % on {result['n_images']} test images (95 % Wilson "
              f"CI), on a standard evaluator ({std}) and a robust one ({rob}); neither is a "
              "loss network.", "",
              f"| model | checkpoint | error on {std} | error on {rob} |", "|---|---|---:|---:|"]
    for row in result["error_rows"]:
        cells = []
        for clf in (std, rob):
            c = row["error"][clf]
            cells.append(f"{100 * c['error']:.2f} [{100 * c['ci95'][0]:.2f}, "
                         f"{100 * c['ci95'][1]:.2f}]")
        lines.append(f"| {row['label']} | {row['name']} | " + " | ".join(cells) + " |")
    def num(v, fmt):
        return "undefined" if v is None else format(v, fmt)

    lines += ["", f"Rank correlation of the {rc['n_models']} models' errors on the two "
              f"evaluators: Spearman rho = {num(rc['spearman_rho'], '.3f')} "
              f"(p = {num(rc['spearman_p'], '.3g')}), Kendall tau = "
              f"{num(rc['kendall_tau'], '.3f')} (p = {num(rc['kendall_p'], '.3g')}). A negative "
              "value means the ranking inverts between the evaluators (the paper's Figure 1); "
              "undefined means one evaluator gives every model the same error.",
              "", provenance_summary(result.get("provenance"))]
    return "\n".join(lines)


def save_loss_grid(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, f"loss_grid_{task_slug(result['task'])}",
                        format_loss_grid)


def error_matrix(result: dict) -> tuple[list[str], np.ndarray]:
    """(model labels, (M, 2) errors on the standard and robust evaluators) of the grid's models."""
    std, rob = result["evaluators"]["standard"], result["evaluators"]["robust"]
    rows = [r for r in result["error_rows"] if r["name"] not in ("clean", NO_PROCESSING)]
    return ([r["label"] for r in rows],
            np.array([[r["error"][std]["error"], r["error"][rob]["error"]] for r in rows]))
