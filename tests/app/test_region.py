"""The synced zoom's region outlined on the full image (app/components/region.py)."""

import numpy as np
import torch

from app.components.region import OUTLINE, outlined_region


def test_the_outline_frames_exactly_the_cropped_region():
    image = torch.full((1, 28, 28), 0.5)
    out = outlined_region(image, (4, 10, 8), width=56)    # 2x
    assert out.shape == (56, 56, 3) and out.dtype == np.uint8
    framed = np.all(out == OUTLINE, axis=2)
    rows, cols = np.nonzero(framed)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (8, 23, 20, 35)
    assert not framed[10:22, 22:34].any()                  # the inside is the image
    assert (out[0, 0] == 128).all()                        # grey 0.5 elsewhere


def test_an_image_wider_than_the_overview_is_downscaled_smoothly_and_the_outline_stays_sharp():
    image = np.zeros((224, 224, 3))
    image[:, ::2] = 1.0                                    # one-pixel stripes: grey when smoothed
    out = outlined_region(image, (56, 112, 56), width=112)
    assert out.shape == (112, 112, 3)
    framed = np.all(out == OUTLINE, axis=2)
    rows, cols = np.nonzero(framed)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (28, 55, 56, 83)
    assert framed[28:56, 56:58].all() and framed[28:30, 56:84].all()   # two pixels wide
    assert np.abs(out[60:100, 4:40].astype(float) - 127.5).max() < 20  # Lanczos, not stripes
