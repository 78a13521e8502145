"""The drawing of the figures that show images and decision maps (``examples``, RA paper Fig. 3;
``boundary-maps``, Fig. 4): matplotlib figures from images, predictions and maps already
computed. The zoo's builders (:mod:`.images`) and the Python API (:mod:`analysis.api`) gather
their data differently and draw through these functions.

Images are (C, H, W) tensors in [0, 1]; map coordinates (u, v) are [0,1]-pixel L2 distances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ...errors import RAExplorerError
from ...palette import class_colour
from .core import new_figure
from .style import class_cmap

STACK_BELOW_IN = 0.75   # boundary-maps: narrower columns than this put the maps on a row of their own


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8, rounded as the app's PNGs are."""
    arr = np.clip(np.round(image.detach().cpu().numpy() * 255), 0, 255).astype(np.uint8)
    return np.repeat(arr, 3, axis=0).transpose(1, 2, 0) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def pixel_grid(width: float, dpi: int, ncols: int, nrows: int, size: int) -> dict:
    """The examples layout on the PNG's pixel grid: every panel starts on a whole pixel and is
    ``scale * size`` pixels wide (``scale`` an integer), so a nearest-neighbour panel repeats
    each image pixel exactly ``scale`` times. Lengths in pixels at ``dpi``."""
    W = round(width * dpi)
    left, right, gap = round(0.34 * dpi), round(0.02 * dpi), round(0.03 * dpi)
    title, header, bottom = round(0.12 * dpi), round(0.13 * dpi), round(0.02 * dpi)
    scale = (W - left - right - gap * (ncols - 1)) // (ncols * size)
    if scale < 1:
        raise RAExplorerError(f"{ncols} panels of {size} pixels do not fit a {width:g}-inch "
                              f"figure at {dpi} dpi; use a wider figure, a higher --dpi or fewer "
                              "processors.")
    panel = scale * size
    H = header + nrows * (title + panel) + (nrows - 1) * gap + bottom
    boxes = {(r, c): (left + c * (panel + gap), header + r * (title + panel + gap) + title)
             for r in range(nrows) for c in range(ncols)}   # (x, y) of the top-left, from the top
    return {"width": W, "height": H, "scale": scale, "panel": panel, "boxes": boxes,
            "left": left, "title": title, "header": header}


def draw_examples(columns: list[tuple[str, list[torch.Tensor]]], row_labels: list[str],
                  titles: list[list[tuple[str, str] | None]], width: float, dpi: int,
                  size: int) -> tuple[object, dict, list[dict]]:
    """Rows of images under column headers, each panel nearest-neighbour on whole pixels.

    Args:
        columns: (header, one (C, h, w) image in [0, 1] per row) per column.
        row_labels: the text written sideways left of each row.
        titles: ``titles[r][c]`` = (text, colour) above the panel, or None for no title.
        width: figure width in inches; dpi: the pixel grid's pixels per inch.
        size: the panel size in image pixels (the largest image side).

    Returns:
        (matplotlib Figure, the :func:`pixel_grid` layout, one dict per panel with its row,
        column, top-left pixel, scale and uint8 pixels).
    """
    grid = pixel_grid(width, dpi, len(columns), len(row_labels), size)
    W, H = grid["width"], grid["height"]
    fig = new_figure(W / dpi, H / dpi, layout=None)
    panels = []
    for c, (head, images) in enumerate(columns):
        x, _ = grid["boxes"][(0, c)]
        fig.text((x + grid["panel"] / 2) / W, 1 - (grid["header"] / 2) / H, head, ha="center",
                 va="center", fontsize=7, fontweight="bold")
        for r, shown in enumerate(images):
            pixels = to_uint8(shown)
            x, y = grid["boxes"][(r, c)]
            ax = fig.add_axes((x / W, 1 - (y + grid["panel"]) / H, grid["panel"] / W,
                               grid["panel"] / H))
            ax.imshow(pixels, interpolation="nearest", extent=(0, pixels.shape[1], pixels.shape[0], 0))
            ax.set_axis_off()
            if titles[r][c] is not None:
                text, colour = titles[r][c]
                ax.set_title(text, fontsize=6, pad=1.5, color=colour)
            panels.append({"row": r, "column": c, "x": x, "y": y,
                           "scale": grid["panel"] // pixels.shape[1], "pixels": pixels})
        if c == 0:
            for r, label in enumerate(row_labels):
                _, y = grid["boxes"][(r, 0)]
                fig.text((grid["left"] * 0.45) / W, 1 - (y + grid["panel"] / 2) / H, label,
                         ha="center", va="center", rotation=90, fontsize=6)
    return fig, grid, panels


@dataclass
class MapImage:
    """One image's row of a boundary-maps figure: the strip of images, each (head, (C, H, W)
    in [0, 1], (title, colour)), then one decision map per classifier (name ->
    :class:`~analysis.analyses.boundary_maps.DecisionMap`), with the star marker at
    (``star_u``, 0) when there is one (the origin, x, is always marked)."""

    strip: list[tuple[str, torch.Tensor, tuple[str, str]]]
    maps: dict = field(default_factory=dict)
    star_u: float | None = None


def draw_boundary_maps(images: list[MapImage], class_names, width: float, x_label: str,
                       star_label: str | None, axis_labels: tuple[str, str]) -> tuple[object, set]:
    """The boundary-maps figure: per image its strip, then its maps side by side (below the
    strip when a column would be narrower than :data:`STACK_BELOW_IN`), one class legend with
    the x marker (``x_label``) and the star (``star_label``), axes in [0,1]-pixel L2.

    Returns (matplotlib Figure, the class indices present in the maps).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    n_strip = len(images[0].strip)
    n_maps = len(images[0].maps)
    k = len(class_names)
    cmap = class_cmap(k)
    # one row per image (strip, then maps) when the figure is wide enough, else two rows
    stacked = width / (n_strip + n_maps) < STACK_BELOW_IN
    ncols = max(n_strip, n_maps) if stacked else n_strip + n_maps
    per_image = 2 if stacked else 1
    fig = new_figure(width, len(images) * per_image * (width / ncols + 0.5) + 0.45)
    grid = fig.subplots(len(images) * per_image, ncols, squeeze=False)
    for ax in grid.flat:
        ax.set_visible(False)

    def place(r: int, c: int):
        below = c >= n_strip
        ax = grid[r * 2 + below, c - n_strip * below] if stacked else grid[r, c]
        ax.set_visible(True)
        return ax
    present = set()
    for r, image in enumerate(images):
        for c, (_, shown, (title, colour)) in enumerate(image.strip):
            ax = place(r, c)
            ax.imshow(to_uint8(shown), interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(title, fontsize=6, color=colour, pad=2)
        for c, (name, dmap) in enumerate(image.maps.items(), start=n_strip):
            ax = place(r, c)
            classes = dmap.classes.numpy()
            present |= set(np.unique(classes).tolist())
            us, vs = dmap.us.numpy(), dmap.vs.numpy()
            ax.imshow(classes, origin="lower", cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                      extent=(us[0], us[-1], vs[0], vs[-1]), interpolation="nearest",
                      aspect="equal")
            ax.plot([0], [0], marker="X", color="black", markersize=4, linestyle="")
            if image.star_u is not None:
                ax.plot([image.star_u], [0], marker="*", color="white", markeredgecolor="black",
                        markeredgewidth=0.5, markersize=6, linestyle="")
            ax.set_title(name)
            if c == n_strip:
                ax.set_xlabel(axis_labels[0])
                ax.set_ylabel(axis_labels[1])
            else:
                ax.set_yticklabels([])
    handles = [Patch(facecolor=class_colour(c), edgecolor="black",
                     linewidth=0.3, label=class_names[c]) for c in sorted(present)]
    handles.append(Line2D([], [], marker="X", color="black", linestyle="", markersize=4,
                          label=x_label))
    if star_label is not None:
        handles.append(Line2D([], [], marker="*", color="white", markeredgecolor="black",
                              markeredgewidth=0.5, linestyle="", markersize=6, label=star_label))
    fig.legend(handles=handles, loc="outside lower center",
               ncols=max(1, min(len(handles), int(width / 1.15))),
               title="class; u and v in [0,1]-pixel L2")
    return fig, present
