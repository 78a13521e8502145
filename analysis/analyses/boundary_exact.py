"""The exact boundary distance: the first class change along a ray, computed by walking the
linear regions of a piecewise-linear classifier, with a certificate per number.

Along x + t d (d of unit L2 norm, t in [0,1]-pixel L2) the logits of a network made of
convolutions, linear layers, BatchNorm in eval mode, ReLU / ReLU6 / clamps, max and average
pooling, residual adds and concatenations are a continuous piecewise-linear function of t.
The walk (:func:`exact_boundary_distance`) starts at t = 0 and repeats, for every pair at its
own t, batched:

1. one forward pass in forward-mode AD (``torch.autograd.forward_ad``) gives every
   pre-activation z and its slope s = dz/dt along d;
2. the region's end is the smallest t' > t at which any ReLU / ReLU6 / clamp input reaches a
   kink (ReLU6 and clamps have two) or any max-pool window's winner is overtaken; the
   activation pattern on [t, t') is the one just after t (a unit exactly at a kink takes the
   side its slope points to);
3. on [t, t') the logits are exactly affine, L(t + h) = L(t) + h S, so the first h at which
   another class j overtakes the start class c, L_c - L_j = g + h g' <= 0, is g / -g' (over
   the j with g' < 0); if it falls inside the region it is the answer, else t = t'.

A pair is *censored* when no class change happens up to ``max_dist`` and *unfinished* when it
crossed more than ``max_regions`` regions first (both: distance NaN, counted). Roots within
``KINK_EPS`` (relative) of t count as reached, so every step moves forward; the value of a unit
treated so differs from the true one by at most KINK_EPS * |slope|.

The certificate of each pair (:class:`ExactCertificate`): the crossing t, the start class and
the class that overtakes it, the slope of their logit gap L_c - L_j at the crossing (negative),
the number of linear regions crossed and the largest residual between the walked affine logits
and a forward pass at the region ends (every interior end: the next step's float64 forward;
the crossing: a plain forward of the model as given, in its own precision).

Supported: checked at the module level by :func:`unsupported_layer` (GELU, SiLU, PReLU,
attention, normalisation other than BatchNorm in eval mode ... are named) and, while walking,
every operation that touches the ray: an operation outside the affine or the handled
piecewise-linear ones stops the walk with a sentence naming it (:class:`NotPiecewiseLinear`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ..errors import RAExplorerError
from .boundary_defaults import MAX_DIST, search_range
from .boundary_search import BoundaryResult, boundary_distance, unit

KINK_EPS = 1e-12        # a root closer than this (times 1 + t) counts as reached
MAX_REGIONS = 100_000   # regions per pair before the walk gives up (the pair: unfinished)


class NotPiecewiseLinear(RAExplorerError):
    """The classifier has a layer or operation the region walk does not handle."""


# Module types whose own computation the walk understands (containers and the zoo's composite
# blocks are checked through what they call, at run time).
_AFFINE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear, nn.Flatten,
           nn.Unflatten, nn.Identity, nn.Dropout, nn.Dropout2d, nn.AvgPool1d, nn.AvgPool2d,
           nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.PixelShuffle, nn.PixelUnshuffle,
           nn.ZeroPad2d, nn.ConstantPad2d)
_KINKED = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.MaxPool2d, nn.AdaptiveMaxPool2d)
_NONLINEAR = (nn.GELU, nn.SiLU, nn.PReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.Sigmoid,
              nn.Tanh, nn.Softmax, nn.LogSoftmax, nn.Softplus, nn.Mish, nn.Hardswish,
              nn.Hardsigmoid, nn.MultiheadAttention, nn.LayerNorm, nn.GroupNorm,
              nn.InstanceNorm2d, nn.LocalResponseNorm)


def unsupported_layer(model: nn.Module) -> str | None:
    """A sentence naming the first layer of ``model`` the region walk cannot handle, or None.

    Training-mode BatchNorm (or BatchNorm without running statistics) is not affine in the
    input; the walk puts its own copy in eval mode, so only the missing statistics count here.
    """
    for name, module in model.named_modules():
        label = f"{name or 'the model'} ({type(module).__name__})"
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if module.running_mean is None:
                return (f"Layer {label} normalises with batch statistics (no running "
                        "statistics), which is not piecewise linear in the input.")
        elif isinstance(module, _NONLINEAR):
            return (f"Layer {label} is not piecewise linear (the exact walk handles "
                    "ReLU/ReLU6, max/average pooling, convolutions, linear layers, BatchNorm "
                    "in eval mode, adds and concatenations).")
    return None


# --- the ray mode: every operation on a dual tensor is checked; kinks are handled here --------

_AFFINE_OPS = {
    "conv1d", "conv2d", "conv3d", "conv_transpose2d", "linear", "batch_norm", "add", "__add__",
    "__radd__", "__iadd__", "add_", "sub", "__sub__", "__rsub__", "__isub__", "neg", "__neg__",
    "mul", "__mul__", "__rmul__", "div", "__truediv__", "cat", "concat", "stack", "mean", "sum",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "flatten",
    "view", "reshape", "permute", "transpose", "contiguous", "__getitem__", "squeeze",
    "unsqueeze", "pad", "dropout", "dropout2d", "clone", "to", "float", "double", "chunk",
    "split", "narrow", "expand", "expand_as", "pixel_shuffle", "pixel_unshuffle", "view_as",
    "reshape_as", "unflatten", "identity", "matmul", "__matmul__", "mm", "interpolate",
}


def _tangent(t):
    return fwAD.unpack_dual(t).tangent if isinstance(t, torch.Tensor) else None


def _is_dual(t) -> bool:
    return _tangent(t) is not None


class _Ray(TorchFunctionMode):
    """Runs a model on dual tensors (value at t, slope along d); ``next`` collects, per sample,
    the distance to the nearest kink ahead (inf where none)."""

    def __init__(self, n: int, eps: torch.Tensor):
        super().__init__()
        self.eps = eps                               # (n,) the reached-root threshold per sample
        self.next = torch.full((n,), math.inf, dtype=eps.dtype, device=eps.device)

    def _ahead(self, roots: torch.Tensor) -> None:
        """Fold roots (n, ...) into ``next``: the smallest root beyond eps, per sample."""
        eps = self.eps.view(-1, *([1] * (roots.ndim - 1)))
        roots = torch.where(roots > eps, roots, math.inf)
        self.next = torch.minimum(self.next, roots.flatten(1).amin(1))

    def clamp(self, z, lo: float | None, hi: float | None):
        v, s = fwAD.unpack_dual(z)
        inside = torch.ones_like(v, dtype=torch.bool)
        out_v = v.clone()
        eps = self.eps.view(-1, *([1] * (v.ndim - 1)))
        for kink, keep_above in ((lo, True), (hi, False)):
            if kink is None or math.isinf(kink):
                continue
            root = (kink - v) / s                  # inf / nan where s == 0
            reached = (root <= eps) & (s != 0)     # at or past the kink: the slope decides
            above = torch.where(reached, s > 0, v > kink)
            good = above if keep_above else ~above
            inside &= good
            out_v = torch.where(good, out_v, torch.full_like(v, kink))
            self._ahead(torch.nan_to_num(root, nan=math.inf))
        return fwAD.make_dual(out_v, torch.where(inside, s, 0.0))

    def max_pool(self, z, kernel, stride, padding, dilation, ceil_mode, output_shape):
        v, s = fwAD.unpack_dual(z)
        n, c, h, w = v.shape
        ho, wo = output_shape
        kh, kw = kernel
        sh, sw = stride
        ph, pw = padding
        dh, dw = dilation
        # pad right/bottom so that exactly ho x wo windows fit (ceil mode's partial windows)
        extra_h = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
        extra_w = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
        pads = (pw, pw + extra_w, ph, ph + extra_h)
        vp = F.pad(v, pads, value=-math.inf)
        sp = F.pad(s, pads, value=0.0)
        vu = F.unfold(vp, (kh, kw), (dh, dw), 0, (sh, sw)).view(n, c, kh * kw, -1)[..., :ho * wo]
        su = F.unfold(sp, (kh, kw), (dh, dw), 0, (sh, sw)).view(n, c, kh * kw, -1)[..., :ho * wo]
        vu = torch.nan_to_num(vu, nan=-math.inf)   # unfold of -inf padding
        # the winner just after t: the largest value, ties (within eps) to the larger slope
        top = vu.amax(2, keepdim=True)
        eps = self.eps.view(-1, 1, 1, 1)
        scale = 1 + top.abs()
        tied = vu >= top - eps * scale
        win = torch.where(tied, su, -math.inf).argmax(2, keepdim=True)
        wv, ws = vu.gather(2, win), su.gather(2, win)
        gain = su - ws
        root = torch.where(gain > 0, (wv - vu) / gain, math.inf)
        self._ahead(torch.nan_to_num(root, nan=math.inf, posinf=math.inf))
        return fwAD.make_dual(wv.view(n, c, ho, wo), ws.view(n, c, ho, wo))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        duals = [a for a in list(args) + list(kwargs.values()) if _is_dual(a)]
        if isinstance(args[0] if args else None, (list, tuple)):
            duals += [a for a in args[0] if _is_dual(a)]
        if not duals:
            return func(*args, **kwargs)
        z = args[0] if args else kwargs.get("input")
        if name in ("relu", "relu_"):
            return self.clamp(z, 0.0, None)
        if name in ("relu6", "relu6_"):
            return self.clamp(z, 0.0, 6.0)
        if name in ("hardtanh", "hardtanh_"):
            lo = args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)
            hi = args[2] if len(args) > 2 else kwargs.get("max_val", 1.0)
            return self.clamp(z, lo, hi)
        if name in ("clamp", "clip", "clamp_", "clip_"):
            lo = args[1] if len(args) > 1 else kwargs.get("min")
            hi = args[2] if len(args) > 2 else kwargs.get("max")
            if isinstance(lo, torch.Tensor) or isinstance(hi, torch.Tensor):
                raise NotPiecewiseLinear("The exact walk handles clamps with number bounds only.")
            return self.clamp(z, lo, hi)
        if name in ("max_pool2d", "_max_pool2d", "max_pool2d_with_indices", "adaptive_max_pool2d",
                    "adaptive_max_pool2d_with_indices"):
            return self._pool(name, z, args, kwargs)
        result = func(*args, **kwargs)
        outputs = result if isinstance(result, (list, tuple)) else [result]
        if name not in _AFFINE_OPS and any(_is_dual(o) for o in outputs):
            raise NotPiecewiseLinear(f"The operation {name!r} is not one the exact walk handles "
                                     "(affine operations, ReLU/ReLU6/clamps and max pooling).")
        if name in ("mul", "__mul__", "__rmul__", "matmul", "__matmul__", "mm") and len(duals) > 1:
            raise NotPiecewiseLinear("A product of two input-dependent tensors is not "
                                     "piecewise linear; the exact walk cannot follow it.")
        if name in ("div", "__truediv__") and len(args) > 1 and _is_dual(args[1]):
            raise NotPiecewiseLinear("A division by an input-dependent tensor is not piecewise "
                                     "linear; the exact walk cannot follow it.")
        if name == "batch_norm" and (kwargs.get("training") or (len(args) > 5 and args[5])):
            raise NotPiecewiseLinear("BatchNorm in training mode is not affine in the input.")
        if name in ("dropout", "dropout2d") and (kwargs.get("training", True) if len(args) < 3
                                                  else args[2]):
            raise NotPiecewiseLinear("Dropout in training mode is random; the walk runs in eval.")
        return result

    def _pool(self, name, z, args, kwargs):
        with torch.no_grad():
            plain = fwAD.unpack_dual(z).primal
        if name.startswith("adaptive"):
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = (size, size) if isinstance(size, int) else tuple(size)
            h, w = plain.shape[-2:]
            if h % size[0] or w % size[1]:
                raise NotPiecewiseLinear("Adaptive max pooling with uneven windows is not handled "
                                         "by the exact walk.")
            k = (h // size[0], w // size[1])
            out = self.max_pool(z, k, k, (0, 0), (1, 1), False, size)
        else:
            def arg(i, key, default):
                return args[i] if len(args) > i else kwargs.get(key, default)
            pair = (lambda a: (a, a) if isinstance(a, int) else tuple(a))
            kernel = pair(arg(1, "kernel_size", None))
            stride = arg(2, "stride", None)
            stride = kernel if stride is None or stride == [] or stride == () else pair(stride)
            padding, dilation = pair(arg(3, "padding", 0)), pair(arg(4, "dilation", 1))
            ceil_mode = arg(5, "ceil_mode", False)
            shape = F.max_pool2d(plain, kernel, stride, padding, dilation, ceil_mode).shape[-2:]
            out = self.max_pool(z, kernel, stride, padding, dilation, ceil_mode, tuple(shape))
        if name.endswith("with_indices") or kwargs.get("return_indices") or (
                name.startswith("adaptive") and len(args) > 2 and args[2]):
            raise NotPiecewiseLinear("Max pooling that returns its indices is not handled by "
                                     "the exact walk.")
        return out


def _ray_step(model, x, d, t, clip: bool):
    """(logits at x + t d, their slope along d, distance to the next kink) for (n,) t."""
    eps = KINK_EPS * (1 + t)
    mode = _Ray(len(x), eps)
    with fwAD.dual_level():
        z = fwAD.make_dual(x + t.view(-1, *([1] * (x.ndim - 1))) * d, d)
        if clip:
            z = mode.clamp(z, 0.0, 1.0)
        with mode:
            out = model(z)
        value, slope = fwAD.unpack_dual(out)
    if slope is None:
        slope = torch.zeros_like(value)
    return value.detach(), slope.detach(), mode.next


@dataclass
class ExactCertificate:
    """Per pair: what makes the number checkable. Tensors (N,) on the CPU."""

    t: torch.Tensor               # crossing distance, [0,1]-pixel L2 (NaN: censored/unfinished)
    start_class: torch.Tensor     # argmax R(x)
    end_class: torch.Tensor       # the class that overtakes it (-1 where none)
    gap_slope: torch.Tensor       # d(L_start - L_end)/dt at the crossing (< 0), per unit L2
    regions: torch.Tensor         # linear regions entered before the crossing (1 = none crossed)
    residual: torch.Tensor        # max |walked affine logits - forward logits| at region ends
    unfinished: torch.Tensor      # bool: more than max_regions regions, given up
    reached: torch.Tensor         # how far the walk went: no class change on [0, reached)

    def row(self, i: int) -> dict:
        return {"t": float(self.t[i]), "start_class": int(self.start_class[i]),
                "end_class": int(self.end_class[i]), "gap_slope": float(self.gap_slope[i]),
                "regions": int(self.regions[i]), "residual": float(self.residual[i]),
                "unfinished": bool(self.unfinished[i]), "reached": float(self.reached[i])}


def walk_model(model: nn.Module, dtype: torch.dtype = torch.float64) -> nn.Module:
    """The copy of ``model`` the walk runs: eval mode, ``dtype``; refuses unsupported layers."""
    reason = unsupported_layer(model)
    if reason:
        raise NotPiecewiseLinear(reason)
    return copy.deepcopy(model).eval().to(dtype)


@torch.no_grad()
def _plain_logits(model, pts: torch.Tensor, clip: bool) -> torch.Tensor:
    return model(pts.clamp(0, 1) if clip else pts)


@torch.no_grad()
def exact_boundary_distance(model: nn.Module, x: torch.Tensor, d: torch.Tensor,
                            max_dist: float | None = MAX_DIST, clip: bool = False,
                            batch_size: int = 256, dtype: torch.dtype = torch.float64,
                            max_regions: int = MAX_REGIONS,
                            walker: nn.Module | None = None, on_step=None) -> BoundaryResult:
    """BD for many (x, d) pairs by the region walk: the first crossing, exact to float precision.

    Args:
        model: a piecewise-linear classifier on [0, 1] images (see the module docstring).
        x, d: (N, C, H, W) images and directions on the model's device; d is made unit here.
        max_dist: walk range in [0,1]-pixel L2 (None: scaled with the image,
            :func:`~.boundary_defaults.search_range`); a pair with no class change up to it is
            censored.
        clip: walk x + t d clipped to [0, 1] (the clip's kinks are regions too).
        batch_size: pairs per forward pass (each pass carries a tangent: about twice the memory).
        dtype: the walk's precision (float64 by default: the certificate's residual is then the
            float32 forward's error alone).
        max_regions: regions per pair before giving up (the pair is then unfinished, NaN).
        walker: the prepared copy from :func:`walk_model` (made here when None).
        on_step: ``on_step(regions, max_regions)`` after every region step, ``regions`` the
            most regions any pair of the batch has crossed (an exception raised there stops
            the walk).

    Returns:
        a :class:`BoundaryResult` (dist as the model's dtype, NaN where censored or unfinished;
        ``evaluations`` counts forward-pass equivalents: a tangent pass as 2, the plain check at
        the crossing as 1) whose ``extra`` holds ``method="exact"`` and the
        :class:`ExactCertificate` under ``"certificate"``.
    """
    if x.shape != d.shape:
        raise ValueError(f"x and d must have the same shape; got {tuple(x.shape)} and {tuple(d.shape)}.")
    max_dist = search_range(max_dist, math.prod(x.shape[1:]))
    walker = walker if walker is not None else walk_model(model, dtype)
    model.eval()
    n = len(x)
    dev = x.device
    d = unit(d.to(dev))
    t_out = torch.full((n,), math.nan, dtype=dtype)
    start = torch.full((n,), -1, dtype=torch.long)
    end = torch.full((n,), -1, dtype=torch.long)
    slope_out = torch.full((n,), math.nan, dtype=dtype)
    regions = torch.zeros(n, dtype=torch.long)
    residual = torch.zeros(n, dtype=dtype)
    unfinished = torch.zeros(n, dtype=torch.bool)
    reached = torch.zeros(n, dtype=dtype)
    evaluations = 0
    for first in range(0, n, batch_size):
        sl = slice(first, first + batch_size)
        res = _walk_batch(model, walker, x[sl], d[sl], max_dist, clip, dtype, max_regions,
                          on_step)
        for out, key in ((t_out, "t"), (start, "start"), (end, "end"), (slope_out, "slope"),
                         (regions, "regions"), (residual, "residual"), (unfinished, "unfinished"),
                         (reached, "reached")):
            out[sl] = res[key].cpu()
        evaluations += res["evaluations"]
    censored = torch.isnan(t_out)
    cert = ExactCertificate(t_out, start, end, slope_out, regions, residual, unfinished, reached)
    dist = t_out.to(x.dtype)
    dims = x[0].numel()
    return BoundaryResult(dist=dist, rms=dist / math.sqrt(dims), censored=censored,
                          start_class=start, end_class=end, evaluations=evaluations, clip=clip,
                          max_dist=max_dist, tol=0.0,
                          extra={"method": "exact", "certificate": cert,
                                 "max_regions": max_regions, "precision": str(dtype)})


def _walk_batch(model, walker, x, d, max_dist, clip, dtype, max_regions, on_step=None) -> dict:
    n, dev = len(x), x.device
    x64, d64 = x.to(dtype), d.to(dtype)
    t = torch.zeros(n, dtype=dtype, device=dev)
    res = {"t": torch.full((n,), math.nan, dtype=dtype, device=dev),
           "end": torch.full((n,), -1, dtype=torch.long, device=dev),
           "slope": torch.full((n,), math.nan, dtype=dtype, device=dev),
           "regions": torch.zeros(n, dtype=torch.long, device=dev),
           "residual": torch.zeros(n, dtype=dtype, device=dev),
           "unfinished": torch.zeros(n, dtype=torch.bool, device=dev),
           "reached": torch.zeros(n, dtype=dtype, device=dev)}
    active = torch.arange(n, device=dev)
    start = None
    prev = None          # (logits, slopes, t) of the previous region, for the active pairs
    evaluations = 0
    while len(active):
        value, slope, kink = _ray_step(walker, x64[active], d64[active], t[active], clip)
        evaluations += 2 * len(active)
        if start is None:
            start = value.argmax(1)
        res["regions"][active] += 1
        if prev is not None:
            walked = prev[0] + (t[active] - prev[2]).unsqueeze(1) * prev[1]
            res["residual"][active] = torch.maximum(res["residual"][active],
                                                    (walked - value).abs().amax(1))
        c = start[active]
        gap = value.gather(1, c[:, None]) - value              # (m, K) L_c - L_j
        gap_slope = slope.gather(1, c[:, None]) - slope
        h = torch.where(gap < 0, 0.0, torch.where(gap_slope < 0, gap / -gap_slope, math.inf))
        h.scatter_(1, c[:, None], math.inf)
        h_cross, j = h.min(1)
        t_here = t[active]
        limit = torch.minimum(kink, max_dist - t_here)
        crossed = torch.isfinite(h_cross) & (h_cross <= limit)
        beyond = ~crossed & (t_here + kink >= max_dist)        # censored: no change to max_dist
        rows = active[crossed]
        res["t"][rows] = t_here[crossed] + h_cross[crossed]
        res["end"][rows] = j[crossed]
        res["slope"][rows] = gap_slope[crossed].gather(1, j[crossed][:, None]).squeeze(1)
        if len(rows):       # the crossing checked against a plain forward of the model as given
            at = res["t"][rows]
            pts = (x64[rows] + at.view(-1, *([1] * (x.ndim - 1))) * d64[rows]).to(x.dtype)
            plain = _plain_logits(model, pts, clip).to(dtype)
            walked = value[crossed] + h_cross[crossed].unsqueeze(1) * slope[crossed]
            res["residual"][rows] = torch.maximum(res["residual"][rows],
                                                  (walked - plain).abs().amax(1))
            evaluations += len(rows)
        res["reached"][rows] = res["t"][rows]
        res["reached"][active[beyond]] = max_dist
        going = ~crossed & ~beyond
        too_many = going & (res["regions"][active] >= max_regions)
        res["unfinished"][active[too_many]] = True
        going &= ~too_many
        res["reached"][active[too_many]] = t_here[too_many] + kink[too_many]
        if on_step is not None:
            on_step(int(res["regions"].max()), max_regions)
        t[active[going]] = t_here[going] + kink[going]
        prev = (value[going], slope[going], t_here[going])
        active = active[going]
    res["start"] = start if start is not None else torch.empty(0, dtype=torch.long, device=dev)
    res["evaluations"] = evaluations
    return res


def measure_boundaries(model: nn.Module, x: torch.Tensor, d: torch.Tensor, method: str = "search",
                       max_dist: float | None = MAX_DIST, clip: bool = False,
                       max_regions: int = MAX_REGIONS, on_step=None, **search) -> BoundaryResult:
    """BD by ``method``: "search" (:func:`analysis.analyses.boundary_search.boundary_distance`
    with ``search``'s settings) or "exact" (:func:`exact_boundary_distance`); a classifier the
    walk cannot follow is measured by the search, and ``extra`` says so: ``method`` is the one
    used, ``fallback`` the sentence naming the layer. ``on_step(done, expected)``: the
    search's progress per forward call, the walk's per region step (regions crossed, of
    ``max_regions``)."""
    if method not in ("search", "exact"):
        raise RAExplorerError(f"Unknown boundary method {method!r}; use search or exact.")
    reason = unsupported_layer(model) if method == "exact" else None
    if method == "exact" and reason is None:
        return exact_boundary_distance(model, x, d, max_dist=max_dist, clip=clip,
                                       max_regions=max_regions, on_step=on_step)
    res = boundary_distance(model, x, d, max_dist=max_dist, clip=clip, on_step=on_step, **search)
    res.extra["method"] = "search"
    if reason:
        res.extra["fallback"] = f"{reason} Measured by the sampled search instead."
    return res
