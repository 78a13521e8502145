"""Detection accuracy: COCO-style mAP@[.5:.95] and mAP@.5 of predicted boxes against ground
truth, with percentile-bootstrap 95 % confidence intervals over images.

The mean average precision is torchmetrics' ``MeanAveragePrecision`` with the faster-coco-eval
backend (the COCO evaluation protocol: 101-point interpolated precision, IoU thresholds
0.50:0.05:0.95, at most 100 detections per image, all object areas). Boxes are ``(x0, y0, x1,
y1)`` in pixels (pixel edges, as :mod:`analysis.data.canvases` writes them).

A prediction per image is ``{"boxes": float (D, 4), "scores": float (D,), "labels": int64
(D,)}``, a target ``{"boxes": float (K, 4), "labels": int64 (K,)}``; lists of them are in image
order. The bootstrap draws images with replacement (``n_boot`` resamples from a
``numpy.random.default_rng(seed)``) and recomputes the mAP on each; a paired version draws the
same images for two sets of predictions (two processors before one detector) and reports the
difference.
"""

from __future__ import annotations

import numpy as np
import torch

MAP_KEYS = ("map", "map_50")        # mAP@[.5:.95] and mAP@.5 in torchmetrics' result
BACKEND = "faster_coco_eval"
N_BOOT = 1000


def _metric():
    from torchmetrics.detection import MeanAveragePrecision

    return MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend=BACKEND)


def _as_prediction(p: dict) -> dict:
    return {"boxes": torch.as_tensor(p["boxes"], dtype=torch.float32).reshape(-1, 4),
            "scores": torch.as_tensor(p["scores"], dtype=torch.float32).reshape(-1),
            "labels": torch.as_tensor(p["labels"], dtype=torch.int64).reshape(-1)}


def _as_target(t: dict) -> dict:
    return {"boxes": torch.as_tensor(t["boxes"], dtype=torch.float32).reshape(-1, 4),
            "labels": torch.as_tensor(t["labels"], dtype=torch.int64).reshape(-1)}


def _check(preds: list, targets: list) -> None:
    if len(preds) != len(targets):
        raise ValueError(f"mAP needs one prediction per image: got {len(preds)} predictions for "
                         f"{len(targets)} images.")
    if not targets:
        raise ValueError("mAP needs at least one image.")


def _compute(preds: list[dict], targets: list[dict]) -> dict[str, float]:
    metric = _metric()
    metric.update(preds, targets)
    result = metric.compute()
    return {key: float(result[key]) for key in MAP_KEYS}


def mean_average_precision(preds: list[dict], targets: list[dict]) -> dict[str, float]:
    """``{"map": mAP@[.5:.95], "map_50": mAP@.5}`` of ``preds`` against ``targets`` (one dict
    per image, see the module docstring), each in [0, 1] (-1 when no image holds a box).

    Example::

        >>> target = {"boxes": torch.tensor([[10., 10., 30., 30.]]), "labels": torch.tensor([3])}
        >>> pred = {"boxes": torch.tensor([[10., 10., 30., 30.]]), "scores": torch.tensor([0.9]),
        ...         "labels": torch.tensor([3])}
        >>> mean_average_precision([pred], [target])["map"]
        1.0
    """
    _check(preds, targets)
    return _compute([_as_prediction(p) for p in preds], [_as_target(t) for t in targets])


def _resamples(n_images: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_images, size=(n_boot, n_images))


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def map_with_ci(preds: list[dict], targets: list[dict], n_boot: int = N_BOOT, seed: int = 0,
                level: float = 0.95) -> dict[str, dict[str, float]]:
    """mAP@[.5:.95] and mAP@.5 with percentile-bootstrap CIs over images.

    Returns ``{"map": {"value", "low", "high"}, "map_50": {...}}``: ``value`` on all images,
    ``low`` / ``high`` the ``level`` interval of ``n_boot`` resamples of the images (drawn with
    replacement by ``numpy.random.default_rng(seed)``).
    """
    _check(preds, targets)
    preds = [_as_prediction(p) for p in preds]
    targets = [_as_target(t) for t in targets]
    value = _compute(preds, targets)
    boots = {key: [] for key in MAP_KEYS}
    for draw in _resamples(len(targets), n_boot, seed):
        result = _compute([preds[i] for i in draw], [targets[i] for i in draw])
        for key in MAP_KEYS:
            boots[key].append(result[key])
    return {key: dict(zip(("low", "high"), _interval(np.array(boots[key]), level)),
                      value=value[key]) for key in MAP_KEYS}


def paired_map_difference(preds_a: list[dict], preds_b: list[dict], targets: list[dict],
                          n_boot: int = N_BOOT, seed: int = 0,
                          level: float = 0.95) -> dict[str, dict[str, float]]:
    """mAP(a) - mAP(b) on the same images, with a paired percentile-bootstrap CI (each resample
    draws the same images for ``a`` and ``b``): ``{"map": {"value", "low", "high"}, "map_50":
    ...}``."""
    _check(preds_a, targets)
    _check(preds_b, targets)
    preds_a = [_as_prediction(p) for p in preds_a]
    preds_b = [_as_prediction(p) for p in preds_b]
    targets = [_as_target(t) for t in targets]
    a, b = _compute(preds_a, targets), _compute(preds_b, targets)
    boots = {key: [] for key in MAP_KEYS}
    for draw in _resamples(len(targets), n_boot, seed):
        sample = [targets[i] for i in draw]
        ra = _compute([preds_a[i] for i in draw], sample)
        rb = _compute([preds_b[i] for i in draw], sample)
        for key in MAP_KEYS:
            boots[key].append(ra[key] - rb[key])
    return {key: dict(zip(("low", "high"), _interval(np.array(boots[key]), level)),
                      value=a[key] - b[key]) for key in MAP_KEYS}
