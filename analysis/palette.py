"""The one class palette: a colour per class index, the same on every app page (Boundaries'
maps and legend, Features' scatter) and in every paper figure (decision maps, t-SNE).

Ten colours, for the ten classes of the embedded datasets: the seven colours of Okabe & Ito's
colour-blind-safe palette (2008, "Color Universal Design"; no black, which marks points on a
map), then grey and two of Paul Tol's muted colours (sand, wine). Class ``c`` gets
``CLASS_COLOURS[c % 10]``: a dataset with more classes repeats them.
"""

from __future__ import annotations

# Okabe & Ito (2008): black, then the seven colours (hex sRGB).
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
             "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "reddish purple": "#CC79A7"}
CLASS_COLOURS = [OKABE_ITO[k] for k in ("orange", "sky blue", "bluish green", "yellow", "blue",
                                        "vermillion", "reddish purple")] + [
    "#999999", "#DDCC77", "#882255"]


def class_colour(c: int) -> str:
    """The colour (``"#RRGGBB"``) of class index ``c``."""
    return CLASS_COLOURS[int(c) % len(CLASS_COLOURS)]


def class_palette(k: int) -> list[str]:
    """The colours of classes 0 .. k - 1 (at least one), in class order."""
    return [class_colour(c) for c in range(max(k, 1))]
