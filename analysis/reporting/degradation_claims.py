"""The RA paper's claims on degradations other than its three fixed settings, stated with their
numbers (either way) from the result files in a results folder:

* randomized and compound degradations (Table 15), from ``randomized_<task>.json``: RA - plain
  on the source classifier for the processors trained on the fixed task ("normal") and for
  those trained on the randomized one ("random"), and what training on random degradations
  changes for each method.

A claim holds when the 95 % CI of the difference lies above 0, does not hold when it lies
below, and is not shown when it includes 0. A missing file gives no line.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data.tasks import task_slug
from .transfer_claims import verdict

RANDOMIZED_TASKS = ("sr-random", "denoise-random", "jpeg-random", "compound")


def _points(d: dict) -> str:
    low, high = d["ci95"]
    return f"{100 * d['diff']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def randomized_claims(result: dict) -> list[str]:
    """Table 15: one line per group (RA - plain on the source), then random - normal."""
    clfs = result["classifiers"]
    judged = result["source"] if result["source"] in clfs else clfs[0]
    lines = []
    for group, entry in result["groups"].items():
        d = entry["rows"]["ra"]["ra_minus_plain"][judged]
        lines.append(f"- {result['task']} (Table 15 analog), processors trained on "
                     f"{entry['trained_on']} ({group}): RA - plain on {judged} {_points(d)} "
                     f"points — the claim {verdict(*d['ci95'])}.")
    across = "; ".join(f"{m} {_points(by[judged])}"
                       for m, by in result["random_minus_normal"].items())
    lines.append(f"  - trained on random - trained on the fixed task, same method, on {judged}: "
                 f"{across} points.")
    return lines


def degradation_claims(folder: Path) -> list[str]:
    """The lines of :func:`randomized_claims` for every randomized or compound task whose
    result file is in ``folder`` (any parameters: the files are found by their stem)."""
    lines = []
    for task in RANDOMIZED_TASKS:
        for path in sorted(Path(folder).glob(f"randomized_{task}*.json")):
            result = json.loads(path.read_text())
            if task_slug(result["task"]) == path.stem.removeprefix("randomized_"):
                lines += randomized_claims(result)
    return lines
