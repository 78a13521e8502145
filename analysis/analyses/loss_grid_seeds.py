"""Uelwer et al.'s Figure 1 across training seeds: the loss grid's classification errors on a
standard and a robust evaluator, and their rank correlation, for every training seed the
checkpoint folder holds (Uelwer et al. average three runs; one grid's Spearman rho over 11
single runs says little without the spread).

Seed 0 is the grid of :mod:`.loss_grid` (E = the task's plain processor, the grid in
``checkpoints/loss-grid/``); another seed's E is the plain processor of that seed in
``checkpoints/seeds/`` and its grid the processors of that seed in ``checkpoints/loss-grid/seeds/``
(:func:`analysis.training.recipe.loss_grid_seed_entries`). Rows are matched across seeds by
their label (``EP (standard)``, ...); every seed needs the same rows.

One runner pass over the test split for every seed's models: per seed, the error of each row
on each evaluator (95 % Wilson CI) and its mean PSNR, and the Spearman / Kendall correlation of
the rows' errors on the two evaluators; across seeds, each row's mean and SD (``ddof=1``), the
correlation of the seed-mean errors, and how well two seeds agree on the ordering of the rows
on one evaluator (Spearman between seeds: near 1 when the rows' differences exceed the seed
spread, near 0 when the seed decides the order).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from ..data.datasets import normal_dataset
from ..data.tasks import task_slug
from ..errors import RAExplorerError
from ..outputs.provenance import provenance_summary
from ..outputs.result_files import write_result
from ..pipeline.records import RecordSink
from ..pipeline.runner import world
from ..pipeline.setting import Setting
from ..zoo.catalogue import checkpoint_dir, find_checkpoints, model_digests
from .loss_grid import (
    DEFAULT_EVALUATORS,
    check_evaluators,
    default_grid_folder,
    error_rows,
    grid_models,
    rank_correlation,
    row_label,
)
from .quality import quality_result, quality_sink
from .seed_spread import COLLECTION as SEEDS_COLLECTION
from .seed_spread import card_seed

SEEDS_SUBFOLDER = "seeds"     # of the loss-grid collection: the grid's other training seeds


def seed_grids(task_spec: str, dataset: str, folder=None) -> dict[int, list[dict]]:
    """{training seed: [E, then the grid's cards in Table 2's order]}: seed 0 from the zoo
    (:func:`.loss_grid.grid_models`), the others from the seed folders; only seeds with E and
    every row of seed 0 (one sentence for a seed with some rows but not all)."""
    base = grid_models(task_spec, dataset, folder)
    labels = [row_label(c) for c in base]
    plains = find_checkpoints(checkpoint_dir(folder) / SEEDS_COLLECTION, kind="processor",
                              dataset=dataset, task=task_spec, method="plain")
    grid = find_checkpoints(default_grid_folder(folder) / SEEDS_SUBFOLDER, kind="processor",
                            dataset=dataset, task=task_spec)
    out = {card_seed(base[0]): base}
    for seed in sorted({card_seed(c) for c in grid} - set(out)):
        by_label = {row_label(c): c for c in grid if card_seed(c) == seed}
        plain = [c for c in plains if card_seed(c) == seed]
        if plain:
            by_label["E"] = plain[0]
        missing = [label for label in labels if label not in by_label]
        if missing:
            raise RAExplorerError(f"Training seed {seed} of the {task_spec} loss grid lacks "
                                  f"{', '.join(missing)}; train them with 'python -m analysis "
                                  f"build-zoo --only \"*-seed{seed}\"'.")
        out[seed] = [by_label[label] for label in labels]
    if len(out) < 2:
        raise RAExplorerError(f"{default_grid_folder(folder) / SEEDS_SUBFOLDER} holds no other "
                              f"training seed of the {task_spec} loss grid; a spread needs two "
                              "seeds or more.")
    return out


def _spread(values) -> dict:
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "sd": float(array.std(ddof=1)),
            "values": [float(v) for v in array]}


def summarise(per_seed: dict[int, dict], evaluators: tuple[str, str]) -> dict:
    """Across seeds: each row's error and PSNR spread, the correlation of the seed-mean errors,
    each seed's rho, and the Spearman rho between every two seeds' errors per evaluator."""
    standard, robust = evaluators
    seeds = list(per_seed)
    labels = [r["label"] for r in per_seed[seeds[0]]["rows"]]
    rows = []
    for i, label in enumerate(labels):
        cells = [per_seed[s]["rows"][i] for s in seeds]
        rows.append({"label": label, "names": [c["name"] for c in cells],
                     "error": {e: _spread([c["error"][e]["error"] for c in cells])
                               for e in evaluators},
                     "psnr": _spread([c["psnr"] for c in cells])})
    means = {e: [r["error"][e]["mean"] for r in rows] for e in evaluators}
    rhos = [per_seed[s]["rank_correlation"]["spearman_rho"] for s in seeds]
    between = {}
    for e in evaluators:
        pairs = {f"{a}-{b}": rank_correlation(
            [r["error"][e]["error"] for r in per_seed[a]["rows"]],
            [r["error"][e]["error"] for r in per_seed[b]["rows"]])["spearman_rho"]
            for a, b in combinations(seeds, 2)}
        between[e] = {"pairs": pairs, "mean": float(np.mean([v for v in pairs.values()
                                                             if v is not None]))}
    return {"seeds": seeds, "rows": rows,
            "rank_correlation_of_means": rank_correlation(means[standard], means[robust]),
            "spearman_rho": _spread([r for r in rhos if r is not None]),
            "negative": sum(r is not None and r < 0 for r in rhos),
            "significant_negative": sum(per_seed[s]["rank_correlation"]["spearman_p"] is not None
                                        and per_seed[s]["rank_correlation"]["spearman_p"] < 0.05
                                        and rhos[i] < 0 for i, s in enumerate(seeds)),
            "between_seeds": between}


def loss_grid_seed_report(task: str = "sr", dataset: str | None = None, folder=None,
                          evaluators: tuple[str, str] = DEFAULT_EVALUATORS,
                          limit: int | None = None, batch_size: int = 250,
                          device: str | None = None, seed: int = 0,
                          data_root: str | None = None, progress: bool = True) -> dict:
    """The table of the module docstring for ``task`` on ``dataset``'s test split (``limit``:
    the first that many images). ``seed`` is the degradations' seed, not a training seed."""
    setting = Setting(task, dataset, folder, device, data_root)
    spec = setting.task.spec
    dataset = normal_dataset(setting.dataset)
    clf_cards = check_evaluators(setting, evaluators)
    grids = seed_grids(spec, dataset, folder)
    proc_cards = [c for cards in grids.values() for c in cards]
    names = [c["name"] for c in proc_cards]
    by_name = {c["name"]: c for c in clf_cards}
    quality = quality_sink(["psnr"], folder, setting.device)
    records = RecordSink(setting.load([by_name[e] for e in evaluators]))
    setting.run(setting.load(proc_cards), [quality, records], desc=f"loss grid seeds {spec}",
                progress=progress, batch_size=batch_size, limit=limit, seed=seed,
                include_clean=False)
    quality.gather()
    table = records.table(spec, dataset, "test", world()[1])
    psnr = {r["name"]: r["values"]["psnr"]["mean"]
            for r in quality_result(quality, spec, dataset, proc_cards, seed)["rows"]}
    errors = {r["name"]: r for r in error_rows(table, names, list(evaluators))}
    standard, robust = evaluators
    per_seed = {}
    for training_seed, cards in grids.items():
        rows = [{"label": row_label(c), "name": c["name"], "error": errors[c["name"]]["error"],
                 "psnr": psnr[c["name"]]} for c in cards]
        per_seed[training_seed] = {"rows": rows, "rank_correlation": rank_correlation(
            [r["error"][standard]["error"] for r in rows],
            [r["error"][robust]["error"] for r in rows])}
    return {
        "kind": "loss-grid-seeds", "task": spec, "dataset": dataset, "split": "test",
        "n_images": len(table), "seed": seed,
        "evaluators": {"standard": standard, "robust": robust},
        "per_seed": {str(s): v for s, v in per_seed.items()},
        "summary": summarise(per_seed, evaluators),
        "provenance": setting.provenance(
            n_images=len(table), checkpoints=model_digests(clf_cards, proc_cards),
            seeds={"degradation": seed}),
    }


def _rho(rc: dict) -> str:
    if rc["spearman_rho"] is None:
        return "undefined"
    return f"{rc['spearman_rho']:+.3f} (p = {rc['spearman_p']:.3g})"


def format_loss_grid_seeds(result: dict) -> str:
    """Markdown: per row the error on each evaluator per seed with mean and SD, the PSNR; then
    the rank correlations per seed, of the means and between seeds."""
    std, rob = result["evaluators"]["standard"], result["evaluators"]["robust"]
    summary = result["summary"]
    seeds = [str(s) for s in summary["seeds"]]
    lines = [f"# Loss grid across training seeds (Uelwer et al. Figure 1 analog): "
             f"{result['task']}, {result['dataset']}", "",
             f"Classification error in % on {result['n_images']:,} test images per training "
             f"seed ({', '.join(seeds)}), on a standard evaluator ({std}) and a robust one "
             f"({rob}); mean and SD over seeds (ddof = 1); PSNR in dB over the same images.", "",
             "| model | " + " | ".join(f"{std} s{s}" for s in seeds) + f" | {std} mean ± SD | "
             + " | ".join(f"{rob} s{s}" for s in seeds) + f" | {rob} mean ± SD | PSNR mean ± SD |",
             "|---|" + "---:|" * (2 * len(seeds) + 3)]
    for row in summary["rows"]:
        cells = []
        for e in (std, rob):
            spread = row["error"][e]
            cells += [f"{100 * v:.2f}" for v in spread["values"]]
            cells.append(f"{100 * spread['mean']:.2f} ± {100 * spread['sd']:.2f}")
        cells.append(f"{row['psnr']['mean']:.2f} ± {row['psnr']['sd']:.2f}")
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    rho = summary["spearman_rho"]
    lines += ["", f"Spearman rho of the {len(summary['rows'])} models' errors on {std} vs "
              f"{rob}, per training seed: " + "; ".join(
                  f"seed {s} {_rho(result['per_seed'][s]['rank_correlation'])}" for s in seeds)
              + f". Mean {rho['mean']:+.3f}, SD {rho['sd']:.3f}; negative in "
              f"{summary['negative']} of {len(seeds)} seeds, significantly (p < 0.05) in "
              f"{summary['significant_negative']}. On the seed-mean errors: "
              f"{_rho(summary['rank_correlation_of_means'])}.", "",
              "Agreement between seeds on the ordering of the models (Spearman rho between two "
              "seeds' errors on the same evaluator): " + "; ".join(
                  f"{e}: " + ", ".join(f"seeds {k} {v:+.3f}" if v is not None else f"seeds {k} "
                                       "undefined" for k, v in b["pairs"].items())
                  + f" (mean {b['mean']:+.3f})" for e, b in summary["between_seeds"].items())
              + ".", "", provenance_summary(result.get("provenance"))]
    return "\n".join(lines)


def save_loss_grid_seeds(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, f"loss_grid_seeds_{task_slug(result['task'])}",
                        format_loss_grid_seeds)
