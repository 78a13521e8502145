"""Layout arithmetic of the figures with image panels: text measured before it is drawn, labels
fitted to the width they have (wrapped, then at the smallest font), panel grids that adapt to
the number of panels and the longest title, and marker sizes that keep two nearby markers
apart.

Lengths are inches at the printed size and font sizes points, as in :mod:`.style`; nothing
here draws.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from .style import MIN_FONT_PT

LINE_SPACING = 1.2   # matplotlib's default line height, in font sizes


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in inches of ``text`` (its widest line) at ``size`` points in the figures' font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    widths = [TextToPath().get_text_width_height_descent(line or " ", font, ismath=False)[0]
              for line in text.split("\n")]
    return max(widths) / 72


def text_height(lines: int, size: float) -> float:
    """Height in inches of ``lines`` lines of text at ``size`` points."""
    return lines * size * LINE_SPACING / 72


def wrap(text: str, width: float, size: float, bold: bool = False) -> str | None:
    """``text`` broken greedily after spaces, hyphens and slashes into lines no wider than
    ``width`` inches at ``size`` points; None when one unbreakable piece is wider."""
    pieces = [p for p in re.split(r"(?<=[ \-/])", text) if p]
    lines, line = [], ""
    for piece in pieces:
        if line and text_width((line + piece).rstrip(), size, bold) > width:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    lines.append(line.rstrip())
    if any(text_width(ln, size, bold) > width for ln in lines):
        return None
    return "\n".join(lines)


@dataclass(frozen=True)
class Fitted:
    """A label fitted to a width: its text (with line breaks), font size in points and lines."""

    text: str
    size: float
    lines: int

    @property
    def height(self) -> float:
        """Inches the label takes vertically."""
        return text_height(self.lines, self.size)


def fit(text: str, width: float, size: float, bold: bool = False,
        max_lines: int = 3) -> Fitted | None:
    """``text`` as it fits ``width`` inches: on one line at ``size`` points, else wrapped (at
    most ``max_lines`` lines), else the same at :data:`MIN_FONT_PT`; None when nothing fits."""
    for pt in dict.fromkeys((size, max(MIN_FONT_PT, min(size, MIN_FONT_PT)))):
        for candidate in (text, wrap(text, width, pt, bold)):
            if candidate is None:
                continue
            lines = candidate.count("\n") + 1
            if lines <= max_lines and text_width(candidate, pt, bold) <= width:
                return Fitted(candidate, pt, lines)
    return None


def fit_all(texts, width: float, size: float, bold: bool = False,
            max_lines: int = 3) -> list[Fitted] | None:
    """Every one of ``texts`` fitted to ``width`` at one common font size (the largest that
    fits them all), or None."""
    for pt in dict.fromkeys((size, MIN_FONT_PT)):
        fitted = [fit(t, width, pt, bold, max_lines) for t in texts]
        if all(f is not None and f.size == pt for f in fitted):
            return fitted
    return None


@dataclass(frozen=True)
class MapGrid:
    """Where the boundary-maps panels go. ``strip`` and ``maps``: per image row, the (x, y)
    of each panel's top-left corner in inches from the figure's top-left; ``strip_size`` and
    ``map_size``: panel sides in inches; ``height``: inches above the legend."""

    strip: list[list[tuple[float, float]]]
    maps: list[list[tuple[float, float]]]
    strip_size: float
    map_size: float
    titles: list[Fitted]
    height: float
    stacked: bool


# Room around the decision maps, in inches: the first map's y tick labels and label on the left,
# the x tick labels and label below, a gap between maps (tick marks only) and around the figure.
MAP_LEFT, MAP_BELOW, MAP_GAP, EDGE, STRIP_GAP = 0.42, 0.34, 0.16, 0.04, 0.06
MAX_MAP_IN = 1.8        # a decision map no wider than this (a lone map stays readable)
STACK_BELOW_IN = 0.75   # narrower map panels than this put the maps below the strip


def map_grid(width: float, n_images: int, titles: list[str], strip_title_lines: int = 2,
             size: float = 7.0, n_strip: int = 3) -> MapGrid:
    """The boundary-maps layout for ``n_images`` rows of an ``n_strip``-panel strip (clean, plain,
    RA in the paper figure)
    and one decision map per title: on one row per image when every map can be at least
    :data:`STACK_BELOW_IN` wide, else the strip on a row of its own and the maps below, as
    many per row as fit at that width. Titles are fitted to their map's width plus half the gap
    (wrapped, else at :data:`MIN_FONT_PT`); the figure's width is used up to :data:`EDGE`."""
    n = len(titles)
    inner = width - 2 * EDGE
    # one row: strip, a gap, the first map's y labels, then the maps
    side = min(MAX_MAP_IN, (inner - (n_strip - 1) * STRIP_GAP - MAP_LEFT - (n - 1) * MAP_GAP)
               / (n_strip + n))
    stacked = side < STACK_BELOW_IN
    if not stacked:
        per_row = n
        map_size = strip_size = side
    else:
        per_row = max(1, min(n, math.floor((inner - MAP_LEFT + MAP_GAP)
                                           / (STACK_BELOW_IN + MAP_GAP))))
        map_size = min(MAX_MAP_IN, (inner - MAP_LEFT - (per_row - 1) * MAP_GAP) / per_row)
        strip_size = min(map_size * 1.25, (inner - (n_strip - 1) * STRIP_GAP) / n_strip)
    # the maps' row centred in what it leaves (all of the width when the maps fill it)
    row_width = MAP_LEFT + per_row * map_size + (per_row - 1) * MAP_GAP
    if not stacked:
        row_width += n_strip * strip_size + (n_strip - 1) * STRIP_GAP
    shift = (inner - row_width) / 2
    fitted = fit_all(titles, map_size + MAP_GAP / 2, size) or [
        Fitted(t, MIN_FONT_PT, 1) for t in titles]
    title_h = max(f.height for f in fitted) + 0.04
    strip_h = text_height(strip_title_lines, MIN_FONT_PT) + 0.05
    strips, maps, y = [], [], EDGE
    for _ in range(n_images):
        if stacked:
            x0 = EDGE + (inner - n_strip * strip_size - (n_strip - 1) * STRIP_GAP) / 2
            strips.append([(x0 + c * (strip_size + STRIP_GAP), y + strip_h) for c in range(n_strip)])
            y += strip_h + strip_size + 0.06
            row = []
            for start in range(0, n, per_row):
                count = min(per_row, n - start)
                row += [(EDGE + shift + MAP_LEFT + c * (map_size + MAP_GAP), y + title_h)
                        for c in range(count)]
                y += title_h + map_size + MAP_BELOW
            maps.append(row)
        else:
            top = y + max(strip_h, title_h)
            strips.append([(EDGE + shift + c * (strip_size + STRIP_GAP), top)
                           for c in range(n_strip)])
            x0 = EDGE + shift + n_strip * strip_size + (n_strip - 1) * STRIP_GAP + MAP_LEFT
            maps.append([(x0 + c * (map_size + MAP_GAP), top) for c in range(n)])
            y = top + map_size + MAP_BELOW
    return MapGrid(strips, maps, strip_size, map_size, fitted, y, stacked)


def marker_size(separation: float, largest: float = 6.0, smallest: float = 2.0) -> float:
    """The marker size in points (a marker's width) for two markers whose centres are
    ``separation`` points apart: the largest up to ``largest`` that keeps them from
    overlapping, never below ``smallest``."""
    return max(smallest, min(largest, 0.9 * separation))
