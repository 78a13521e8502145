"""The RA paper's tables from the evaluations of every task (:mod:`.reproduce` measures them).

:func:`write_results` writes, from the raw evaluations (``evaluate_<task>.json``):

* ``table1.md``  — Table 1 analog: no processing / plain / RA / RA-unsup /
  RA+T / perceptual / robust-perceptual x every classifier, per task;
* ``table3_transfer.md`` — Table 3 analog (SR): RA trained with each
  classifier as source (rows) x every classifier as target (columns);
* ``table16_lambda.md`` — Table 16 analog (SR): PSNR / SSIM / accuracy vs lambda;
* ``claims.md`` — the paper's central claims, checked on these numbers, and the transfer
  claims of the category, detection and architecture tables in the same folder
  (:mod:`.transfer_claims`) and the main claims restated across training seeds from the seed
  tables there (:mod:`.seed_claims`), the claims on randomized and compound degradations
  (:mod:`.degradation_claims`) and on the corruption benchmark (:mod:`.corruption_claims`).

Accuracies are percentages with 95 % Wilson intervals over test images;
differences to plain are paired (same images) with 95 % CIs.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..analyses.evaluate import CLEAN, NO_PROCESSING
from ..config import EMBEDDED_DATASET
from ..data.folders import results_dir
from ..data.tasks import task_slug
from ..errors import RAExplorerError
from ..methods import METHOD_LABELS, METHODS
from ..zoo.catalogue import ra_source
from .corruption_claims import corruption_claims
from .degradation_claims import degradation_claims
from .seed_claims import RECOGNIZER_SEEDS, seeds_section
from .transfer_claims import transfer_claims


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
    for method in METHODS:
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


def main_ra_lambda(rows: list[dict]) -> float | None:
    """The lambda most RA (``method == "ra"``) rows share (ties: the smallest): the recipe's
    lambda, which the by-source rows are trained with; the others form the lambda sweep."""
    lams = [r["lambda"] for r in rows if r["method"] == "ra" and r.get("lambda") is not None]
    if not lams:
        return None
    return min(set(lams), key=lambda lam: (-lams.count(lam), lam))


def transfer_rows(result: dict) -> list[dict]:
    """One RA processor per source classifier (Table 3's rows), chosen from the cards' method,
    source and lambda, never from names (a user's zoo names its processors freely): per source,
    the row at :func:`main_ra_lambda`, or that source's only RA row. Ordered as the classifiers."""
    main = main_ra_lambda(result["rows"])
    by_source: dict[str, list[dict]] = {}
    for row in result["rows"]:
        if row["method"] == "ra" and row.get("source"):
            by_source.setdefault(row["source"], []).append(row)
    rows = []
    for group in by_source.values():
        at_main = sorted((r for r in group if r.get("lambda") == main), key=lambda r: r["name"])
        if at_main or len(group) == 1:
            rows.append((at_main or group)[0])
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
    """Table 16's rows: the plain processor and every RA (``method == "ra"``) processor trained
    with ``source``, by lambda (from the cards, not the names)."""
    rows = [r for r in result["rows"]
            if (r["method"] == "plain" and r["name"] == result.get("plain"))
            or (r["method"] == "ra" and r["source"] == source)]
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


#: The result files in the results folder that :func:`write_results` reads besides the
#: evaluations it is given: the sections of ``claims.md`` after the Table 1 claims.
CLAIM_SOURCES = ("category_transfer_*.json", "detection_transfer_*.json",
                 "architecture_transfer_*.json", "randomized_*.json", "seeds_*.json",
                 "loss_grid_seeds_*.json", "recognizer_seeds.json", "corruption_grid.json",
                 "corruption_processors.json")


def write_results(results: list[dict], out_dir: Path | None = None, source: str | None = None):
    out_dir = results_dir(out_dir, dataset=results[0]["dataset"] if results else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        path = out_dir / f"evaluate_{task_slug(result['task'])}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        written.append(path)
    header = ("Accuracy in % with 95 % Wilson intervals over test images; PSNR / SSIM are means "
              "over the same images. Produced by `python -m analysis reproduce`.\n")
    tables = {
        "table1.md": "# Table 1 analog: accuracy of each method on each classifier\n\n" + header
        + "\n" + "\n\n".join(format_table1(r) for r in results),
        "claims.md": f"# The RA paper's claims, checked on {_dataset_words(results)}\n\n"
        + "\n".join(check_claims(results, source)) + _beyond(out_dir, results)
        + _degradations(out_dir) + _corruptions(out_dir) + _across_seeds(out_dir, results),
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


def _beyond(out_dir: Path, results: list[dict]) -> str:
    """The claims section of the category, detection and architecture tables in ``out_dir``
    (empty when it holds none), :mod:`.transfer_claims`."""
    lines = transfer_claims(out_dir, [r["task"] for r in results])
    if not lines:
        return ""
    return ("\n\n## Transfer across categories, tasks and processing architectures\n\nFrom "
            "`category_transfer_*.json`, `detection_transfer_*.json` and "
            "`architecture_transfer_*.json` in this folder.\n\n" + "\n".join(lines))


def _dataset_words(results: list[dict]) -> str:
    """"the embedded default", or the dataset specs the results were measured on."""
    datasets = sorted({r.get("dataset") or "?" for r in results})
    if datasets == [EMBEDDED_DATASET]:
        return "the embedded default"
    return ", ".join(datasets)


def _across_seeds(out_dir: Path, results: list[dict]) -> str:
    """The claims section of the seed tables in ``out_dir`` (empty when it holds none),
    :mod:`.seed_claims`."""
    lines = seeds_section(out_dir, [r["task"] for r in results])
    if not lines:
        return ""
    return ("\n\n## Across training seeds\n\nFrom `seeds_*.json` in this folder (`python -m "
            "analysis seeds --task T`): the zoo's processors and their replicates trained with "
            "other seeds, each method paired with the plain processor of its own seed; and from "
            "`loss_grid_seeds_*.json` (`python -m analysis loss-grid --across-seeds --task T`): "
            "the loss grid of every training seed"
            + ("; and from `recognizer_seeds.json` (`python -m analysis recognizer-side "
               "--across-seeds`): the recognizer-side classifiers of every training seed"
               if (out_dir / f"{RECOGNIZER_SEEDS}.json").is_file() else "")
            + ". The seeds and the number of test images are on each line. The other claims "
            "above rest on one training run each.\n\n"
            + "\n".join(lines))


def _corruptions(out_dir: Path) -> str:
    """The claims section of the corruption benchmark's tables in ``out_dir`` (empty when it
    holds none), :mod:`.corruption_claims`."""
    lines = corruption_claims(out_dir)
    if not lines:
        return ""
    return ("\n\n## Corruption benchmark\n\nFrom `corruption_grid.json` (`python -m analysis "
            "corruption-grid`: the QualNet paper's Tables 1 and 3, the recognizer side on every "
            "ImageNet-C type) and `corruption_processors.json` (`python -m analysis "
            "corruption-processors`: the RA paper's Tables 12 and 13) in this folder.\n\n"
            + "\n".join(lines))


def _degradations(out_dir: Path) -> str:
    """The claims section of the randomized-task tables in ``out_dir`` (empty when it holds
    none), :mod:`.degradation_claims`."""
    lines = degradation_claims(out_dir)
    if not lines:
        return ""
    return ("\n\n## Randomized and compound degradations\n\nFrom `randomized_*.json` in this "
            "folder (`python -m analysis randomized --task T`).\n\n" + "\n".join(lines))
