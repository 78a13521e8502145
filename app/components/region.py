"""The synced zoom's region drawn on the full image: where the zoomed panels come from."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

OUTLINE = (43, 108, 176)    # the app's primary colour (streamlit_config.toml)


def outlined_region(image, crop: tuple[int, int, int], width: int = 112) -> np.ndarray:
    """The clean image ((C, H, W) tensor or (H, W[, C]) array in [0, 1]) as a ``width`` px
    wide uint8 RGB array -- nearest-neighbour enlarged by ``width // W`` where that is at
    least 1 (a 28 px image: 4x, 112 px), else downscaled to ``width`` with Pillow's Lanczos
    filter -- with the square ``crop`` = (top, left, size), in image pixels, outlined two
    pixels wide in the app's primary colour (drawn after the resize, so it stays sharp)."""
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(1, 2, 0)                      # (C, H, W) -> (H, W, C)
    if arr.ndim == 2:
        arr = arr[..., None]
    rgb = np.clip(np.round(arr * 255), 0, 255).astype(np.uint8)
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[..., :3]
    if width >= rgb.shape[1]:
        factor = width // rgb.shape[1]
        big = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    else:
        factor = width / rgb.shape[1]
        big = np.array(Image.fromarray(rgb).resize(
            (width, max(1, round(rgb.shape[0] * factor))), Image.Resampling.LANCZOS))
    top, left, size = (round(v * factor) for v in crop)
    bottom, right, w = top + size, left + size, 2
    big[top:bottom, left:left + w] = OUTLINE
    big[top:bottom, right - w:right] = OUTLINE
    big[top:top + w, left:right] = OUTLINE
    big[bottom - w:bottom, left:right] = OUTLINE
    return np.ascontiguousarray(big)
