"""The RA paper's tables re-measured on the zoo, written to results/.

``python -m analysis results`` evaluates every task on the full test split
and writes, per task, the raw evaluation (``evaluate_<task>.json``) and:

* ``table1.md``  — Table 1 analog: no processing / plain / RA / RA-unsup /
  RA+T / perceptual / robust-perceptual x every classifier, per task;
* ``table3_transfer.md`` — Table 3 analog (SR): RA trained with each
  classifier as source (rows) x every classifier as target (columns);
* ``table16_lambda.md`` — Table 16 analog (SR): PSNR / SSIM / accuracy vs lambda;
* ``claims.md`` — the paper's central claims, checked on these numbers.

Accuracies are percentages with 95 % Wilson intervals over test images;
differences to plain are paired (same images) with 95 % CIs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..analyses.evaluate import CLEAN, NO_PROCESSING, model_digests, report_tasks, select_models
from ..analyses.quality import task_slug
from ..config import QUALITY_IMAGES, results_dir
from ..data.datasets import load_dataset
from ..data.tasks import create_task
from ..errors import RAExplorerError
from ..zoo.catalogue import ra_source
from ..zoo.checkpoints import classifier_cards

TABLE1_METHODS = ("plain", "ra", "ra-unsup", "ra-transformer", "perceptual", "robust-perceptual")
METHOD_LABELS = {"plain": "plain", "ra": "RA", "ra-unsup": "RA-unsup", "ra-transformer": "RA+T",
                 "perceptual": "perceptual", "robust-perceptual": "robust-perceptual"}


def _pct(cell: dict) -> str:
    half = 100 * (cell["ci95"][1] - cell["ci95"][0]) / 2
    return f"{100 * cell['accuracy']:.1f} ± {half:.1f}"


def _diff(d: dict | None) -> str:
    if d is None:
        return ""
    return f"{100 * d['diff']:+.1f} [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]"


def task_name(result: dict) -> str:
    return result["task"].split(":")[0]


def table1_rows(result: dict) -> list[dict]:
    """no processing, then ``<task>-<method>`` for each method present (the recipe's names)."""
    by_name = {r["name"]: r for r in result["rows"]}
    rows = [by_name[NO_PROCESSING]]
    for method in TABLE1_METHODS:
        row = by_name.get(f"{task_name(result)}-{method}")
        if row is not None:
            rows.append(row)
    return rows


def format_table1(result: dict) -> str:
    clfs = result["classifiers"]
    clean = next(r for r in result["rows"] if r["name"] == CLEAN)
    lines = [f"### {result['task']} ({result['n_images']} test images)", "",
             "| input | " + " | ".join(clfs) + " | PSNR (dB) | SSIM |",
             "|---|" + "---:|" * (len(clfs) + 2),
             "| clean (upper bound) | " + " | ".join(_pct(clean["accuracy"][c]) for c in clfs)
             + " | - | - |"]
    for row in table1_rows(result):
        label = METHOD_LABELS.get(row["method"], row["name"]) if row["method"] else row["name"]
        if row["method"] and row.get("lambda"):
            label += f" (λ={row['lambda']:g})"
        lines.append(f"| {label} | " + " | ".join(_pct(row["accuracy"][c]) for c in clfs)
                     + f" | {row['psnr']['mean']:.2f} | {row['ssim']['mean']:.4f} |")
    return "\n".join(lines)


def transfer_rows(result: dict) -> list[dict]:
    """RA processors by source: ``sr-ra`` (the main source) and ``sr-ra-src-<classifier>``."""
    rows = []
    for row in result["rows"]:
        if row["method"] == "ra" and (row["name"] == "sr-ra" or row["name"].startswith("sr-ra-src-")):
            rows.append(row)
    return sorted(rows, key=lambda r: result["classifiers"].index(r["source"])
                  if r["source"] in result["classifiers"] else 99)


def format_table3(result: dict) -> str:
    clfs = result["classifiers"]
    by_name = {r["name"]: r for r in result["rows"]}
    lines = [f"### {result['task']}: accuracy (%) of RA trained on a source (rows) tested on "
             f"each target (columns); below each, the paired difference to plain", "",
             "| source \\ target | " + " | ".join(clfs) + " |", "|---|" + "---:|" * len(clfs)]
    plain = by_name.get(result.get("plain") or "")
    if plain:
        lines.append("| plain (no source) | " + " | ".join(_pct(plain["accuracy"][c]) for c in clfs)
                     + " |")
    for row in transfer_rows(result):
        lines.append(f"| {row['source']} | " + " | ".join(
            f"{_pct(row['accuracy'][c])}<br>{_diff((row['vs_plain'] or {}).get(c))}"
            for c in clfs) + " |")
    return "\n".join(lines)


def lambda_rows(result: dict, source: str) -> list[dict]:
    rows = [r for r in result["rows"]
            if (r["method"] == "plain" and r["name"] == result.get("plain"))
            or (r["method"] == "ra" and r["source"] == source
                and (r["name"].startswith("sr-ra-lam") or r["name"] == "sr-ra"))]
    return sorted(rows, key=lambda r: (r["lambda"] or 0.0, r["name"]))


def format_table16(result: dict, source: str | None = None) -> str:
    """Table 16 analog; ``source`` defaults to the RA source the processors' cards name."""
    source = ra_source(result["rows"], source, what=result["task"])
    if source is None:
        return f"### {result['task']}: no RA processor with a source classifier to sweep."
    others = [c for c in result["classifiers"] if c != source]
    lines = [f"### {result['task']}: RA with source {source} at each lambda", "",
             f"| λ | checkpoint | PSNR (dB) | SSIM | accuracy on {source} (%) | "
             "mean accuracy on the other classifiers (%) |", "|---:|---|---:|---:|---:|---:|"]
    for row in lambda_rows(result, source):
        other = sum(row["accuracy"][c]["accuracy"] for c in others) / max(len(others), 1)
        src = _pct(row["accuracy"][source]) if source in row["accuracy"] else "-"
        lines.append(f"| {row['lambda'] or 0:g} | {row['name']} | {row['psnr']['mean']:.2f} | "
                     f"{row['ssim']['mean']:.4f} | {src} | {100 * other:.1f} |")
    return "\n".join(lines)


def claim_row(result: dict, source: str | None = None) -> dict | None:
    """The RA processor a claim is checked on: of the RA rows trained through the source
    the cards name (``source`` if given), ``<task>-ra`` if it is one, else the first."""
    rows = [r for r in result["rows"] if r["method"] == "ra" and r.get("source")]
    try:
        source = ra_source(rows, source, what=result["task"])
    except RAExplorerError:
        if source is not None:
            raise
        return None
    rows = [r for r in rows if r["source"] == source]
    main = [r for r in rows if r["name"] == f"{task_name(result)}-ra"]
    return (main or rows or [None])[0]


def check_claims(results: list[dict], source: str | None = None) -> list[str]:
    """The paper's claims, stated with the measured numbers (either way). The source
    classifier is the one the RA processor's card names (``source`` chooses among several)."""
    lines = []
    for result in results:
        by_name = {r["name"]: r for r in result["rows"]}
        ra = claim_row(result, source)
        if ra is None or ra["vs_plain"] is None or ra["source"] not in ra["vs_plain"]:
            lines.append(f"- {result['task']}: no RA and plain processors to compare yet.")
            continue
        src = ra["source"]
        d = ra["vs_plain"][src]
        verdict = ("holds" if d["ci95"][0] > 0 else
                   "does not hold (RA is worse)" if d["ci95"][1] < 0 else
                   "is not shown (the 95 % CI includes 0)")
        lines.append(f"- {result['task']}: RA vs plain on the source {src}: "
                     f"{_diff(d)} points — the claim {verdict}.")
        others = [c for c in result["classifiers"] if c != src and c in ra["vs_plain"]]
        if others:
            gains = ", ".join(f"{c} {_diff(ra['vs_plain'][c])}" for c in others)
            positive = sum(ra["vs_plain"][c]["ci95"][0] > 0 for c in others)
            lines.append(f"  - transfer to other classifiers: {gains}; significant gains on "
                         f"{positive} of {len(others)}.")
        plain = by_name.get(result.get("plain") or "")
        if plain:
            lines.append(f"  - PSNR: plain {plain['psnr']['mean']:.2f} dB, RA (λ={ra['lambda']:g}) "
                         f"{ra['psnr']['mean']:.2f} dB "
                         f"({ra['psnr']['mean'] - plain['psnr']['mean']:+.2f} dB).")
    return lines


def write_results(results: list[dict], out_dir: Path | None = None, source: str | None = None):
    out_dir = results_dir(out_dir, dataset=results[0]["dataset"] if results else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        path = out_dir / f"evaluate_{task_slug(result['task'])}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        written.append(path)
    header = ("Accuracy in % with 95 % Wilson intervals over test images; PSNR / SSIM are means "
              "over the same images. Produced by `python -m analysis results`.\n")
    tables = {
        "table1.md": "# Table 1 analog: accuracy of each method on each classifier\n\n" + header
        + "\n" + "\n\n".join(format_table1(r) for r in results),
        "claims.md": f"# The RA paper's claims, checked on {_dataset_words(results)}\n\n"
        + "\n".join(check_claims(results, source)),
    }
    sr = next((r for r in results if r["task"].startswith("sr:")), None)
    if sr is not None:
        tables["table3_transfer.md"] = ("# Table 3 analog: transfer of RA across classifiers\n\n"
                                        + header + "\n" + format_table3(sr))
        tables["table16_lambda.md"] = ("# Table 16 analog: quality and accuracy vs lambda\n\n"
                                       + header + "\n" + format_table16(sr, source))
    for name, text in tables.items():
        (out_dir / name).write_text(text + "\n")
        written.append(out_dir / name)
    return written


def _dataset_words(results: list[dict]) -> str:
    """"the embedded default", or the dataset specs the results were measured on."""
    from ..config import EMBEDDED_DATASET

    datasets = sorted({r.get("dataset") or "?" for r in results})
    if datasets == [EMBEDDED_DATASET]:
        return "the embedded default"
    return ", ".join(datasets)


def reusable(path: Path, task: str, dataset: str, folder, limit: int | None) -> dict | None:
    """The saved evaluation of ``task`` if it was measured on exactly the zoo's current
    checkpoints (same names and weight digests), dataset and number of images; else None."""
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    clf_cards, proc_cards = select_models(create_task(task).spec, dataset, folder)
    n = len(load_dataset(dataset, "test")) if limit is None else limit
    same = (saved.get("models") == model_digests(clf_cards, proc_cards)
            and saved.get("dataset") == dataset and saved.get("n_images") == n)
    return saved if same else None


def measure_for_results(task: str, dataset: str, folder=None, limit: int | None = None,
                        out_dir: Path | None = None, progress: bool = True,
                        device: str | None = None, quality_images: int | None = QUALITY_IMAGES):
    """One runner pass over ``task``'s test split for every shipped table of the task: the
    record table (every classifier the app offers: the zoo's and the recognizer-side ones, so
    that the Gallery answers for each from the file), the evaluation (accuracy, PSNR / SSIM,
    paired differences; the zoo's classifiers) and the quality table (first
    ``quality_images`` images). Writes the record table and the quality files; returns
    (evaluation, written paths)."""
    from ..analyses.evaluate import accuracy_report, measure_task
    from ..analyses.quality import (
        default_metrics,
        quality_result,
        quality_sink,
        save_quality,
    )
    from ..device import pick_device
    from ..pipeline.records import records_path
    from ..pipeline.runner import world

    dev = pick_device(device)
    qsink = quality_sink(default_metrics(folder, dataset), folder, dev, limit=quality_images)
    zoo_cards = select_models(create_task(task).spec, dataset, folder)[0]
    offered = [c["name"] for c in zoo_cards] + [
        c["name"] for c in classifier_cards(folder, dataset) if c not in zoo_cards]
    table, _, proc_cards = measure_task(task, dataset, folder, limit, device=device,
                                        progress=progress, extra_sinks=[qsink],
                                        classifiers=offered)
    result = accuracy_report(table.only([c["name"] for c in zoo_cards]), proc_cards, zoo_cards)
    rank, size = world()
    qsink.gather(size)
    if rank != 0:
        return result, []
    out = results_dir(out_dir, dataset=dataset)
    written = [table.save(records_path(out, table.task))]
    quality = quality_result(qsink, table.task, dataset, proc_cards, provenance={
        **table.provenance, "n_images": qsink.n_images()})
    written += save_quality(quality, out)
    return result, written


def regenerate(dataset: str | None = None, folder=None, limit: int | None = None,
               out_dir: Path | None = None, progress: bool = True, device: str | None = None,
               fresh: bool = False, tasks: list[str] | None = None, figures: bool = False):
    """Measure every task (one runner pass each) and rewrite the tables and (``figures``) the
    paper figures in ``<results>/figures``; returns (results, written paths).

    A task whose saved ``evaluate_<task>.json`` was measured on the current
    checkpoints (by weight digest) is reused, unless ``fresh`` (all tasks) or it is one of
    ``tasks`` (task specs to re-measure; the tables still cover every task).
    """
    from ..config import default_dataset

    dataset = default_dataset(dataset)
    again = {create_task(t).spec for t in tasks or []}
    results, written = [], []
    for t in report_tasks(dataset, folder):
        path = results_dir(out_dir, dataset=dataset) / f"evaluate_{task_slug(create_task(t).spec)}.json"
        redo = fresh or create_task(t).spec in again
        saved = None if redo else reusable(path, t, dataset, folder, limit)
        if saved is not None:
            print(f"results: {t} reused from {path.name} (same checkpoints)", file=sys.stderr)
            results.append(saved)
            continue
        result, paths = measure_for_results(t, dataset, folder, limit, out_dir, progress, device)
        results.append(result)
        written += paths
    written += write_results(results, out_dir)
    if figures:
        written += regenerate_figures(results_dir(out_dir, dataset=dataset), folder, dataset, device)
    return results, written


def regenerate_figures(out_dir: Path, folder=None, dataset: str | None = None,
                       device: str | None = None) -> list[Path]:
    """The paper figures of the result files in ``out_dir``, into ``out_dir/figures``
    (:mod:`analysis.reporting.paper.shipped`)."""
    from .paper.shipped import write_result_figures

    return write_result_figures(out_dir, folder=folder, dataset=dataset, device=device)
