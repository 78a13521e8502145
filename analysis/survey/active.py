"""Active pair selection for multi-method 2AFC (after ASAP, Mikhailiuk et al. 2021): the next
batch of pairs is the one with the largest expected information gain over a Bradley-Terry
posterior; the uniform design (every pair equally often) stays the default.

Posterior: a Laplace approximation around the MAP log-strengths (choix's ILSR with a small
prior) with the covariance the inverse of the Bradley-Terry Fisher information plus the
prior. For a pair (i, j) the score difference d = q_i - q_j is then N(mu, v), and the
expected information gain of one judgment about the scores is the mutual information of the
outcome and d (BALD): h(E[sigmoid(d)]) - E[h(sigmoid(d))], with h the binary entropy, by
Gauss-Hermite quadrature. A batch is the ``batch`` pairs of largest gain (distinct pairs),
so that many raters can work at once between two refits.

:func:`simulate` plays a study with simulated raters (a Bradley-Terry observer with known
scores) under either design and reports Kendall's tau between the fitted and the true
ranking; tests/survey/test_active.py measures the judgments each design needs.
"""

from __future__ import annotations

import itertools

import choix
import numpy as np
from scipy.stats import kendalltau

PRIOR = 0.1                      # precision of the Gaussian prior on each log-strength
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(20)
_GH_W = _GH_W / _GH_W.sum()


def _entropy(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def posterior(n: int, data: list[tuple[int, int]], prior: float = PRIOR):
    """(mean, covariance) of the Laplace-approximated Bradley-Terry posterior of ``n``
    log-strengths from (winner, loser) judgments."""

    mean = (choix.ilsr_pairwise(n, data, alpha=prior) if data else np.zeros(n))
    mean = mean - mean.mean()
    info = prior * np.eye(n)
    for w, lost in data:
        p = 1 / (1 + np.exp(mean[lost] - mean[w]))
        c = p * (1 - p)
        info[w, w] += c
        info[lost, lost] += c
        info[w, lost] -= c
        info[lost, w] -= c
    return mean, np.linalg.inv(info)


def information_gain(mean: np.ndarray, cov: np.ndarray) -> dict[tuple[int, int], float]:
    """Expected information gain of one judgment of each pair (i < j)."""
    out = {}
    for i, j in itertools.combinations(range(len(mean)), 2):
        mu, var = mean[i] - mean[j], cov[i, i] + cov[j, j] - 2 * cov[i, j]
        p = 1 / (1 + np.exp(-(mu + np.sqrt(max(var, 0.0)) * _GH_X)))
        out[(i, j)] = float(_entropy((_GH_W * p).sum()) - (_GH_W * _entropy(p)).sum())
    return out


def next_batch(n: int, data: list[tuple[int, int]], batch: int = 10) -> list[tuple[int, int]]:
    """The ``batch`` pairs (distinct, i < j) of largest expected information gain given the
    judgments so far."""
    gains = information_gain(*posterior(n, data))
    return sorted(gains, key=lambda p: -gains[p])[:batch]


def simulate(true_scores, judgments: int, design: str = "uniform", batch: int = 10,
             seed: int = 0) -> float:
    """Kendall's tau between the true ranking and the one fitted from ``judgments`` simulated
    Bradley-Terry judgments chosen by ``design`` ("uniform": pairs in a shuffled round robin;
    "active": :func:`next_batch`, refitted after every batch)."""

    rng = np.random.default_rng(seed)
    theta = np.asarray(true_scores, dtype=float)
    n = len(theta)
    pairs = list(itertools.combinations(range(n), 2))
    data: list[tuple[int, int]] = []

    def judge(i, j):
        data.append((i, j) if rng.random() < 1 / (1 + np.exp(theta[j] - theta[i])) else (j, i))

    while len(data) < judgments:
        if design == "uniform":
            todo = [pairs[k] for k in rng.permutation(len(pairs))]
        elif design == "active":
            todo = next_batch(n, data, batch)
        else:
            raise ValueError(f"Unknown design {design!r}; use uniform or active.")
        for i, j in todo[:judgments - len(data)]:
            judge(i, j)
    est = choix.ilsr_pairwise(n, data, alpha=0.01)
    return float(kendalltau(est, theta).statistic)
