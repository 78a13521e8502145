"""The BD table's estimates: bootstrap confidence intervals, the summary of a list of distances
(censored ones, NaN, counted apart) and their text as the tables print them."""

from __future__ import annotations

import math

import numpy as np


def bootstrap_ci(values, stat=np.mean, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95 % CI of ``stat`` over ``values`` (NaN if fewer than 2)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    stats = stat(arr[idx], axis=1)
    return float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))


def summarize(values, seed: int = 0) -> dict:
    """Mean and median of the uncensored values with bootstrap 95 % CIs, and counts."""
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    n_cens = int(sum(math.isnan(v) for v in values))
    if arr.size == 0:
        return {"n": 0, "censored": n_cens, "mean": math.nan, "mean_ci95": [math.nan, math.nan],
                "median": math.nan, "median_ci95": [math.nan, math.nan]}
    return {"n": int(arr.size), "censored": n_cens,
            "mean": float(arr.mean()), "mean_ci95": list(bootstrap_ci(arr, np.mean, seed=seed)),
            "median": float(np.median(arr)),
            "median_ci95": list(bootstrap_ci(arr, np.median, seed=seed))}


def num_text(v: float) -> str:
    return f"{v:.3f}"


def estimate_text(stats: dict, key: str) -> str:
    """ "1.290 [1.159, 1.422]": the value and its 95 % CI, 3 decimals ("-" where there is none)."""
    v, ci = stats[key], stats[f"{key}_ci95"]
    if math.isnan(v):
        return "-"
    return f"{num_text(v)} [{num_text(ci[0])}, {num_text(ci[1])}]" if not math.isnan(ci[0]) else num_text(v)
