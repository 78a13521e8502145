"""The map image's PNG is pixel-exact: what the Boundaries page sends is the map it drew."""

import base64
import io

import numpy as np
from PIL import Image

from app.components.map_image import png_data_url


def decode(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(url[len(prefix):])))


def test_a_map_with_few_colours_is_palette_coded_and_exact():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(10, 3), dtype=np.uint8)
    colours[1] = colours[0] + np.array([0, 0, 1], dtype=np.uint8)   # colours one step apart
    codes = rng.integers(0, 10, size=(96, 80))
    pixels = colours[codes]
    image = decode(png_data_url(pixels))
    assert image.mode == "P"
    assert image.size == (80, 96)
    assert np.array_equal(np.asarray(image.convert("RGB")), pixels)


def test_an_image_with_many_colours_is_sent_as_rgb_and_exact():
    pixels = np.random.default_rng(1).integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    image = decode(png_data_url(pixels))
    assert image.mode == "RGB"
    assert np.array_equal(np.asarray(image), pixels)
