"""hf-mse, the echo-artifact indicator: the high-frequency part of the MSE."""

import pytest
import torch

from analysis.metrics.artifacts import high_frequency_mse, high_pass_mask
from analysis.metrics.registry import create_metric


def test_it_is_zero_for_identical_images_and_at_most_the_mse():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(4, 1, 28, 28, generator=g), torch.rand(4, 1, 28, 28, generator=g)
    assert torch.allclose(high_frequency_mse(x, x), torch.zeros(4))
    hf = high_frequency_mse(x, y)
    mse = (x - y).pow(2).flatten(1).mean(1)
    assert (hf > 0).all() and (hf <= mse + 1e-6).all()
    # cutoff 0: every frequency but DC is kept -> MSE minus the squared mean error
    assert torch.allclose(high_frequency_mse(x, y, cutoff=0.0),
                          mse - (x - y).flatten(1).mean(1).pow(2), atol=1e-6)


def test_a_checkerboard_error_is_all_high_frequency_and_a_ramp_is_not():
    y = torch.full((1, 1, 16, 16), 0.5)
    i, j = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    checker = y + 0.1 * ((i + j) % 2 * 2 - 1).float()            # Nyquist: all of the MSE
    assert float(high_frequency_mse(checker, y)) == pytest.approx(0.01, rel=1e-5)
    slow = y + 0.1 * torch.cos(2 * torch.pi * i / 16).float()     # 1/16 cycle per pixel
    assert float(high_frequency_mse(slow, y)) == pytest.approx(0.0, abs=1e-9)


def test_the_mask_keeps_the_right_bins():
    mask = high_pass_mask(8, 8, 0.25)
    assert not mask[0, 0] and mask[4, 4] and not mask[1, 1]


def test_registry_builds_it():
    x = torch.rand(2, 3, 20, 20)
    assert create_metric("hf-mse", device="cpu")(x, x).shape == (2,)
