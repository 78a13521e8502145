"""The bootstrap statistics agree with scipy / scikit-learn on the full sample and on any
resample (the weighted form with counts equals the statistic of the expanded data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import roc_auc_score

from analysis.analyses.agreement_stats import (
    bootstrap_values,
    midranks,
    resample_counts,
    weighted_auroc,
    weighted_mean,
    weighted_pearson,
    weighted_spearman,
    with_ci,
)

# hand-made data with ties in both variables
X = np.array([0.1, 0.4, 0.4, 0.9, 0.3, 0.3, 0.3, 0.8, 0.2, 0.7])
Y = np.array([1.0, 2.0, 3.0, 5.0, 2.0, 2.0, 1.0, 4.0, 0.0, 4.0])
POS = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
ONES = np.ones((1, len(X)))


def test_full_sample_statistics_equal_scipy_and_sklearn():
    assert weighted_spearman(X, Y, ONES)[0] == pytest.approx(spearmanr(X, Y).statistic, abs=1e-12)
    assert weighted_pearson(X, Y, ONES)[0] == pytest.approx(pearsonr(X, Y).statistic, abs=1e-12)
    assert weighted_auroc(X, POS, ONES)[0] == pytest.approx(roc_auc_score(POS, X), abs=1e-12)


def test_resample_statistics_equal_those_of_the_expanded_resample():
    counts = next(resample_counts(len(X), n_boot=5, seed=3))
    assert counts.shape == (5, len(X)) and (counts.sum(1) == len(X)).all()
    rho, r, auc = (weighted_spearman(X, Y, counts), weighted_pearson(X, Y, counts),
                   weighted_auroc(X, POS, counts))
    for k, w in enumerate(counts):
        take = np.repeat(np.arange(len(X)), w.astype(int))
        assert rho[k] == pytest.approx(spearmanr(X[take], Y[take]).statistic, abs=1e-12)
        assert r[k] == pytest.approx(pearsonr(X[take], Y[take]).statistic, abs=1e-12)
        if POS[take].any() and not POS[take].all():
            assert auc[k] == pytest.approx(roc_auc_score(POS[take], X[take]), abs=1e-12)
        assert weighted_mean(X, w[None])[0] == pytest.approx(X[take].mean())


def test_midranks_by_hand():
    ranks = midranks(np.array([2.0, 1.0, 2.0, 3.0]), np.array([[1.0, 1.0, 1.0, 1.0],
                                                               [2.0, 0.0, 1.0, 1.0]]))
    assert ranks[0].tolist() == [2.5, 1.0, 2.5, 4.0]
    assert ranks[1].tolist() == [2.0, 0.5, 2.0, 4.0]     # three copies of 2 share ranks 1..3


def test_pooled_blocks_draw_an_image_with_all_its_rows():
    a, b = X, Y[::-1].copy()
    pooled_x, pooled_y = np.concatenate([X, X]), np.concatenate([Y, b])
    value, boots = bootstrap_values(weighted_spearman, pooled_x, pooled_y, n=len(X), repeat=2,
                                    n_boot=4, seed=1)
    assert value == pytest.approx(spearmanr(pooled_x, pooled_y).statistic)
    for k, w in enumerate(resample_counts(len(X), 4, seed=1).__next__()):
        take = np.repeat(np.arange(len(X)), w.astype(int))
        expected = spearmanr(np.concatenate([X[take], a[take]]),
                             np.concatenate([Y[take], b[take]])).statistic
        assert boots[k] == pytest.approx(expected, abs=1e-12)


def test_ci_brackets_the_value_and_shrinks_with_more_images():
    rng = np.random.default_rng(0)
    small, large = (rng.normal(size=n) for n in (50, 2000))
    ci_small = with_ci(weighted_spearman, small, small + rng.normal(size=50), n=50, n_boot=300)
    x = large + rng.normal(size=2000)
    ci_large = with_ci(weighted_spearman, large, x, n=2000, n_boot=300)
    for ci in (ci_small, ci_large):
        assert ci["ci95"][0] <= ci["value"] <= ci["ci95"][1]
    assert np.diff(ci_large["ci95"]) < np.diff(ci_small["ci95"])
    assert ci_large["value"] == pytest.approx(spearmanr(large, x).statistic)


def test_constant_values_give_nan_not_an_error():
    flat = np.zeros(len(X))
    assert np.isnan(weighted_spearman(flat, Y, ONES)[0])
    assert np.isnan(weighted_auroc(X, np.zeros(len(X), bool), ONES)[0])
