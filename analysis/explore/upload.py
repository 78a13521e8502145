"""Uploaded images: the size limits, and reading an upload (8-bit, 16-bit or floating point)
into the dataset's format with one clear sentence for every file that cannot be used."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import RAExplorerError

MAX_UPLOAD_BYTES = 8 * 2**20          # 8 MiB
MAX_UPLOAD_PIXELS = 4096 * 4096       # decompression-bomb guard
MAX_UPLOAD_SIDE = 8192                # pixels; the pixel guard alone lets 1 x 16,777,216 through
MAX_UPLOAD_ASPECT = 8                 # longer side / shorter side (resizing a thin strip blows up)
UPLOAD_TYPES = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")   # Pillow's modes over 8 bits
TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")           # classic and BigTIFF


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
    to the dataset's channels and resized (shorter side, bicubic) and centre-cropped
    to ``size``.

    Values map to [0, 1] by the file's sample type: 8-bit samples / 255; 16-bit
    grayscale (PNG or TIFF, Pillow's ``I;16`` modes) / 65535; 16-bit RGB(A) PNG, which
    Pillow would decode to 8 bits a channel, through OpenCV at its 16 bits / 65535;
    16-bit RGB TIFF (decoded by Pillow to 8 bits a channel) / 255, within 1/255 of value / 65535;
    32-bit integer grayscale / 65535 when every value lies in [0, 65535]; floating point
    (a float32 TIFF: Pillow's mode ``F``, or tifffile for RGB float TIFFs, which Pillow
    cannot open) as it is, refused with one sentence when a value lies outside [0, 1] or
    is not finite. Grayscale -> RGB repeats the channel; RGB -> grayscale is Pillow's
    ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B); an alpha channel is dropped.
    """
    if not data:
        raise RAExplorerError("The uploaded file is empty; choose an image file.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RAExplorerError(f"The upload is {len(data) / 2**20:.1f} MiB; the limit is "
                              f"{MAX_UPLOAD_BYTES / 2**20:.0f} MiB.")
    bombs = (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            try:
                img = Image.open(io.BytesIO(data))   # reads the header only
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
                if data[:4] in TIFF_MAGIC:     # a TIFF Pillow cannot read (RGB float)
                    return _resized(_tiff_pixels(data), channels, size)
                raise _not_an_image() from None
            if img.format not in UPLOAD_TYPES:
                raise RAExplorerError(f"The upload is a {img.format} file; use PNG, JPEG, BMP, "
                                      "GIF, TIFF or WebP.")
            _check_size(*img.size)
            if img.mode in HIGH_BIT_MODES:
                return _resized(_high_bit_pixels(img), channels, size)
            if _png_rgb16(data):
                return _resized(_png16_pixels(data), channels, size)
            img = img.convert("RGB" if channels == 3 else "L")
            scale = size / min(img.width, img.height)
            img = img.resize((max(size, round(img.width * scale)),
                              max(size, round(img.height * scale))), Image.BICUBIC)
        except bombs:
            raise _upload_too_large(None) from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise _damaged(exc) from None
    arr = np.asarray(_centre_crop(img, size), dtype=np.float32) / 255.0
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr.copy())


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_rgb16(data: bytes) -> bool:
    """Whether ``data`` is a PNG of 16-bit RGB or RGBA samples (its IHDR's bit depth and
    colour type, bytes 24 and 25)."""
    return data[:8] == PNG_SIGNATURE and len(data) > 25 and data[24] == 16 and data[25] in (2, 6)


def _png16_pixels(data: bytes) -> np.ndarray:
    """A 16-bit RGB(A) PNG at full depth -> (H, W, 3 or 4) float32 in [0, 1] (OpenCV decodes
    the 16 bits Pillow would cut to 8; its channels come as BGR(A))."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        raise _damaged(ValueError("OpenCV could not decode the 16-bit PNG"))
    order = [2, 1, 0, 3][:arr.shape[2]]
    return arr[..., order].astype(np.float32) / 65535.0


def _check_size(width: int, height: int) -> None:
    if min(width, height) < 1:
        raise _not_an_image()
    if (max(width, height) > MAX_UPLOAD_SIDE or width * height > MAX_UPLOAD_PIXELS
            or max(width, height) > MAX_UPLOAD_ASPECT * min(width, height)):
        raise _upload_too_large((width, height))


def _not_an_image() -> RAExplorerError:
    return RAExplorerError("The upload is not an image this app can read; use PNG, JPEG, BMP, "
                           "GIF, TIFF or WebP.")


def _damaged(exc: Exception) -> RAExplorerError:
    return RAExplorerError(f"The image could not be decoded ({' '.join(str(exc).split())}); "
                           "the file may be truncated or damaged.")


def _centre_crop(img: Image.Image, size: int) -> Image.Image:
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return img.crop((left, top, left + size, top + size))


def _high_bit_pixels(img: Image.Image) -> np.ndarray:
    """A Pillow image of mode I;16*, I or F -> (H, W) float32 in [0, 1]."""
    arr = np.asarray(img)
    if img.mode == "F":
        return _unit_floats(arr)
    arr = arr.astype(np.float64)
    if img.mode == "I" and (arr.min() < 0 or arr.max() > 65535):
        raise RAExplorerError(
            f"The image holds 32-bit integers from {arr.min():.0f} to {arr.max():.0f}; "
            "integer images must lie in [0, 65535] (save it as an 8- or 16-bit PNG).")
    return (arr / 65535.0).astype(np.float32)


def _unit_floats(arr: np.ndarray) -> np.ndarray:
    """Floating-point samples, kept as they are when every one is finite and in [0, 1]."""
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise RAExplorerError("The image holds NaN or infinite values; a floating-point image "
                              "must hold finite values in [0, 1].")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0 or hi > 1:
        raise RAExplorerError(
            f"The image holds floating-point values from {lo:.4g} to {hi:.4g}; a floating-point "
            "image must lie in [0, 1] (scale it to [0, 1], or save it as an 8- or 16-bit PNG).")
    return arr


def _tiff_pixels(data: bytes) -> np.ndarray:
    """A TIFF that Pillow cannot open (RGB float32, for one) through tifffile -> (H, W) or
    (H, W, C) float32 in [0, 1]; its size checked from the header before decoding."""
    import tifffile  # 0.6 s to import; only for the TIFFs Pillow cannot read

    width = height = None
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            height, width = page.imagelength, page.imagewidth
            _check_size(width, height)
            if page.photometric not in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB):
                raise _not_an_image()
            arr = page.asarray()
    except RAExplorerError:
        raise
    except MemoryError:
        raise _upload_too_large((width, height) if width else None) from None
    except Exception as exc:    # tifffile's own errors, a codec it lacks (imagecodecs): one sentence
        raise _damaged(exc) from None
    arr = np.squeeze(arr)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = arr.transpose(1, 2, 0)              # planar (separate) samples
    if arr.ndim not in (2, 3) or arr.shape[:2] != (height, width):
        raise _not_an_image()
    if arr.dtype.kind == "f":
        return _unit_floats(arr)
    if arr.dtype.kind == "u":
        return (arr.astype(np.float64) / np.iinfo(arr.dtype).max).astype(np.float32)
    raise RAExplorerError(f"The TIFF holds {arr.dtype} samples; use unsigned integers or "
                          "floating point in [0, 1].")


def _resized(arr: np.ndarray, channels: int, size: int) -> torch.Tensor:
    """(H, W) or (H, W, C) float32 in [0, 1] -> (channels, size, size): channels converted
    as Pillow's ``convert`` does, each resized (shorter side, bicubic, in float) and
    centre-cropped, clipped to [0, 1] (bicubic overshoots at edges)."""
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        arr = arr[..., :-1]                       # drop the alpha channel
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        planes = [arr] * channels
    elif channels == 3:
        planes = [arr[..., c] for c in range(3)]
    else:
        planes = [arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114]
    height, width = planes[0].shape
    scale = size / min(width, height)
    shape = (max(size, round(width * scale)), max(size, round(height * scale)))
    out = [np.asarray(_centre_crop(Image.fromarray(np.ascontiguousarray(p, dtype=np.float32))
                                   .resize(shape, Image.BICUBIC), size)) for p in planes]
    return torch.from_numpy(np.clip(np.stack(out), 0, 1).astype(np.float32))
