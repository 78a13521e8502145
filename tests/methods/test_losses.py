"""The processor methods' loss terms: perceptual (per-layer weights), texture (patch Gram
matrices, patches in image pixels), channel-mean feature scaling, the E/P/T combinations."""

import pytest
import torch
import torch.nn.functional as F

from analysis.methods.losses import (
    ScaledFeatures,
    channel_mean_scales,
    layer_patch,
    patch_gram,
    perceptual_loss,
    texture_loss,
)
from analysis.methods.processors import METHODS, LossContext
from analysis.zoo.checkpoints import load_checkpoint


def test_layer_weights_sum_the_layer_terms(tiny_zoo):
    clf, _ = load_checkpoint(tiny_zoo / "clf-b")
    x, y = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    layers = clf.feature_names[:2]
    f_x, f_y = clf.features(x, layers), clf.features(y, layers)
    terms = [F.mse_loss(f_x[k], f_y[k]) for k in layers]
    weighted = perceptual_loss(clf, x, y, layers, (0.2, 0.02))
    assert float(weighted) == pytest.approx(float(0.2 * terms[0] + 0.02 * terms[1]), rel=1e-5)
    assert float(perceptual_loss(clf, x, y, layers)) == pytest.approx(
        float(sum(terms) / 2), rel=1e-5)


def test_channel_mean_scaling_gives_every_live_channel_mean_one(tiny_zoo):
    clf, _ = load_checkpoint(tiny_zoo / "clf-b")
    images = torch.rand(64, 1, 28, 28)
    layers = clf.feature_names[:3]
    scales = channel_mean_scales(clf, images, layers, batch_size=16)
    scaled = ScaledFeatures(clf, scales).features(images, layers)
    for k in layers:
        raw = clf.features(images, layers)[k].mean(dim=(0, 2, 3))
        means = scaled[k].mean(dim=(0, 2, 3))
        live = raw > 1e-6
        assert torch.allclose(means[live], torch.ones(int(live.sum())), atol=1e-4)
        assert torch.equal(scales[k][~live], torch.ones(int((~live).sum())))


def test_texture_patches_in_image_pixels_scale_with_each_map():
    assert layer_patch(8, 14, 28) == 4
    assert layer_patch(8, 7, 28) == 2
    assert layer_patch(8, 4, 28) == 2          # at least 2 x 2
    assert layer_patch(16, 56, 224) == 4


def test_texture_loss_with_patch_pixels_uses_the_scaled_patch(tiny_zoo):
    clf, _ = load_checkpoint(tiny_zoo / "clf-b")
    x, y = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    layer = clf.feature_names[0]
    fx, fy = clf.features(x, [layer])[layer], clf.features(y, [layer])[layer]
    patch = layer_patch(8, fx.shape[-1], 28)
    expected = F.mse_loss(patch_gram(fx, patch), patch_gram(fy, patch))
    got = texture_loss(clf, x, y, [layer], patch=99, patch_pixels=8)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("combo", ["E", "EP", "EPT", "ET", "P", "PT"])
def test_each_combination_has_exactly_the_terms_it_names(tiny_zoo, combo):
    clf, _ = load_checkpoint(tiny_zoo / "clf-b")
    ctx = LossContext(recognizer=clf, lam=0.1, layers=("block1", "block3"), losses=combo,
                      texture_weight=1.0)
    out, target = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    parts = METHODS["perceptual"].loss(ctx, out, target, None)
    expected = {"E": "mse", "P": "perceptual", "T": "texture"}
    assert set(parts) == {expected[letter] for letter in combo}
    assert all(float(v) > 0 for v in parts.values())


def test_texture_loss_is_zero_for_identical_images_and_grows_with_a_texture_change(tiny_zoo):
    clf, _ = load_checkpoint(tiny_zoo / "clf-b")
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 28, 28, generator=g) * 0.5 + 0.25
    layers = ["block1", "block2", "block3"]
    assert float(texture_loss(clf, target, target, layers, patch_pixels=8)) == 0.0
    i = torch.arange(28).view(1, 1, 28, 1).float()
    stripes = torch.sin(i * 2.5)            # a fine horizontal texture
    values = [float(texture_loss(clf, (target + a * stripes).clamp(0, 1), target, layers,
                                 patch_pixels=8)) for a in (0.05, 0.15, 0.3)]
    assert 0 < values[0] < values[1] < values[2]
