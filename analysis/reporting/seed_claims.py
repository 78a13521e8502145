"""The RA paper's main claims restated across training seeds, from ``seeds_<task>.json`` (the
``seeds`` verb: each method's processor paired with the plain processor of its own seed):

* per method, RA - plain on the source classifier for every seed with its matched-pairs 95 %
  CI, the mean and SD over seeds, and in how many seeds the claim holds (CI above 0), does
  not hold (CI below 0) or is not shown;
* per method, how many of the other classifiers show a significant gain (or loss) in each seed;
* per method, the PSNR difference to the plain processor of the same seed (the same images, so
  the difference of the means is the mean paired difference), per seed, in dB;
* from ``loss_grid_seeds_<task>.json`` (``loss-grid --across-seeds``): Uelwer et al.'s Figure 1
  claim (the robust evaluator inverts the standard one's ranking of the loss grid) per training
  seed, and whether two seeds order the grid alike on each evaluator;
* from ``recognizer_seeds.json`` (``recognizer-side --across-seeds``): per recognizer-side
  classifier, whether its mCE without processing is below the vanilla classifier's behind the
  RA processor in each seed; QualNet against each other recognizer-side classifier seed by
  seed; the row with the lowest mCE per seed. mCE has no CI here: these are point estimates.

A missing file gives no line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..analyses.recognizer_seeds import STEM as RECOGNIZER_SEEDS
from ..analyses.recognizer_side import INPUT_LABELS
from ..data.tasks import task_slug
from .corruption_claims import ABLATION, QUALNET

METHOD_LABELS = {"ra": "RA", "ra-unsup": "unsupervised RA", "ra-transformer": "RA with "
                 "transformer", "perceptual": "perceptual loss", "robust-perceptual":
                 "robust-perceptual loss"}


def _seed_state(diffs: list[dict], label: str) -> str:
    """How many seeds' CIs lie above 0, below 0 and across it, as a verdict on ``label``."""
    n = len(diffs)
    above = sum(d["ci95"][0] > 0 for d in diffs)
    below = sum(d["ci95"][1] < 0 for d in diffs)
    if above == n:
        return f"holds in all {n} seeds"
    if below == n:
        return f"does not hold in any of the {n} seeds ({label} is worse in each)"
    parts = [f"holds in {above}"] + ([f"{label} is worse in {below}"] if below else []) + \
        ([f"is not shown in {n - above - below}"] if n - above - below else [])
    return ", ".join(parts) + f" of {n} seeds"


def seed_claims(result: dict) -> list[str]:
    """Lines for one task's seed result (module docstring)."""
    judged = result["source"] if result["source"] in result["classifiers"] else \
        result["classifiers"][0]
    others = [k for k in result["classifiers"] if k != judged]
    per_seed = result["per_seed"]
    seeds = list(per_seed)
    lines = []
    for method, label in METHOD_LABELS.items():
        held = [s for s in seeds if method in per_seed[s]]
        if len(held) < 2:
            continue
        diffs = [per_seed[s][method]["ra_minus_plain"][judged] for s in held]
        values = np.array([d["diff"] for d in diffs])
        each = "; ".join(f"seed {s} {100 * d['diff']:+.1f} [{100 * d['ci95'][0]:+.1f}, "
                         f"{100 * d['ci95'][1]:+.1f}]" for s, d in zip(held, diffs))
        lines.append(f"- {result['task']}, across training seeds ({result['n_images']:,} test "
                     f"images): {label} - plain of the same seed on the source {judged}: {each} "
                     f"points; mean {100 * values.mean():+.2f} (SD {100 * values.std(ddof=1):.2f})"
                     f" — the claim {_seed_state(diffs, label)}.")
        if others:
            counts = []
            for s in held:
                row = per_seed[s][method]["ra_minus_plain"]
                up = sum(row[k]["ci95"][0] > 0 for k in others)
                down = sum(row[k]["ci95"][1] < 0 for k in others)
                counts.append(f"seed {s}: {up} gains, {down} losses")
            lines.append(f"  - on the {len(others)} other classifiers (significant at 95 %): "
                         + "; ".join(counts) + ".")
        psnr = [per_seed[s][method]["psnr"]["mean"] - per_seed[s]["plain"]["psnr"]["mean"]
                for s in held]
        lines.append("  - PSNR - plain of the same seed: " + ", ".join(
            f"{p:+.3f}" for p in psnr) + f" dB (mean {np.mean(psnr):+.3f}, SD "
            f"{np.std(psnr, ddof=1):.3f}).")
    return lines


def _rho(rc: dict) -> str:
    if rc["spearman_rho"] is None:
        return "undefined"
    return f"{rc['spearman_rho']:+.2f} (p = {rc['spearman_p']:.2g})"


def loss_grid_seed_claims(result: dict) -> list[str]:
    """Lines for one task's loss grid across seeds (module docstring)."""
    std, rob = result["evaluators"]["standard"], result["evaluators"]["robust"]
    summary = result["summary"]
    seeds = [str(s) for s in summary["seeds"]]
    n = len(seeds)
    negative, significant = summary["negative"], summary["significant_negative"]
    verdict = (f"holds in all {n} seeds" if significant == n else
               f"holds in {significant} of {n} seeds (rho < 0 with p < 0.05)"
               + (f"; rho is negative but not significant in {negative - significant}"
                  if negative > significant else ""))
    rho = summary["spearman_rho"]
    lines = [f"- {result['task']}, Uelwer et al.'s Figure 1 across training seeds "
             f"({len(summary['rows'])} models, {result['n_images']:,} test images): Spearman rho "
             f"of the errors on {std} vs {rob}, " + "; ".join(
                 f"seed {s} {_rho(result['per_seed'][s]['rank_correlation'])}" for s in seeds)
             + f"; mean {rho['mean']:+.2f} (SD {rho['sd']:.2f}) — the inversion {verdict}.",
             "  - on the seed-mean errors: rho "
             f"{_rho(summary['rank_correlation_of_means'])}; two seeds order the models alike "
             "(mean Spearman rho between seeds): " + ", ".join(
                 f"{e} {b['mean']:+.2f}" for e, b in summary["between_seeds"].items()) + "."]
    return lines


def _mce_each(d: dict) -> str:
    each = "; ".join(f"seed {s} {v:+.3f}" for s, v in zip(d["seeds"], d["values"]))
    sd = "" if d["sd"] is None else f" (SD {d['sd']:.3f})"
    return f"{each}; mean {d['mean']:+.3f}{sd}"


def recognizer_seed_claims(result: dict) -> list[str]:
    """Lines for the recognizer side across seeds (module docstring)."""
    seeds = sorted({s for d in result["against_ra"] for s in d["seeds"]})
    lines = [f"- The recognizer side across training seeds ({result['n_images']:,} test images "
             f"per degradation, seeds {', '.join(map(str, seeds))}; mCE over "
             f"{', '.join(result['mce_columns'])}, point estimates):"]
    for d in result["against_ra"]:
        n = len(d["seeds"])
        lines.append(f"  - {d['classifier']} without processing minus {result['vanilla']} behind "
                     f"the RA processor, mCE: {_mce_each(d)} — fixing the recognizer wins in "
                     f"{d['lower']} of {n} seed{'s' if n != 1 else ''}.")
    for d in result["pairs"]:
        a, b = (d["a"], d["b"]) if QUALNET in d["a"] else (d["b"], d["a"])
        if QUALNET not in a or ABLATION in a or ABLATION in b:
            continue
        sign = 1 if a == d["a"] else -1
        values = [sign * v for v in d["values"]]
        lower = d["a_lower"] if sign == 1 else sum(v < 0 for v in values)
        n = len(d["seeds"])
        each = "; ".join(f"seed {s} {v:+.3f}" for s, v in zip(d["seeds"], values))
        sd = "" if d["sd"] is None else f" (SD {d['sd']:.3f})"
        lines.append(f"  - {a} minus {b}, mCE without processing: {each}; mean "
                     f"{np.mean(values):+.3f}{sd} — QualNet has the lower mCE in {lower} of {n} "
                     f"seed{'s' if n != 1 else ''}.")
    if result["best"]:
        lines.append("  - the lowest mCE: " + "; ".join(
            f"seed {s} {b['classifier']} ({INPUT_LABELS[b['input']]}) {b['mce']:.3f}"
            for s, b in result["best"].items()) + ".")
    return lines


def seeds_section(folder: Path, tasks: list[str]) -> list[str]:
    """:func:`seed_claims` of every task of ``tasks`` (task specs) whose ``seeds_<task>.json``
    is in ``folder``, then :func:`loss_grid_seed_claims` of those with a
    ``loss_grid_seeds_<task>.json``, then :func:`recognizer_seed_claims` of
    ``recognizer_seeds.json``."""
    lines = []
    for stem, claims in (("seeds", seed_claims), ("loss_grid_seeds", loss_grid_seed_claims)):
        for task in tasks:
            path = Path(folder) / f"{stem}_{task_slug(task)}.json"
            if path.is_file():
                lines += claims(json.loads(path.read_text()))
    path = Path(folder) / f"{RECOGNIZER_SEEDS}.json"
    if path.is_file():
        lines += recognizer_seed_claims(json.loads(path.read_text()))
    return lines
