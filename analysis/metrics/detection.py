"""Detection accuracy: COCO-style mAP@[.5:.95] and mAP@.5 of predicted boxes against ground
truth, with percentile-bootstrap 95 % confidence intervals over images.

The mean average precision is torchmetrics' ``MeanAveragePrecision`` with the faster-coco-eval
backend (the COCO evaluation protocol: 101-point interpolated precision, IoU thresholds
0.50:0.05:0.95, at most 100 detections per image, all object areas). Boxes are ``(x0, y0, x1,
y1)`` in pixels (pixel edges, as :mod:`analysis.data.canvases` writes them), x1 >= x0 and
y1 >= y0.

A prediction per image is ``{"boxes": float (D, 4), "scores": float (D,), "labels": int64
(D,)}``, a target ``{"boxes": float (K, 4), "labels": int64 (K,)}``; lists of them are in image
order. The bootstrap draws images with replacement (``n_boot`` resamples from a
``numpy.random.default_rng(seed)``) and recomputes the mAP on each; a paired version draws the
same images for two sets of predictions (two processors before one detector) and reports the
difference. So that a thousand resamples take seconds, not minutes, each image's detections are
matched to its boxes once (:class:`Matches`, COCO's greedy matching per image and class at
every IoU threshold) and each resample only re-accumulates COCO's precision-recall curves with
the images' multiplicities; on the images as given that accumulation equals the COCO value (a
test checks it against torchmetrics to 1e-6). Detections of equal score in different images
are ranked by image index (COCO ranks them by the order of the image list).
"""

from __future__ import annotations

import numpy as np
import torch

MAP_KEYS = ("map", "map_50")        # mAP@[.5:.95] and mAP@.5 in torchmetrics' result
BACKEND = "faster_coco_eval"
N_BOOT = 1000
MATCH_IOU = 0.5        # a detection matches a ground-truth box of its class at this IoU
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)     # COCO's
RECALL_POINTS = np.linspace(0.0, 1.0, 101)      # COCO's 101-point interpolation
MAX_DETECTIONS = 100                            # per image and class, as COCO's maxDets[-1]


def _metric():
    from torchmetrics.detection import MeanAveragePrecision

    return MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend=BACKEND)


def _boxes(value) -> torch.Tensor:
    boxes = torch.as_tensor(value, dtype=torch.float32).reshape(-1, 4)
    if bool((boxes[:, 2] < boxes[:, 0]).any() | (boxes[:, 3] < boxes[:, 1]).any()):
        raise ValueError("Detection boxes must be (x0, y0, x1, y1) with x1 >= x0 and y1 >= y0; "
                         "some box has its corners the other way round.")
    return boxes


def _as_prediction(p: dict) -> dict:
    return {"boxes": _boxes(p["boxes"]),
            "scores": torch.as_tensor(p["scores"], dtype=torch.float32).reshape(-1),
            "labels": torch.as_tensor(p["labels"], dtype=torch.int64).reshape(-1)}


def _as_target(t: dict) -> dict:
    return {"boxes": _boxes(t["boxes"]),
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


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) IoU of boxes ``a`` (A, 4) and ``b`` (B, 4), both (x0, y0, x1, y1) in pixels."""
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _match(boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy matching in one image and class: detections by falling score (at most
    :data:`MAX_DETECTIONS`), each taking the unmatched box of largest IoU >= the threshold.
    Returns (scores (D,), matched (T, D) bool) for the T thresholds."""
    order = np.argsort(-scores, kind="mergesort")[:MAX_DETECTIONS]
    boxes, scores = boxes[order], scores[order]
    matched = np.zeros((len(IOU_THRESHOLDS), len(scores)), dtype=bool)
    if len(truth) and len(scores):
        ious = box_iou(boxes, truth)
        for t, threshold in enumerate(IOU_THRESHOLDS):
            taken = np.zeros(len(truth), dtype=bool)
            for d in range(len(scores)):
                best, m = min(threshold, 1 - 1e-10), -1
                for g in range(len(truth)):
                    if taken[g] or ious[d, g] < best:
                        continue
                    best, m = ious[d, g], g
                if m >= 0:
                    taken[m], matched[t, d] = True, True
    return scores, matched


class Matches:
    """Every image's detections matched to its boxes once, per class: the input of COCO's
    accumulation for any multiset of the images (:meth:`average_precision`)."""

    def __init__(self, preds: list[dict], targets: list[dict]):
        _check(preds, targets)
        self.n_images = len(targets)
        rows: dict[int, list] = {}
        truth_counts: dict[int, np.ndarray] = {}
        for i, (p, t) in enumerate(zip(preds, targets)):
            p, t = _as_prediction(p), _as_target(t)
            pb, ps, pl = p["boxes"].double().numpy(), p["scores"].double().numpy(), p["labels"].numpy()
            tb, tl = t["boxes"].double().numpy(), t["labels"].numpy()
            for c in np.union1d(pl, tl).tolist():
                truth = tb[tl == c]
                counts = truth_counts.setdefault(c, np.zeros(self.n_images, dtype=np.int64))
                counts[i] = len(truth)
                keep = pl == c
                scores, matched = _match(pb[keep], ps[keep], truth)
                rows.setdefault(c, []).append((np.full(len(scores), i), scores, matched))
        self.classes = {}
        for c, parts in rows.items():
            image = np.concatenate([p[0] for p in parts])
            scores = np.concatenate([p[1] for p in parts])
            matched = np.concatenate([p[2] for p in parts], axis=1)
            order = np.lexsort((image, -scores))    # falling score, ties by image index
            self.classes[c] = (image[order], matched[:, order], truth_counts[c])

    def average_precision(self, counts: np.ndarray | None = None) -> dict[str, float]:
        """``{"map", "map_50"}`` of the images taken ``counts[i]`` times each (default once):
        COCO's accumulation (101-point interpolated precision, mean over classes with a box and
        over the IoU thresholds); -1 when no image holds a box."""
        counts = np.ones(self.n_images, dtype=np.int64) if counts is None else counts
        per_class = []
        for image, matched, truth in self.classes.values():
            n_truth = int((truth * counts).sum())
            if n_truth == 0:
                continue
            take = np.repeat(np.arange(len(image)), counts[image])
            tp = np.cumsum(matched[:, take], axis=1, dtype=np.float64)
            fp = np.cumsum(~matched[:, take], axis=1, dtype=np.float64)
            precision = np.zeros((len(IOU_THRESHOLDS), len(RECALL_POINTS)))
            if tp.shape[1]:
                recall = tp / n_truth
                pr = tp / (tp + fp + np.spacing(1))
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(len(IOU_THRESHOLDS)):
                    at = np.searchsorted(recall[t], RECALL_POINTS, side="left")
                    inside = at < pr.shape[1]
                    precision[t, inside] = pr[t, at[inside]]
            per_class.append(precision)
        if not per_class:
            return {"map": -1.0, "map_50": -1.0}
        stack = np.stack(per_class)
        return {"map": float(stack.mean()), "map_50": float(stack[:, 0].mean())}


def _resamples(n_images: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_images) multiplicities of the images in each resample."""
    draws = np.random.default_rng(seed).integers(0, n_images, size=(n_boot, n_images))
    return np.stack([np.bincount(d, minlength=n_images) for d in draws])


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
    value = mean_average_precision(preds, targets)
    matches = Matches(preds, targets)
    boots = {key: [] for key in MAP_KEYS}
    for counts in _resamples(len(targets), n_boot, seed):
        result = matches.average_precision(counts)
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
    a, b = mean_average_precision(preds_a, targets), mean_average_precision(preds_b, targets)
    matches_a, matches_b = Matches(preds_a, targets), Matches(preds_b, targets)
    boots = {key: [] for key in MAP_KEYS}
    for counts in _resamples(len(targets), n_boot, seed):
        ra, rb = matches_a.average_precision(counts), matches_b.average_precision(counts)
        for key in MAP_KEYS:
            boots[key].append(ra[key] - rb[key])
    return {key: dict(zip(("low", "high"), _interval(np.array(boots[key]), level)),
                      value=a[key] - b[key]) for key in MAP_KEYS}


def match_detections(found: dict, truth: dict, score_min: float) -> tuple[np.ndarray, int]:
    """(per detection scoring at least ``score_min``: whether it matches an unmatched
    ground-truth box of its class at IoU >= 0.5, greedily by falling score; how many
    ground-truth boxes were found)."""
    keep = np.nonzero(found["scores"] >= score_min)[0]
    keep = keep[np.argsort(-found["scores"][keep], kind="stable")]
    hit = np.zeros(len(keep), dtype=bool)
    taken = np.zeros(len(truth["boxes"]), dtype=bool)
    if len(keep) and len(truth["boxes"]):
        ious = box_iou(np.asarray(found["boxes"][keep], float), np.asarray(truth["boxes"], float))
        for k, d in enumerate(keep):
            ok = (~taken) & (truth["labels"] == found["labels"][d]) & (ious[k] >= MATCH_IOU)
            if ok.any():
                g = int(np.argmax(np.where(ok, ious[k], -1)))
                taken[g], hit[k] = True, True
    out = np.zeros(len(found["scores"]), dtype=bool)
    out[keep] = hit
    return out, int(taken.sum())
