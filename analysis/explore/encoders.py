"""Images as the app shows them: tensors to numpy images, and numpy images to PNG bytes
(pixel-exact nearest-neighbour enlargements, colour-mapped difference maps on one shared
scale, and their colour bar)."""

from __future__ import annotations

import io

import numpy as np
import torch


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W) or (H, W, 3)."""
    arr = x.detach().cpu().clamp(0, 1).numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def enlarge_png(image: np.ndarray, scale: int = 8, crop: tuple[int, int, int] | None = None,
                signed: bool = False) -> bytes:
    """Lossless PNG, nearest-neighbour enlarged by an integer ``scale`` (pixel-exact).

    ``crop`` = (top, left, size) cuts a square region first (the synced zoom);
    ``signed`` maps [-1, 1] to [0, 1] (grey = 0) for signed differences.
    """
    arr = (image + 1) / 2 if signed else image
    if crop is not None:
        top, left, size = crop
        arr = arr[top:top + size, left:left + size]
    return _enlarged_png(np.clip(np.round(arr * 255), 0, 255).astype(np.uint8), scale)


def _enlarged_png(pixels: np.ndarray, scale: int) -> bytes:
    """uint8 (H, W) or (H, W, 3) -> PNG bytes, each pixel repeated ``scale`` x ``scale``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)).save(buf, "PNG")
    return buf.getvalue()


def difference_scale(diffs: dict[str, dict], kind: str) -> float:
    """The largest value of ``kind`` over every panel (> 0): one colour scale for all of them,
    so that equal colours mean equal errors across panels."""
    peaks = [float(np.abs(d[kind]).max()) for d in diffs.values() if d.get(kind) is not None]
    return max([p for p in peaks if p > 0], default=1.0)


def colour_png(values: np.ndarray, vmax: float, scale: int = 8, cmap: str = "magma") -> bytes:
    """(h, w) values in [0, vmax] -> a colour-mapped PNG, nearest-neighbour enlarged by
    ``scale`` (pixel-exact; the same ``vmax`` gives every panel the same scale)."""
    from matplotlib import colormaps

    rgb = colormaps[cmap](np.clip(values / vmax, 0, 1))[..., :3]
    return _enlarged_png(np.round(rgb * 255).astype(np.uint8), scale)


def colour_bar_png(vmax: float, label: str, cmap: str = "magma", width_px: int = 320) -> bytes:
    """A horizontal colour bar from 0 to ``vmax`` with ticks and ``label`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.colors import Normalize

    fig, ax = plt.subplots(figsize=(width_px / 100, 0.62), dpi=100)
    fig.subplots_adjust(left=0.04, right=0.96, bottom=0.55, top=0.95)
    fig.colorbar(matplotlib.cm.ScalarMappable(Normalize(0, vmax), cmap), cax=ax,
                 orientation="horizontal")
    ax.tick_params(labelsize=8)
    ax.set_xlabel(label, fontsize=8, labelpad=1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
