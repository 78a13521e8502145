"""Seeds behind the headline numbers: the zoo's main processors of a task and their replicates
trained with other seeds (the checkpoint folder's ``seeds/`` collection,
:func:`analysis.training.recipe.seed_entries`), run on the same test images and judged by every
classifier of the zoo.

Per training seed, each method's processor is paired with the plain processor of the same seed
(:mod:`.paired_groups`): RA - plain per classifier with a matched-pairs 95 % CI over test
images. Across seeds, per method and classifier: the mean of the seeds' differences, their
standard deviation (``ddof=1``: the spread across training runs, beside the within-run CIs) and
how many seeds show the difference with a CI above zero (or below). Accuracy, PSNR and SSIM are
summarised the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.datasets import normal_dataset
from ..data.folders import results_dir
from ..data.tasks import create_task, task_slug
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.setting import Setting
from ..zoo.catalogue import (
    checkpoint_dir,
    find_checkpoints,
    main_processors,
    processor_order,
)
from .paired_groups import bounds, group_rows, measure_groups

COLLECTION = "seeds"      # the checkpoint folder's collection of seed replicates


def card_seed(card: dict) -> int:
    """The training seed a processor card records (0 when it records none)."""
    return int((card.get("training") or {}).get("seed") or card.get("seed") or 0)


def seed_models(task_spec: str, dataset: str, folder=None) -> dict[int, dict[str, dict]]:
    """{seed: {method: card}}: the zoo's main processor of each method (its own seed) and the
    ``seeds/`` collection's processors of ``task_spec`` on ``dataset``, grouped by training
    seed; every seed needs a plain processor and at most one per method (one sentence
    otherwise)."""
    base = checkpoint_dir(folder)
    where = base / COLLECTION
    if not where.is_dir():
        raise RAExplorerError(f"There is no folder {where} of seed replicates; train them with "
                              "'python -m analysis build-zoo --only \"*-seed*\"'.")
    zoo = sorted(find_checkpoints(base, kind="processor", dataset=dataset, task=task_spec),
                 key=processor_order)
    main = set(main_processors(zoo, create_task(task_spec).name))
    cards = [c for c in zoo if c["name"] in main and not (c.get("method") == "plain"
                                                          and c.get("lambda"))]
    cards += sorted(find_checkpoints(where, kind="processor", dataset=dataset, task=task_spec),
                    key=processor_order)
    out: dict[int, dict[str, dict]] = {}
    for card in cards:
        seed, method = card_seed(card), card.get("method")
        if method in out.setdefault(seed, {}):
            raise RAExplorerError(
                f"Both {out[seed][method]['name']} and {card['name']} are {method} {task_spec} "
                f"processors trained with seed {seed}; keep one per method and seed.")
        out[seed][method] = card
    for seed, methods in out.items():
        if "plain" not in methods:
            raise RAExplorerError(f"Seed {seed} has no plain {task_spec} processor to pair its "
                                  f"other processors ({', '.join(methods)}) with.")
    if len(out) < 2:
        held = f"only seed {next(iter(out))}" if out else "no processor"
        raise RAExplorerError(f"{base} and {where} hold {held} of the {task_spec} processors on "
                              f"{dataset}; a spread needs two seeds or more.")
    return dict(sorted(out.items()))


def _spread(values: list[float]) -> dict:
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "sd": float(array.std(ddof=1)) if len(array) > 1
            else 0.0, "min": float(array.min()), "max": float(array.max()),
            "values": [float(v) for v in array]}


def summarise(per_seed: dict[int, dict[str, dict]], classifiers: list[str]) -> dict[str, dict]:
    """{method: summary} over the seeds that have the method: ``seeds``, ``accuracy[clf]``,
    ``psnr``, ``ssim`` (:func:`_spread` of the seeds' values) and, for a non-plain method,
    ``ra_minus_plain[clf]`` (spread of the paired differences, plus ``above`` / ``below``:
    how many seeds' CIs lie above / below zero)."""
    methods = list(dict.fromkeys(m for rows in per_seed.values() for m in rows))
    out = {}
    for method in methods:
        rows = {s: r[method] for s, r in per_seed.items() if method in r}
        entry = {"seeds": list(rows),
                 "accuracy": {k: _spread([r["accuracy"][k]["accuracy"] for r in rows.values()])
                              for k in classifiers},
                 "psnr": _spread([r["psnr"]["mean"] for r in rows.values()]),
                 "ssim": _spread([r["ssim"]["mean"] for r in rows.values()])}
        if method != "plain":
            entry["ra_minus_plain"] = {}
            for k in classifiers:
                diffs = [r["ra_minus_plain"][k] for r in rows.values()]
                entry["ra_minus_plain"][k] = {
                    **_spread([d["diff"] for d in diffs]),
                    "above": sum(d["ci95"][0] > 0 for d in diffs),
                    "below": sum(d["ci95"][1] < 0 for d in diffs)}
        out[method] = entry
    return out


def seed_spread(task: str = "sr", dataset: str | None = None, folder=None,
                limit: int | None = None, batch_size: int | None = None,
                device: str | None = None, seed: int = 0, classifiers=None,
                data_root: str | None = None, progress: bool = True,
                on_progress=None) -> dict:
    """The table of the module docstring for ``task`` on ``dataset``'s test split.

    ``seed`` is the degradations' seed (the same for every processor), not a training seed.
    Returns ``per_seed[seed][method]`` rows (:func:`~.paired_groups.group_rows`),
    ``summary[method]`` (:func:`summarise`), ``bounds``, ``source`` and ``provenance``.
    """
    setting = Setting(task, dataset, folder, device, data_root)
    spec = setting.task.spec
    base = normal_dataset(setting.dataset)
    models = seed_models(spec, base, folder)
    table, clfs = measure_groups(setting, models, classifiers, f"seeds {spec}", limit=limit,
                                 batch_size=batch_size, seed=seed, progress=progress,
                                 on_progress=on_progress)
    proc_cards = [c for methods in models.values() for c in methods.values()]
    per_seed = {s: group_rows(table, methods, clfs) for s, methods in models.items()}
    source = next((c.get("source") for c in proc_cards if c.get("method") == "ra"), None)
    return {
        "kind": "seeds", "task": spec, "dataset": base, "split": "test",
        "n_images": len(table),
        "seed": seed, "classifiers": clfs, "source": source,
        "per_seed": {str(s): rows for s, rows in per_seed.items()},
        "summary": summarise(per_seed, clfs),
        "bounds": bounds(table, clfs),
        "provenance": table.provenance,
    }


def _spread_text(s: dict, scale: float = 100.0, digits: int = 2, sign: str = "") -> str:
    return (f"{scale * s['mean']:{sign}.{digits}f} (SD {scale * s['sd']:.{digits}f}; "
            f"{scale * s['min']:{sign}.{digits}f} to {scale * s['max']:{sign}.{digits}f})")


def format_seed_spread(result: dict) -> str:
    """Markdown: per method the mean over seeds (SD, range) of accuracy on the source
    classifier, RA - plain with how many seeds show it, PSNR and SSIM; then RA - plain on the
    other classifiers; then each seed's own differences on the source."""
    judged = result["source"] if result["source"] in result["classifiers"] else \
        result["classifiers"][0]
    seeds = list(result["per_seed"])
    lines = [f"# Seeds: {result['task']} on {result['dataset']}", "",
             f"{result['n_images']} test images; training seeds {', '.join(seeds)}. Each "
             "method's processor is paired with the plain processor of the same seed. Mean over "
             "seeds, the standard deviation across seeds (SD) and the range; accuracy and "
             "differences in % / points; 'seeds above 0': seeds whose matched-pairs 95 % CI of "
             "RA - plain lies above zero.", "",
             f"## On the source classifier ({judged})", "",
             "| method | seeds | accuracy | RA - plain | seeds above 0 / below 0 | PSNR, dB | "
             "SSIM |", "|---|---|---|---|---|---|---|"]
    for method, s in result["summary"].items():
        diff = s.get("ra_minus_plain", {}).get(judged)
        lines.append(
            f"| {method} | {len(s['seeds'])} | {_spread_text(s['accuracy'][judged])} | "
            + (f"{_spread_text(diff, sign='+')} | {diff['above']} / {diff['below']}"
               if diff else "— | —")
            + f" | {_spread_text(s['psnr'], 1.0, 3)} | {_spread_text(s['ssim'], 1.0, 4)} |")
    others = [k for k in result["classifiers"] if k != judged]
    if others:
        lines += ["", "## RA - plain on the other classifiers (mean over seeds, SD; seeds above "
                      "/ below 0)", "", "| method | " + " | ".join(others) + " |",
                  "|---|" + "---|" * len(others)]
        for method, s in result["summary"].items():
            if "ra_minus_plain" in s:
                d = s["ra_minus_plain"]
                lines.append(f"| {method} | " + " | ".join(
                    f"{100 * d[k]['mean']:+.2f} (SD {100 * d[k]['sd']:.2f}; {d[k]['above']} / "
                    f"{d[k]['below']})" for k in others) + " |")
    lines += ["", f"## Each seed on {judged} (RA - plain, points, matched-pairs 95 % CI)", "",
              "| method | " + " | ".join(f"seed {s}" for s in seeds) + " |",
              "|---|" + "---|" * len(seeds)]
    for method in result["summary"]:
        if method == "plain":
            continue
        cells = []
        for s in seeds:
            row = result["per_seed"][s].get(method)
            d = row["ra_minus_plain"][judged] if row else None
            cells.append(f"{100 * d['diff']:+.2f} [{100 * d['ci95'][0]:+.2f}, "
                         f"{100 * d['ci95'][1]:+.2f}]" if d else "—")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def result_stem(task_spec: str) -> str:
    """``seeds_<task slug>``: the result files' name."""
    return f"seeds_{task_slug(task_spec)}"


def save_seed_spread(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``seeds_<task slug>.json`` and ``.md`` in ``out_dir`` (default: the dataset's results
    folder)."""
    folder = out_dir if out_dir is not None else results_dir(dataset=result["dataset"])
    return write_result(result, folder, result_stem(result["task"]), format_seed_spread)
