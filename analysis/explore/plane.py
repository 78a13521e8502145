"""The Boundaries page's instrument, computed without Streamlit: the plane through an image,
its 2-D decision maps, the point at (u, v) on it with every classifier's top-3, the image's
boundary distances along d_RA and a random direction, and which images to open.

The plane passes through x, the plain processor's output (machine view), along d_RA (unit,
towards the RA output) and a seeded random unit direction d_r orthogonal to it; coordinates
(u, v) are [0,1]-pixel L2 distances. Every function takes the models, images and tables it
needs (the workspace composes them: :meth:`analysis.explore.workspace.Workspace.plane`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..analyses.boundary_defaults import MAX_DIST, TOL
from ..analyses.boundary_exact import MAX_REGIONS, measure_boundaries
from ..analyses.boundary_maps import (
    DecisionMap,
    MapRefinement,
    adaptive_decision_map,
    agreement_matrix,
    opening_step,
    orthogonal_direction,
    plane_points,
)
from ..analyses.boundary_search import ra_directions
from ..analyses.boundary_table import image_random_directions
from ..errors import RAExplorerError
from ..pipeline.backends import channels_last_copy
from ..pipeline.runner import processor_views
from ..side_by_side import run_side_by_side
from .encoders import to_numpy

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
def image_plane(task, clean: torch.Tensor, index: int, plain: torch.nn.Module,
                ra: torch.nn.Module, direction_seed: int | None = None) -> Plane:
    """The plane of test image ``index`` (``clean``: (C, H, W) in [0, 1]) through the output
    of the ``plain`` processor on the task's degradation, along d_RA towards the ``ra``
    processor's output, and d_r seeded by ``direction_seed`` (default the index)."""
    lq = task.degrade_eval(clean[None], [index])
    x = processor_views(plain, lq).machine
    x_ra = processor_views(ra, lq).machine
    d_ra, length = ra_directions(x, x_ra)
    d_r = orthogonal_direction(d_ra[0], seed=index if direction_seed is None else direction_seed)
    return Plane(index, x[0], d_ra[0], d_r, float(length[0]))


@torch.no_grad()
def top_classes(model: torch.nn.Module, x: torch.Tensor, class_names, k: int = 3,
                device=None) -> list[tuple[str, float]]:
    """The ``k`` most probable (class name, softmax probability) of ``model`` on one image
    ``x`` (C, H, W) (moved to ``device`` first when given)."""
    probs = model(x[None].to(device) if device is not None else x[None]).softmax(1)[0].cpu()
    values, idx = probs.topk(min(k, len(probs)))
    return [(class_names[i], float(v)) for v, i in zip(values, idx)]


@torch.no_grad()
def plane_maps(plane: Plane, classifiers: dict[str, torch.nn.Module], extent: float,
               resolution: int, coarse_step: int = 8, batch_size: int = 128,
               between_levels=None, channels_last: bool = True) -> dict:
    """2-D decision maps of ``classifiers`` (name -> model) in ``plane``, u and v in
    [-extent, extent] on a ``resolution`` x ``resolution`` grid.

    Returns {"maps": {name: DecisionMap}, "ra_length": ||x_RA - x||, "agreement": matrix}.
    ``batch_size``: points per forward; 128 drew the four 128 x 128 maps of two images
    13-20 % faster than 4,096 in three alternating runs (densenet-bc 1.5x: its concatenations
    are memory-bound on large batches), on this machine under load. ``between_levels``: see
    :func:`~analysis.analyses.boundary_maps.adaptive_decision_map`. The classifiers run as
    their channels-last copies (:class:`analysis.pipeline.backends.ChannelsLast`; float
    rounding aside, the same function, and the same maps in the measurements quoted there);
    ``channels_last=False`` runs the models as they are (the copy is made once per model
    object, so a model that changes between calls, a user's in a notebook, is run as it is).
    """
    maps = {name: adaptive_decision_map(channels_last_copy(model) if channels_last else model,
                                        plane.x, plane.d_ra, plane.d_r, extent, resolution,
                                        coarse_step=coarse_step, batch_size=batch_size,
                                        between_levels=between_levels)
            for name, model in classifiers.items()}
    return {"maps": maps, "ra_length": plane.ra_length,
            "agreement": agreement_matrix({n: m.classes for n, m in maps.items()})}


def progressive_map(extent: float, resolution: int, coarse_step: int = 8,
                    batch_size: int = 128, opening_marks: int = 5) -> MapRefinement:
    """An empty map for :func:`refine_maps` to draw level by level: its first level a grid of
    about ``opening_marks`` x ``opening_marks`` points
    (:func:`~analysis.analyses.boundary_maps.opening_step`), complete it is
    :func:`plane_maps`' map with the same options."""
    return MapRefinement(extent, resolution, coarse_step=coarse_step,
                         first_step=opening_step(resolution, coarse_step, opening_marks),
                         batch_size=batch_size)


def refine_maps(plane: Plane, classifiers: dict[str, torch.nn.Module],
                states: dict[str, MapRefinement], deadline: float | None = None,
                on_level: Callable[[dict[str, DecisionMap]], None] | None = None,
                device="cpu", between_levels: Callable[[], None] | None = None
                ) -> dict[str, DecisionMap]:
    """Refine each classifier's map in ``states`` (name -> :func:`progressive_map`) in
    ``plane``, one level of every unfinished map per round, the classifiers side by side
    (:func:`analysis.side_by_side.run_side_by_side`, channels-last copies as in
    :func:`plane_maps`), until all are complete or a round ends after ``deadline``
    (``time.monotonic()`` seconds; None: no limit). ``on_level`` gets {name: the map as far as
    drawn} before the first round (when every map has a level already) and after each round;
    ``between_levels`` is called before each round (a background caller waits there while
    the app is busy). The maps as far as drawn."""
    def snapshots() -> dict[str, DecisionMap]:
        return {name: states[name].snapshot() for name in classifiers}

    if on_level is not None and all(states[n].level for n in classifiers):
        on_level(snapshots())
    while True:
        todo = [n for n in classifiers if not states[n].complete]
        if not todo:
            break
        if between_levels is not None:
            between_levels()
        run_side_by_side([lambda n=n: states[n].step(channels_last_copy(classifiers[n]), plane.x,
                                                      plane.d_ra, plane.d_r) for n in todo],
                         device)
        if on_level is not None:
            on_level(snapshots())
        if deadline is not None and time.monotonic() >= deadline:
            break
    return snapshots()


@torch.no_grad()
def point_predictions(plane: Plane, u: float, v: float, classifiers: dict[str, torch.nn.Module],
                      class_names, k: int = 3,
                      device=None) -> tuple[np.ndarray, dict[str, list[tuple[str, float]]]]:
    """(the image at (u, v) as (H, W) or (H, W, 3) clipped to [0, 1] for display, {classifier:
    top-k (class name, probability)} of the unclipped point, as the maps classify it)."""
    point = plane.point(u, v)
    return to_numpy(point), {name: top_classes(model, point, class_names, k, device)
                             for name, model in classifiers.items()}


def extent_for(multiple: float, ra_length: float, floor: float = 0.05) -> float:
    """The map's half-width for ``multiple`` x ||x_RA - x|| (at least ``floor``), rounded to
    the 3 decimals the page shows, so that a point at the map's edge is the one printed."""
    return round(max(float(multiple) * float(ra_length), floor), 3)


# One image's search in fewer, larger forward calls (the same crossings bit for bit): on 12
# test images x 4 classifiers, 0.318 s an image against 0.448 s one point a call
# (benchmarks/bench_boundary.py).
LOOKAHEAD, BISECT_DEPTH = 8, 3


@torch.no_grad()
def image_boundary_distances(plane: Plane, classifiers: dict[str, torch.nn.Module],
                             max_dist: float | None = MAX_DIST, tol: float = TOL,
                             seed: int = 0, method: str = "search",
                             on_step=None) -> list[dict]:
    """BD of each classifier (name -> model) at x along d_RA and along the random direction Table 17 uses for
    this image (a unit Gaussian seeded by (seed, index)); a search that finds no crossing
    within ``max_dist`` (default None: scaled with the image, 30 * sqrt(C*H*W / 784)) is
    censored (distance None); each row holds the range searched. ``method`` "exact": the
    region walk (each row then says the method used, and for the walk the regions crossed and
    the certificate's residual). ``on_step(done, expected)``: each measurement's progress
    (:func:`~analysis.analyses.boundary_exact.measure_boundaries`)."""
    d_rand = image_random_directions(plane.x.shape, [plane.index], seed)[0]
    # both directions in one search (a batch of two): half the forward passes of two searches
    xs, ds = torch.stack([plane.x, plane.x]), torch.stack([plane.d_ra, d_rand])
    rows = []
    for name, model in classifiers.items():
        res = measure_boundaries(model, xs, ds, method, max_dist=max_dist, tol=tol,
                                 lookahead=LOOKAHEAD, bisect_depth=BISECT_DEPTH,
                                 on_step=on_step)
        cert = res.extra.get("certificate")
        for k, direction in enumerate(("ra", "random")):
            dist = float(res.dist[k])
            rows.append({"classifier": name, "direction": direction,
                         "bd": None if math.isnan(dist) else dist,
                         "censored": bool(res.censored[k]), "max_dist": res.max_dist,
                         "method": res.extra["method"], "fallback": res.extra.get("fallback"),
                         **({"regions": int(cert.regions[k]),
                             "residual": float(cert.residual[k])} if cert else {})})
    return rows


def exact_image_distances(plane: Plane, classifiers: dict[str, torch.nn.Module],
                          on_progress=None) -> list[dict]:
    """:func:`image_boundary_distances` by the region walk, one classifier after the other,
    with ``on_progress(regions, cap)``: the regions crossed so far over every classifier, of
    the walk's cap (:data:`~analysis.analyses.boundary_exact.MAX_REGIONS` per classifier; the
    walk mostly ends far below it)."""
    rows = []
    cap = MAX_REGIONS * len(classifiers)
    for k, (name, model) in enumerate(classifiers.items()):
        def step(regions, _cap, k=k):
            if on_progress is not None:
                on_progress(k * MAX_REGIONS + regions, cap)
        rows += image_boundary_distances(plane, {name: model}, method="exact", on_step=step)
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


def picker_indices(picker: str, classifiers: list[str], plain: str, ra: str, n_images: int,
                   record_table) -> tuple[np.ndarray, str]:
    """(dataset indices, one sentence of what they are) for a picker of :data:`PICKERS`
    (``by index``: every one of the ``n_images`` test images); ``record_table(classifier)``
    gives (its per-image record table, where that comes from)."""
    if picker == "by index":
        return np.arange(n_images), "every test image"
    if picker == "Table 17 selection":
        if len(classifiers) < 2:
            raise RAExplorerError("The Table 17 selection needs two classifiers (Rs and Rt).")
        (st, where), (tt, _) = record_table(classifiers[0]), record_table(classifiers[1])
        found = table17_indices(st, tt, plain, classifiers[0], classifiers[1])
        return found, (f"{len(found):,} images with {classifiers[0]}(x) = {classifiers[1]}(x) "
                       f"!= label on the {plain} output, from {where}")
    if picker == "RA fixed it":
        table, where = record_table(classifiers[0])
        found = ra_fixed_indices(table, plain, ra, classifiers[0])
        return found, (f"{len(found):,} images {classifiers[0]} gets right on {ra} and wrong "
                       f"on {plain}, from {where}")
    raise RAExplorerError(f"Unknown image picker {picker!r}; use one of {', '.join(PICKERS)}.")


@dataclass
class DefaultView:
    """What the Boundaries page opens on: the first image of the default picker for the
    default classifier pair, at the default extent and resolution."""

    index: int
    classifiers: list[str]
    extent: float
    resolution: int
