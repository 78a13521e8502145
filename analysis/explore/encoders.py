"""Images as the app shows them: tensors to numpy images, and numpy images to PNG bytes
(pixel-exact nearest-neighbour enlargements, panels fitted to a column, colour-mapped
difference maps on one shared scale, and their colour bar)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

# The width (CSS px) a Compare panel may take: one of four columns of the main area with the
# sidebar open is (window - 508 px) / 4, measured in Chromium: 193 px in a 1,280 px wide
# window, 223 px at 1,400, 233 px at the README screenshot's 1,440, 353 px at 1,920. 224 px
# (ImageNet's size) shows such images pixel for pixel from a 1,404 px window up; a narrower
# window shrinks the panels in the browser (the page caps every image at its column).
COLUMN_PX = 224
DEFAULT_ENLARGEMENT = 6


@dataclass(frozen=True)
class PanelFit:
    """How a panel ``side`` image pixels wide is drawn ``width`` px wide: an integer
    nearest-neighbour enlargement (``width`` a multiple of ``side``; 1 = pixels as they are)
    or, for an image wider than the column, a smooth (Lanczos) downscale."""

    side: int
    width: int

    @property
    def scale(self) -> int:
        """The integer enlargement; 0 for a downscale."""
        return self.width // self.side

    @property
    def smooth(self) -> bool:
        """True for a downscale (drawn with a smooth filter, never nearest neighbour)."""
        return self.width < self.side

    def describe(self) -> str:
        """One line for the page: how many image pixels, how wide, with which filter."""
        if self.smooth:
            return (f"{self.side} px images shown {self.width} px wide "
                    f"({100 * self.width / self.side:.0f} %, a smooth (Lanczos) downscale "
                    "to fit the column)")
        if self.scale == 1:
            return f"{self.side} px images shown pixel for pixel (no enlargement)"
        return f"{self.side} px images enlarged {self.scale}x (nearest neighbour), {self.width} px wide"


def max_enlargement(side: int, column_px: int = COLUMN_PX) -> int:
    """The largest integer enlargement of a ``side``-px image that fits ``column_px``; 0 when
    even 1:1 does not fit."""
    return column_px // max(1, side)


def fit_panel(side: int, scale: int = DEFAULT_ENLARGEMENT, column_px: int = COLUMN_PX) -> PanelFit:
    """A panel ``side`` px wide enlarged ``scale`` times where that fits ``column_px``: else the
    largest integer enlargement that fits, and for an image wider than the column a smooth
    downscale to ``column_px``. The panel is never wider than the column."""
    fits = max_enlargement(side, column_px)
    if fits == 0:
        return PanelFit(side, column_px)
    return PanelFit(side, side * max(1, min(int(scale), fits)))


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
    return _enlarged_png(_uint8(arr), scale)


def panel_png(image: np.ndarray, fit: PanelFit, crop: tuple[int, int, int] | None = None,
              signed: bool = False) -> bytes:
    """Lossless PNG of ``image`` ((H, W) or (H, W, 3) in [0, 1]; ``crop`` and ``signed`` as in
    :func:`enlarge_png`) drawn as ``fit`` says: nearest-neighbour enlarged by ``fit.scale``,
    or downscaled to ``fit.width`` px with Pillow's Lanczos filter (antialiased)."""
    arr = (image + 1) / 2 if signed else image
    if crop is not None:
        top, left, size = crop
        arr = arr[top:top + size, left:left + size]
    return _fitted_png(_uint8(arr), fit)


def _uint8(arr: np.ndarray) -> np.ndarray:
    return np.clip(np.round(arr * 255), 0, 255).astype(np.uint8)


def _fitted_png(pixels: np.ndarray, fit: PanelFit) -> bytes:
    if not fit.smooth:
        return _enlarged_png(pixels, fit.scale)
    height = max(1, round(pixels.shape[0] * fit.width / pixels.shape[1]))
    buf = io.BytesIO()
    Image.fromarray(pixels).resize((fit.width, height), Image.Resampling.LANCZOS).save(buf, "PNG")
    return buf.getvalue()


def _enlarged_png(pixels: np.ndarray, scale: int) -> bytes:
    """uint8 (H, W) or (H, W, 3) -> PNG bytes, each pixel repeated ``scale`` x ``scale``."""
    buf = io.BytesIO()
    Image.fromarray(np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)).save(buf, "PNG")
    return buf.getvalue()


def difference_scale(diffs: dict[str, dict], kind: str) -> float:
    """The largest value of ``kind`` over every panel (> 0): one colour scale for all of them,
    so that equal colours mean equal errors across panels."""
    peaks = [float(np.abs(d[kind]).max()) for d in diffs.values() if d.get(kind) is not None]
    return max([p for p in peaks if p > 0], default=1.0)


def colour_png(values: np.ndarray, vmax: float, fit: PanelFit, cmap: str = "magma") -> bytes:
    """(h, w) values in [0, vmax] -> a colour-mapped PNG drawn as ``fit`` says (see
    :func:`panel_png`; the same ``vmax`` gives every panel the same scale)."""
    from matplotlib import colormaps

    rgb = colormaps[cmap](np.clip(values / vmax, 0, 1))[..., :3]
    return _fitted_png(np.round(rgb * 255).astype(np.uint8), fit)


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
