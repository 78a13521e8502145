"""The visibility threshold of an RA change: a weighted up-down staircase along the blend
x(a) = x_plain + a (x_RA - x_plain), a in [0, 1], and the threshold a* with its CI.

Procedure (Kaernbach 1991): an mAFC trial shows x(a) among m - 1 copies of x_plain; after a
correct answer a goes down by ``step``, after a wrong one up by ``step * target / (1 -
target)``, which converges on the a where the proportion correct is ``target`` (0.75 for
2AFC, 2/3 for 3AFC by default: halfway between guessing and certainty).

Estimate: a Weibull psychometric function with the guess rate 1/m and a small lapse rate,
P(correct | a) = 1/m + (1 - 1/m - lapse) (1 - exp(-(a / alpha)^beta)), fitted by maximum
likelihood to every trial; the threshold a* is the a of ``target`` correct, and its 95 % CI
comes from a parametric bootstrap (simulated observers with the fitted function run through
the same staircase). In [0, 1]-pixel L2 units the threshold is a* x ||x_RA - x_plain||_2,
the same units as BD along d_RA (see :func:`l2_threshold`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

LAPSE = 0.02


def target_of(m: int) -> float:
    """The proportion correct the staircase aims at: halfway between 1/m and 1."""
    return (1 + 1 / m) / 2


class Staircase:
    """A weighted up-down staircase on a in [0, 1] for an ``m``-alternative forced choice."""

    def __init__(self, m: int = 2, start: float = 0.5, step: float = 0.04,
                 target: float | None = None):
        if m not in (2, 3):
            raise ValueError("The staircase runs 2AFC or 3AFC trials (m = 2 or 3).")
        self.m, self.a, self.step = m, float(start), float(step)
        self.target = target_of(m) if target is None else target
        self.trials: list[tuple[float, bool]] = []

    def record(self, correct: bool) -> float:
        """Store the answer at the current a; return the next a."""
        self.trials.append((self.a, bool(correct)))
        up = self.step * self.target / (1 - self.target)
        self.a = float(np.clip(self.a - self.step if correct else self.a + up, 0.0, 1.0))
        return self.a


def p_correct(a, alpha: float, beta: float, m: int, lapse: float = LAPSE):
    """The Weibull psychometric function of an mAFC trial at blend ``a``."""
    g = 1 / m
    return g + (1 - g - lapse) * (1 - np.exp(-(np.maximum(a, 0) / alpha) ** beta))


def threshold_of(alpha: float, beta: float, m: int, target: float, lapse: float = LAPSE) -> float:
    """The a with ``target`` correct under the Weibull function."""
    g = 1 / m
    frac = (target - g) / (1 - g - lapse)
    return float(alpha * (-math.log(1 - frac)) ** (1 / beta))


def fit(trials: list[tuple[float, bool]], m: int) -> tuple[float, float]:
    """Maximum-likelihood (alpha, beta) of the Weibull function from (a, correct) trials."""
    a = np.array([t[0] for t in trials])
    k = np.array([t[1] for t in trials], dtype=float)

    def nll(x):
        alpha, beta = math.exp(x[0]), math.exp(x[1])
        p = np.clip(p_correct(a, alpha, beta, m), 1e-9, 1 - 1e-9)
        # a weak prior on the slope keeps the fit finite on few trials
        return -(k * np.log(p) + (1 - k) * np.log(1 - p)).sum() + 0.5 * (x[1] - math.log(3)) ** 2

    starts = [(math.log(s), math.log(3)) for s in (0.05, 0.2, 0.5)]
    best = min((optimize.minimize(nll, s, method="Nelder-Mead") for s in starts),
               key=lambda r: r.fun)
    return math.exp(best.x[0]), math.exp(best.x[1])


def run(observer, n_trials: int, m: int = 2, start: float = 0.5, step: float = 0.04,
        rng=None) -> Staircase:
    """A staircase of ``n_trials`` with ``observer(a) -> P(correct)`` answering at random."""
    rng = rng or np.random.default_rng(0)
    sc = Staircase(m, start, step)
    for _ in range(n_trials):
        sc.record(rng.random() < observer(sc.a))
    return sc


def estimate(sc: Staircase, n_boot: int = 200, seed: int = 0) -> dict:
    """The threshold a* (``target`` correct) with a parametric-bootstrap 95 % CI."""
    alpha, beta = fit(sc.trials, sc.m)
    point = threshold_of(alpha, beta, sc.m, sc.target)
    rng = np.random.default_rng(seed)
    start = sc.trials[0][0]
    boots = []
    for _ in range(n_boot):
        sim = run(lambda a: p_correct(a, alpha, beta, sc.m), len(sc.trials), sc.m, start,
                  sc.step, rng)
        boots.append(threshold_of(*fit(sim.trials, sc.m), sc.m, sc.target))
    # the basic (reflected) bootstrap interval: corrects the fit's bias on few trials
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"threshold": point, "ci95": [float(max(0.0, 2 * point - hi)),
                                         float(min(1.5, 2 * point - lo))],
            "trials": len(sc.trials), "alpha": alpha, "beta": beta, "target": sc.target}


def l2_threshold(a_star: float, x_plain, x_ra) -> float:
    """The threshold as a distance in [0, 1]-pixel L2 units: a* x ||x_RA - x_plain||_2."""
    diff = np.asarray(x_ra, dtype=float) - np.asarray(x_plain, dtype=float)
    return float(a_star * np.linalg.norm(diff.ravel()))
