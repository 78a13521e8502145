import math

import numpy as np

from analysis.survey.stats import (
    bradley_terry,
    catch_pass_rates,
    excluded_raters,
    krippendorff_alpha,
    label_satisfaction,
    metric_agreement,
    preference_rates,
    study_summary,
)


def simulate(strengths: dict[str, float], raters: int, trials_per_pair: int, seed: int,
             catch=0, sloppy=()):
    """Raters choose A with the Bradley-Terry probability of the true strengths."""
    rng = np.random.default_rng(seed)
    methods = sorted(strengths)
    rows, tid = [], 0
    for a_i, a in enumerate(methods):
        for b in methods[a_i + 1:]:
            for _ in range(trials_per_pair):
                tid += 1
                left, right = (a, b) if rng.random() < 0.5 else (b, a)
                p_left = 1 / (1 + math.exp(strengths[right] - strengths[left]))
                for r in range(raters):
                    rows.append({"rater": f"r{r}", "trial_id": tid, "left": left, "right": right,
                                 "is_catch": False, "expected": None, "payload": {},
                                 "answer": "A" if rng.random() < p_left else "B"})
    for _ in range(catch):
        tid += 1
        for r in range(raters):
            answer = ("B" if rng.random() < 0.7 else "A") if f"r{r}" in sloppy else "A"
            rows.append({"rater": f"r{r}", "trial_id": tid, "left": "@reference",
                         "right": methods[0], "is_catch": True, "expected": "A", "payload": {},
                         "answer": answer})
    return rows


TRUE = {"plain": -0.8, "ra": 0.1, "robust": 0.7}


def test_bradley_terry_recovers_the_order():
    rows = simulate(TRUE, raters=10, trials_per_pair=30, seed=0)
    bt = bradley_terry(rows, n_boot=100)
    order = sorted(bt, key=lambda m: bt[m]["score"])
    assert order == ["plain", "ra", "robust"]
    for v in bt.values():
        assert v["ci95"][0] <= v["score"] <= v["ci95"][1]


def test_bootstrap_cis_cover_the_truth_at_about_the_nominal_rate():
    centred = {m: s - np.mean(list(TRUE.values())) for m, s in TRUE.items()}
    hits = total = 0
    for rep in range(40):
        rows = simulate(TRUE, raters=5, trials_per_pair=20, seed=100 + rep)
        bt = bradley_terry(rows, n_boot=150, seed=rep, alpha=0.0001)
        for m, v in bt.items():
            hits += v["ci95"][0] <= centred[m] <= v["ci95"][1]
            total += 1
    assert 0.85 <= hits / total <= 1.0, hits / total


def test_wilson_cis_of_preference_rates_cover_at_about_95_percent():
    p_true = 1 / (1 + math.exp(TRUE["plain"] - TRUE["ra"]))   # P(ra beats plain)
    hits = 0
    for rep in range(300):
        rows = simulate({"plain": TRUE["plain"], "ra": TRUE["ra"]}, 3, 20, seed=1000 + rep)
        (pair,) = preference_rates(rows)
        assert (pair["a"], pair["b"]) == ("plain", "ra")
        hits += pair["ci95"][0] <= 1 - p_true <= pair["ci95"][1]
    assert 0.90 <= hits / 300 <= 0.99


def test_catch_trials_exclude_sloppy_raters():
    rows = simulate(TRUE, raters=6, trials_per_pair=2, seed=5, catch=10, sloppy={"r4"})
    rates = catch_pass_rates(rows)
    assert rates["r0"]["rate"] == 1.0 and rates["r4"]["rate"] < 0.75
    assert excluded_raters(rows) == ["r4"]
    summary = study_summary(rows, "2afc", n_boot=20)
    assert summary["excluded"] == ["r4"] and summary["raters"] == 6
    assert summary["kept_answers"] == 5 * 3 * 2


def test_krippendorff_alpha_extremes():
    agree = [{"rater": f"r{r}", "trial_id": t, "answer": "AB"[t % 2]} for r in range(3)
             for t in range(10)]
    assert krippendorff_alpha(agree) == 1.0
    rng = np.random.default_rng(0)
    noise = [{"rater": f"r{r}", "trial_id": t, "answer": "AB"[rng.integers(2)]}
             for r in range(5) for t in range(200)]
    assert abs(krippendorff_alpha(noise)) < 0.1


def test_label_satisfaction_counts_both_and_sides():
    rows = [{"payload": {"A": "plain", "B": "ra"}, "answer": "B"},
            {"payload": {"A": "ra", "B": "plain"}, "answer": "both"},
            {"payload": {"A": "ra", "B": "plain"}, "answer": "none"},
            {"payload": {"A": "plain", "B": "ra"}, "answer": "A"}]
    s = label_satisfaction(rows)
    assert s["ra"]["satisfied"] == 2 and s["plain"]["satisfied"] == 2
    assert s["ra"]["trials"] == 4 and s["ra"]["rate"] == 0.5


def test_metric_agreement_is_the_bapps_2afc_score():
    rows = [{"trial_id": 1, "answer": "A"}, {"trial_id": 1, "answer": "A"},
            {"trial_id": 1, "answer": "B"}, {"trial_id": 2, "answer": "B"}]
    distances = {1: {"lpips": (0.1, 0.3), "psnr": (20.0, 25.0)},
                 2: {"lpips": (0.1, 0.3), "psnr": (20.0, 25.0)}}
    out = metric_agreement(rows, distances, {"lpips": True, "psnr": False})
    # trial 1: p(A) = 2/3; lpips prefers A -> 2/3, psnr prefers B -> 1/3; trial 2: p(A) = 0
    assert abs(out["lpips"]["score"] - (2 / 3 + 0) / 2) < 1e-12
    assert abs(out["psnr"]["score"] - (1 / 3 + 1) / 2) < 1e-12


def test_empty_statistics_name_their_reason():
    def row(rater, tid, rt, catch=False, answer="A"):
        return {"rater": rater, "trial_id": tid, "left": "a", "right": "b", "answer": answer,
                "is_catch": catch, "expected": "A" if catch else None, "rt_ms": rt}

    fast = [row("r1", t, 300.0) for t in range(4)] + [row("r2", t, 250.0) for t in range(4)]
    summary = study_summary(fast, "2afc", min_median_rt_ms=400)
    assert summary["preferences"] == [] and summary["bradley_terry"] == {}
    assert summary["empty_reason"]["short"] == "all 2 raters are excluded (too fast)"
    assert "r1: too fast; r2: too fast" in summary["empty_reason"]["sentence"]
    sloppy = [row("r1", 9, 900.0, catch=True, answer="B"), row("r1", 1, 900.0)]
    assert study_summary(sloppy, "2afc")["empty_reason"]["short"] == \
        "the only rater is excluded (catch trials)"
    only_catch = [row("r1", 9, 900.0, catch=True)]
    assert "only catch trials" in study_summary(only_catch, "2afc")["empty_reason"]["sentence"]
    assert study_summary(fast, "2afc", min_median_rt_ms=None)["empty_reason"] is None
