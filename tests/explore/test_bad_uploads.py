"""Bad uploads (type, size, decompression bombs, truncated files): one sentence each."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest

from analysis.errors import RAExplorerError
from analysis.explore.upload import read_upload


def png(width: int, height: int, chunk_rows: int = 512) -> bytes:
    """A real grayscale PNG of zeros, compressed as it is generated (never held raw)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [z.compress(row * min(chunk_rows, height - r)) for r in range(0, height, chunk_rows)]
    idat = b"".join(parts) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def pil_bytes(array, fmt="PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(pil_bytes(np.zeros((8, 8), dtype=np.uint8), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _small_png() -> bytes:
    return pil_bytes((np.random.default_rng(0).random((40, 40)) * 255).astype(np.uint8))


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _ico() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (16, 16)).save(buf, format="ICO")
    return buf.getvalue()


TOO_LARGE = "decompression-bomb guard"
UPLOAD_CASES = {
    # the list
    "200-megapixel PNG": (lambda: png(20000, 10000), TOO_LARGE),
    "JPEG claiming 65,500 x 65,500": (lambda: jpeg_claiming(65500, 65500), TOO_LARGE),
    "1 x 16,777,216 PNG": (lambda: png(16_777_216, 1), TOO_LARGE),
    "1 x 1,000,000 PNG": (lambda: png(1_000_000, 1), TOO_LARGE),
    "16,777,216 x 1 PNG": (lambda: png(1, 16_777_216, chunk_rows=1 << 20), TOO_LARGE),
    # more sizes and shapes
    "100-megapixel PNG (PIL's warning range)": (lambda: png(10000, 10000), TOO_LARGE),
    "25-megapixel square PNG": (lambda: png(5000, 5000), TOO_LARGE),
    "8,193 px side": (lambda: png(8193, 1100), TOO_LARGE),
    "aspect 9:1": (lambda: png(900, 100), TOO_LARGE),
    "aspect 1:100": (lambda: png(10, 1000), TOO_LARGE),
    "JPEG claiming 60,000 x 1": (lambda: jpeg_claiming(60000, 1), TOO_LARGE),
    # files that are not images, or not whole
    "empty": (lambda: b"", "empty"),
    "over 8 MiB": (lambda: b"\x89PNG" + b"0" * (9 * 2**20), "limit is 8 MiB"),
    "PDF": (lambda: b"%PDF-1.4 not an image at all", "not an image"),
    "text": (lambda: b"hello, this is a text file\n" * 10, "not an image"),
    "random bytes": (lambda: np.random.default_rng(1).bytes(4096), "not an image"),
    "zip archive": (lambda: b"PK\x03\x04" + b"\x00" * 100, "not an image"),
    "SVG": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not an image"),
    "PNG signature only": (lambda: b"\x89PNG\r\n\x1a\n", "not an image"),
    "truncated PNG": (lambda: _small_png()[:200], "truncated"),
    "truncated JPEG": (lambda: _half(pil_bytes((np.random.default_rng(2).random((64, 64)) * 255)
                                              .astype(np.uint8), "JPEG")), "truncated"),
    "PNG with a broken IDAT": (lambda: _small_png()[:60] + b"\x00" * 40 + _small_png()[100:],
                               "could not be decoded"),
    "ICO file": (_ico, "is a ICO file"),
}


@pytest.mark.parametrize("case", list(UPLOAD_CASES))
def test_bad_upload_is_one_sentence(case, monkeypatch):
    from PIL import ImageFile

    make, match = UPLOAD_CASES[case]
    data = make()
    if match == TOO_LARGE:   # refused from the header: decoding would be a failure of the guard
        monkeypatch.setattr(ImageFile.ImageFile, "load",
                            lambda self: pytest.fail("decoded before the size check"))
    t0 = time.perf_counter()
    with pytest.raises(RAExplorerError) as info:
        read_upload(data, channels=1, size=28)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    assert "DecompressionBomb" not in message and "Traceback" not in message
    assert time.perf_counter() - t0 < 2.0


def test_memory_error_while_decoding_is_the_size_sentence(monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image.Image, "convert", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(RAExplorerError, match=TOO_LARGE):
        read_upload(_small_png(), channels=1, size=28)


def test_pil_bomb_error_is_the_size_sentence(monkeypatch):
    """Even with our own limits raised, PIL's DecompressionBombError becomes the same sentence."""
    import analysis.explore.upload as explore

    monkeypatch.setattr(explore, "MAX_UPLOAD_SIDE", 10**9)
    monkeypatch.setattr(explore, "MAX_UPLOAD_PIXELS", 10**12)
    monkeypatch.setattr(explore, "MAX_UPLOAD_ASPECT", 10**9)
    with pytest.raises(RAExplorerError, match=TOO_LARGE):
        read_upload(jpeg_claiming(65500, 65500), channels=1, size=28)


def test_a_good_upload_still_loads():
    x = read_upload(_small_png(), channels=1, size=28)
    assert x.shape == (1, 28, 28) and 0 <= float(x.min()) <= float(x.max()) <= 1
    x = read_upload(png(800, 100), channels=3, size=32)   # 8:1, the largest aspect allowed
    assert x.shape == (3, 32, 32)


def test_the_case_count():
    assert len(UPLOAD_CASES) >= 20
