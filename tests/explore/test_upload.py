"""Uploads: converted to the dataset's format, or refused with one sentence."""

import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
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


def _png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG written by hand (Pillow writes 16-bit grayscale but not 16-bit RGB):
    IHDR with bit depth 16, colour type 0 (grey), 2 (RGB) or 6 (RGBA), rows unfiltered,
    big-endian."""
    arr = np.asarray(arr, dtype=">u2")
    height, width = arr.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + arr[y].tobytes() for y in range(height))
    colour = 0 if arr.ndim == 2 else {3: 2, 4: 6}[arr.shape[2]]     # grey, RGB, RGBA
    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _tiff(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, photometric="rgb" if arr.ndim == 3 else "minisblack")
    return buf.getvalue()


def _hwc(x) -> np.ndarray:
    return x.numpy().transpose(1, 2, 0)


RNG = np.random.default_rng(1)
GREY16 = RNG.integers(0, 65536, (28, 28)).astype(np.uint16)
GREY16[0, :4] = [0, 255, 256, 65535]          # the ends, and where a high byte alone turns over
RGB16 = RNG.integers(0, 65536, (28, 28, 3)).astype(np.uint16)


def test_8_bit_png_is_divided_by_255():
    grey = RNG.integers(0, 256, (28, 28)).astype(np.uint8)
    rgb = RNG.integers(0, 256, (28, 28, 3)).astype(np.uint8)
    assert np.array_equal(read_upload(png_bytes(grey), 1, 28)[0].numpy(), grey / np.float32(255))
    assert np.array_equal(_hwc(read_upload(png_bytes(rgb), 3, 28)), rgb / np.float32(255))


def test_16_bit_greyscale_png_is_divided_by_65535():
    data = png_bytes(GREY16)                       # Pillow writes it as a 16-bit PNG (mode I;16)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    assert Image.open(io.BytesIO(_png16(GREY16))).mode == "I;16"
    for raw in (data, _png16(GREY16)):
        x = read_upload(raw, 1, 28)[0].numpy()
        np.testing.assert_allclose(x, GREY16 / 65535, atol=1e-6)
        assert x[0, :4].tolist() == pytest.approx([0, 255 / 65535, 256 / 65535, 1], abs=1e-7)
    rgb = _hwc(read_upload(data, 3, 28))               # grey to RGB: the channel repeated
    np.testing.assert_allclose(rgb, np.repeat((GREY16 / 65535)[..., None], 3, axis=2), atol=1e-6)


def test_16_bit_rgb_png_keeps_its_16_bits():
    """Pillow would decode 16-bit RGB PNG to 8 bits a channel (the high byte); the upload
    reads all 16, RGB in that order, alpha dropped."""
    assert Image.open(io.BytesIO(_png16(RGB16))).mode == "RGB"      # 8 bits in Pillow
    for arr in (RGB16, np.dstack([RGB16, RNG.integers(0, 65536, (28, 28))]).astype(np.uint16)):
        x = _hwc(read_upload(_png16(arr), 3, 28))
        np.testing.assert_allclose(x, RGB16 / 65535, atol=1e-6)
        assert np.abs(x - (RGB16 >> 8) / 255).max() > 1 / 255 / 2   # not the 8-bit reading
    luma = (RGB16 / 65535) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(read_upload(_png16(RGB16), 1, 28)[0].numpy(), luma, atol=1e-5)


def test_float32_tiff_in_0_1_is_kept_as_it_is():
    grey = RNG.random((28, 28)).astype(np.float32)
    grey[0, :3] = [0.0, 1e-3, 1.0]                     # the bug: values below 0.5 became 0
    assert Image.open(io.BytesIO(_tiff(grey))).mode == "F"
    assert np.array_equal(read_upload(_tiff(grey), 1, 28)[0].numpy(), grey)
    rgb = RNG.random((28, 28, 3)).astype(np.float32)   # Pillow cannot open an RGB float TIFF
    assert np.array_equal(_hwc(read_upload(_tiff(rgb), 3, 28)), rgb)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    np.testing.assert_allclose(read_upload(_tiff(rgb), 1, 28)[0].numpy(), luma, atol=1e-6)
    flat = np.full((56, 84), 0.3, dtype=np.float32)    # resized in float: 0.3 stays 0.3
    np.testing.assert_allclose(read_upload(_tiff(flat), 1, 28).numpy(), 0.3, atol=1e-6)


@pytest.mark.parametrize("value,message", [
    (2.5, "floating-point values from 0 to 2.5; a floating-point image must lie in \\[0, 1\\]"),
    (-0.5, "from -0.5 to 0"),
    (np.nan, "NaN or infinite"),
])
def test_float_tiff_outside_0_1_gets_one_sentence(value, message):
    grey = np.zeros((28, 28), dtype=np.float32)
    grey[3, 4] = value
    for arr in (grey, np.repeat(grey[..., None], 3, axis=2)):
        with pytest.raises(RAExplorerError, match=message):
            read_upload(_tiff(arr), 1, 28)
