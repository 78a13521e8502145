"""The look every paper figure shares: sizes, fonts, palette, and the rcParams that make files
reproducible and acceptable to venues.

Sizes are in inches at the printed size, so a font size in points is the printed size: text is
never below :data:`MIN_FONT_PT`. Fonts: PDF embeds them as TrueType (``pdf.fonttype = 42``,
never Type 3, which many venues reject); SVG draws glyphs as paths (``svg.fonttype = 'path'``)
so that the file looks the same on a machine without DejaVu Sans and needs no font at all (the
price: the text is not editable as text in Inkscape). Colours: the Okabe-Ito palette
(colour-blind safe); classes take the one class palette of :mod:`analysis.palette`, the app's
too; lines and bars also differ by marker / hatch so that greyscale prints stay readable.
"""

from __future__ import annotations

from ...errors import InputError
from ...palette import CLASS_COLOURS, OKABE_ITO, class_palette

# Widths in inches of common two-column layouts; named after what they are, not after a venue.
PRESETS = {"single": 3.25, "double": 6.75}
DEFAULT_WIDTH = PRESETS["double"]
DEFAULT_DPI = 300
MIN_FONT_PT = 6.0

LINE_COLOURS = [OKABE_ITO[k] for k in ("blue", "orange", "bluish green", "vermillion",
                                       "reddish purple", "sky blue", "black", "yellow")]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), "-", "--"]
HATCHES = ["", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++"]
BAR_COLOURS = CLASS_COLOURS[:8]           # fills: no black, so hatches stay visible
CORRECT, WRONG = OKABE_ITO["bluish green"], OKABE_ITO["vermillion"]

RC = {
    "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path",
    "svg.hashsalt": "ra-explorer",           # SVG ids from a fixed salt: same call, same bytes
    "font.family": "DejaVu Sans", "font.size": 7.0, "axes.titlesize": 7.0,
    "axes.labelsize": 7.0, "xtick.labelsize": 6.0, "ytick.labelsize": 6.0,
    "legend.fontsize": 6.0, "legend.title_fontsize": 6.0, "figure.titlesize": 7.0,
    "mathtext.fontset": "dejavusans", "axes.linewidth": 0.6, "lines.linewidth": 1.0,
    "lines.markersize": 3.5, "xtick.major.width": 0.5, "ytick.major.width": 0.5,
    "xtick.major.size": 2.5, "ytick.major.size": 2.5, "legend.frameon": False,
    "axes.prop_cycle": None,                  # filled in below (needs cycler)
    "hatch.linewidth": 0.4,
    "image.interpolation": "nearest", "image.resample": False,
    "savefig.facecolor": "white", "figure.facecolor": "white",
    "path.simplify": False,                   # plotted points stay exactly the CSV's
}


def rc() -> dict:
    """The rcParams of every paper figure (use inside ``matplotlib.rc_context(rc())``)."""
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=LINE_COLOURS)}


def class_cmap(k: int):
    """The matplotlib colormap of a decision map with ``k`` classes (class ``c`` in the class
    palette's colour; draw with ``vmin=-0.5, vmax=k - 0.5``)."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(class_palette(k))


def figure_width(width: float | None = None, preset: str | None = None) -> float:
    """The figure width in inches: ``width`` if given, else the named preset, else double."""
    if width is not None and preset is not None:
        raise InputError("Give either --width or --preset, not both.")
    if width is not None:
        if not 1.0 <= width <= 20.0:
            raise InputError(f"The figure width must be between 1 and 20 inches; got {width:g}.")
        return float(width)
    if preset is None:
        return DEFAULT_WIDTH
    if preset not in PRESETS:
        from ...errors import unknown_name

        raise unknown_name("width preset", preset, list(PRESETS))
    return PRESETS[preset]
