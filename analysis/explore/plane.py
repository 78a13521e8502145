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
    """The map's half-width for ``multiple`` x ||x_RA - x|| (at least ``floor``)."""
    return max(float(multiple) * float(ra_length), floor)


@torch.no_grad()
def image_boundary_distances(workspace, plane: Plane, classifiers: list[str],
                             max_dist: float = 30.0, tol: float = 1e-3,
                             seed: int = 0) -> list[dict]:
    """BD of each classifier at x along d_RA and along the random direction Table 17 uses for
    this image (a unit Gaussian seeded by (seed, index)); a search that finds no crossing
    within ``max_dist`` is censored (distance None)."""
    d_rand = image_random_directions(plane.x.shape, [plane.index], seed)[0]
    rows = []
    for name in classifiers:
        model = workspace.classifiers[name]
        for direction, d in (("ra", plane.d_ra), ("random", d_rand)):
            res = boundary_distance(model, plane.x[None], d[None], max_dist=max_dist, tol=tol)
            dist = float(res.dist[0])
            rows.append({"classifier": name, "direction": direction,
                         "bd": None if math.isnan(dist) else dist,
                         "censored": bool(res.censored[0]), "max_dist": max_dist})
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
