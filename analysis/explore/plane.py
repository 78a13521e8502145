"""The Boundaries page's instrument, computed without Streamlit: which images to open, the plane
through an image, the point at (u, v) on it with every classifier's top-3, and the image's
boundary distances along d_RA and a random direction.

The plane is the one :func:`analysis.explore.workspace.plane_maps` draws: through x, the plain
processor's output (machine view), along d_RA (unit, towards the RA output) and a seeded random
unit direction d_r orthogonal to it; coordinates (u, v) are [0,1]-pixel L2 distances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..analyses.boundary import (
    boundary_distance,
    orthogonal_direction,
    plane_points,
    ra_directions,
)
from ..analyses.boundary_table import image_random_directions
from ..errors import RAExplorerError
from ..palette import class_palette
from ..pipeline.runner import processor_views

# extents offered, as multiples of ||x_RA - x|| (log-spaced: each about 1.6x the last)
EXTENT_MULTIPLES = (1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 16.0, 25.0, 40.0)
DEFAULT_EXTENT_MULTIPLE = 4.0
PICKERS = ("Table 17 selection", "RA fixed it", "by index")


@dataclass
class Plane:
    """x (C, H, W), the unit directions d_ra and d_r (C, H, W), ||x_RA - x||."""

    index: int
    x: torch.Tensor
    d_ra: torch.Tensor
    d_r: torch.Tensor
    ra_length: float

    def point(self, u: float, v: float) -> torch.Tensor:
        """x + u d_RA + v d_r, (C, H, W), not clipped (the maps are drawn unclipped)."""
        return plane_points(self.x, self.d_ra, self.d_r, torch.tensor([float(u)]),
                            torch.tensor([float(v)]))[0]


@torch.no_grad()
def image_plane(workspace, index: int, direction_seed: int | None = None) -> Plane:
    """The plane of test image ``index`` (d_r seeded by ``direction_seed``, default the index)."""
    plain, ra = workspace.plain_name(), workspace.ra_name()
    if plain is None or ra is None:
        raise RAExplorerError(f"The plane needs a plain and an RA processor for "
                              f"{workspace.task.spec}; train them with "
                              "'python -m analysis build-zoo'.")
    clean, _, _ = workspace.test[index]
    lq = workspace.task.degrade_eval(clean[None], [index])
    x = processor_views(workspace.processors[plain], lq).machine
    x_ra = processor_views(workspace.processors[ra], lq).machine
    d_ra, length = ra_directions(x, x_ra)
    d_r = orthogonal_direction(d_ra[0], seed=index if direction_seed is None else direction_seed)
    return Plane(index, x[0], d_ra[0], d_r, float(length[0]))


@torch.no_grad()
def point_predictions(workspace, plane: Plane, u: float, v: float, classifiers: list[str],
                      k: int = 3) -> tuple[np.ndarray, dict[str, list[tuple[str, float]]]]:
    """(the image at (u, v) as (H, W) or (H, W, 3) clipped to [0, 1] for display, {classifier:
    top-k (class name, probability)} of the unclipped point, as the maps classify it)."""
    from .workspace import to_numpy

    point = plane.point(u, v)
    return to_numpy(point), {name: workspace.topk(name, point, k) for name in classifiers}


def extent_for(multiple: float, ra_length: float, floor: float = 0.05) -> float:
    """The map's half-width for ``multiple`` x ||x_RA - x|| (at least ``floor``), rounded to
    the 3 decimals the page shows, so that a point at the map's edge is the one printed."""
    return round(max(float(multiple) * float(ra_length), floor), 3)


# One image's search in fewer, larger forward calls (the same crossings bit for bit): on 12
# test images x 4 classifiers, 0.318 s an image against 0.448 s one point a call (session 11).
LOOKAHEAD, BISECT_DEPTH = 8, 3


@torch.no_grad()
def image_boundary_distances(workspace, plane: Plane, classifiers: list[str],
                             max_dist: float = 30.0, tol: float = 1e-3,
                             seed: int = 0) -> list[dict]:
    """BD of each classifier at x along d_RA and along the random direction Table 17 uses for
    this image (a unit Gaussian seeded by (seed, index)); a search that finds no crossing
    within ``max_dist`` is censored (distance None)."""
    d_rand = image_random_directions(plane.x.shape, [plane.index], seed)[0]
    # both directions in one search (a batch of two): half the forward passes of two searches
    xs, ds = torch.stack([plane.x, plane.x]), torch.stack([plane.d_ra, d_rand])
    rows = []
    for name in classifiers:
        res = boundary_distance(workspace.classifiers[name], xs, ds, max_dist=max_dist, tol=tol,
                                lookahead=LOOKAHEAD, bisect_depth=BISECT_DEPTH)
        for k, direction in enumerate(("ra", "random")):
            dist = float(res.dist[k])
            rows.append({"classifier": name, "direction": direction,
                         "bd": None if math.isnan(dist) else dist,
                         "censored": bool(res.censored[k]), "max_dist": max_dist})
    return rows


def table17_indices(source_table, target_table, plain: str, source: str,
                    target: str) -> np.ndarray:
    """Dataset indices with Rs(x) = Rt(x) != label on the plain output x (Table 17's
    selection), from the record tables of the two classifiers (rows aligned by index)."""
    common, rs, rt = np.intersect1d(source_table.index, target_table.index,
                                    return_indices=True)     # one may cover fewer images
    ps = source_table.pred[(plain, source)][rs]
    pt = target_table.pred[(plain, target)][rt]
    return common[(ps == pt) & (ps != source_table.label[rs])].astype(np.int64)


def ra_fixed_indices(table, plain: str, ra: str, classifier: str) -> np.ndarray:
    """Dataset indices where ``classifier`` is right on the RA output and wrong on the plain."""
    keep = table.correct(ra, classifier) & ~table.correct(plain, classifier)
    return table.index[keep].astype(np.int64)


def picker_indices(workspace, picker: str, classifiers: list[str]) -> tuple[np.ndarray, str]:
    """(dataset indices, one sentence of what they are) for a picker of :data:`PICKERS`
    (``by index``: every test image)."""
    plain, ra = workspace.plain_name(), workspace.ra_name()
    if picker == "by index":
        return np.arange(len(workspace.test)), "every test image"
    if picker == "Table 17 selection":
        if len(classifiers) < 2:
            raise RAExplorerError("The Table 17 selection needs two classifiers (Rs and Rt).")
        (st, where), (tt, _) = (workspace.record_table(classifiers[0]),
                                workspace.record_table(classifiers[1]))
        found = table17_indices(st, tt, plain, classifiers[0], classifiers[1])
        return found, (f"{len(found):,} images with {classifiers[0]}(x) = {classifiers[1]}(x) "
                       f"!= label on the {plain} output, from {where}")
    if picker == "RA fixed it":
        table, where = workspace.record_table(classifiers[0])
        found = ra_fixed_indices(table, plain, ra, classifiers[0])
        return found, (f"{len(found):,} images {classifiers[0]} gets right on {ra} and wrong "
                       f"on {plain}, from {where}")
    raise RAExplorerError(f"Unknown image picker {picker!r}; use one of {', '.join(PICKERS)}.")


DEFAULT_RESOLUTION = 128


@dataclass
class DefaultView:
    """What the Boundaries page opens on: the first image of the default picker for the
    workspace's default classifier pair, at the default extent and resolution."""

    index: int
    classifiers: list[str]
    extent: float
    resolution: int


def default_view(workspace) -> DefaultView | None:
    """The page's opening view (None without two classifiers or a selected image)."""
    chosen = workspace.default_pair()
    if len(chosen) < 2:
        return None
    try:
        found, _ = picker_indices(workspace, PICKERS[0], chosen)
    except RAExplorerError:
        return None
    index = int(found[0]) if len(found) else 0
    plane = image_plane(workspace, index)
    return DefaultView(index, list(chosen), extent_for(DEFAULT_EXTENT_MULTIPLE, plane.ra_length),
                       DEFAULT_RESOLUTION)


# ----------------------------------------------------------------------------- maps as images
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
