"""The claims on the corruption benchmark, stated with their numbers (either way) from the result
files in a results folder:

* the QualNet paper's Tables 1 and 3, from ``corruption_grid.json``: each classifier's
  normalised mCE against the vanilla one on the unprocessed corrupted input (below 1: fewer
  errors), whether QualNet's is the lowest, and what each gives up on clean images;
* the RA paper's Tables 12-14, from ``corruption_processors.json``: on how many types RA's
  gain over plain at severity 5 lies above 0 on the source classifier (Table 12) and on each
  other classifier (Table 14), and each RA method's gain per severity of the types trained at
  several (Table 13).

A comparison with the vanilla classifier or with plain holds when its 95 % CI lies on the
claimed side, does not hold when it lies on the other, and is not shown when it includes the
boundary. A missing file gives no line.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..analyses.corruption_processors import METHODS

GRID_FILE = "corruption_grid.json"
PROCESSORS_FILE = "corruption_processors.json"
QUALNET = "qualnet"          # the part of a classifier's name that marks QualNet
ABLATION = "trained-decoder"  # ... and the part that marks its ablation (the recipe's names)
# how a claim names each of the cells' methods other than plain (corruption_processors.METHODS)
METHOD_LABELS = {"ra": "RA", "ra-unsup": "unsupervised RA", "ra-transformer": "RA with transformer"}


def _below_one(low: float, high: float) -> str:
    """The verdict on "fewer errors than the vanilla classifier" for a normalised mCE's CI."""
    return ("holds" if high < 1 else "does not hold (more errors)" if low > 1
            else "is not shown (the 95 % CI includes 1)")


def _interval(doc: dict, digits: int = 3) -> str:
    return f"{doc['value']:.{digits}f} [{doc['ci95'][0]:.{digits}f}, {doc['ci95'][1]:.{digits}f}]"


def grid_claims(result: dict) -> list[str]:
    """One line per classifier on the unprocessed corrupted input, then the QualNet line."""
    rows = [r for r in result["rows"] if r["input"] == "none"]
    vanilla = next(r for r in rows if r["classifier"] == result["vanilla"])
    scope = (f"{len(result['types'])} types x severities "
             f"{', '.join(map(str, result['levels']))}, {result['n_images']:,} test images, mCE "
             f"over {len(result['mce_types'])} types")
    lines = [f"- Corruption benchmark ({scope}): {vanilla['classifier']} (vanilla) mean error "
             f"{100 * vanilla['mean_error']['value']:.1f} % (clean accuracy "
             f"{100 * vanilla['clean']['accuracy']:.1f} %)."]
    for row in rows:
        if row is vanilla:
            continue
        mce = row["mce"]
        lines.append(f"  - {row['classifier']}: normalised mCE {_interval(mce)} — fewer "
                     f"errors than the vanilla classifier {_below_one(*mce['ci95'])}; "
                     f"clean accuracy {100 * row['clean']['accuracy']:.1f} % "
                     f"({100 * (row['clean']['accuracy'] - vanilla['clean']['accuracy']):+.1f} "
                     "points).")
    # QualNet's ablation (Table 6) is neither QualNet nor a competitor in the Table 1 line
    others = [r for r in rows if r is not vanilla and ABLATION not in r["classifier"]]
    qualnet = [r for r in others if QUALNET in r["classifier"]]
    if qualnet and len(others) > 1:
        q = min(qualnet, key=lambda r: r["mce"]["value"])
        best = min(others, key=lambda r: r["mce"]["value"])
        rest = [r for r in others if r is not q]
        clear = all(q["mce"]["ci95"][1] < r["mce"]["ci95"][0] for r in rest)
        said = ("holds, and its CI lies below every other's" if clear else
                "holds by the point estimates; the CIs overlap" if best is q else
                f"does not hold: {best['classifier']} has the lowest ({best['mce']['value']:.3f})")
        runner = min(rest, key=lambda r: r["mce"]["value"])
        lines.append(f"  - QualNet Table 1 (QualNet has the lowest mCE of the recognizer-side "
                     f"methods): {q['classifier']} {_interval(q['mce'], 4)}, next "
                     f"{runner['classifier']} {_interval(runner['mce'], 4)} — the claim {said}.")
    return lines


def processor_claims(result: dict) -> list[str]:
    """Table 12: the count of severity-5 types where RA - plain lies above 0 on the source;
    Table 14: the same count on each other classifier; Table 13: each RA method's gain over
    plain per severity of the types trained at several."""
    clfs = result["classifiers"]
    judge = result["source"] if result.get("source") in clfs else clfs[0]
    lines = []
    tally = result.get("summary", {}).get("ra", {}).get(judge)
    if tally:
        said = ("holds" if tally["above"] == tally["types"] else
                f"does not hold ({tally['below']} type(s) below 0)" if tally["below"] else
                f"is not shown ({tally['includes_zero']} type(s) whose CI includes 0)")
        lines.append(f"- Corruption processors (Table 12 analog, severity 5, "
                     f"{result['n_images']:,} test images per type): RA - plain on {judge} lies "
                     f"above 0 for {tally['above']} of {tally['types']} types, includes 0 for "
                     f"{tally['includes_zero']}, below 0 for {tally['below']} — the claim that "
                     f"RA is ahead on every type {said}.")
    for method in METHODS[1:]:
        label = METHOD_LABELS.get(method, method)
        by_type: dict[str, list[dict]] = {}
        for cell in result["cells"].values():
            if method in cell["rows"]:
                by_type.setdefault(cell["type"], []).append(cell)
        for kind, cells in by_type.items():
            if len(cells) < 2:
                continue
            cells = sorted(cells, key=lambda c: c["level"])
            gains = [c["rows"][method]["ra_minus_plain"][judge]["diff"] for c in cells]
            grows = all(b > a for a, b in zip(gains, gains[1:]))
            shown = ", ".join(f"{c['level']}: {100 * g:+.1f}" for c, g in zip(cells, gains))
            lines.append(f"  - {kind} (Table 13 analog), {label} - plain on {judge} by severity "
                         f"({shown} points) — the gain grows with severity "
                         f"{'holds' if grows else 'does not hold'} (point estimates).")
    others = {clf: t for clf, t in result.get("summary", {}).get("ra", {}).items()
              if clf != judge}
    if others:
        every = [clf for clf, t in others.items() if t["above"] == t["types"]]
        below = [clf for clf, t in others.items() if t["below"]]
        count = f"{len(every)} of {len(others)} classifiers above 0 on every type"
        said = (f"holds ({count})" if len(every) == len(others) else
                f"does not hold ({', '.join(below)} below 0 on some type; {count})" if below
                else f"is not shown ({count}, the other CIs include 0)")
        shown = "; ".join(f"{clf} {t['above']} of {t['types']} above 0, {t['includes_zero']} "
                          f"include 0, {t['below']} below" for clf, t in others.items())
        lines.append(f"- Corruption processors on the other classifiers (Table 14 analog, "
                     f"severity 5, RA - plain): {shown} — the claim that the gain transfers "
                     f"to every other classifier on every type {said}.")
    return lines


def corruption_claims(folder: Path) -> list[str]:
    """The lines of :func:`grid_claims` and :func:`processor_claims` for the files in
    ``folder`` that exist."""
    lines = []
    for name, claims in ((GRID_FILE, grid_claims), (PROCESSORS_FILE, processor_claims)):
        path = Path(folder) / name
        if path.is_file():
            lines += claims(json.loads(path.read_text()))
    return lines
