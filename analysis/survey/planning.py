"""Planning a 2AFC study: judgments and raters needed to detect a preference, the expected
width of Bradley-Terry CIs, and the power a study achieved.

The test is the exact two-sided binomial test of "no preference" (p = 0.5) on a pair's
judgments with ties left out (as the results page reports preferences). A preference of
60/40 is p = 0.6: the share of judgments for the preferred method.

* :func:`binomial_power`: closed form, the probability under p of the test's rejection
  region (computed from scipy's binomial distribution);
* :func:`simulated_power`: the same test run on simulated studies (the check on the above,
  and the way for designs without a closed form);
* :func:`judgments_needed` / :func:`plan`: the smallest number of judgments per pair with at
  least the wanted power, and raters for a number of trials per rater;
* :func:`expected_bt_ci_width`: by simulation, the mean width of the 95 % interval of the
  Bradley-Terry scores (log-strengths, choix's ILSR) when methods in a row differ by the
  chosen preference;
* :func:`achieved_power`: per method pair of a study's answers, its judgments and the power
  they give for the planned preference.
"""

from __future__ import annotations

import itertools
import math

import choix
import numpy as np
from scipy import stats as sps

from ..errors import RAExplorerError

MAX_JUDGMENTS = 100_000


def _check(p: float, alpha: float, power: float | None = None) -> None:
    if not 0.5 < p < 1:
        raise RAExplorerError(f"The preference must be above 0.5 and below 1 (0.6 for 60/40); "
                              f"got {p}.")
    if not 0 < alpha < 0.5:
        raise RAExplorerError(f"The significance level alpha must be in (0, 0.5); got {alpha}.")
    if power is not None and not 0 < power < 1:
        raise RAExplorerError(f"The power must be in (0, 1); got {power}.")


def rejection_region(n: int, alpha: float = 0.05) -> np.ndarray:
    """The counts k of n judgments for which the exact two-sided binomial test (p0 = 0.5) has
    a p-value at most ``alpha`` (the smaller tail doubled, as scipy's binomtest for 0.5)."""
    k = np.arange(n + 1)
    tail = np.minimum(sps.binom.cdf(k, n, 0.5), sps.binom.sf(k - 1, n, 0.5))
    return k[np.minimum(1.0, 2 * tail) <= alpha + 1e-12]


def binomial_power(p: float, n: int, alpha: float = 0.05) -> float:
    """Closed-form power of the exact two-sided binomial test with ``n`` judgments when the
    true preference is ``p``."""
    _check(p, alpha)
    if n < 1:
        return 0.0
    return float(sps.binom.pmf(rejection_region(n, alpha), n, p).sum())


def simulated_power(p: float, n: int, alpha: float = 0.05, n_sim: int = 20_000,
                    seed: int = 0) -> float:
    """The share of ``n_sim`` simulated studies (``n`` judgments each, preference ``p``) in
    which the exact binomial test (scipy's binomtest) rejects "no preference"."""
    _check(p, alpha)
    rng = np.random.default_rng(seed)
    wins = rng.binomial(n, p, size=n_sim)
    pvalue = {k: sps.binomtest(int(k), n, 0.5).pvalue for k in np.unique(wins)}
    return float(np.mean([pvalue[k] <= alpha for k in wins]))


def judgments_needed(p: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """The smallest n whose power, and that of the next 10 n, is at least ``power`` (the exact
    test's power zigzags with n, so the first n to reach it may be followed by one below)."""
    _check(p, alpha, power)
    start = max(1, int((sps.norm.ppf(1 - alpha / 2) * 0.5 + sps.norm.ppf(power)
                        * math.sqrt(p * (1 - p))) ** 2 / (p - 0.5) ** 2 * 0.8))
    powers: dict[int, float] = {}
    for n in range(1 if start < 50 else start, MAX_JUDGMENTS):
        for m in range(n, n + 11):
            if m not in powers:
                powers[m] = binomial_power(p, m, alpha)
        if all(powers[m] >= power for m in range(n, n + 11)):
            return n
    raise RAExplorerError("More than 100,000 judgments would be needed; plan a larger "
                          "preference.")


def plan(p: float, power: float = 0.8, alpha: float = 0.05, n_methods: int = 2,
         trials_per_rater: int = 30, catch_rate: float = 0.0) -> dict:
    """Judgments per pair and in all, and raters at ``trials_per_rater`` (catch trials
    included, their share ``catch_rate``), to detect preference ``p`` in every pair."""
    if n_methods < 2:
        raise RAExplorerError("Planning needs at least two methods.")
    per_pair = judgments_needed(p, power, alpha)
    pairs = n_methods * (n_methods - 1) // 2
    regular = max(1, round(trials_per_rater * (1 - catch_rate)))
    total = per_pair * pairs
    return {"judgments_per_pair": per_pair, "pairs": pairs, "judgments": total,
            "raters": math.ceil(total / regular), "regular_trials_per_rater": regular,
            "power": binomial_power(p, per_pair, alpha)}


def expected_bt_ci_width(p: float, n_methods: int, judgments: int, n_sim: int = 200,
                         seed: int = 0) -> float:
    """Mean width of the 95 % interval of Bradley-Terry scores (log-strengths) by simulation:
    method i has log-strength i x logit(p) (neighbours differ by preference ``p``), the
    ``judgments`` comparisons go uniformly over the pairs, and each simulated study is fitted
    with choix's ILSR; the width is the 2.5-97.5 percentile range of the fitted (centred)
    scores over the simulated studies, averaged over methods."""

    if n_methods < 2 or judgments < 1:
        raise RAExplorerError("The CI width needs at least two methods and one judgment.")
    rng = np.random.default_rng(seed)
    theta = np.arange(n_methods) * math.log(p / (1 - p))
    pairs = list(itertools.combinations(range(n_methods), 2))
    fits = []
    for _ in range(n_sim):
        idx = rng.integers(0, len(pairs), judgments)
        a, b = np.array(pairs)[idx].T
        a_wins = rng.random(judgments) < 1 / (1 + np.exp(theta[b] - theta[a]))
        data = [(int(x), int(y)) if w else (int(y), int(x)) for x, y, w in zip(a, b, a_wins)]
        est = choix.ilsr_pairwise(n_methods, data, alpha=0.01)
        fits.append(est - est.mean())
    fits = np.array(fits)
    return float(np.mean(np.percentile(fits, 97.5, axis=0) - np.percentile(fits, 2.5, axis=0)))


def achieved_power(preferences: list[dict], p: float, alpha: float = 0.05) -> list[dict]:
    """Per method pair of a study's preferences (rows with ``a``, ``b``, ``wins_a``,
    ``wins_b``): its judgments (ties out) and the power they give for preference ``p``."""
    out = []
    for row in preferences:
        n = int(row["wins_a"]) + int(row["wins_b"])
        out.append({"a": row["a"], "b": row["b"], "judgments": n,
                    "power": binomial_power(p, n, alpha),
                    "needed": judgments_needed(p, 0.8, alpha)})
    return out
