"""The survey trial's images by the explorer's fit rule: a 28-px image enlarged 8x (then
stretched by CSS, pixelated), a 224-px image shown pixel for pixel at its own width."""

import io

import numpy as np
from PIL import Image

from app.components.survey_trial import _pngs


def width_of(png: bytes) -> int:
    return Image.open(io.BytesIO(png)).size[0]


def test_small_images_are_enlarged_and_224_px_images_shown_pixel_for_pixel():
    rng = np.random.default_rng(0)
    small, fit = _pngs({"a": rng.random((28, 28)), "b": rng.random((28, 28))})
    assert fit.scale == 8 and {width_of(v) for v in small.values()} == {224}
    big, fit = _pngs({"a": rng.random((224, 224, 3))})
    assert fit.scale == 1 and fit.width == 224 and width_of(big["a"]) == 224
    exact = rng.integers(0, 256, (224, 224, 3)).astype(np.uint8)
    shown = np.asarray(Image.open(io.BytesIO(_pngs({"a": exact / 255.0})[0]["a"])))
    assert np.array_equal(shown, exact)                      # no resampling at all
