"""The claims on randomized and compound degradations, from a hand-made Table 15 result."""

from __future__ import annotations

import json

from analysis.config import PROJECT_ROOT
from analysis.reporting.degradation_claims import degradation_claims, randomized_claims
from analysis.reporting.tables import write_results


def _d(diff: float, low: float, high: float) -> dict:
    return {"diff": diff, "ci95": [low, high]}


RANDOMIZED = {
    "task": "compound:scale=4", "source": "r20", "classifiers": ["r20", "vgg"],
    "groups": {
        "normal": {"trained_on": "sr:scale=4", "rows": {
            "plain": {}, "ra": {"ra_minus_plain": {"r20": _d(0.03, 0.02, 0.04),
                                                   "vgg": _d(0.0, -0.01, 0.01)}}}},
        "random": {"trained_on": "compound:scale=4", "rows": {
            "plain": {}, "ra": {"ra_minus_plain": {"r20": _d(-0.01, -0.02, 0.005),
                                                   "vgg": _d(0.0, -0.01, 0.01)}}}}},
    "random_minus_normal": {"plain": {"r20": _d(0.05, 0.04, 0.06)},
                            "ra": {"r20": _d(0.01, 0.0, 0.02)}},
}


def test_the_randomized_claims_state_each_group_and_what_random_training_changes(tmp_path):
    lines = randomized_claims(RANDOMIZED)
    assert lines == [
        "- compound:scale=4 (Table 15 analog), processors trained on sr:scale=4 (normal): RA - "
        "plain on r20 +3.0 [+2.0, +4.0] points — the claim holds.",
        "- compound:scale=4 (Table 15 analog), processors trained on compound:scale=4 (random): "
        "RA - plain on r20 -1.0 [-2.0, +0.5] points — the claim is not shown (the 95 % CI "
        "includes 0).",
        "  - trained on random - trained on the fixed task, same method, on r20: plain +5.0 "
        "[+4.0, +6.0]; ra +1.0 [+0.0, +2.0] points."]
    (tmp_path / "randomized_compound_scale4.json").write_text(json.dumps(RANDOMIZED))
    assert degradation_claims(tmp_path) == lines
    shipped = json.loads((PROJECT_ROOT / "results" / "evaluate_sr_scale4.json").read_text())
    write_results([shipped], tmp_path)
    claims = (tmp_path / "claims.md").read_text()
    assert "## Randomized and compound degradations" in claims and lines[0] in claims
