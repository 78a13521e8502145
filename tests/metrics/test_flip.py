"""FLIP through flip-evaluator: the map and the registry's mean."""

import numpy as np
import torch

from analysis.metrics.flip import flip_map, mean_flip
from analysis.metrics.registry import create_metric


def noisy(image, sigma, seed):
    rng = np.random.default_rng(seed)
    return np.clip(image + sigma * rng.standard_normal(image.shape), 0, 1).astype(np.float32)


def test_identical_images_have_no_error_and_more_noise_more_error():
    ref = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    assert flip_map(ref, ref).max() == 0
    small, large = flip_map(noisy(ref, 0.02, 1), ref), flip_map(noisy(ref, 0.2, 1), ref)
    assert small.shape == (28, 28) and 0 < small.mean() < large.mean() <= 1


def test_grey_equals_its_three_channel_copy():
    ref = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    test = noisy(ref, 0.1, 2)
    rgb = flip_map(np.repeat(test[..., None], 3, -1), np.repeat(ref[..., None], 3, -1))
    assert np.array_equal(flip_map(test, ref), rgb)


def test_the_registry_metric_is_the_map_mean_per_image():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(3, 1, 20, 20, generator=g)
    x = (y + 0.1 * torch.randn(3, 1, 20, 20, generator=g)).clamp(0, 1)
    values = create_metric("flip")(x, y)
    expected = [flip_map(a[0].numpy(), b[0].numpy()).mean() for a, b in zip(x, y)]
    assert values.shape == (3,) and np.allclose(values.numpy(), expected)
    assert torch.equal(mean_flip(y, y), torch.zeros(3))
