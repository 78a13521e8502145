"""Detection mAP (analysis/metrics/detection.py) against a direct COCO evaluation (pycocotools'
COCOeval) on hand-made boxes, the bootstrap's accumulation against torchmetrics, and the CIs."""

import contextlib
import io

import numpy as np
import pytest
import torch

from analysis.metrics.detection import (
    Matches,
    box_iou,
    map_with_ci,
    match_detections,
    mean_average_precision,
    paired_map_difference,
)

pycocotools = pytest.importorskip("pycocotools")   # the test extra's reference implementation
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

T = torch.tensor
# four images: hits at several IoUs, a miss (image 2's second box), a false positive (image 0's
# class-2 box far from any box), a wrong class (image 3), an image without boxes (image 3's truth)
TARGETS = [
    {"boxes": T([[10., 10., 40., 40.], [50., 50., 90., 80.]]), "labels": T([1, 2])},
    {"boxes": T([[5., 5., 25., 35.]]), "labels": T([1])},
    {"boxes": T([[0., 0., 30., 30.], [60., 10., 100., 50.]]), "labels": T([3, 1])},
    {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)},
]
PREDS = [
    {"boxes": T([[11., 9., 41., 39.], [52., 48., 88., 82.], [0., 60., 20., 90.]]),
     "scores": T([0.9, 0.8, 0.3]), "labels": T([1, 2, 2])},
    {"boxes": T([[6., 5., 26., 30.]]), "scores": T([0.7]), "labels": T([1])},
    {"boxes": T([[1., 1., 31., 29.]]), "scores": T([0.6]), "labels": T([3])},
    {"boxes": T([[20., 20., 50., 50.]]), "scores": T([0.95]), "labels": T([1])},
]


def coco_reference(preds, targets) -> tuple[float, float]:
    """mAP@[.5:.95] and mAP@.5 by pycocotools' COCOeval on the same boxes (xywh, as COCO wants)."""
    categories = sorted({int(c) for d in preds + targets for c in d["labels"].tolist()})
    truth = {"images": [{"id": i} for i in range(len(targets))],
             "categories": [{"id": c} for c in categories], "annotations": []}
    detections = []
    for i, (p, t) in enumerate(zip(preds, targets)):
        for (x0, y0, x1, y1), c in zip(t["boxes"].tolist(), t["labels"].tolist()):
            truth["annotations"].append({"id": len(truth["annotations"]) + 1, "image_id": i,
                                         "category_id": c, "bbox": [x0, y0, x1 - x0, y1 - y0],
                                         "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
        for (x0, y0, x1, y1), s, c in zip(p["boxes"].tolist(), p["scores"].tolist(),
                                          p["labels"].tolist()):
            detections.append({"image_id": i, "category_id": c, "bbox": [x0, y0, x1 - x0, y1 - y0],
                               "score": s})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = truth
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


def _random_set(n_images: int, seed: int, jitter: float):
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for _ in range(n_images):
        k = int(rng.integers(0, 5))
        corner = rng.uniform(0, 60, (k, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(20, 48, (k, 2))], 1)
        labels = rng.integers(0, 4, k)
        targets.append({"boxes": T(boxes, dtype=torch.float32), "labels": T(labels)})
        extra = int(rng.integers(0, 3))
        guess = np.concatenate([boxes + rng.normal(0, jitter, boxes.shape),
                                np.tile(rng.uniform(0, 80, (extra, 2)), 2) + [0, 0, 30, 30]])
        guess = np.concatenate([np.minimum(guess[:, :2], guess[:, 2:]),     # valid corners
                                np.maximum(guess[:, :2], guess[:, 2:])], 1)
        guess_labels = np.concatenate([np.where(rng.uniform(size=k) < 0.85, labels,
                                                rng.integers(0, 4, k)), rng.integers(0, 4, extra)])
        preds.append({"boxes": T(guess, dtype=torch.float32),
                      "scores": T(rng.uniform(0, 1, k + extra), dtype=torch.float32),
                      "labels": T(guess_labels)})
    return preds, targets


def test_map_agrees_with_cocoeval_on_hand_made_boxes():
    result = mean_average_precision(PREDS, TARGETS)
    reference = coco_reference(PREDS, TARGETS)
    assert result["map"] == pytest.approx(reference[0], abs=1e-6)
    assert result["map_50"] == pytest.approx(reference[1], abs=1e-6)
    assert 0 < result["map"] < result["map_50"] < 1       # neither trivial nor perfect


def test_perfect_and_empty_predictions():
    perfect = [{"boxes": t["boxes"], "scores": torch.ones(len(t["labels"])), "labels": t["labels"]}
               for t in TARGETS]
    assert mean_average_precision(perfect, TARGETS) == {"map": 1.0, "map_50": 1.0}
    nothing = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0),
                "labels": torch.zeros(0, dtype=torch.long)} for _ in TARGETS]
    assert mean_average_precision(nothing, TARGETS) == {"map": 0.0, "map_50": 0.0}
    with pytest.raises(ValueError, match="one prediction per image"):
        mean_average_precision(PREDS[:2], TARGETS)
    flipped = [dict(PREDS[0], boxes=PREDS[0]["boxes"][:, [2, 1, 0, 3]])] + PREDS[1:]
    with pytest.raises(ValueError, match="other way round"):
        mean_average_precision(flipped, TARGETS)


@pytest.mark.parametrize("seed,jitter", [(0, 2.0), (1, 6.0)])
def test_the_bootstraps_accumulation_is_cocos(seed, jitter):
    preds, targets = _random_set(60, seed, jitter)
    reference = coco_reference(preds, targets)
    ours = Matches(preds, targets).average_precision()
    assert ours["map"] == pytest.approx(reference[0], abs=1e-6)
    assert ours["map_50"] == pytest.approx(reference[1], abs=1e-6)
    # a resample with multiplicities is the COCO value of the images listed that many times
    counts = np.random.default_rng(seed).integers(0, 3, len(targets))
    listed = [i for i, c in enumerate(counts) for _ in range(c)]
    repeated = coco_reference([preds[i] for i in listed], [targets[i] for i in listed])
    resampled = Matches(preds, targets).average_precision(counts)
    assert resampled["map"] == pytest.approx(repeated[0], abs=1e-6)
    assert resampled["map_50"] == pytest.approx(repeated[1], abs=1e-6)


def test_bootstrap_intervals():
    preds, targets = _random_set(80, 3, 3.0)
    ci = map_with_ci(preds, targets, n_boot=200, seed=0)
    for key in ("map", "map_50"):
        assert ci[key]["low"] < ci[key]["value"] < ci[key]["high"]
    assert ci == map_with_ci(preds, targets, n_boot=200, seed=0)     # seeded
    worse, _ = _random_set(80, 3, 9.0)
    diff = paired_map_difference(preds, worse, targets, n_boot=200)
    assert diff["map"]["value"] == pytest.approx(
        ci["map"]["value"] - mean_average_precision(worse, targets)["map"], abs=1e-9)
    assert 0 < diff["map"]["low"] < diff["map"]["value"] < diff["map"]["high"]
    same = paired_map_difference(preds, preds, targets, n_boot=50)
    assert same["map"] == {"value": 0.0, "low": 0.0, "high": 0.0}


def test_box_iou():
    a = np.array([[0., 0., 10., 10.]])
    b = np.array([[5., 0., 15., 10.], [20., 20., 30., 30.], [0., 0., 10., 10.]])
    assert box_iou(a, b).tolist() == [[50 / 150, 0.0, 1.0]]


def test_matching_is_greedy_by_score_per_class_at_iou_one_half():
    truth = {"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float),
             "labels": np.array([1, 2])}
    found = {"boxes": np.array([[0, 0, 10, 10],       # matches box 0
                                [1, 1, 10, 10],       # the same box again: a duplicate
                                [20, 20, 30, 30],     # box 1's place, another class
                                [20, 20, 26, 26],     # box 1, class 2, IoU 0.36 < 0.5
                                [0, 0, 9, 9]], float),  # below the score threshold
             "scores": np.array([0.9, 0.8, 0.7, 0.6, 0.2]), "labels": np.array([1, 1, 1, 2, 1])}
    hit, found_items = match_detections(found, truth, 0.5)
    assert hit.tolist() == [True, False, False, False, False] and found_items == 1
    hit, found_items = match_detections(found, truth, 0.1)
    assert hit.tolist() == [True, False, False, False, False] and found_items == 1
