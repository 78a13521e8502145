"""The API's boundary distances and decision maps for any classifier(s) and image(s): BD along a
given, an RA (``towards``) or a seeded random direction, and 2-D maps in the plane through an
image; distances in [0,1]-pixel L2, with the per-pixel RMS beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..analyses.boundary_exact import measure_boundaries
from ..analyses.boundary_maps import DecisionMap, orthogonal_direction
from ..analyses.boundary_nearest import (
    default_perceptual,
    perceptual_distances,
    perceptual_metric,
)
from ..analyses.boundary_nearest import (
    nearest_boundary as _nearest_boundary,
)
from ..analyses.boundary_search import unit
from ..analyses.boundary_table import image_random_directions
from ..errors import InputError
from ..explore.plane import BISECT_DEPTH, LOOKAHEAD, Plane, extent_for, plane_maps
from .defaults import (
    BD_FIRST_STEP,
    BD_GROWTH,
    BD_METHOD,
    BD_SCHEDULE,
    BD_STEPS,
    BD_TOL,
    MAP_EXTENT_L2,
    MAP_EXTENT_RA,
    MAP_RESOLUTION,
    NB_ATTACK,
    NB_OVERSHOOT,
    NB_STEPS,
)
from .models import as_batch, load_model, model_device

FEW_IMAGES = 16     # up to this many images, the search runs as the Boundaries page's


@dataclass
class BoundaryDistances:
    """BD per image: the L2 distance ([0,1]-pixel units) along a direction to the first class
    change of one classifier; NaN where censored (no change within ``max_dist``)."""

    l2: torch.Tensor              # (N,) float, NaN where censored
    rms: torch.Tensor             # (N,) l2 / sqrt(C*H*W)
    censored: torch.Tensor        # (N,) bool
    start_class: torch.Tensor     # (N,) argmax of the classifier at x
    end_class: torch.Tensor       # (N,) class across the boundary (-1 where censored)
    max_dist: float
    direction: str                # how the directions were chosen, in words
    evaluations: int              # images the classifier saw
    settings: dict = field(default_factory=dict, repr=False)
    perceptual: torch.Tensor | None = None   # (N,) metric(x + BD d, x), NaN where censored
    perceptual_metric: str | None = None     # its name, e.g. "lpips-resnet20"

    def _line(self, i: int) -> str:
        if self.censored[i]:
            if self.settings.get("method") == "attack":
                return f"censored (the attack left class {int(self.start_class[i])})"
            return (f"BD > {self.max_dist:g} L2, censored (still class "
                    f"{int(self.start_class[i])} at {self.max_dist:g})")
        what = "NB <=" if self.settings.get("method") == "attack" else "BD"
        line = (f"{what} {float(self.l2[i]):.4g} L2, {float(self.rms[i]):.3g} RMS per pixel "
                f"(class {int(self.start_class[i])} -> {int(self.end_class[i])})")
        if self.perceptual is not None:
            line += f", {float(self.perceptual[i]):.4g} {self.perceptual_metric}"
        return line

    def __repr__(self) -> str:
        n, cens = len(self.l2), int(self.censored.sum())
        how = {"exact": f"walked exactly to {self.max_dist:g} [0,1]-pixel L2",
               "attack": f"by {self.settings.get('budget')}"}.get(
            self.settings.get("method"), f"searched to {self.max_dist:g} [0,1]-pixel L2")
        head = (f"BoundaryDistances: {n} image{'s' * (n != 1)}, {self.direction}, {how}, "
                f"{cens} censored")
        if self.settings.get("fallback"):
            head += f"\n  {self.settings['fallback']}"
        if n == 1:
            lines = [f"  {self._line(0)}"]
        else:
            lines = [f"  image {i}: {self._line(i)}" for i in range(min(n, 10))]
        if n > 10:
            lines.append(f"  ... {n - 10} more")
        if 1 < n and cens < n:
            lines.append(f"  median over {n - cens} uncensored: "
                         f"{float(self.l2[~self.censored].median()):.4g} L2")
        if cens and self.settings.get("method") != "attack":
            lines.append(f"  {cens} censored at the range {self.max_dist:g}: raise it with "
                         f"max_dist={2 * self.max_dist:g}")
        return "\n".join([head, *lines])

    def to_frame(self):
        """A pandas DataFrame: one row per image (l2, rms, censored, start_class, end_class,
        and the perceptual distance under the metric's name when there is one)."""
        import pandas as pd

        frame = pd.DataFrame({"l2": self.l2.numpy(), "rms": self.rms.numpy(),
                              "censored": self.censored.numpy(),
                              "start_class": self.start_class.numpy(),
                              "end_class": self.end_class.numpy()})
        if self.perceptual is not None:
            frame[self.perceptual_metric] = self.perceptual.numpy()
        return frame


def _directions(x: torch.Tensor, direction, towards, seed: int) -> tuple[torch.Tensor, str]:
    """Unit directions (N, C, H, W) for images x and a phrase saying how they were chosen."""
    if direction is not None and towards is not None:
        raise InputError("Give direction or towards, not both.")
    if towards is not None:
        target, _ = as_batch(towards, "towards image")
        return unit((target.to(x.device) - x).expand_as(x)), "towards the given images"
    if direction is not None:
        d = direction.to(x.device, x.dtype)
        d = d[None] if d.ndim == 3 else d
        if d.shape[1:] != x.shape[1:] or len(d) not in (1, len(x)):
            raise InputError(f"The direction must have the images' shape {tuple(x.shape[1:])}; "
                             f"got {tuple(direction.shape)}.")
        return unit(d.expand_as(x).clone()), "along the given direction"
    d = image_random_directions(x.shape[1:], range(len(x)), seed, x.device)
    return d, f"random directions (seed {seed})"


def boundary_distance(classifier: str | Path | nn.Module, images: torch.Tensor, direction=None,
                      *, towards=None, seed: int = 0, max_dist: float | None = None,
                      tol: float = BD_TOL, clip: bool = False, schedule: str = BD_SCHEDULE,
                      first_step: float = BD_FIRST_STEP, growth: float = BD_GROWTH,
                      steps: int = BD_STEPS, method: str = BD_METHOD,
                      perceptual: str | None = None,
                      device: str | None = None) -> BoundaryDistances:
    """BD: how far each image is from the classifier's decision boundary along a direction.

    BD(R, x, d) = the smallest delta > 0 with argmax R(x + delta d) != argmax R(x), found by a
    coarse scan then bisection (RA paper, section 6; :mod:`analysis.analyses.boundary_search`),
    with the defaults of ``python -m analysis bd`` and the app's Boundaries page.

    Args:
        classifier: a classifier name, path or module (see :func:`load_model`; it is put in
            eval mode).
        images: (C, H, W) or (N, C, H, W) in [0, 1].
        direction: (C, H, W) or (N, C, H, W), any norm (made unit); default a unit Gaussian
            per image seeded by (``seed``, its position i): the random direction the ``bd``
            table uses for test image i.
        towards: instead of a direction, images to walk towards (e.g. the RA output, with
            ``images`` the plain output: d_RA).
        seed: the random directions' seed.
        max_dist: search range in [0,1]-pixel L2; beyond it an image is censored. Default
            (None): scaled with the image, 30 * sqrt(C*H*W / 784) (:func:`bd_max_dist`;
            30 at 28x28x1, 415.7 at 224x224x3).
        tol: bisection tolerance, same units.
        clip: clip x + delta d to [0, 1] (the paper does not).
        schedule: the coarse scan, ``"geometric"`` (gaps max(first_step, growth * t)) or
            ``"uniform"`` (``steps`` equal steps).
        first_step: the geometric scan's smallest gap, [0,1]-pixel L2.
        growth: the geometric scan's gap as a fraction of the distance reached.
        steps: the uniform scan's number of steps.
        method: ``"search"`` (the above) or ``"exact"``: the region walk of
            :mod:`analysis.analyses.boundary_exact`, the first crossing to float precision with
            a certificate in ``settings["certificate"]`` (slow: one forward pass per linear
            region crossed); a classifier that is not piecewise linear is searched and
            ``settings["fallback"]`` says why.
        perceptual: BD in perceptual units beside L2: the LPIPS-style metric of a zoo
            classifier (``"lpips-resnet20"``) between x and the crossing point, in
            ``.perceptual``; None: the classifier's own when it is given by a zoo name (as the
            ``bd`` table's default, the source's own), else left out; ``"none"``: left out.
        device: where a classifier given by name is loaded.

    Returns:
        :class:`BoundaryDistances` (``l2``, ``rms``, ``censored`` per image); printing it
        gives BD in L2 and RMS units and the censoring.

    Example:
        >>> print(ra.boundary_distance("resnet20", x))    # x: fashion-mnist test image 0
        BoundaryDistances: 1 image, random directions (seed 0), searched to 30 [0,1]-pixel L2, 0 censored
          BD 1.479 L2, 0.0528 RMS per pixel (class 9 -> 5), ... lpips-resnet20
    """
    model = load_model(classifier, device)
    x, _ = as_batch(images)
    x = x.to(model_device(model))
    d, how = _directions(x, direction, towards, seed)
    # a few images: several scan points and bisection levels per forward call (the same
    # crossings, fewer calls: the Boundaries page's setting); many: one point a call, as the table
    ahead = (LOOKAHEAD, BISECT_DEPTH) if len(x) <= FEW_IMAGES else (1, 1)
    res = measure_boundaries(model, x, d, method, max_dist=max_dist, clip=clip, tol=tol,
                             steps=steps, schedule=schedule, first_step=first_step,
                             growth=growth, lookahead=ahead[0], bisect_depth=ahead[1])
    values, name = _perceptual(classifier, perceptual, x, d, res.dist)
    return BoundaryDistances(res.dist, res.rms, res.censored, res.start_class, res.end_class,
                             res.max_dist, how, res.evaluations, {**res.extra, "tol": tol,
                                                              "clip": clip}, values, name)


def _perceptual(classifier, perceptual, x, d, dist):
    """(metric(x + dist d, x) per image, the metric's name), or (None, None) when left out."""
    by_name = isinstance(classifier, str) and Path(classifier).name == classifier
    if perceptual == "none" or (perceptual is None and not by_name):
        return None, None
    name = perceptual or default_perceptual(classifier)
    metric = perceptual_metric(name, device=x.device)
    return perceptual_distances(metric, x, d, dist), name


def nearest_boundary(classifier: str | Path | nn.Module, images: torch.Tensor, *,
                     attack: str = NB_ATTACK, steps: int = NB_STEPS, tol: float = BD_TOL,
                     clip: bool = False, overshoot: float = NB_OVERSHOOT,
                     perceptual: str | None = None,
                     device: str | None = None) -> BoundaryDistances:
    """NB: an upper bound on the smallest L2 distance from each image to another class.

    A Foolbox minimum-norm attack (DDN by default) finds a point of another class; bisection
    along the segment from the image to it keeps a point of another class within ``tol``
    (:mod:`analysis.analyses.boundary_nearest`), with the defaults of ``python -m analysis bd``
    (``--attack``, ``--attack-steps``). NB is never above BD along any direction up to the
    attack's slack: compare ``boundary_distance(...).l2 / nearest_boundary(...).l2``.

    Args:
        classifier: a classifier name, path or module taking [0, 1] images.
        images: (C, H, W) or (N, C, H, W) in [0, 1].
        attack: ``"ddn"``, ``"fmn"`` or ``"deepfool"`` (Foolbox's).
        steps: the attack's iterations.
        tol: the bisection's tolerance, [0,1]-pixel L2.
        clip: keep the attack's points in [0, 1] (the BD search does not clip by default).
        overshoot: DeepFool's overshoot.
        perceptual: as in :func:`boundary_distance`, at the attack's refined point.
        device: where a classifier given by name is loaded.

    Returns:
        :class:`BoundaryDistances` with ``l2`` the bound, ``settings`` the attack and its budget
        (``settings["budget"]`` in words), ``censored`` where the attack found no other class.

    Example:
        >>> print(ra.nearest_boundary("resnet20", x))
        BoundaryDistances: 1 image, nearest boundary, by Foolbox DDN, 100 steps, unclipped, ...
    """
    model = load_model(classifier, device)
    x, _ = as_batch(images)
    x = x.to(model_device(model))
    res = _nearest_boundary(model, x, attack, steps, clip, tol, overshoot)
    d = res.extra.pop("direction")
    values, name = _perceptual(classifier, perceptual, x, d, res.dist)
    settings = {**res.extra, "attack_l2": res.extra["attack_l2"], "direction": d, "tol": tol,
                "clip": clip}
    return BoundaryDistances(res.dist, res.rms, res.censored, res.start_class, res.end_class,
                             res.max_dist, "nearest boundary", res.evaluations, settings, values,
                             name)


# ----------------------------------------------------------------------------- boundary maps

@dataclass
class BoundaryMap:
    """Decision maps of one image: the predicted class of each classifier on a grid of the plane
    x + u d1 + v d2, u and v in [-extent, extent] ([0,1]-pixel L2)."""

    maps: dict[str, DecisionMap]  # name -> .classes (R, R) at (u = .us[j], v = .vs[i])
    x: torch.Tensor               # (C, H, W), the map's centre
    d1: torch.Tensor              # (C, H, W) unit: u's direction
    d2: torch.Tensor              # (C, H, W) unit, orthogonal to d1: v's direction
    extent: float
    towards_u: float | None       # u of the ``towards`` image (||x_RA - x||), else None
    agreement: dict[str, dict[str, float]]   # fraction of grid points where two maps agree

    def __repr__(self) -> str:
        first = next(iter(self.maps.values()))
        pairs = [f"{a}/{b} {v:.2f}" for i, (a, row) in enumerate(self.agreement.items())
                 for b, v in list(row.items())[i + 1:]]
        return (f"BoundaryMap: {', '.join(self.maps)} on {len(first.us)} x {len(first.vs)} "
                f"points, u and v in [-{self.extent:g}, {self.extent:g}] [0,1]-pixel L2"
                + (f"; agreement {', '.join(pairs)}" if pairs else ""))


def named_classifiers(classifiers, device=None) -> dict[str, nn.Module]:
    """name -> module for a name, a module, a list of either or a dict."""
    if isinstance(classifiers, dict):
        return {str(k): load_model(v, device) for k, v in classifiers.items()}
    items = classifiers if isinstance(classifiers, (list, tuple)) else [classifiers]
    named: dict[str, nn.Module] = {}
    for item in items:
        base = type(item).__name__ if isinstance(item, nn.Module) else Path(str(item)).name
        name, k = base, 2
        while name in named:
            name, k = f"{base} {k}", k + 1
        named[name] = load_model(item, device)
    if not named:
        raise InputError("Give at least one classifier.")
    return named


def boundary_map(classifiers, image: torch.Tensor, direction=None, *, towards=None,
                 extent: float | None = None, resolution: int = MAP_RESOLUTION, seed: int = 0,
                 device: str | None = None) -> BoundaryMap:
    """2-D decision maps (RA paper, Fig. 4) of one or more classifiers around one image.

    The plane passes through ``image`` along d1 (``direction``, or towards ``towards``, else a
    seeded random direction) and d2 (a unit Gaussian seeded by ``seed``, made orthogonal to d1);
    each map is drawn adaptively (:func:`~analysis.analyses.boundary_maps.adaptive_decision_map`)
    as on the app's Boundaries page, points not clipped.

    Args:
        classifiers: a name, path or module, a list of them, or a dict name -> one (the names
            title the maps; modules otherwise take their class name).
        image: (C, H, W) or (1, C, H, W) in [0, 1].
        direction: d1, (C, H, W), any norm (made unit).
        towards: instead, an image (C, H, W) to walk towards (e.g. the RA output, with ``image``
            the plain output: the paper's d_RA); it is marked at u = ||towards - image||.
        extent: the half-width in [0,1]-pixel L2; default ``MAP_EXTENT_RA`` (4) x ||towards -
            image|| with ``towards``, else ``MAP_EXTENT_L2`` (2.0).
        resolution: grid points per axis (default 128, as the app).
        seed: the seed of the random directions.
        device: where classifiers given by name are loaded.

    Returns:
        :class:`BoundaryMap` (``maps[name].classes`` (R, R) long, ``agreement`` between maps).

    Example:
        >>> m = ra.boundary_map(["resnet20", "densenet-bc"], x, resolution=64)
        >>> m.maps["resnet20"].classes.shape
        torch.Size([64, 64])
    """
    named = named_classifiers(classifiers, device)
    x, _ = as_batch(image)
    if len(x) != 1:
        raise InputError(f"A boundary map is drawn around one image; got {len(x)} (draw one "
                         "map per image, or use figure('boundary-maps', images)).")
    x = x.to(model_device(next(iter(named.values()))))
    target = None if towards is None else as_batch(towards, "towards image")[0].to(x.device)
    if target is not None and target.shape != x.shape:
        raise InputError(f"The towards image must have the image's shape {tuple(x.shape[1:])}; "
                         f"got {tuple(towards.shape)}.")
    d1, _ = _directions(x, direction, target, seed)
    length = None if target is None else float((target - x).norm())
    if extent is None:
        extent = MAP_EXTENT_L2 if length is None else extent_for(MAP_EXTENT_RA, length)
    plane = Plane(0, x[0], d1[0], orthogonal_direction(d1[0], seed), length or 0.0)
    found = plane_maps(plane, {n: m.eval() for n, m in named.items()}, float(extent), resolution,
                       channels_last=False)
    return BoundaryMap(found["maps"], plane.x.cpu(), plane.d_ra.cpu(), plane.d_r.cpu(),
                       float(extent), length, found["agreement"])
