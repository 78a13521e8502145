"""Transfer across processing architectures: the RA paper's Table 11 analog.

Processors of several architectures for one task — the zoo's own (e.g. the SRResNet of SR x4)
and those of the checkpoint folder's ``architectures/`` collection (SRDenseNet-, RDN- and
DBPN-style ones on the embedded default) — each trained plain, RA, unsupervised RA and RA with
transformer through one source classifier, run on the same test images and judged by every
classifier of the zoo. Each RA variant is paired with the plain processor of its own
architecture: RA - plain per classifier is a matched-pairs difference with a 95 % CI over test
images (:mod:`.paired_groups`). For RA with transformer the
classifiers see T(P(x)) and PSNR / SSIM are of P(x), as in :mod:`.evaluate`.

Accuracy cells carry Wilson 95 % CIs; PSNR (dB, peak 1) and SSIM (piq, 11 taps, sigma 1.5)
are means over images against the clean image with 95 % CIs.
"""

from __future__ import annotations

from pathlib import Path

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
from .paired_groups import (
    bounds,
    bounds_lines,
    diff_text,
    group_rows,
    measure_groups,
    pct_text,
)

COLLECTION = "architectures"     # the checkpoint folder's collection of the other architectures
METHODS = ("plain", "ra", "ra-unsup", "ra-transformer")   # the table's rows per architecture


def architecture_folder(folder=None) -> Path:
    """``<checkpoint folder>/architectures``: where the other architectures' processors are."""
    return checkpoint_dir(folder) / COLLECTION


def _zoo_processors(task_spec: str, dataset: str, folder) -> list[dict]:
    """The zoo's main processor of each of :data:`METHODS` (no lambda sweep, no transfer
    variant), from the checkpoint folder itself."""
    cards = sorted(find_checkpoints(checkpoint_dir(folder), kind="processor", dataset=dataset,
                                    task=task_spec), key=processor_order)
    main = set(main_processors(cards, create_task(task_spec).name))
    return [c for c in cards if c["name"] in main and c.get("method") in METHODS
            and not (c.get("method") == "plain" and c.get("lambda"))]


def architecture_models(task_spec: str, dataset: str, folder=None) -> dict[str, dict[str, dict]]:
    """{architecture: {method: card}} of ``task_spec`` on ``dataset``: the zoo's main processors
    and those of ``architectures/``, grouped by the cards' ``arch``, architectures in the order
    found (the zoo's first). Every architecture needs a plain processor (its RA rows are paired
    with it) and at most one processor per method; each failing rule is one sentence."""
    where = architecture_folder(folder)
    if not where.is_dir():
        raise RAExplorerError(f"There is no folder {where} of processors of other "
                              "architectures; train them as docs/own-data.md says.")
    collection = [c for c in sorted(find_checkpoints(where, kind="processor", dataset=dataset,
                                                     task=task_spec), key=processor_order)
                  if c.get("method") in METHODS]
    if not collection:
        raise RAExplorerError(f"{where} holds no {task_spec} processor trained on {dataset}; "
                              "train them as docs/own-data.md says.")
    out: dict[str, dict[str, dict]] = {}
    for card in [*_zoo_processors(task_spec, dataset, folder), *collection]:
        arch = card["arch"]
        method = card["method"]
        if method in out.setdefault(arch, {}):
            raise RAExplorerError(
                f"Both {out[arch][method]['name']} and {card['name']} are {method} {task_spec} "
                f"processors of architecture {arch}; the table compares one per method, so move "
                "one out of the checkpoint folder.")
        out[arch][method] = card
    for arch, methods in out.items():
        if "plain" not in methods:
            raise RAExplorerError(f"Architecture {arch} has no plain {task_spec} processor to "
                                  f"pair its RA processors ({', '.join(methods)}) with.")
    sources = {c.get("source") for m in out.values() for k, c in m.items() if k != "plain"}
    if len(sources) > 1:
        raise RAExplorerError("The RA processors were trained through different classifiers "
                              f"({', '.join(sorted(map(str, sources)))}); the table needs one "
                              "source classifier.")
    return {arch: {m: methods[m] for m in METHODS if m in methods}
            for arch, methods in out.items()}


def architecture_transfer(task: str = "sr", dataset: str | None = None, folder=None,
                          limit: int | None = None, batch_size: int | None = None,
                          device: str | None = None, seed: int = 0, classifiers=None,
                          data_root: str | None = None, progress: bool = True,
                          on_progress=None) -> dict:
    """The table of the module docstring for ``task`` on ``dataset``'s test split.

    Args:
        task: the degradation (task spec).
        dataset: default the one in force.
        folder: the checkpoint folder (its own processors and its ``architectures/``).
        limit: the first ``limit`` test images (default: all).
        classifiers: names of the judging classifiers (default: the zoo's).
        seed: seed of the degradations.

    Returns the result document: ``architectures[arch]`` with ``parameters`` (the plain
    processor's) and ``rows[method]`` {name, lambda, accuracy[classifier] (cell),
    ra_minus_plain[classifier] (paired difference; absent for plain), psnr, ssim};
    ``bounds[classifier]`` {clean, no processing}; ``source`` (the RA source classifier);
    ``provenance``.
    """
    setting = Setting(task, dataset, folder, device, data_root)
    spec = setting.task.spec
    base = normal_dataset(setting.dataset)
    models = architecture_models(spec, base, folder)
    table, clfs = measure_groups(setting, models, classifiers, f"architecture-transfer {spec}",
                                 limit=limit, batch_size=batch_size, seed=seed,
                                 progress=progress, on_progress=on_progress)
    proc_cards = [c for methods in models.values() for c in methods.values()]
    architectures = {
        arch: {"parameters": methods["plain"]["weights"].get("num_parameters"),
               "rows": group_rows(table, methods, clfs)}
        for arch, methods in models.items()}
    source = next((c.get("source") for c in proc_cards if c.get("source")), None)
    return {
        "kind": "architecture-transfer", "task": spec, "dataset": base, "split": "test",
        "n_images": len(table), "seed": seed, "classifiers": clfs, "source": source,
        "architectures": architectures,
        "bounds": bounds(table, clfs),
        "provenance": table.provenance,
    }


def format_architecture_transfer(result: dict) -> str:
    """Markdown: accuracy on the source classifier per (architecture, method) with RA - plain,
    PSNR and SSIM; then RA - plain on every other classifier; then the bounds."""
    src = result["source"]
    others = [k for k in result["classifiers"] if k != src]
    judged = src if src in result["classifiers"] else result["classifiers"][0]
    lines = [f"# Transfer across processing architectures: {result['task']} on "
             f"{result['dataset']}", "",
             f"{result['n_images']} test images. Each RA variant is paired with the plain "
             "processor of its own architecture. Accuracy in % with Wilson 95 % CIs; RA - plain "
             "in points with a matched-pairs 95 % CI; PSNR in dB, SSIM on [0, 1], both of P(x) "
             "(the image a person sees; for RA with transformer the classifiers see T(P(x))).",
             "", f"## On the source classifier ({judged})", "",
             "| architecture (parameters) | method | lambda | processor | accuracy | RA - plain "
             "| PSNR | SSIM |", "|---|---|---|---|---|---|---|---|"]
    for arch, entry in result["architectures"].items():
        params = f"{entry['parameters']:,}" if entry.get("parameters") else "?"
        for method, row in entry["rows"].items():
            diff = diff_text(row["ra_minus_plain"][judged]) if "ra_minus_plain" in row else "—"
            lines.append(f"| {arch} ({params}) | {method} | {row['lambda']} | {row['name']} | "
                         f"{pct_text(row['accuracy'][judged])} | {diff} | "
                         f"{row['psnr']['mean']:.2f} | {row['ssim']['mean']:.4f} |")
    if others:
        lines += ["", "## RA - plain on the other classifiers (points, paired 95 % CI)", "",
                  "| architecture | method | " + " | ".join(others) + " |",
                  "|---|---|" + "---|" * len(others)]
        for arch, entry in result["architectures"].items():
            for method, row in entry["rows"].items():
                if "ra_minus_plain" in row:
                    lines.append(f"| {arch} | {method} | " + " | ".join(
                        diff_text(row["ra_minus_plain"][k]) for k in others) + " |")
    return "\n".join(lines + bounds_lines(result["bounds"]))


def result_stem(task_spec: str) -> str:
    """``architecture_transfer_<task slug>``: the result files' name."""
    return f"architecture_transfer_{task_slug(task_spec)}"


def save_architecture_transfer(result: dict, out_dir: Path | None = None) -> list[Path]:
    """``architecture_transfer_<task slug>.json`` and ``.md`` in ``out_dir`` (default: the
    dataset's results folder)."""
    folder = out_dir if out_dir is not None else results_dir(dataset=result["dataset"])
    return write_result(result, folder, result_stem(result["task"]), format_architecture_transfer)
