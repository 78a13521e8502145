"""The visibility staircase: weighted up-down steps, and simulated observers with a known
Weibull psychometric function whose threshold the estimate finds within its CI."""

import numpy as np
import pytest

from analysis.survey.staircase import (
    Staircase,
    estimate,
    l2_threshold,
    p_correct,
    run,
    target_of,
    threshold_of,
)

ALPHA, BETA = 0.3, 3.0


def test_steps_are_weighted_for_the_target_and_stay_in_0_1():
    sc = Staircase(m=2, start=0.5, step=0.04)
    assert sc.target == 0.75 and target_of(3) == pytest.approx(2 / 3)
    assert sc.record(True) == pytest.approx(0.46)
    assert sc.record(False) == pytest.approx(0.46 + 0.12)   # up = 3 x down at 75 %
    low = Staircase(m=3, start=0.01, step=0.04)
    assert low.record(True) == 0.0
    with pytest.raises(ValueError, match="2AFC or 3AFC"):
        Staircase(m=4)


@pytest.mark.parametrize("m", [2, 3])
def test_a_simulated_observer_s_threshold_is_found_within_the_stated_ci(m):
    truth = threshold_of(ALPHA, BETA, m, target_of(m))
    sc = run(lambda a: p_correct(a, ALPHA, BETA, m), 200, m, rng=np.random.default_rng(m))
    est = estimate(sc, n_boot=80, seed=m)
    print(f"{m}AFC: true threshold {truth:.3f}, estimate {est['threshold']:.3f}, "
          f"CI [{est['ci95'][0]:.3f}, {est['ci95'][1]:.3f}]")
    assert est["ci95"][0] <= truth <= est["ci95"][1]
    assert abs(est["threshold"] - truth) < 0.05
    # the staircase's last reversals hover around the threshold too
    assert abs(np.mean([a for a, _ in sc.trials[-60:]]) - truth) < 0.08


def test_the_ci_covers_the_truth_in_most_short_runs():
    truth = threshold_of(ALPHA, BETA, 2, 0.75)
    covered = 0
    for s in range(10):
        sc = run(lambda a: p_correct(a, ALPHA, BETA, 2), 80, 2, rng=np.random.default_rng(100 + s))
        lo, hi = estimate(sc, n_boot=60, seed=s)["ci95"]
        covered += lo <= truth <= hi
    print(f"80-trial 2AFC runs whose 95 % CI holds the true threshold: {covered} of 10")
    assert covered >= 7


def test_the_threshold_in_pixel_l2_units():
    plain, ra = np.zeros((1, 4, 4)), np.full((1, 4, 4), 0.5)
    assert l2_threshold(0.25, plain, ra) == pytest.approx(0.25 * 0.5 * 4)
