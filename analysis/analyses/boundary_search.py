"""The boundary search (RA paper, section 6): the distance BD from an image to the nearest class
change along a direction, for many (image, direction) pairs at once.

Definitions. For a classifier R, an image x and a unit vector d,

    BD(R, x, d)  = the smallest delta > 0 with argmax R(x + delta d) != argmax R(x),
    IBD(Rs, Rt, x, d) = |BD(Rs, x, d) - BD(Rt, x, d)|.

Units: delta is an L2 distance in [0, 1]-pixel units (d has unit L2 norm over
all C*H*W values); ``rms`` is delta / sqrt(C*H*W), the per-pixel RMS change,
comparable across image sizes. By default x + delta d is not clipped to
[0, 1] (the paper's protocol); ``clip=True`` clips, and every result says
which was used.

Search (:func:`boundary_distance`). A coarse scan along a schedule of
distances 0 < t_1 < t_2 < ... <= max_dist, each step one batch over the pairs
still active (a pair leaves once its class changes), then bisection of the
bracketing interval (t_{k-1}, t_k] down to ``tol``. The default schedule is
*geometric*: t_{k+1} = t_k + max(first_step, growth * t_k), fine near x where
boundaries are dense and coarse far out (after dbViz's non-uniform margins);
``"uniform"`` (``steps`` equal steps) is kept for comparison. A pair that never changes
class within ``max_dist`` is
*censored*: its distance is NaN and it is counted, never silently set to
``max_dist``. The default ``max_dist`` scales with the image, 30 * sqrt(C*H*W / 784)
(:func:`~analysis.analyses.boundary_defaults.max_dist_for`).

Guarantee. Call a *stretch* an interval of the ray on which the class is not
argmax R(x) (any other classes, one after another). A stretch that starts at
distance a is stepped over only if it is shorter than the schedule's gap
there: max(first_step, growth * a) for the geometric schedule (with the
defaults 0.02 up to a = 0.08, then 25 % of a: 0.025 at a = 0.1, 0.25 at
a = 1.0), max_dist / steps everywhere for the uniform one. If the *first*
stretch is at least that long, the result is the first crossing: BD lies in
(dist - tol, dist]. Otherwise a later crossing is returned (BD is overstated)
and nothing warns; the tests and the benchmark measure how often that happens
against a fine linear scan, and :mod:`.boundary_exact` computes the first crossing exactly
(``bd --method exact``; ``bd-referee`` compares the two). Cost: the default schedule has 16 points up to 1.0
and 31 up to 30 (the uniform one of 30 steps: 1 and 30), and bisection from a
gap g takes ceil(log2(g / tol)) passes more (8 at t = 1 with tol 0.001).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..device import fit_batch
from ..errors import RAExplorerError, unknown_name
from .boundary_defaults import (
    FIRST_STEP,
    GROWTH,
    MAX_DIST,
    SCAN_STEPS,
    SCHEDULE,
    TOL,
    search_range,
)


@dataclass
class BoundaryResult:
    """Per-pair results. dist and rms are NaN where censored."""

    dist: torch.Tensor            # (N,) L2 in [0, 1]-pixel units
    rms: torch.Tensor             # (N,) dist / sqrt(C*H*W)
    censored: torch.Tensor        # (N,) bool
    start_class: torch.Tensor     # (N,) argmax R(x)
    end_class: torch.Tensor       # (N,) class just across the boundary (-1 if censored)
    evaluations: int              # images passed through the model, all pairs together
    clip: bool
    max_dist: float
    tol: float
    extra: dict = field(default_factory=dict)


def unit(v: torch.Tensor) -> torch.Tensor:
    """Each sample of v (N, ...) divided by its L2 norm."""
    norms = v.flatten(1).norm(dim=1).clamp_min(1e-12)
    return v / norms.view(-1, *([1] * (v.ndim - 1)))


def random_directions(shape, seeds, device=None) -> torch.Tensor:
    """One unit-norm Gaussian direction per seed, shape (len(seeds), *shape).

    Seeded per image, so every model (and every process) sees the same direction.
    """
    out = torch.empty(len(seeds), *shape)
    for i, seed in enumerate(seeds):
        out[i] = torch.randn(shape, generator=torch.Generator().manual_seed(int(seed)))
    return unit(out).to(device or "cpu")


def ra_directions(x_plain: torch.Tensor, x_ra: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(d_RA, ||x_RA - x||): the unit direction from the plain to the RA output, and the length."""
    diff = x_ra - x_plain
    return unit(diff), diff.flatten(1).norm(dim=1)


@torch.no_grad()
def _predict(model, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    out = []
    for start in range(0, len(images), batch_size):
        out.append(model(images[start:start + batch_size]).argmax(1))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long, device=images.device)


def geometric_schedule(max_dist: float, first_step: float = FIRST_STEP,
                       growth: float = GROWTH) -> list[float]:
    """t_1 = first_step, t_{k+1} = t_k + max(first_step, growth * t_k), ending exactly at max_dist.

    The gap after t is max(first_step, growth * t): the widest class region
    that can be stepped over at distance t. Units: [0,1]-pixel L2.
    """
    if not (first_step > 0 and growth >= 0 and max_dist > 0):
        raise RAExplorerError(f"The geometric boundary search needs first_step > 0, growth >= 0 and "
                              f"max_dist > 0; got {first_step}, {growth} and {max_dist}.")
    ts, t = [], 0.0
    while t < max_dist:
        t = min(t + max(first_step, growth * t), max_dist)
        ts.append(t)
    return ts


def uniform_schedule(max_dist: float, steps: int = SCAN_STEPS) -> list[float]:
    """``steps`` equal steps up to max_dist (the gap everywhere is max_dist / steps)."""
    if not (steps >= 1 and max_dist > 0):
        raise RAExplorerError(f"The uniform boundary search needs steps >= 1 and max_dist > 0; got "
                              f"{steps} and {max_dist}.")
    return [k * max_dist / steps for k in range(1, steps + 1)]


SCHEDULES = {"geometric": geometric_schedule, "uniform": uniform_schedule}


def schedule_points(schedule: str, max_dist: float, steps: int = SCAN_STEPS,
                    first_step: float = FIRST_STEP, growth: float = GROWTH) -> list[float]:
    """The coarse scan distances of the named schedule (only its own parameters are used)."""
    if schedule not in SCHEDULES:
        raise unknown_name("boundary-search schedule", schedule, list(SCHEDULES))
    if schedule == "uniform":
        return uniform_schedule(max_dist, steps)
    return geometric_schedule(max_dist, first_step, growth)


def schedule_settings(schedule: str, max_dist: float, steps: int = SCAN_STEPS,
                      first_step: float = FIRST_STEP, growth: float = GROWTH) -> dict:
    """The schedule's name and the parameters it uses, as results record them."""
    if schedule == "uniform":
        return {"schedule": "uniform", "steps": steps, "max_dist": max_dist}
    return {"schedule": schedule, "first_step": first_step, "growth": growth, "max_dist": max_dist}


def describe_schedule(settings: dict) -> str:
    """One phrase for report headers, e.g. "geometric scan (gap max(0.02, 0.5 t)) to 30.0"."""
    if settings.get("schedule", "uniform") == "uniform":
        return f"uniform scan of {settings['steps']} steps to {settings['max_dist']}"
    return (f"geometric scan (gap after t: max({settings['first_step']}, {settings['growth']} t)) "
            f"to {settings['max_dist']}")


@torch.no_grad()
def boundary_distance(model, x: torch.Tensor, d: torch.Tensor, max_dist: float | None = MAX_DIST,
                      tol: float = TOL, steps: int = SCAN_STEPS, clip: bool = False,
                      batch_size: int = 1024, schedule: str = SCHEDULE,
                      first_step: float = FIRST_STEP, growth: float = GROWTH,
                      lookahead: int = 1, bisect_depth: int = 1,
                      on_step: Callable[[int, int], None] | None = None) -> BoundaryResult:
    """BD for many (x, d) pairs at once: the first crossing, see the module docstring.

    x, d: (N, C, H, W); d is normalised here. ``schedule`` is "geometric"
    (``first_step``, ``growth``) or "uniform" (``steps``); distances and
    ``tol`` in [0,1]-pixel L2; ``max_dist`` None: the range scaled with the image,
    :func:`~analysis.analyses.boundary_defaults.max_dist_for` of C*H*W (30 at 28x28x1).
    ``result.extra`` holds the schedule settings and ``result.max_dist`` the range searched.
    The defaults are those of the ``bd`` verb and the shipped Table 17
    (:mod:`.boundary_defaults`: a geometric scan to 30 at 28x28x1).

    ``lookahead`` schedule points and ``bisect_depth`` bisection levels are evaluated per
    forward call (the levels as the whole tree of midpoints that many steps could visit,
    computed with the same arithmetic as one step at a time): the same search, with fewer
    and larger calls for more images evaluated. For one image, where a call's fixed cost
    dominates (the Boundaries page); the tables keep the defaults (1, 1). ``evaluations``
    counts every image evaluated. ``batch_size`` (images per forward call) is capped for large
    images (:func:`~analysis.device.fit_batch`: 55 at 224x224x3). ``on_step(done, expected)``
    is called after every forward call of the scan and the bisection (``expected``: the scan's
    calls plus the bisection levels that the widest scan gap needs to reach ``tol``), for a
    progress bar that moves within one search.
    """
    if lookahead < 1 or bisect_depth < 1:
        raise ValueError("lookahead and bisect_depth must be at least 1.")
    if x.shape != d.shape:
        raise ValueError(f"x and d must have the same shape; got {tuple(x.shape)} and {tuple(d.shape)}.")
    max_dist = search_range(max_dist, math.prod(x.shape[1:]))
    points = schedule_points(schedule, max_dist, steps, first_step, growth)
    model.eval()
    d = unit(d.to(x.device))
    n = len(x)
    dims = x[0].numel()
    evaluations = n
    batch_size = fit_batch(dims, batch_size)
    widest = max(b - a for a, b in zip([0.0, *points], points))
    expected = (math.ceil(len(points) / lookahead)
                + math.ceil(max(0.0, math.log2(max(widest / tol, 1.0))) / bisect_depth))
    calls = 0

    def stepped():
        nonlocal calls
        calls += 1
        if on_step is not None:
            on_step(min(calls, expected), expected)

    def at(idx: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        pts = x[idx] + delta.view(-1, 1, 1, 1) * d[idx]
        return pts.clamp(0, 1) if clip else pts

    start = _predict(model, x, batch_size)
    # The bracket is kept in the images' own precision, so a float64 search is exact to tol.
    lo = torch.zeros(n, dtype=x.dtype, device=x.device)
    hi = torch.full((n,), math.nan, dtype=x.dtype, device=x.device)
    end = torch.full((n,), -1, dtype=torch.long, device=x.device)
    active = torch.arange(n, device=x.device)
    for first in range(0, len(points), lookahead):
        if len(active) == 0:
            break
        chunk = torch.tensor(points[first:first + lookahead], dtype=x.dtype, device=x.device)
        k = len(chunk)
        # every active pair at every point of the chunk: pair-major, points in order
        pred = _predict(model, at(active.repeat_interleave(k), chunk.repeat(len(active))),
                        batch_size).view(len(active), k)
        evaluations += len(active) * k
        stepped()
        crossed = pred != start[active].unsqueeze(1)
        hit = crossed.any(1)
        j = crossed.float().argmax(1)                 # the first crossed point of each pair
        rows = torch.nonzero(hit).flatten()
        hi[active[rows]] = chunk[j[rows]]
        end[active[rows]] = pred[rows, j[rows]]
        before = rows[j[rows] > 0]                    # lo: the point before the crossing
        lo[active[before]] = chunk[j[before] - 1]
        lo[active[~hit]] = chunk[-1]
        active = active[~hit]
    censored = torch.isnan(hi)
    lo[censored] = math.nan
    todo = torch.nonzero(~censored).flatten()
    while len(todo):
        todo = todo[(hi[todo] - lo[todo]) > tol]
        if len(todo) == 0:
            break
        # the midpoints of the next bisect_depth levels, as a heap: node h's children are
        # 2h+1 and 2h+2; node h splits the bracket (lo_h, hi_h) that the steps above it leave
        los, his = [lo[todo]], [hi[todo]]
        mids = []
        for h in range(2 ** bisect_depth - 1):
            mids.append((los[h] + his[h]) / 2)
            los += [los[h], mids[h]]
            his += [mids[h], his[h]]
        tree = torch.stack(mids, 1)                   # (len(todo), nodes)
        nodes = tree.shape[1]
        pred = _predict(model, at(todo.repeat_interleave(nodes), tree.flatten()),
                        batch_size).view(len(todo), nodes)
        evaluations += len(todo) * nodes
        stepped()
        node = torch.zeros(len(todo), dtype=torch.long, device=x.device)
        for _ in range(bisect_depth):
            going = (hi[todo] - lo[todo]) > tol       # the one-step search stops here too
            if not going.any():
                break
            rows = torch.nonzero(going).flatten()
            here = node[rows]
            mid = tree[rows, here]
            p = pred[rows, here]
            crossed = p != start[todo[rows]]
            hi[todo[rows[crossed]]] = mid[crossed]
            end[todo[rows[crossed]]] = p[crossed]
            lo[todo[rows[~crossed]]] = mid[~crossed]
            node[rows] = 2 * here + 1 + (~crossed).long()   # left child after a crossing
    if on_step is not None:
        on_step(expected, expected)
    dist = hi.cpu()
    return BoundaryResult(dist=dist, rms=dist / math.sqrt(dims), censored=censored.cpu(),
                          start_class=start.cpu(), end_class=end.cpu(), evaluations=evaluations,
                          clip=clip, max_dist=max_dist, tol=tol,
                          extra=schedule_settings(schedule, max_dist, steps, first_step, growth))


@torch.no_grad()
def linear_scan_distance(model, x: torch.Tensor, d: torch.Tensor, max_dist: float, step: float,
                         clip: bool = False, batch_size: int = 1024) -> tuple[torch.Tensor, int]:
    """Reference search: a fine scan at ``step`` (no bisection). Returns (dist, evaluations).

    dist is the first scanned delta whose class differs (NaN if none); used by
    the tests and the benchmark as ground truth.
    """
    d = unit(d.to(x.device))
    start = _predict(model, x, batch_size)
    dist = torch.full((len(x),), math.nan)
    active = torch.arange(len(x), device=x.device)
    evaluations = len(x)
    for k in range(1, int(round(max_dist / step)) + 1):
        if len(active) == 0:
            break
        pts = x[active] + (k * step) * d[active]
        pred = _predict(model, pts.clamp(0, 1) if clip else pts, batch_size)
        evaluations += len(active)
        crossed = pred != start[active]
        dist[active[crossed].cpu()] = k * step
        active = active[~crossed]
    return dist, evaluations
