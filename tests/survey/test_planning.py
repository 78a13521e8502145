"""Planning: the simulated power of the exact binomial test against its closed form, the
judgments and raters needed, the expected Bradley-Terry CI width, and achieved power."""

import pytest
from scipy import stats as sps

from analysis.errors import RAExplorerError
from analysis.survey.planning import (
    achieved_power,
    binomial_power,
    expected_bt_ci_width,
    judgments_needed,
    plan,
    rejection_region,
    simulated_power,
)


@pytest.mark.parametrize("n", [7, 20, 50, 100, 210])
def test_the_rejection_region_is_where_scipys_binomtest_rejects(n):
    region = set(rejection_region(n, 0.05).tolist())
    assert region == {k for k in range(n + 1) if sps.binomtest(k, n, 0.5).pvalue <= 0.05}


@pytest.mark.parametrize("n", [30, 100, 210, 400])
def test_simulated_power_for_a_60_40_preference_is_within_2_points_of_the_closed_form(n):
    closed, sim = binomial_power(0.6, n), simulated_power(0.6, n, n_sim=20_000, seed=n)
    print(f"n={n}: closed form {closed:.4f}, simulated {sim:.4f}")
    assert abs(sim - closed) <= 0.02


def test_judgments_needed_reach_the_power_and_fewer_do_not():
    n = judgments_needed(0.6, 0.8, 0.05)
    assert all(binomial_power(0.6, m) >= 0.8 for m in range(n, n + 11))
    assert any(binomial_power(0.6, m) < 0.8 for m in range(n - 11, n))
    assert 190 <= n <= 230                                   # the normal approximation: 194
    assert judgments_needed(0.7) < n < judgments_needed(0.55)
    assert judgments_needed(0.6, 0.9) > n and judgments_needed(0.6, 0.8, 0.01) > n
    p = plan(0.6, n_methods=3, trials_per_rater=30, catch_rate=0.1)
    assert p["pairs"] == 3 and p["judgments"] == 3 * n and p["raters"] == -(-3 * n // 27)
    with pytest.raises(RAExplorerError, match="above 0.5"):
        plan(0.4)


def test_the_expected_bt_ci_width_halves_with_four_times_the_judgments():
    w1 = expected_bt_ci_width(0.6, 3, 200, n_sim=200, seed=1)
    w4 = expected_bt_ci_width(0.6, 3, 800, n_sim=200, seed=2)
    assert 0.4 < w4 / w1 < 0.6, (w1, w4)


def test_achieved_power_counts_judgments_without_ties():
    rows = achieved_power([{"a": "x", "b": "y", "wins_a": 120, "wins_b": 90, "ties": 30}], 0.6)
    assert rows[0]["judgments"] == 210
    assert rows[0]["power"] == pytest.approx(binomial_power(0.6, 210))
