"""The nearest boundary: the smallest L2 distance from an image to a point that the classifier
puts in another class, found by a minimum-norm attack of Foolbox (Rauber et al.), and the
boundary distances in perceptual units.

Nearest boundary (:func:`nearest_boundary`). For a classifier R and an image x,

    NB(R, x) = min { ||x' - x|| : argmax R(x') != argmax R(x) }   ([0,1]-pixel L2),

the smallest BD(R, x, d) over all directions d. No method computes it for a deep network; an
attack finds a point x_adv of another class, so ||x_adv - x|| bounds NB from above. The default
attack is Foolbox's DDN (decoupled direction and norm, Rony et al. 2019: ``steps`` gradient
steps on the cross-entropy of the start class, the radius grown or shrunk by 5 % a step, the
smallest adversarial point kept); ``"fmn"`` (fast minimum-norm, Pintor et al. 2021) and
``"deepfool"`` (Moosavi-Dezfooli et al. 2016, with its ``overshoot``) are the alternatives
(:mod:`.boundary_defaults` says why DDN). An untargeted attack may cross into a class that is not
the nearest one: the bound is tight on a two-class linear map and may be loose otherwise.
The attack's point is then refined by
bisection along the segment from x to x_adv down to ``tol``, always keeping a point of another
class: the reported distance is that point's, at most ||x_adv - x||, and still an upper bound
on NB. Budget: ``steps`` attack iterations (each one forward and one backward pass; DeepFool's
a forward and ``candidates`` backward passes) and ceil(log2(||x_adv - x|| / tol)) bisection
passes. The attack sees the classifier as given, images in [0, 1] (the zoo's wrapper normalises
inside); unclipped by default, as the BD search (the attack's box is then [-UNBOUNDED,
UNBOUNDED]), ``clip=True`` keeps x_adv in [0, 1]. An image the attack does not move to another
class is *censored* (NaN), counted.

Perceptual units (:func:`perceptual_distances`). The distance between x and a crossing point
x + BD d in the LPIPS-style feature distance of one of the project's classifiers
(``lpips-<classifier>``, :mod:`analysis.metrics.classifier_distance`; unit weights,
uncalibrated): 0 at x, growing along the ray. Crossing points outside [0, 1] (unclipped search)
are passed to the classifier as they are, which is defined for any input.
"""

from __future__ import annotations

import math
import time

import foolbox as fb
import torch

from ..errors import RAExplorerError, unknown_name
from ..metrics.classifier_distance import classifier_metrics
from .boundary_defaults import NEAREST_ATTACK, NEAREST_STEPS, OVERSHOOT, TOL
from .boundary_search import BoundaryResult, unit

UNBOUNDED = 1e4      # the attack's box without clipping: [-UNBOUNDED, UNBOUNDED] per value
ATTACKS = ("ddn", "fmn", "deepfool")


def attack_budget(attack: str, steps: int, tol: float, overshoot: float = OVERSHOOT,
                  clip: bool = False) -> str:
    """The attack and its budget in words, for table headers and figure titles."""
    what = {"fmn": "Foolbox L2 FMN", "ddn": "Foolbox DDN",
            "deepfool": f"Foolbox L2 DeepFool (overshoot {overshoot:g})"}[attack]
    box = "inputs clipped to [0, 1]" if clip else "unclipped"
    return (f"{what}, {steps} steps, {box}, then bisection along x -> x_adv to {tol:g} "
            "(an upper bound on the nearest boundary)")


class _Counted(torch.nn.Module):
    """The classifier, counting the images passed forward (the attack's cost)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.images = 0

    def forward(self, x):
        self.images += len(x)
        return self.model(x)


LIBRARY = f"foolbox {fb.__version__}"   # what the result files name as the attack's library


def _attack(name: str, steps: int, overshoot: float):
    if name == "fmn":
        return fb.attacks.L2FMNAttack(steps=steps)
    if name == "ddn":
        return fb.attacks.DDNAttack(steps=steps)
    return fb.attacks.L2DeepFoolAttack(steps=steps, overshoot=overshoot)


@torch.no_grad()
def _predict(model, x: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(1)


def nearest_boundary(model, x: torch.Tensor, attack: str = NEAREST_ATTACK,
                     steps: int = NEAREST_STEPS, clip: bool = False, tol: float = TOL,
                     overshoot: float = OVERSHOOT, batch_size: int = 256) -> BoundaryResult:
    """An upper bound on the nearest-boundary distance NB(R, x) of each image (module docstring).

    Args:
        model: a classifier on [0, 1] images returning logits (N, K); put in eval mode.
        x: (N, C, H, W) images on the model's device.
        attack: ``"ddn"`` (default), ``"fmn"`` or ``"deepfool"``.
        steps: the attack's iterations.
        clip: keep the attack's points in [0, 1] (default off, as the BD search).
        tol: bisection tolerance along x -> x_adv, [0,1]-pixel L2.
        overshoot: DeepFool's overshoot (the other attacks ignore it).
        batch_size: images per attack run.

    Returns:
        a :class:`~analysis.analyses.boundary_search.BoundaryResult`: ``dist`` the L2 distance
        of the refined point of another class (NaN where the attack failed: ``censored``),
        ``end_class`` its class; ``extra`` holds ``method="attack"``, the attack, its budget
        (``steps``, ``overshoot``, ``budget`` in words), ``attack_l2`` (||x_adv - x|| before the
        bisection), ``direction`` (N, C, H, W) the unit direction towards x_adv (zero where
        censored), ``seconds`` and ``evaluations`` (images passed forward; the gradient
        attacks' passes each carry a backward too).
    """
    if attack not in ATTACKS:
        raise unknown_name("nearest-boundary attack", attack, list(ATTACKS))
    if steps < 1 or tol <= 0:
        raise RAExplorerError(f"The nearest-boundary attack needs steps >= 1 and tol > 0; got "
                              f"{steps} and {tol}.")
    model.eval()
    counted = _Counted(model).eval()
    clock = time.perf_counter()
    fmodel = fb.PyTorchModel(counted, bounds=(0.0, 1.0) if clip else (-UNBOUNDED, UNBOUNDED))
    runner = _attack(attack, steps, overshoot)
    n, dims = len(x), x[0].numel()
    dist = torch.full((n,), math.nan, dtype=x.dtype)
    attack_l2 = torch.full((n,), math.nan, dtype=x.dtype)
    start = torch.empty(n, dtype=torch.long)
    end = torch.full((n,), -1, dtype=torch.long)
    direction = torch.zeros_like(x)
    for first in range(0, n, batch_size):
        sl = slice(first, first + batch_size)
        xb = x[sl].detach()
        label = _predict(counted, xb)
        with torch.enable_grad():
            adv = runner.run(fmodel, xb, fb.criteria.Misclassification(label)).detach()
        res = _bisect(counted, xb, adv, label, tol)
        dist[sl], attack_l2[sl] = res["dist"].cpu(), res["attack_l2"].cpu()
        start[sl], end[sl] = label.cpu(), res["end"].cpu()
        direction[sl] = res["direction"]
    censored = torch.isnan(dist)
    return BoundaryResult(
        dist=dist, rms=dist / math.sqrt(dims), censored=censored, start_class=start,
        end_class=end, evaluations=counted.images, clip=clip, max_dist=math.inf, tol=tol,
        extra={"method": "attack", "attack": attack, "steps": steps,
               **({"overshoot": overshoot} if attack == "deepfool" else {}),
               "budget": attack_budget(attack, steps, tol, overshoot, clip),
               "attack_l2": attack_l2, "direction": direction,
               "seconds": time.perf_counter() - clock})


@torch.no_grad()
def _bisect(model, x: torch.Tensor, adv: torch.Tensor, label: torch.Tensor, tol: float) -> dict:
    """Bisection along x -> adv, keeping the far end a point of another class."""
    delta = adv - x
    length = delta.flatten(1).norm(dim=1)
    moved = _predict(model, adv) != label
    lo = torch.zeros_like(length)
    hi = torch.where(moved, length, torch.full_like(length, math.nan))
    d = unit(delta)
    end = torch.where(moved, _predict(model, adv), torch.full_like(label, -1))
    todo = torch.nonzero(moved & (hi - lo > tol)).flatten()
    while len(todo):
        mid = (lo[todo] + hi[todo]) / 2
        pred = _predict(model, x[todo] + mid.view(-1, *([1] * (x.ndim - 1))) * d[todo])
        crossed = pred != label[todo]
        hi[todo[crossed]] = mid[crossed]
        end[todo[crossed]] = pred[crossed]
        lo[todo[~crossed]] = mid[~crossed]
        todo = todo[(hi[todo] - lo[todo]) > tol]
    d[~moved] = 0
    return {"dist": hi, "attack_l2": torch.where(moved, length, math.nan), "end": end,
            "direction": d}


# ------------------------------------------------------------------------- perceptual units

def perceptual_metric(name: str, folder=None, dataset: str | None = None, device=None):
    """The distance function ``fn(a, b) -> (N,)`` of the classifier metric ``name``
    (``lpips-<classifier>`` or ``rlpips-<classifier>``), without the [0, 1] range check of
    :func:`analysis.metrics.registry.create_metric`: crossing points of an unclipped search
    leave [0, 1], and the classifier's features are defined for any input."""
    specs = {k: v for k, v in classifier_metrics(folder, dataset).items()
             if k.startswith(("lpips-", "rlpips-"))}
    if name not in specs:
        raise unknown_name("perceptual distance (a classifier's LPIPS-style metric)", name,
                           list(specs))
    return specs[name].build(device)


def default_perceptual(classifier: str, folder=None, dataset: str | None = None) -> str:
    """The perceptual metric named after ``classifier``: ``lpips-<c>``, or ``rlpips-<c>`` for an
    adversarially robust one."""
    names = classifier_metrics(folder, dataset)
    for prefix in ("lpips-", "rlpips-"):
        if f"{prefix}{classifier}" in names:
            return f"{prefix}{classifier}"
    raise RAExplorerError(f"No LPIPS-style metric for the classifier {classifier!r} (it is not "
                          "a checkpoint of this zoo); pass the perceptual metric by name.")


@torch.no_grad()
def perceptual_distances(metric, x: torch.Tensor, d: torch.Tensor, dist: torch.Tensor,
                         batch_size: int = 256) -> torch.Tensor:
    """metric(x + dist d, x) per pair (N,) on the CPU, NaN where ``dist`` is NaN (censored);
    d is made unit here, dist in [0,1]-pixel L2."""
    d = unit(d.to(x.device))
    out = torch.full((len(x),), math.nan)
    ok = torch.nonzero(~torch.isnan(dist)).flatten()
    for first in range(0, len(ok), batch_size):
        idx = ok[first:first + batch_size]
        t = dist[idx].to(x.device, x.dtype).view(-1, *([1] * (x.ndim - 1)))
        pts = x[idx.to(x.device)] + t * d[idx.to(x.device)]
        out[idx] = metric(pts, x[idx.to(x.device)]).float().cpu()
    return out
