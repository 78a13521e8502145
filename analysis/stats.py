"""Small statistics helpers: confidence intervals for proportions and means; the expected
calibration error of top-1 predictions and its reliability-diagram bins."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95 % by default); (nan, nan) when n == 0."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values, z: float = Z95) -> tuple[float, float, float]:
    """(mean, low, high): normal-approximation 95 % CI of the mean of ``values``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, mean, mean
    half = z * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return mean, mean - half, mean + half


ECE_BINS = 15


def calibration_bins(confidence, correct, n_bins: int = ECE_BINS) -> dict:
    """Reliability-diagram bins of top-1 predictions: ``n_bins`` equal-width bins of the
    confidence, bin b = (b / n_bins, (b + 1) / n_bins] (the first also holds 0).

    Args:
        confidence: (N,) the top-1 (max) softmax probability of each prediction, in [0, 1].
        correct: (N,) bool, whether the top-1 class is the label.

    Returns:
        ``{"edges": (n_bins + 1,), "count": (n_bins,), "confidence": (n_bins,) mean confidence,
        "accuracy": (n_bins,) fraction correct}`` as lists (NaN means in empty bins).
    """
    conf = np.asarray(confidence, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(index, weights=hits, minlength=n_bins) / count
    return {"edges": edges.tolist(), "count": count.astype(int).tolist(),
            "confidence": mean_conf.tolist(), "accuracy": accuracy.tolist()}


def expected_calibration_error(confidence, correct, n_bins: int = ECE_BINS) -> float:
    """Expected calibration error (Guo et al., 2017; Naeini et al., 2015), in [0, 1]:
    sum over the bins of :func:`calibration_bins` of (bin count / N) * |accuracy - mean
    confidence|; NaN for no predictions.

    Example: confidences (0.95, 0.95, 0.55, 0.55) with correctness (1, 0, 1, 1) fill the
    bins (14/15, 1] and (8/15, 9/15]: ECE = 0.5 * |0.5 - 0.95| + 0.5 * |1 - 0.55| = 0.45.
    """
    bins = calibration_bins(confidence, correct, n_bins)
    count = np.asarray(bins["count"], dtype=np.float64)
    if count.sum() == 0:
        return float("nan")
    gap = np.abs(np.nan_to_num(np.asarray(bins["accuracy"]) - np.asarray(bins["confidence"])))
    return float((count / count.sum() * gap).sum())
