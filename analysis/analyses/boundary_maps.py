"""2-D decision maps (RA paper, Fig. 4): the predicted class on a grid in the plane through an
image x spanned by two unit directions (d_RA and a seeded random direction orthogonal to it),
drawn in full, adaptively or level by level within a time budget, and the agreement
between two classifiers' maps (after dbViz: the fraction of grid points whose predicted class
matches). Coordinates (u, v) are L2
distances in [0, 1]-pixel units; points are not clipped unless asked.
"""

from __future__ import annotations

import math
import threading
import time
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
    level: int = 0                 # levels drawn (MapRefinement); 0: drawn in one go
    levels: int = 0                # levels a complete progressive map takes (at most)
    spacing: int = 1               # the largest unresolved cell's side, grid points
    complete: bool = True          # False: a progressive map stopped before its last level


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
    :class:`MapRefinement` draws the same map level by level.
    """
    state = MapRefinement(extent, resolution, coarse_step=coarse_step, first_step=coarse_step,
                          clip=clip, batch_size=batch_size, neighbours=neighbours)
    state.refine(model, x, d1, d2, between_levels=between_levels)
    return state.snapshot()


def opening_step(resolution: int, coarse_step: int = 8, marks: int = 5) -> int:
    """The spacing of a progressive map's first grid: the largest ``coarse_step`` x 2^k whose
    grid (every step-th row and column, plus the last) still has ``marks`` points per axis
    (32 at 128 points and a coarse step of 8: a 5 x 5 grid; 8 at 32 points)."""
    step = coarse_step
    while len(set(range(0, resolution, 2 * step)) | {resolution - 1}) >= marks:
        step *= 2
    return step


class MapRefinement:
    """An adaptive map (:func:`adaptive_decision_map`) drawn level by level, so that a caller
    can show each level as it comes and stop at a time budget.

    The levels: full grids of spacing ``first_step``, ``first_step / 2``, ... down to
    ``coarse_step`` (each grid's points include the previous one's, so they cost only the
    new points), then the adaptive splits of the cells whose corners differ. Once complete
    the map is the one :func:`adaptive_decision_map` draws with the same options.
    :meth:`snapshot` fills the points not yet evaluated with the class of the nearest
    evaluated corner of their cell.

    The state holds no model or image (the caller passes them to :meth:`step`), so many can be
    kept; a lock makes one level at a time run, from any thread.
    """

    def __init__(self, extent: float, resolution: int = 128, coarse_step: int = 8,
                 first_step: int | None = None, clip: bool = False, batch_size: int = 4096,
                 neighbours: bool = False):
        if resolution < 2 or coarse_step < 1:
            raise ValueError(f"resolution must be >= 2 and coarse_step >= 1; got {resolution} "
                             f"and {coarse_step}.")
        self.us, self.vs = grid_axes(extent, resolution)
        self.resolution, self.coarse_step, self.clip = resolution, coarse_step, clip
        self.batch_size, self.neighbours = batch_size, neighbours
        self.classes = torch.full((resolution, resolution), -1, dtype=torch.long)
        self.evaluations = 0
        self.level = 0                       # levels done
        first = max(coarse_step, first_step or coarse_step)
        self._grids = []                     # the coarse grids' spacings still to evaluate
        while first >= coarse_step:
            self._grids.append(first)
            first //= 2
        self._grids = [s for s in self._grids if s % coarse_step == 0] or [coarse_step]
        self.levels = len(self._grids) + max(1, math.ceil(math.log2(max(coarse_step, 2))))
        self.cells: list[tuple[int, int, int, int]] = []   # pending cells, corners evaluated
        self.lock = threading.Lock()

    @property
    def complete(self) -> bool:
        return not self._grids and not self.cells

    @property
    def spacing(self) -> int:
        """The largest side of a cell not yet resolved, in grid points (1 once complete)."""
        return max([max(b - a, e - c) for a, b, c, e in self.cells], default=1)

    def refine(self, model, x: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor,
               deadline: float | None = None,
               between_levels: Callable[[], None] | None = None) -> MapRefinement:
        """Run levels until complete or, after a level, ``time.monotonic()`` passes
        ``deadline``; ``between_levels`` is called before each level (outside the lock)."""
        while not self.complete:
            if between_levels is not None:
                between_levels()
            self.step(model, x, d1, d2)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return self

    @torch.no_grad()
    def step(self, model, x: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor) -> bool:
        """Run the next level that evaluates points (none when complete); whether any ran."""
        with self.lock:
            model.eval()
            while not self.complete:
                before = self.evaluations
                if self._grids:
                    self._grid_level(model, x, d1, d2, self._grids.pop(0))
                else:
                    self._split_level(model, x, d1, d2)
                if self.evaluations > before or self.complete:
                    self.level += 1
                    return True
            return False

    def _evaluate(self, model, x, d1, d2, points: list[tuple[int, int]]) -> None:
        classes = self.classes
        points = [p for p in dict.fromkeys(points) if classes[p] < 0]
        if not points:
            return
        ii = torch.tensor([p[0] for p in points])
        jj = torch.tensor([p[1] for p in points])
        us, vs = self.us.to(x.device), self.vs.to(x.device)
        preds = []
        for start in range(0, len(points), self.batch_size):
            sl = slice(start, start + self.batch_size)
            pts = plane_points(x, d1, d2, us[jj[sl]], vs[ii[sl]], self.clip)
            preds.append(model(pts).argmax(1).cpu())
        classes[ii, jj] = torch.cat(preds)
        self.evaluations += len(points)

    def _grid_level(self, model, x, d1, d2, step: int) -> None:
        marks = sorted(set(range(0, self.resolution, step)) | {self.resolution - 1})
        self._evaluate(model, x, d1, d2, [(i, j) for i in marks for j in marks])
        self.cells = self._unresolved([(a, b, c, e) for a, b in zip(marks, marks[1:])
                                       for c, e in zip(marks, marks[1:])])

    @staticmethod
    def _unresolved(cells: list) -> list:
        """The cells with a point that is not a corner (the others are fully evaluated)."""
        return [(a, b, c, e) for a, b, c, e in cells if b - a > 1 or e - c > 1]

    def _split_level(self, model, x, d1, d2) -> None:
        classes = self.classes
        split, needed = [], []
        mixed_corners = set()
        if self.neighbours:
            for i0, i1, j0, j1 in self.cells:
                if len({int(classes[i0, j0]), int(classes[i0, j1]), int(classes[i1, j0]),
                        int(classes[i1, j1])}) > 1:
                    mixed_corners.update({(i0, j0), (i0, j1), (i1, j0), (i1, j1)})
        for i0, i1, j0, j1 in self.cells:
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
        self._evaluate(model, x, d1, d2, needed)
        # cells of zero height or width are lines: evaluate them outright
        lines = [(a, b, c, e) for a, b, c, e in split if a == b or c == e]
        self._evaluate(model, x, d1, d2, [(i, j) for a, b, c, e in lines
                                          for i in range(a, b + 1) for j in range(c, e + 1)])
        self.cells = self._unresolved([cell for cell in split if cell not in lines])
        if self.complete:
            assert int((classes < 0).sum()) == 0

    def snapshot(self) -> DecisionMap:
        """The map as far as it is drawn: each point not yet evaluated takes the class of
        its cell's nearest corner (a level's cells have every corner evaluated)."""
        with self.lock:
            shown = self.classes.clone()
            for i0, i1, j0, j1 in self.cells:
                im, jm = (i0 + i1 + 1) // 2, (j0 + j1 + 1) // 2
                for rows, ci in ((slice(i0, im), i0), (slice(im, i1 + 1), i1)):
                    for cols, cj in ((slice(j0, jm), j0), (slice(jm, j1 + 1), j1)):
                        block = shown[rows, cols]
                        block[block < 0] = shown[ci, cj]
            return DecisionMap(shown, self.us.clone(), self.vs.clone(), self.evaluations,
                               self.clip, level=self.level,
                               levels=max(self.levels, self.level), spacing=self.spacing,
                               complete=self.complete)


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fraction of grid points where two maps predict the same class."""
    return float((a == b).float().mean())


def agreement_matrix(maps: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    return {a: {b: agreement(ma, mb) for b, mb in maps.items()} for a, ma in maps.items()}
