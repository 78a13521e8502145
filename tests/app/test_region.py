"""The synced zoom's region outlined on the full image (app/components/region.py)."""

import numpy as np
import torch

from app.components.region import OUTLINE, outlined_region


def test_the_outline_frames_exactly_the_cropped_region():
    image = torch.full((1, 28, 28), 0.5)
    out = outlined_region(image, (4, 10, 8), scale=2)
    assert out.shape == (56, 56, 3) and out.dtype == np.uint8
    framed = np.all(out == OUTLINE, axis=2)
    rows, cols = np.nonzero(framed)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (8, 23, 20, 35)
    assert not framed[10:22, 22:34].any()                  # the inside is the image
    assert (out[0, 0] == 128).all()                        # grey 0.5 elsewhere
