"""2-D decision maps (RA paper, Fig. 4): the predicted class on a grid in the plane through an
image x spanned by two unit directions (d_RA and a seeded random direction orthogonal to it),
drawn in full or adaptively, and the agreement between two classifiers' maps (after dbViz:
the fraction of grid points whose predicted class matches). Coordinates (u, v) are L2
distances in [0, 1]-pixel units; points are not clipped unless asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .boundary_search import random_directions


def orthogonal_direction(d_ra: torch.Tensor, seed: int) -> torch.Tensor:
    """A seeded random unit direction orthogonal to d_ra (one image: (C, H, W))."""
    r = random_directions(d_ra.shape, [seed], device=d_ra.device)[0]
    r = r - (r * d_ra).sum() * d_ra
    return r / r.norm().clamp_min(1e-12)


def plane_points(x: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor, us: torch.Tensor,
                 vs: torch.Tensor, clip: bool = False) -> torch.Tensor:
    """x + u d1 + v d2 for each (u, v) pair of the flat coordinate lists us, vs: (P, C, H, W)."""
    pts = x[None] + us.view(-1, 1, 1, 1) * d1[None] + vs.view(-1, 1, 1, 1) * d2[None]
    return pts.clamp(0, 1) if clip else pts


@dataclass
class DecisionMap:
    """Predicted class on a grid: classes[i, j] at (u = us[j], v = vs[i])."""

    classes: torch.Tensor          # (R, R) long
    us: torch.Tensor               # (R,) along d_RA
    vs: torch.Tensor               # (R,) along the orthogonal random direction
    evaluations: int
    clip: bool


def grid_axes(extent: float, resolution: int, device=None):
    axis = torch.linspace(-extent, extent, resolution, device=device)
    return axis, axis.clone()


@torch.no_grad()
def decision_map(model, x: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor, extent: float,
                 resolution: int = 64, clip: bool = False, batch_size: int = 1024) -> DecisionMap:
    """The full grid: every point evaluated, in batches of ``batch_size`` points."""
    model.eval()
    us, vs = grid_axes(extent, resolution, x.device)
    vv, uu = torch.meshgrid(vs, us, indexing="ij")
    flat_u, flat_v = uu.flatten(), vv.flatten()
    preds = []
    for start in range(0, len(flat_u), batch_size):
        pts = plane_points(x, d1, d2, flat_u[start:start + batch_size],
                           flat_v[start:start + batch_size], clip)
        preds.append(model(pts).argmax(1))
    classes = torch.cat(preds).view(resolution, resolution).cpu()
    return DecisionMap(classes, us.cpu(), vs.cpu(), resolution * resolution, clip)


@torch.no_grad()
def adaptive_decision_map(model, x: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor,
                          extent: float, resolution: int = 128, coarse_step: int = 8,
                          clip: bool = False, batch_size: int = 4096,
                          neighbours: bool = False,
                          between_levels: Callable[[], None] | None = None) -> DecisionMap:
    """The same grid as :func:`decision_map`, evaluating only where the class can change.

    A coarse grid (every ``coarse_step``-th row and column, plus the last)
    is evaluated first; each cell whose four corners agree is filled with
    that class, the others are split in four (their edge midpoints and centre
    evaluated, all cells of a level in one batch) until cells are one pixel.
    With ``neighbours``, a cell whose corners agree is also split when it
    shares a corner with a cell whose corners differ (thin regions usually
    run on beside the place where they were seen). A class region that
    touches no evaluated corner is missed: the agreement with the full grid
    is measured in the tests and benchmarks, not assumed. ``between_levels`` is called
    before each level's forwards (a background caller waits there while the app is busy).
    """
    model.eval()
    us, vs = grid_axes(extent, resolution, x.device)
    classes = torch.full((resolution, resolution), -1, dtype=torch.long)
    evaluations = 0

    def evaluate(points: list[tuple[int, int]]):
        nonlocal evaluations
        points = [p for p in dict.fromkeys(points) if classes[p] < 0]
        if not points:
            return
        if between_levels is not None:
            between_levels()
        ii = torch.tensor([p[0] for p in points])
        jj = torch.tensor([p[1] for p in points])
        preds = []
        for start in range(0, len(points), batch_size):
            sl = slice(start, start + batch_size)
            pts = plane_points(x, d1, d2, us[jj[sl]], vs[ii[sl]], clip)
            preds.append(model(pts).argmax(1).cpu())
        classes[ii, jj] = torch.cat(preds)
        evaluations += len(points)

    marks = sorted(set(range(0, resolution, coarse_step)) | {resolution - 1})
    evaluate([(i, j) for i in marks for j in marks])
    cells = [(a, b, c, e) for a, b in zip(marks, marks[1:]) for c, e in zip(marks, marks[1:])]
    while cells:
        split, needed = [], []
        mixed_corners = set()
        if neighbours:
            for i0, i1, j0, j1 in cells:
                if len({int(classes[i0, j0]), int(classes[i0, j1]), int(classes[i1, j0]),
                        int(classes[i1, j1])}) > 1:
                    mixed_corners.update({(i0, j0), (i0, j1), (i1, j0), (i1, j1)})
        for i0, i1, j0, j1 in cells:
            corners = {int(classes[i0, j0]), int(classes[i0, j1]), int(classes[i1, j0]),
                       int(classes[i1, j1])}
            beside = bool(mixed_corners & {(i0, j0), (i0, j1), (i1, j0), (i1, j1)})
            if len(corners) == 1 and not beside:
                block = classes[i0:i1 + 1, j0:j1 + 1]
                block[block < 0] = corners.pop()
                continue
            if i1 - i0 <= 1 and j1 - j0 <= 1:
                continue  # every point of the cell is a corner, already evaluated
            im, jm = (i0 + i1) // 2, (j0 + j1) // 2
            needed += [(im, j0), (im, j1), (i0, jm), (i1, jm), (im, jm)]
            for a, b in ((i0, im), (im, i1)):
                for c, e in ((j0, jm), (jm, j1)):
                    if b > a or e > c:
                        split.append((a, b, c, e))
        evaluate(needed)
        # cells of zero height or width are lines: evaluate them outright
        lines = [(a, b, c, e) for a, b, c, e in split if a == b or c == e]
        evaluate([(i, j) for a, b, c, e in lines for i in range(a, b + 1) for j in range(c, e + 1)])
        cells = [cell for cell in split if cell not in lines]
    assert int((classes < 0).sum()) == 0
    return DecisionMap(classes, us.cpu(), vs.cpu(), evaluations, clip)


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fraction of grid points where two maps predict the same class."""
    return float((a == b).float().mean())


def agreement_matrix(maps: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    return {a: {b: agreement(ma, mb) for b, mb in maps.items()} for a, ma in maps.items()}
