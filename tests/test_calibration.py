"""The expected calibration error (analysis.stats): a hand-computed example, the bin edges,
and torchmetrics' MulticlassCalibrationError where the two definitions meet."""

import math

import numpy as np
import pytest
import torch

from analysis.stats import calibration_bins, expected_calibration_error


def test_hand_computed_example():
    # bins of width 1/15: 0.95 in (14/15, 1], 0.55 in (8/15, 9/15], 0.2 in (2/15, 3/15]
    conf = [0.95, 0.95, 0.95, 0.95, 0.55, 0.55, 0.2, 0.2]
    hits = [1, 1, 1, 0, 1, 0, 0, 0]
    # (4/8) |0.75 - 0.95| + (2/8) |0.5 - 0.55| + (2/8) |0 - 0.2| = 0.1 + 0.0125 + 0.05
    assert expected_calibration_error(conf, hits) == pytest.approx(0.1625, abs=1e-12)
    bins = calibration_bins(conf, hits)
    assert bins["count"][14] == 4 and bins["count"][8] == 2 and bins["count"][2] == 2
    assert sum(bins["count"]) == 8 and math.isnan(bins["accuracy"][0])
    assert bins["accuracy"][14] == 0.75 and bins["confidence"][8] == pytest.approx(0.55)


def test_bins_are_right_closed_and_one_holds_confidence_one():
    bins = calibration_bins([1 / 15, 1.0, 0.0, 14 / 15], [1, 1, 1, 1])
    assert bins["count"][0] == 2 and bins["count"][14] == 1 and bins["count"][13] == 1
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([0.6] * 10, [True] * 6 + [False] * 4) == pytest.approx(0.0)
    assert math.isnan(expected_calibration_error([], []))


def test_equals_torchmetrics_off_the_bin_edges():
    from torchmetrics.classification import MulticlassCalibrationError

    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(2000, 10, generator=g, dtype=torch.float64)
    target = torch.randint(10, (2000,), generator=g)
    probs = logits.softmax(1)
    conf, pred = probs.max(1)
    on_edge = np.isclose((conf.numpy() * 15) % 1, 0) | np.isclose((conf.numpy() * 15) % 1, 1)
    assert not on_edge.any()
    theirs = MulticlassCalibrationError(num_classes=10, n_bins=15, norm="l1")(probs, target)
    ours = expected_calibration_error(conf.numpy(), (pred == target).numpy())
    assert ours == pytest.approx(float(theirs), abs=1e-6)
