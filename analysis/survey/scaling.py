"""Thurstone case V scaling of 2AFC answers in JOD units, pairwise significance and per-rater
outlier scores (after pwcmp, Perez-Ortiz & Mantiuk 2017).

Libraries checked: choix (Bradley-Terry and other logit models, used in stats.py), evalica
(Bradley-Terry, Elo, eigen, PageRank, bootstrap; no probit model) and arena-rank (LMArena's
Bradley-Terry); none fits Thurstone case V, so the maximum-likelihood fit is written here
with scipy.

* Model: P(i preferred to j) = Phi((q_i - q_j) / sigma) with sigma = 1 / Phi^-1(0.75), so a
  difference of 1 JOD (just-objectionable difference) means 75 % of judgments prefer the
  better method; scores are centred on 0; a weak Gaussian prior (``prior``, in 1/JOD^2)
  keeps them finite when a method always wins. Ties are left out.
* CIs: percentile bootstrap over judgments (95 %).
* Pairwise significance: per pair, the two-sided bootstrap p-value of the score difference
  (the share of resamples on the other side of 0, doubled), Holm-corrected over all pairs;
  significance from the test, never from overlapping intervals.
* Outliers: each rater's mean log-likelihood per judgment under the scale fitted without
  them (leave one out); a rater below Q1 - 1.5 IQR of all raters is an outlier (Tukey's
  rule, as pwcmp's observer screening).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import optimize
from scipy.stats import norm

SIGMA = 1 / norm.ppf(0.75)          # 1 JOD: 75 % of judgments


def judgments(rows: list[dict]) -> tuple[list[str], np.ndarray, list[str]]:
    """(methods, an int array of (winner, loser) indices, the rater of each judgment) of the
    non-tie 2AFC answers."""
    pairs, raters = [], []
    for r in rows:
        if r["answer"] in ("A", "B"):
            w, lost = (r["left"], r["right"]) if r["answer"] == "A" else (r["right"], r["left"])
            pairs.append((w, lost))
            raters.append(r["rater"])
    methods = sorted({m for p in pairs for m in p})
    index = {m: i for i, m in enumerate(methods)}
    data = np.array([(index[w], index[lost]) for w, lost in pairs], dtype=int).reshape(-1, 2)
    return methods, data, raters


def fit(n: int, data: np.ndarray, prior: float = 0.01) -> np.ndarray:
    """Maximum-likelihood Thurstone case V scores (JOD, centred) of ``n`` methods from
    (winner, loser) rows."""
    if len(data) == 0:
        return np.zeros(n)
    w, lost = data[:, 0], data[:, 1]

    def nll(q):
        z = (q[w] - q[lost]) / SIGMA
        logp = norm.logcdf(z)
        ratio = np.exp(norm.logpdf(z) - logp) / SIGMA          # d log Phi(z) / d diff
        grad = np.zeros(n)
        np.add.at(grad, w, -ratio)
        np.add.at(grad, lost, ratio)
        return -logp.sum() + prior * (q ** 2).sum(), grad + 2 * prior * q

    q = optimize.minimize(nll, np.zeros(n), jac=True, method="L-BFGS-B").x
    return q - q.mean()


def loglik(q: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Log-likelihood of each (winner, loser) row under scores ``q``."""
    return norm.logcdf((q[data[:, 0]] - q[data[:, 1]]) / SIGMA)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    order = np.argsort(pvalues)
    m, out, running = len(pvalues), [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def thurstone(rows: list[dict], n_boot: int = 300, seed: int = 0, alpha: float = 0.05) -> dict:
    """Scores with bootstrap CIs, pairwise tests and rater outlier scores of a study's 2AFC
    answer rows: ``{"scores": {method: {"jod", "ci95"}}, "pairs": [...], "raters": {...}}``."""
    methods, data, raters = judgments(rows)
    if len(methods) < 2:
        return {"scores": {}, "pairs": [], "raters": {}}
    n = len(methods)
    point = fit(n, data)
    rng = np.random.default_rng(seed)
    boots = np.array([fit(n, data[rng.integers(0, len(data), len(data))])
                      for _ in range(n_boot)])
    low, high = np.percentile(boots, 2.5, axis=0), np.percentile(boots, 97.5, axis=0)
    scores = {m: {"jod": float(point[i]), "ci95": [float(low[i]), float(high[i])]}
              for i, m in enumerate(methods)}
    pairs = []
    for i, j in itertools.combinations(range(n), 2):
        d = boots[:, i] - boots[:, j]
        p = float(min(1.0, 2 * (min((d <= 0).sum(), (d >= 0).sum()) + 1) / (n_boot + 1)))
        pairs.append({"a": methods[i], "b": methods[j], "diff_jod": float(point[i] - point[j]),
                      "p": p})
    for row, adj in zip(pairs, holm([p["p"] for p in pairs])):
        row["p_holm"] = adj
        row["significant"] = bool(adj <= alpha)
    return {"scores": scores, "pairs": pairs, "raters": outliers(n, data, raters)}


def outliers(n: int, data: np.ndarray, raters: list[str]) -> dict[str, dict]:
    """Per rater: judgments, mean log-likelihood per judgment under the scale fitted without
    them, and whether that is below Q1 - 1.5 IQR of all raters (needs 4 raters or more)."""
    who = np.array(raters)
    out = {}
    for r in sorted(set(raters)):
        mine = who == r
        q = fit(n, data[~mine])
        out[r] = {"judgments": int(mine.sum()), "loglik": float(loglik(q, data[mine]).mean())}
    values = np.array([v["loglik"] for v in out.values()])
    if len(values) >= 4:
        q1, q3 = np.percentile(values, [25, 75])
        fence = q1 - 1.5 * (q3 - q1)
    else:
        fence = -math.inf
    for v in out.values():
        v["outlier"] = bool(v["loglik"] < fence)
    return out
