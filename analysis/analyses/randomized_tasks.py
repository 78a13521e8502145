"""Processors trained on fixed and on randomized degradations, both run on randomized ones: the
RA paper's Table 15 analog.

For a randomized task (``sr-random``, ``denoise-random``, ``jpeg-random``) or the compound one,
two groups of processors see the same test inputs of that task:

* ``normal``: the zoo's plain and RA processors of the fixed task it randomizes
  (:func:`normal_task`: SR x4 for ``sr-random`` and for ``compound``, whose last size change is
  SR's), trained on one degradation setting;
* ``random``: plain and RA processors trained on the randomized task itself (the checkpoint
  folder's ``randomized/`` collection, or the folder itself), from the same base, schedule and
  lambda.

Per group, RA is paired with that group's plain processor (:mod:`.paired_groups`: matched-pairs
95 % CIs over test images on every classifier); across groups, each method trained on random
degradations is paired with the same method trained on the fixed one (``random_minus_normal``).
Accuracy cells carry Wilson 95 % CIs; PSNR (dB, peak 1) and SSIM are means against the clean
image with 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

from ..data.datasets import normal_dataset
from ..data.folders import results_dir
from ..data.tasks import create_task, task_slug
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.setting import Setting
from ..zoo.catalogue import checkpoint_dir, find_checkpoints, processor_order
from .evaluate import paired_difference
from .paired_groups import (
    bounds,
    bounds_lines,
    diff_text,
    group_rows,
    measure_groups,
    pct_text,
)

COLLECTION = "randomized"    # the checkpoint folder's collection of randomized-task processors
METHODS = ("plain", "ra")
GROUPS = ("normal", "random")
PAPER_TASKS = ("sr", "denoise", "jpeg")


def normal_task(task_spec: str) -> str:
    """The fixed task whose processors serve ``task_spec``'s inputs: the paper task a
    randomized task randomizes, SR for the compound task (its output is SR's size), at the
    task's own scale (``sr-random:scale=2`` -> ``sr:scale=2``)."""
    task = create_task(task_spec)
    head = "sr" if task.name == "compound" else task.name.split("-")[0]
    if head in PAPER_TASKS and task.name != head:
        return create_task(f"{head}:scale={task.scale}").spec if head == "sr" else \
            create_task(head).spec
    raise RAExplorerError(f"{task_spec} is not a randomized or compound task; the table runs on "
                          "sr-random, denoise-random, jpeg-random or compound.")


def _pick(cards: list[dict], prefix: str, method: str) -> dict | None:
    """``<prefix>-<method>`` among ``cards``, else the first card of ``method`` (a plain card
    without lambda)."""
    cards = [c for c in cards if c.get("method") == method
             and not (method == "plain" and c.get("lambda"))]
    named = [c for c in cards if c["name"] == f"{prefix}-{method}"]
    return (named or cards or [None])[0]


def randomized_models(task_spec: str, dataset: str, folder=None) -> dict[str, dict[str, dict]]:
    """{"normal" | "random": {method: card}}: the fixed task's processors of the zoo and the
    processors trained on ``task_spec`` (``randomized/`` first, then the folder itself); each
    group needs both methods (one sentence naming the missing one otherwise)."""
    base = checkpoint_dir(folder)
    fixed = create_task(normal_task(task_spec))
    task = create_task(task_spec)
    normal = sorted(find_checkpoints(base, kind="processor", dataset=dataset, task=fixed.spec),
                    key=processor_order)
    random = []
    for place in (base / COLLECTION, base):
        if place.is_dir():
            random += sorted(find_checkpoints(place, kind="processor", dataset=dataset,
                                              task=task.spec), key=processor_order)
    out = {}
    for group, cards, prefix, spec in (("normal", normal, fixed.name, fixed.spec),
                                       ("random", random, task.name, task.spec)):
        chosen = {m: _pick(cards, prefix, m) for m in METHODS}
        missing = [m for m, c in chosen.items() if c is None]
        if missing:
            raise RAExplorerError(
                f"No {' or '.join(missing)} processor trained on {spec} for {dataset} in {base}"
                f"{' or ' + str(base / COLLECTION) if group == 'random' else ''}; train it "
                f"with 'python -m analysis train-processor --task {spec} --method "
                f"{missing[0]}' (the embedded default's: 'python -m analysis build-zoo --only "
                f"\"{task.name}-*\"').")
        out[group] = chosen
    return out


def randomized_table(task: str = "sr-random", dataset: str | None = None, folder=None,
                     limit: int | None = None, batch_size: int | None = None,
                     device: str | None = None, seed: int = 0, classifiers=None,
                     data_root: str | None = None, progress: bool = True,
                     on_progress=None) -> dict:
    """The table of the module docstring for ``task`` on ``dataset``'s test split.

    Args:
        task: a randomized or the compound task (task spec).
        dataset: default the one in force.
        folder: the checkpoint folder (its processors and its ``randomized/``).
        limit: the first ``limit`` test images (default: all).
        classifiers: names of the judging classifiers (default: the zoo's).
        seed: seed of the degradations (each test image's random setting is drawn from it).

    Returns the result document: ``groups[group]`` {``trained_on`` (task spec), ``rows[method]``
    {name, lambda, accuracy[classifier], psnr, ssim, ra_minus_plain[classifier] (ra only)}};
    ``random_minus_normal[method][classifier]`` (paired difference); ``bounds``, ``source``,
    ``provenance``.
    """
    setting = Setting(task, dataset, folder, device, data_root)
    spec = setting.task.spec
    base = normal_dataset(setting.dataset)
    models = randomized_models(spec, base, folder)
    table, clfs = measure_groups(setting, models, classifiers, f"randomized {spec}",
                                 limit=limit, batch_size=batch_size, seed=seed,
                                 progress=progress, on_progress=on_progress)
    source = models["normal"]["ra"].get("source")
    return {
        "kind": "randomized", "task": spec, "dataset": base, "split": "test",
        "n_images": len(table), "seed": seed, "classifiers": clfs, "source": source,
        "groups": {g: {"trained_on": models[g]["plain"]["task"],
                       "rows": group_rows(table, models[g], clfs)} for g in GROUPS},
        "random_minus_normal": {
            m: {k: paired_difference(table.correct(models["random"][m]["name"], k),
                                     table.correct(models["normal"][m]["name"], k))
                for k in clfs} for m in METHODS},
        "bounds": bounds(table, clfs),
        "provenance": table.provenance,
    }


def format_randomized(result: dict) -> str:
    """Markdown: accuracy on the source classifier per (group, method) with RA - plain, PSNR
    and SSIM; random - normal per method; RA - plain on every other classifier; the bounds."""
    clfs = result["classifiers"]
    judged = result["source"] if result["source"] in clfs else clfs[0]
    others = [k for k in clfs if k != judged]
    lines = [f"# Fixed vs randomized training, tested on {result['task']} ({result['dataset']})",
             "", f"{result['n_images']} test images of {result['task']}, each with its own "
             "seeded degradation. 'normal': processors trained on the fixed task; 'random': "
             "trained on the randomized one. Accuracy in % with Wilson 95 % CIs; differences in "
             "points with matched-pairs 95 % CIs; PSNR in dB.", "",
             f"## On the source classifier ({judged})", "",
             "| trained on | method | processor | accuracy | RA - plain | PSNR | SSIM |",
             "|---|---|---|---|---|---|---|"]
    for group, entry in result["groups"].items():
        for method, row in entry["rows"].items():
            diff = diff_text(row["ra_minus_plain"][judged]) if "ra_minus_plain" in row else "—"
            lines.append(f"| {group} ({entry['trained_on']}) | {method} | {row['name']} | "
                         f"{pct_text(row['accuracy'][judged])} | {diff} | "
                         f"{row['psnr']['mean']:.2f} | {row['ssim']['mean']:.4f} |")
    lines += ["", "## Random - normal, same method (points, paired 95 % CI)", "",
              "| method | " + " | ".join(clfs) + " |", "|---|" + "---|" * len(clfs)]
    for method, by in result["random_minus_normal"].items():
        lines.append(f"| {method} | " + " | ".join(diff_text(by[k]) for k in clfs) + " |")
    if others:
        lines += ["", "## RA - plain on the other classifiers (points, paired 95 % CI)", "",
                  "| trained on | " + " | ".join(others) + " |", "|---|" + "---|" * len(others)]
        for group, entry in result["groups"].items():
            d = entry["rows"]["ra"]["ra_minus_plain"]
            lines.append(f"| {group} | " + " | ".join(diff_text(d[k]) for k in others) + " |")
    return "\n".join(lines + bounds_lines(result["bounds"]))


def result_stem(task_spec: str) -> str:
    """``randomized_<task slug>``: the result files' name."""
    return f"randomized_{task_slug(task_spec)}"


def save_randomized(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``randomized_<task slug>.json`` and ``.md`` in ``out_dir`` (default: the dataset's
    results folder)."""
    folder = out_dir if out_dir is not None else results_dir(dataset=result["dataset"])
    return write_result(result, folder, result_stem(result["task"]), format_randomized)
