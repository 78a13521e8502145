"""Images to PNG bytes: pixel-exact enlargements, smooth downscales where a panel does not fit."""

import io

import numpy as np
from PIL import Image

from analysis.explore.encoders import (
    COLUMN_PX,
    PanelFit,
    colour_png,
    enlarge_png,
    fit_panel,
    max_enlargement,
    panel_png,
)


def test_enlarge_png_is_lossless_nearest_neighbour():
    img = np.array([[0.0, 1.0], [0.5, 0.25]])
    out = np.asarray(Image.open(io.BytesIO(enlarge_png(img, scale=3))))
    assert out.shape == (6, 6) and out[0, 0] == 0 and out[0, 5] == 255 and out[5, 5] == 64
    assert (out[3:, :3] == 128).all()
    signed = np.asarray(Image.open(io.BytesIO(enlarge_png(np.zeros((2, 2)), 1, signed=True))))
    assert (signed == 128).all()


def test_fit_panel_enlarges_within_the_column_and_shrinks_what_does_not_fit():
    assert fit_panel(28, 6).width == 168 and fit_panel(28, 6).scale == 6      # the default as ever
    assert max_enlargement(28) == COLUMN_PX // 28 and fit_panel(28, 12).width <= COLUMN_PX
    assert fit_panel(28, 12).scale == COLUMN_PX // 28 and not fit_panel(28, 12).smooth
    assert fit_panel(112, 6) == PanelFit(112, 224) and max_enlargement(112) == 2
    assert fit_panel(224, 6) == PanelFit(224, 224)      # ImageNet's size: pixel for pixel
    assert "pixel for pixel" in fit_panel(224, 6).describe()
    big = fit_panel(512, 6)            # wider than the column: a smooth downscale, labelled
    assert big == PanelFit(512, COLUMN_PX) and big.smooth and big.scale == 0
    assert "Lanczos" in big.describe() and f"{COLUMN_PX} px wide" in big.describe()
    assert "nearest neighbour" in fit_panel(28, 6).describe()
    for side in (1, 5, 28, 64, 100, 223, 225, 512):
        for scale in (1, 2, 6, 12):
            assert fit_panel(side, scale).width <= COLUMN_PX, (side, scale)


def test_panel_png_is_nearest_neighbour_when_enlarging_and_smooth_when_shrinking():
    rng = np.random.default_rng(0)
    img = rng.random((28, 28, 3))
    exact = np.asarray(Image.open(io.BytesIO(panel_png(img, fit_panel(28, 6)))))
    assert exact.shape == (168, 168, 3)
    assert np.array_equal(exact, np.asarray(Image.open(io.BytesIO(enlarge_png(img, 6)))))
    stripes = np.zeros((224, 224))
    stripes[:, ::2] = 1.0                                    # one-pixel stripes, mean 0.5
    out = np.asarray(Image.open(io.BytesIO(panel_png(stripes, PanelFit(224, 112)))))
    assert out.shape == (112, 112)
    # a smooth filter averages the stripes to grey; nearest neighbour would keep 0 or 255
    assert np.abs(out[4:-4, 4:-4].astype(float) - 127.5).max() < 20
    region = np.asarray(Image.open(io.BytesIO(panel_png(img, fit_panel(7, 24), crop=(3, 5, 7)))))
    assert region.shape == (168, 168, 3) and (region[0, 0] == np.round(img[3, 5] * 255)).all()
    diff = np.asarray(Image.open(io.BytesIO(colour_png(rng.random((224, 224)), 1.0,
                                                        fit_panel(224)))))
    assert diff.shape == (224, 224, 3)
    diff = np.asarray(Image.open(io.BytesIO(colour_png(rng.random((300, 300)), 1.0, fit_panel(300)))))
    assert diff.shape == (COLUMN_PX, COLUMN_PX, 3)
