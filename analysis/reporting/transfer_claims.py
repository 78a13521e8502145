"""The RA paper's transfer claims beyond classifier architectures, stated with their numbers
(either way) from the result files in a results folder:

* across categories (Table 7), from ``category_transfer_<task>.json``: RA - plain on the half
  of the classes neither the processor nor its recognizer saw;
* across tasks (Tables 2, 4, 8, 9, 10), from ``detection_transfer_<task>.json``: mAP@[.5:.95]
  of RA processors against their plain baseline on each detector, and the processors trained
  through a detector against the plain canvas processor on the classifiers;
* across processing architectures (Table 11), from ``architecture_transfer_<task>.json``: each
  RA variant against the plain processor of its own architecture, on the source classifier and
  on the others.

A claim holds when the 95 % CI of the difference lies above 0, does not hold when it lies
below, and is not shown when it includes 0. A missing file gives no line.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data.tasks import task_slug


def verdict(low: float, high: float) -> str:
    """The claim's verdict for a difference whose 95 % CI is [low, high]."""
    return ("holds" if low > 0 else "does not hold (RA is worse)" if high < 0
            else "is not shown (the 95 % CI includes 0)")


def _points(value: float, low: float, high: float) -> str:
    return f"{100 * value:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def category_claims(result: dict) -> list[str]:
    """Table 7: one line per task with RA - plain on the unseen half (both directions) beside
    the same-half gains."""
    cells = result["cells"]
    unseen = [(s, e, cells[s][e]) for s in cells for e in cells[s] if s != e]
    same = [(s, cells[s][s]) for s in cells if s in cells[s]]
    if not unseen:
        return []
    gains = "; ".join(f"trained on {s}, evaluated on {e} with {c['classifier']}: "
                      f"{_points(c['ra_minus_plain']['diff'], *c['ra_minus_plain']['ci95'])}"
                      for s, e, c in unseen)
    held = sum(c["ra_minus_plain"]["ci95"][0] > 0 for _, _, c in unseen)
    lows = [c["ra_minus_plain"]["ci95"][0] for _, _, c in unseen]
    highs = [c["ra_minus_plain"]["ci95"][1] for _, _, c in unseen]
    state = (verdict(min(lows), max(highs)) if held in (0, len(unseen))
             else f"holds in {held} of {len(unseen)} directions")
    within = ", ".join(f"{s}: {_points(c['ra_minus_plain']['diff'], *c['ra_minus_plain']['ci95'])}"
                       for s, c in same)
    return [f"- {result['task']}, across categories (Table 7 analog): RA - plain on classes "
            f"neither the processor nor its recognizer saw, {gains} points — the claim {state}.",
            f"  - on the processors' own half: {within} points."]


def _det_diff(row: dict, detector: str) -> tuple[float, float, float] | None:
    vs = (row.get("vs_baseline") or {}).get(detector)
    if not vs:
        return None
    return vs["map"]["value"], vs["map"]["low"], vs["map"]["high"]


def _detection_kind(row: dict) -> str | None:
    """Which table a detection row's processor belongs to ("detector": Table 2 or 4, by the
    detector); None for the bounds, plain processors and human views."""
    if row.get("view") == "human" or row.get("method") in (None, "plain"):
        return None
    if row.get("source_kind") == "detector":
        return "detector"
    return {"ra": "Table 8 analog (classification RA -> detection)",
            "ra-unsup": "Table 10 analog (unsupervised RA -> detection)",
            "ra-transformer": "Table 8 analog (RA with transformer, T(P(x)) -> detection)"}.get(
        row["method"])


def detection_claims(result: dict) -> list[str]:
    """Tables 2, 4, 8, 10 (mAP@[.5:.95] differences to each row's plain baseline, per detector)
    and Table 9 (the detection-trained processors on the classifiers)."""
    lines = []
    task = result["task"]
    for row in result["rows"]:
        kind = _detection_kind(row)
        if kind is None:
            continue
        for d in result["detectors"]:
            diff = _det_diff(row, d)
            if diff is None:
                continue
            if kind == "detector":
                table = ("Table 2 analog (RA through the detector, on it)" if row["source"] == d
                         else f"Table 4 analog (RA through {row['source']}, on another detector)")
            else:
                table = kind
            lines.append(f"- {task}, {table}: {row['name']} - {row['baseline']} on {d}, "
                         f"mAP@[.5:.95] {_points(*diff)} points — the claim {verdict(*diff[1:])}.")
    table9 = result.get("classification")
    if table9 and "rows" in table9:
        for row in table9["rows"]:
            vs = row.get("vs_plain")
            if not vs or row.get("source") is None:
                continue
            gains = ", ".join(f"{c} {_points(v['diff'], *v['ci95'])}" for c, v in vs.items())
            held = sum(v["ci95"][0] > 0 for v in vs.values())
            worse = sum(v["ci95"][1] < 0 for v in vs.values())
            lines.append(f"- {task}, Table 9 analog (detection RA -> classification): "
                         f"{row['name']} - {table9['plain']} accuracy on the classifiers: {gains} "
                         f"points; significant gains on {held} of {len(vs)}, losses on {worse}.")
    return lines


ARCHITECTURE_METHODS = {"ra": "RA", "ra-unsup": "unsupervised RA",
                        "ra-transformer": "RA with transformer (the classifiers see T(P(x)))"}


def architecture_claims(result: dict) -> list[str]:
    """Table 11: per RA variant, RA - plain of the same architecture on the source classifier
    for each architecture, with how many architectures it holds in; then the count of
    significant gains and losses on the other classifiers."""
    lines = []
    archs = result["architectures"]
    judged = result["source"] if result["source"] in result["classifiers"] else \
        result["classifiers"][0]
    others = [k for k in result["classifiers"] if k != judged]
    for method, label in ARCHITECTURE_METHODS.items():
        diffs = {a: e["rows"][method]["ra_minus_plain"] for a, e in archs.items()
                 if method in e["rows"]}
        if not diffs:
            continue
        on_source = [d[judged] for d in diffs.values()]
        held = sum(d["ci95"][0] > 0 for d in on_source)
        state = (verdict(min(d["ci95"][0] for d in on_source),
                         max(d["ci95"][1] for d in on_source))
                 if held in (0, len(on_source)) else
                 f"holds in {held} of {len(on_source)} architectures")
        gains = "; ".join(f"{a} {_points(d[judged]['diff'], *d[judged]['ci95'])}"
                          for a, d in diffs.items())
        lines.append(f"- {result['task']}, across processing architectures (Table 11 analog), "
                     f"{label} - plain of the same architecture on {judged}: {gains} points — "
                     f"the claim {state}.")
        if others:
            pairs = [d[k] for d in diffs.values() for k in others]
            up = sum(v["ci95"][0] > 0 for v in pairs)
            down = sum(v["ci95"][1] < 0 for v in pairs)
            lines.append(f"  - on the other classifiers ({', '.join(others)}): significant "
                         f"gains in {up} and losses in {down} of {len(pairs)} (architecture, "
                         "classifier) pairs.")
    return lines


def transfer_claims(folder: Path, tasks: list[str]) -> list[str]:
    """The lines of :func:`category_claims`, :func:`detection_claims` and
    :func:`architecture_claims` of every task of ``tasks`` (task specs) whose result file is in
    ``folder``."""
    lines = []
    for stem, claims in (("category_transfer", category_claims),
                         ("detection_transfer", detection_claims),
                         ("architecture_transfer", architecture_claims)):
        for task in tasks:
            path = Path(folder) / f"{stem}_{task_slug(task)}.json"
            if path.is_file():
                lines += claims(json.loads(path.read_text()))
    return lines
