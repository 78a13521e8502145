"""What a metric is: its spec (name, direction, range, builder, weights) and the ready metric
that checks its inputs ((N, 1 or 3, H, W) in [0, 1]), fits sizes and returns (N,) values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import InputError, RAExplorerError

RANGE_TOLERANCE = 1e-4   # values this far outside [0, 1] (float rounding) are clamped, not refused


class MetricUnavailableError(RAExplorerError):
    """The metric needs weights that are not on this machine; the message says how to supply them."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    lower_better: bool
    value_range: tuple[float, float]
    description: str
    build: Callable[..., Callable]           # build(device) -> fn(x, y) -> Tensor[N]
    needs_weights: bool = False
    available: Callable[[], tuple[bool, str]] = field(default=lambda: (True, ""))
    min_size: int = 0

    def describe(self) -> dict:
        ok, why = self.available()
        return {"name": self.name, "lower_better": self.lower_better,
                "range": list(self.value_range), "needs_weights": self.needs_weights,
                "available": ok, "unavailable_reason": why or None,
                "description": self.description}


class Metric:
    """A ready metric: validates inputs, fits sizes, runs on its device, returns (N,) on CPU."""

    def __init__(self, spec: MetricSpec, fn: Callable, device: torch.device):
        self.spec = spec
        self.fn = fn
        self.device = device

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def lower_better(self) -> bool:
        """True for a distance (lower is better), False for a similarity or fidelity."""
        return self.spec.lower_better

    @property
    def value_range(self) -> tuple[float, float]:
        """(lowest, highest) value the metric can take (``math.inf`` where unbounded)."""
        return self.spec.value_range

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Values (N,) for distorted ``x`` and reference ``y``, both (N, 1 or 3, H, W) in [0, 1].

        Refuses (InputError, a ValueError, one sentence) anything else: non-tensors, integer
        images, other shapes, NaN and values outside [0, 1] by more than RANGE_TOLERANCE.
        """
        for t in (x, y):
            if not isinstance(t, torch.Tensor):
                raise InputError(f"Metric {self.name!r} needs torch tensors; got "
                                 f"{type(t).__name__}.")
            if not t.is_floating_point():
                raise InputError(self._range_message(f"{t.dtype} values (convert to float and "
                                                     "divide by 255 first)"))
        if (x.shape != y.shape or x.ndim != 4 or x.shape[1] not in (1, 3)
                or min(x.shape, default=0) == 0):
            raise InputError(f"Metric {self.name!r} needs two images of the same shape "
                             f"(N, 1 or 3, H, W); got {tuple(x.shape)} and {tuple(y.shape)}.")
        x = x.to(self.device, torch.float32)
        y = y.to(self.device, torch.float32)
        checked = []
        for which, t in (("distorted", x), ("reference", y)):
            low, high = (float(v) for v in torch.aminmax(t))   # NaN propagates into both
            if math.isnan(low) or math.isnan(high):
                raise InputError(f"Metric {self.name!r} got NaN values in the {which} images; "
                                 "images must be finite numbers in [0, 1].")
            if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
                raise InputError(self._range_message(f"[{low:.3g}, {high:.3g}] in the {which} "
                                                     "images"))
            checked.append(t.clamp(0, 1) if low < 0 or high > 1 else t)
        x, y = checked
        if self.spec.min_size:
            factor = math.ceil(self.spec.min_size / min(x.shape[-2:]))
            if factor > 1:
                x = F.interpolate(x, scale_factor=factor, mode="nearest")
                y = F.interpolate(y, scale_factor=factor, mode="nearest")
        with torch.inference_mode():
            try:
                return self.fn(x, y).reshape(-1).to("cpu", torch.float32)
            except AssertionError as exc:  # piq's input checks
                raise InputError(self._range_message(str(exc))) from None

    def _range_message(self, detail: str) -> str:
        return (f"Metric {self.name!r} needs images in [0, 1] of shape (N, 1 or 3, H, W); "
                f"got {detail} (clamp them first).")
