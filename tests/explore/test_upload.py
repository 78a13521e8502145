"""Uploads: converted to the dataset's format, or refused with one sentence."""

import io

import numpy as np
import pytest
from PIL import Image

from analysis.errors import RAExplorerError
from analysis.explore.upload import read_upload


def png_bytes(array, mode=None, fmt="PNG"):
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format=fmt)
    return buf.getvalue()


def test_upload_is_converted_to_the_dataset_format():
    rgb = (np.random.default_rng(0).random((60, 40, 3)) * 255).astype(np.uint8)
    x = read_upload(png_bytes(rgb), channels=1, size=28)
    assert x.shape == (1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert read_upload(png_bytes(rgb, fmt="JPEG"), channels=3, size=32).shape == (3, 32, 32)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"%PDF-1.4 not an image at all", "not an image"),
    (b"\x89PNG" + b"0" * (9 * 2**20), "limit is 8 MiB"),
])
def test_bad_uploads_get_one_sentence(data, message):
    with pytest.raises(RAExplorerError, match=message):
        read_upload(data, channels=1, size=28)


def test_decompression_bomb_is_refused_before_decoding():
    bomb = png_bytes(np.zeros((5000, 5000), dtype=np.uint8))   # 25 Mpx, a few kB on disk
    assert len(bomb) < 100_000
    with pytest.raises(RAExplorerError, match="decompression-bomb guard"):
        read_upload(bomb, channels=1, size=28)
