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
from .layout import LINE_SPACING, Fitted, fit_all, map_grid, marker_size, text_width
from .style import MIN_FONT_PT, class_cmap


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8, rounded as the app's PNGs are."""
    arr = np.clip(np.round(image.detach().cpu().numpy() * 255), 0, 255).astype(np.uint8)
    return np.repeat(arr, 3, axis=0).transpose(1, 2, 0) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def pixel_grid(width: float, dpi: int, ncols: int, nrows: int, size: int,
               title_in: float = 0.12, header_in: float = 0.13) -> dict:
    """The examples layout on the PNG's pixel grid: every panel starts on a whole pixel and is
    ``scale * size`` pixels wide (``scale`` an integer), so a nearest-neighbour panel repeats
    each image pixel exactly ``scale`` times. ``title_in`` / ``header_in``: inches above each
    panel for its title and above the first row for the column headers. Lengths in pixels at
    ``dpi``."""
    W = round(width * dpi)
    left, right, gap = round(0.34 * dpi), round(0.02 * dpi), round(0.03 * dpi)
    title, header, bottom = round(title_in * dpi), round(header_in * dpi), round(0.02 * dpi)
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
            "left": left, "title": title, "header": header, "gap": gap}


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
    headers = [head for head, _ in columns]
    # headers and titles fitted to a panel and its gap (wrapped, else smaller, else upright)
    probe = pixel_grid(width, dpi, len(columns), len(row_labels), size)
    room = (probe["panel"] + probe["gap"] / 3) / dpi   # a third of the gap stays clear
    fitted = fit_all(headers, room, 7.0, bold=True)
    upright = fitted is None
    if upright:
        fitted = [Fitted(h, MIN_FONT_PT, 1) for h in headers]
        header_in = max(text_width(h, MIN_FONT_PT, True) for h in headers) + 0.06
    else:
        header_in = max(f.height for f in fitted) + 0.04
    texts = [t[0] for row in titles for t in row if t is not None]
    fitted_titles = fit_all(texts, room, 6.0) if texts else []
    if fitted_titles is None:
        fitted_titles = [Fitted(t, 6.0, 1) for t in texts]
    title_in = max(f.height for f in fitted_titles) + 0.03 if fitted_titles else 0.12
    fitted_by_text = dict(zip(texts, fitted_titles))
    grid = pixel_grid(width, dpi, len(columns), len(row_labels), size, title_in=title_in,
                      header_in=header_in)
    W, H = grid["width"], grid["height"]
    fig = new_figure(W / dpi, H / dpi, layout=None)
    panels = []
    for c, ((_, images), head) in enumerate(zip(columns, fitted)):
        x, _ = grid["boxes"][(0, c)]
        fig.text((x + grid["panel"] / 2) / W, 1 - (grid["header"] / 2) / H, head.text,
                 ha="center", va="center", fontsize=head.size, fontweight="bold",
                 rotation=90 if upright else 0, linespacing=LINE_SPACING)
        for r, shown in enumerate(images):
            pixels = to_uint8(shown)
            x, y = grid["boxes"][(r, c)]
            ax = fig.add_axes((x / W, 1 - (y + grid["panel"]) / H, grid["panel"] / W,
                               grid["panel"] / H))
            ax.imshow(pixels, interpolation="nearest", extent=(0, pixels.shape[1], pixels.shape[0], 0))
            ax.set_axis_off()
            if titles[r][c] is not None:
                text, colour = titles[r][c]
                title = fitted_by_text[text]
                ax.set_title(title.text, fontsize=title.size, pad=1.5, color=colour,
                             linespacing=LINE_SPACING)
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
    strip when a map would be narrower than :data:`~.layout.STACK_BELOW_IN`), one class legend with
    the x marker (``x_label``) and the star (``star_label``), axes in [0,1]-pixel L2.

    Returns (matplotlib Figure, the class indices present in the maps).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    n_strip = len(images[0].strip)
    names = list(images[0].maps)
    k = len(class_names)
    cmap = class_cmap(k)
    # one row per image (strip, then maps) when the figure is wide enough, else the maps below
    layout = map_grid(width, len(images), names, n_strip=n_strip)
    fig = new_figure(width, layout.height + 1.0, layout=None)
    boxes = []                                   # (axes, (x, y, side) in inches from the top)

    def place(r: int, c: int):
        x, y = layout.strip[r][c] if c < n_strip else layout.maps[r][c - n_strip]
        side = layout.strip_size if c < n_strip else layout.map_size
        ax = fig.add_axes((0, 0, 1, 1))
        boxes.append((ax, (x, y, side)))
        return ax
    per_row = [y for _, y in layout.maps[0]]
    first_of_row = {i for i, y in enumerate(per_row) if i == 0 or y != per_row[i - 1]}
    present, largest_mark = set(), 6.0
    for r, image in enumerate(images):
        for c, (_, shown, (title, colour)) in enumerate(image.strip):
            ax = place(r, c)
            ax.imshow(to_uint8(shown), interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(title, fontsize=6, color=colour, pad=2)
        for c, dmap in enumerate(image.maps.values(), start=n_strip):
            ax = place(r, c)
            classes = dmap.classes.numpy()
            present |= set(np.unique(classes).tolist())
            us, vs = dmap.us.numpy(), dmap.vs.numpy()
            ax.imshow(classes, origin="lower", cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                      extent=(us[0], us[-1], vs[0], vs[-1]), interpolation="nearest",
                      aspect="equal")
            # the two markers as large as they can be without covering each other
            mark = largest_mark
            if image.star_u is not None:
                mark = marker_size(abs(image.star_u) / (us[-1] - us[0]) * layout.map_size * 72)
            ax.plot([0], [0], marker="x", color="black", markersize=mark, markeredgewidth=0.8,
                    linestyle="")
            if image.star_u is not None:
                ax.plot([image.star_u], [0], marker="*", color="white", markeredgecolor="black",
                        markeredgewidth=0.5, markersize=mark * 1.3, linestyle="")
            title = layout.titles[c - n_strip]
            ax.set_title(title.text, fontsize=title.size, pad=2)
            if c - n_strip in first_of_row:
                ax.set_xlabel(axis_labels[0])
                ax.set_ylabel(axis_labels[1])
            else:
                ax.set_yticklabels([])
    handles = [Patch(facecolor=class_colour(c), edgecolor="black",
                     linewidth=0.3, label=class_names[c]) for c in sorted(present)]
    handles.append(Line2D([], [], marker="x", color="black", linestyle="", markersize=4,
                          markeredgewidth=0.8, label=x_label))
    if star_label is not None:
        handles.append(Line2D([], [], marker="*", color="white", markeredgecolor="black",
                              markeredgewidth=0.5, linestyle="", markersize=6, label=star_label))
    legend = fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0),
                        ncols=legend_columns(handles, width),
                        title="class; u and v in [0,1]-pixel L2")
    legend_h = legend.get_window_extent(FigureCanvasAgg(fig).get_renderer()).height / fig.dpi
    height = layout.height + legend_h + 0.06
    fig.set_size_inches(width, height)
    for ax, (x, y, side) in boxes:
        ax.set_position((x / width, 1 - (y + side) / height, side / width, side / height))
    return fig, present


def legend_columns(handles, width: float) -> int:
    """As many legend columns as the widest entry allows on ``width`` inches (at least one)."""
    widest = max(text_width(h.get_label(), 6.0) for h in handles) + 0.45   # handle and padding
    return max(1, min(len(handles), int((width - 0.1) // widest)))
