"""Per-image association statistics with a bootstrap over images: Spearman's rho, Pearson's r,
AUROC and means, each on the full sample and on resamples drawn with replacement.

A resample is a row of counts ``w`` (how often each image is drawn; the counts of one row sum
to n), so every statistic is computed as its weighted form on the original arrays without
materialising the resample: the weighted statistic with integer counts equals the statistic of
the resampled data exactly (midranks for ties, as ``scipy.stats.spearmanr`` and
``sklearn.metrics.roc_auc_score`` treat them). Every statistic of one call sees the same
resamples (``seed``), so statistics of the same images are paired.

Pooling (the same images seen by several classifiers): the per-image counts are repeated over
the ``repeat`` concatenated blocks, so an image is drawn with all its rows.

Shapes: value arrays (n,) or (n * repeat,); counts (B, n); statistics (B,) per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

N_BOOT = 1000
CHUNK = 100          # resamples per block (bounds the memory: CHUNK x n x repeat floats)


def resample_counts(n: int, n_boot: int = N_BOOT, seed: int = 0,
                    chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """Blocks (b, n) float64 of bootstrap counts over ``n`` images, ``n_boot`` rows in all
    (each row: n draws with replacement); the same ``seed`` gives the same rows."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        draws = rng.integers(0, n, size=(b, n)) + n * np.arange(b)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        done += b


def midranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B, n) midrank of each element of ``x`` (n,) in each weighted sample of ``w`` (B, n):
    the average 1-based rank its copies take among all drawn copies (ties share one rank;
    elements drawn 0 times get the rank they would take, unused by the weighted statistics)."""
    uniq, inv = np.unique(np.asarray(x, dtype=np.float64), return_inverse=True)
    g, b = len(uniq), w.shape[0]
    per_value = np.bincount((inv[None, :] + g * np.arange(b)[:, None]).ravel(),
                            weights=w.ravel(), minlength=b * g).reshape(b, g)
    below = np.cumsum(per_value, axis=1) - per_value
    return (below + (per_value + 1) / 2)[:, inv]


def weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B,) Pearson correlation of ``a`` and ``b`` ((n,) or (B, n)) under counts ``w`` (B, n);
    NaN where either is constant."""
    total = w.sum(1, keepdims=True)
    da = a - (w * a).sum(1, keepdims=True) / total
    db = b - (w * b).sum(1, keepdims=True) / total
    cov = (w * da * db).sum(1)
    var = (w * da * da).sum(1) * (w * db * db).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, cov / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)


def weighted_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B,) Spearman's rho (Pearson of midranks) of ``x`` and ``y`` (n,) under counts ``w``."""
    return weighted_pearson(midranks(x, w), midranks(y, w), w)


def weighted_auroc(score: np.ndarray, positive: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B,) area under the ROC curve of ``score`` (n,; higher: more likely positive) for the
    labels ``positive`` (n,) bool under counts ``w``, by the Mann-Whitney statistic on midranks
    (ties count one half); NaN where a resample has no positive or no negative."""
    return auroc_of_ranks(midranks(score, w), positive, w)


def auroc_of_ranks(ranks: np.ndarray, positive: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:func:`weighted_auroc` from the scores' midranks (B, n) under the same counts ``w``."""
    pos = np.asarray(positive, dtype=bool)
    n_pos = (w * pos).sum(1)
    n_neg = w.sum(1) - n_pos
    rank_sum = (w * ranks * pos).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def weighted_mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B,) mean of ``x`` (n,) under counts ``w`` (B, n)."""
    return (w * x).sum(1) / w.sum(1)


Statistic = Callable[..., np.ndarray]     # stat(*arrays, w (B, n * repeat)) -> (B,) or (B, k)


def bootstrap_values(stat: Statistic, *arrays, n: int, repeat: int = 1, n_boot: int = N_BOOT,
                     seed: int = 0):
    """(``stat`` on the full sample, its ``n_boot`` bootstrap values) over ``n`` images whose
    rows are repeated ``repeat`` times in ``arrays`` (block k holds rows k*n .. k*n + n - 1).
    A statistic of shape (B,) gives (float, (n_boot,)); one of shape (B, k) several statistics
    at once: ((k,), (n_boot, k))."""
    full = np.asarray(stat(*arrays, np.ones((1, n * repeat))))[0]
    boots = [stat(*arrays, np.tile(w, (1, repeat)))
             for w in resample_counts(n, n_boot, seed)]
    boots = np.concatenate(boots) if boots else np.empty((0, *full.shape))
    return (float(full) if full.ndim == 0 else full), boots


def interval(value: float, boots: np.ndarray) -> dict:
    """{"value", "ci95": percentile-bootstrap 95 % interval} (NaN bounds without finite
    resamples)."""
    finite = boots[np.isfinite(boots)]
    low, high = (np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan))
    return {"value": value, "ci95": [float(low), float(high)]}


def with_ci(stat: Statistic, *arrays, n: int, repeat: int = 1, n_boot: int = N_BOOT,
            seed: int = 0) -> dict:
    """``stat`` on the full sample with its percentile-bootstrap 95 % CI over images."""
    return interval(*bootstrap_values(stat, *arrays, n=n, repeat=repeat, n_boot=n_boot,
                                      seed=seed))
