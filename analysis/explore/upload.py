"""Uploaded images: the size limits, and reading an upload into the dataset's format with one
clear sentence for every file that cannot be used."""

from __future__ import annotations

import io

import numpy as np
import torch

from ..errors import RAExplorerError

MAX_UPLOAD_BYTES = 8 * 2**20          # 8 MiB
MAX_UPLOAD_PIXELS = 4096 * 4096       # decompression-bomb guard
MAX_UPLOAD_SIDE = 8192                # pixels; the pixel guard alone lets 1 x 16,777,216 through
MAX_UPLOAD_ASPECT = 8                 # longer side / shorter side (resizing a thin strip blows up)
UPLOAD_TYPES = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")


def _upload_too_large(size: tuple[int, int] | None) -> RAExplorerError:
    """The one sentence for every size limit (the header's, PIL's bomb guard, MemoryError)."""
    what = f"The image is {size[0]:,} x {size[1]:,} pixels" if size else "The image is too large"
    return RAExplorerError(
        f"{what}; uploads may be at most {MAX_UPLOAD_SIDE:,} pixels a side, "
        f"{MAX_UPLOAD_PIXELS:,} pixels in all and {MAX_UPLOAD_ASPECT}:1 in aspect ratio "
        "(decompression-bomb guard).")


def read_upload(data: bytes, channels: int, size: int) -> torch.Tensor:
    """An uploaded file -> (channels, size, size) in [0, 1], or one clear error.

    Refuses empty or over-large files, non-images, truncated images, and images
    whose sides, pixel count or aspect ratio exceed the limits above -- read from
    the header, before anything is decoded; PIL's own decompression-bomb guard and
    a MemoryError while decoding give the same sentence. The image is converted
    to the dataset's channels and resized (shorter side) and centre-cropped to ``size``.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RAExplorerError("The uploaded file is empty; choose an image file.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RAExplorerError(f"The upload is {len(data) / 2**20:.1f} MiB; the limit is "
                              f"{MAX_UPLOAD_BYTES / 2**20:.0f} MiB.")
    not_an_image = RAExplorerError("The upload is not an image this app can read; use PNG, JPEG, "
                                   "BMP, GIF, TIFF or WebP.")
    bombs = (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))   # reads the header only
        except bombs:
            raise _upload_too_large(None) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise not_an_image from None
        if img.format not in UPLOAD_TYPES:
            raise RAExplorerError(f"The upload is a {img.format} file; use PNG, JPEG, BMP, GIF, "
                                  "TIFF or WebP.")
        width, height = img.size
        if min(width, height) < 1:
            raise not_an_image
        if (max(width, height) > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS
                or max(width, height) > MAX_UPLOAD_ASPECT * min(width, height)):
            raise _upload_too_large((width, height))
        try:
            img = img.convert("RGB" if channels == 3 else "L")
            scale = size / min(width, height)
            img = img.resize((max(size, round(width * scale)), max(size, round(height * scale))),
                             Image.BICUBIC)
        except bombs:
            raise _upload_too_large(None) from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise RAExplorerError(f"The image could not be decoded ({' '.join(str(exc).split())}); "
                                  "the file may be truncated or damaged.") from None
    left, top = (img.width - size) // 2, (img.height - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return torch.from_numpy(arr.copy())
