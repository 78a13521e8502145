"""Images to PNG bytes, pixel-exact."""

import io

import numpy as np
from PIL import Image

from analysis.explore.encoders import enlarge_png


def test_enlarge_png_is_lossless_nearest_neighbour():
    img = np.array([[0.0, 1.0], [0.5, 0.25]])
    out = np.asarray(Image.open(io.BytesIO(enlarge_png(img, scale=3))))
    assert out.shape == (6, 6) and out[0, 0] == 0 and out[0, 5] == 255 and out[5, 5] == 64
    assert (out[3:, :3] == 128).all()
    signed = np.asarray(Image.open(io.BytesIO(enlarge_png(np.zeros((2, 2)), 1, signed=True))))
    assert (signed == 128).all()
