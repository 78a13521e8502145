"""Thurstone case V in JOD units: recovery of known scales, 1 JOD = 75 %, pairwise tests with
Holm's correction, and a reversed rater found as the outlier."""

import itertools

import numpy as np
import pytest
from scipy.stats import norm

from analysis.survey.scaling import SIGMA, fit, holm, judgments, thurstone


def simulate(truth: dict, n_per_pair: int, raters: int, seed: int, reversed_rater=None):
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(raters):
        for a, b in itertools.combinations(truth, 2):
            for _ in range(n_per_pair):
                a_wins = rng.random() < norm.cdf((truth[a] - truth[b]) / SIGMA)
                if f"r{k}" == reversed_rater:
                    a_wins = not a_wins
                rows.append({"rater": f"r{k}", "left": a, "right": b,
                             "answer": "A" if a_wins else "B"})
    return rows


def test_one_jod_is_75_percent_and_ties_are_left_out():
    rows = ([{"rater": "x", "left": "p", "right": "q", "answer": "A"}] * 750
            + [{"rater": "x", "left": "p", "right": "q", "answer": "B"}] * 250
            + [{"rater": "x", "left": "p", "right": "q", "answer": "tie"}] * 99)
    methods, data, _ = judgments(rows)
    assert methods == ["p", "q"] and len(data) == 1000
    q = fit(2, data, prior=0.0)
    assert q[0] - q[1] == pytest.approx(1.0, abs=1e-3)


def test_a_known_scale_is_recovered_within_its_cis_and_tests_tell_equal_from_different():
    truth = {"a": 0.0, "b": 0.0, "c": 1.2, "d": -1.0}
    out = thurstone(simulate(truth, n_per_pair=15, raters=12, seed=4), n_boot=300, seed=1)
    centred = {m: v - np.mean(list(truth.values())) for m, v in truth.items()}
    for m, s in out["scores"].items():
        assert s["ci95"][0] <= centred[m] <= s["ci95"][1], (m, s, centred[m])
        assert abs(s["jod"] - centred[m]) < 0.25
    sig = {(p["a"], p["b"]): p["significant"] for p in out["pairs"]}
    assert sig[("a", "b")] is False                          # equal methods
    assert all(v for k, v in sig.items() if k != ("a", "b"))   # every true difference
    assert all(p["p_holm"] >= p["p"] for p in out["pairs"])


def test_holm_matches_the_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_a_rater_answering_the_other_way_round_is_the_outlier():
    truth = {"a": 0.0, "b": 1.0, "c": 2.0}
    out = thurstone(simulate(truth, n_per_pair=8, raters=8, seed=7, reversed_rater="r3"),
                    n_boot=50)
    flagged = [r for r, v in out["raters"].items() if v["outlier"]]
    assert flagged == ["r3"], out["raters"]
    assert min(out["raters"], key=lambda r: out["raters"][r]["loglik"]) == "r3"
