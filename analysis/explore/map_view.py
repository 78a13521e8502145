"""Decision maps as the Boundaries page shows them: one colour per class, the map as a
pixel-exact image with the plain and RA outputs marked, the (u, v) under a click, the
shared class legend, and how far progressive maps are drawn."""

from __future__ import annotations

import numpy as np

from ..palette import class_palette


def legend_html(class_names, present: list[int] | None = None) -> str:
    """One shared class legend (HTML swatches) in the maps' colours, plus the two marks."""
    palette = class_palette(len(class_names))
    shown = range(len(class_names)) if present is None else sorted(present)
    items = [f'<span style="display:inline-block;margin-right:12px"><span style="display:'
             f'inline-block;width:12px;height:12px;background:{palette[c]};margin-right:4px;'
             f'vertical-align:middle"></span>{class_names[c]}</span>' for c in shown]
    items += ['<span style="margin-right:12px">✕ plain output (origin)</span>',
              '<span>◇ RA output</span>']
    return '<div style="font-size:14px;line-height:1.9">' + "".join(items) + "</div>"


def map_pixels(dmap, class_names, ra_u: float | None = None, scale: int = 3) -> np.ndarray:
    """A decision map as an (R * scale, R * scale, 3) uint8 image, pixel-exact (each grid
    point a ``scale`` x ``scale`` block in its class colour, the palette of the shared legend),
    v increasing upwards and u to the right; the plain output (origin) marked with a black
    cross and the RA output (u = ``ra_u``, v = 0) with a white diamond edged in black.

    Drawn without a chart library, so the page shows it without loading plotly's code;
    :func:`plane_point_at` inverts the pixel mapping for a click.
    """
    from PIL import Image, ImageColor, ImageDraw


    palette = np.array([ImageColor.getrgb(c) for c in class_palette(len(class_names))],
                       dtype=np.uint8)
    grid = np.flipud(dmap.classes.numpy())                      # row 0 = the largest v
    pixels = np.kron(palette[grid], np.ones((scale, scale, 1), dtype=np.uint8))
    image = Image.fromarray(np.ascontiguousarray(pixels))
    draw = ImageDraw.Draw(image)
    arm = max(3, 2 * scale)

    def centre(u: float, v: float) -> tuple[float, float]:
        j = int(np.argmin(np.abs(dmap.us.numpy() - u)))
        i = len(dmap.vs) - 1 - int(np.argmin(np.abs(dmap.vs.numpy() - v)))
        return (j + 0.5) * scale, (i + 0.5) * scale

    x0, y0 = centre(0.0, 0.0)
    for dx, dy in ((1, 1), (1, -1)):
        draw.line([(x0 - arm * dx, y0 - arm * dy), (x0 + arm * dx, y0 + arm * dy)],
                  fill=(0, 0, 0), width=max(2, scale // 2 + 1))
    if ra_u is not None and abs(ra_u) <= float(dmap.us.abs().max()):
        x1, y1 = centre(float(ra_u), 0.0)
        draw.polygon([(x1, y1 - arm), (x1 + arm, y1), (x1, y1 + arm), (x1 - arm, y1)],
                     fill=(255, 255, 255), outline=(0, 0, 0), width=max(1, scale // 2))
    return np.asarray(image)


def plane_point_at(dmap, x: float, y: float, width: float, height: float) -> tuple[float, float]:
    """(u, v) of the grid point under pixel (x, y) of the map shown ``width`` x ``height``
    pixels (as :func:`map_pixels` draws it: u to the right, v upwards), rounded to the 3
    decimals the page prints (at most 0.0005 from the grid point), so that the point shown
    is the point printed."""
    res = len(dmap.us)
    j = min(res - 1, max(0, int(x / max(width, 1e-9) * res)))
    i = min(res - 1, max(0, int(y / max(height, 1e-9) * res)))
    return round(float(dmap.us[j]), 3), round(float(dmap.vs[res - 1 - i]), 3)


def refinement_note(maps: dict, budget_s: float, seconds: float | None) -> str:
    """One sentence on how far the progressive maps ``maps`` (name -> DecisionMap) are drawn
    against the page's time budget of ``budget_s`` seconds; ``seconds``: the time taken, or
    None while drawing."""
    shown = list(maps.values())
    res = len(shown[0].us)
    levels = max(m.levels for m in shown)
    level = min(m.level for m in shown)
    spacing = max(m.spacing for m in shown)
    if all(m.complete for m in shown):
        took = "" if seconds is None else f" in {seconds:.2f} s"
        return (f"Maps complete{took}: {res} x {res} points, every level drawn (time budget "
                f"{budget_s:g} s).")
    where = (f"level {level} of at most {levels}: cells up to {spacing} of the {res} x {res} "
             "grid points wide still show their nearest evaluated corner's class")
    if seconds is None:
        return f"Drawing coarse to fine, {where} (time budget {budget_s:g} s)…"
    return (f"Time budget of {budget_s:g} s reached after {seconds:.2f} s at {where}. The "
            "background goes on refining them: \"Refine further\" shows how far it got.")
