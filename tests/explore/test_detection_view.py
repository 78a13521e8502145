"""Compare on detection canvases: the panels are what the detectors see, the matching and the
drawing are right on hand-made boxes."""

import numpy as np
import pytest
import torch

from analysis.explore.detection_view import (
    FOUND_COLOUR,
    TRUTH_COLOUR,
    WRONG_COLOUR,
    canvas_detectors,
    canvas_view,
    draw_detections,
    load_canvas_models,
)
from analysis.pipeline.runner import CLEAN, NO_PROCESSING

CANVAS = "canvas:base=fashion-mnist"


@pytest.fixture(scope="module")
def models():
    return load_canvas_models("sr", CANVAS)


def test_the_panels_are_the_inputs_the_detectors_see(models):
    view = canvas_view(models, 7, ["sr-plain", "sr-ra-transformer"])
    assert list(view.images) == [CLEAN, NO_PROCESSING, "sr-plain", "sr-ra-transformer",
                                 "sr-ra-transformer (human view)"]
    x, truth, _ = models.setting.test[7]
    assert np.array_equal(view.truth["boxes"], np.asarray(truth["boxes"]))
    assert np.allclose(view.images[CLEAN], x[0].numpy(), atol=1e-6)
    task = models.setting.task
    lq = task.degrade_eval(x[None], torch.tensor([7]))
    with torch.inference_mode():
        plain = models.processors["sr-plain"](lq).clamp(0, 1)
        assert np.allclose(view.images["sr-plain"], plain[0, 0].numpy(), atol=1e-5)
        for d, det in models.detectors.items():     # one image alone: the same boxes and scores
            alone = det(plain)[0]
            got = view.detections[("sr-plain", d)]
            assert np.allclose(got["scores"], alone["scores"].numpy(), atol=1e-4)
            assert np.allclose(got["boxes"], alone["boxes"].numpy(), atol=1e-2)


def test_the_drawing_marks_truth_hits_and_misses_in_their_colours():
    image = np.zeros((40, 40))
    truth = {"boxes": np.array([[2, 2, 12, 12]], float), "labels": np.array([0])}
    found = {"boxes": np.array([[2, 2, 12, 12], [20, 20, 35, 35]], float),
             "scores": np.array([0.9, 0.8]), "labels": np.array([0, 3])}
    out = draw_detections(image, found, truth, [f"c{i}" for i in range(10)], 0.5, scale=2)
    assert out.shape == (80, 80, 3) and out.dtype == np.uint8
    assert tuple(out[70, 40]) == WRONG_COLOUR       # the miss's bottom edge (y = 35 * 2)
    assert tuple(out[24, 12]) == FOUND_COLOUR       # the hit drawn over the truth's left edge
    assert tuple(out[18, 18]) == (0, 0, 0)          # inside: the image
    quiet = draw_detections(image, found, truth, [f"c{i}" for i in range(10)], 0.95, scale=2)
    assert tuple(quiet[24, 4]) == TRUTH_COLOUR      # only the truth remains
    assert not (quiet == np.array(WRONG_COLOUR)).all(axis=2).any()


def test_the_detectors_offered_are_those_trained_on_the_datasets_canvases(tmp_path):
    assert canvas_detectors("fashion-mnist") == ["fcos", "retinanet"]
    assert canvas_detectors("fashion-mnist:categories=a") == []
    assert canvas_detectors("synthetic:n=64") == []
    assert canvas_detectors("fashion-mnist", tmp_path) == []
