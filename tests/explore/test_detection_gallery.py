"""The canvas gallery: filters over per-canvas records are right on hand-made counts, a records
file answers only for its own weights and canvases, thumbnails are the detectors' inputs."""

import numpy as np
import pytest

from analysis.analyses.detection_transfer import detection_transfer, save_detection_transfer
from analysis.errors import RAExplorerError
from analysis.explore.detection_gallery import (
    CanvasQuery,
    canvas_thumbnails,
    default_pair,
    select_canvases,
    shipped_canvas_records,
)
from analysis.explore.detection_view import CanvasModels, canvas_view, load_canvas_models
from analysis.pipeline.runner import NO_PROCESSING

CANVAS = "canvas:base=fashion-mnist"
RECORDS = {"canvas": np.arange(6), "truth": np.array([2, 2, 1, 3, 1, 2]),
           "found|A|d": np.array([2, 1, 1, 3, 0, 2]), "found|B|d": np.array([1, 1, 0, 3, 1, 2])}


def _indices(filter_name, sort="index"):
    return select_canvases(RECORDS, CanvasQuery("d", "A", "B", filter_name, sort)).indices.tolist()


def test_each_filter_keeps_the_canvases_its_sentence_names():
    assert _indices("A finds more items than B") == [2, 0]              # index, largest first
    assert _indices("A finds every item, B misses one") == [2, 0]
    assert _indices("B finds more items than A") == [4]
    assert _indices("A misses an item") == [4, 1]
    assert _indices("all canvases") == [5, 4, 3, 2, 1, 0]
    by_gain = select_canvases(RECORDS, CanvasQuery("d", "A", "B", "all canvases",
                                                   "items found A - B"))
    assert by_gain.indices.tolist()[:2] == [0, 2] and by_gain.scores[0] == 1
    assert by_gain.indices.tolist()[-1] == 4 and by_gain.scores[-1] == -1
    chosen = select_canvases(RECORDS, CanvasQuery("d", "A", "B"))
    assert chosen.describe() == "2 of 6 test canvases: d finds more items on A than on B."
    assert chosen.found_a.tolist() == [2, 1] and chosen.truth.tolist() == [2, 1]


def test_the_default_pair_is_read_from_the_cards_not_the_names():
    canvas = "canvas:base=b,size=112"
    cards = {"p-canvas": {"method": "plain", "dataset": canvas},
             "item-plain": {"method": "plain", "dataset": "b"},
             "x-fcos": {"method": "ra", "source": "fcos", "source_kind": "detector",
                        "dataset": canvas},
             "y-retina": {"method": "ra", "source": "retina", "source_kind": "detector",
                          "dataset": canvas},
             "item-ra": {"method": "ra", "source": "clf", "source_kind": "classifier",
                         "dataset": "b"}}
    models = CanvasModels(None, {}, {}, {}, cards)
    inputs = [NO_PROCESSING, "item-plain", "item-ra", "p-canvas", "x-fcos", "y-retina"]
    assert default_pair(models, inputs, "retina") == ("y-retina", "p-canvas")
    assert default_pair(models, inputs, "fcos") == ("x-fcos", "p-canvas")
    assert default_pair(models, inputs, "other") == ("x-fcos", "p-canvas")
    assert default_pair(models, [NO_PROCESSING, "item-ra"], "fcos") == ("item-ra", NO_PROCESSING)


def test_an_input_the_records_lack_is_one_sentence():
    with pytest.raises(RAExplorerError, match="hold no 'C' on 'd'"):
        select_canvases(RECORDS, CanvasQuery("d", "C", "B"))


@pytest.fixture(scope="module")
def models():
    return load_canvas_models("sr", CANVAS)


def test_a_records_file_answers_for_its_own_weights_and_canvases(models, tmp_path):
    result = detection_transfer("sr", CANVAS, processors=["sr-plain-canvas", "sr-ra-det-fcos"],
                                detectors=["fcos"], limit=6, n_boot=5, progress=False)
    save_detection_transfer(result, tmp_path)
    spec = models.setting.task.spec
    records, path = shipped_canvas_records(tmp_path, spec, models.setting.dataset,
                                           models.digests)
    assert path.name == "detection_transfer_sr_scale4.json"
    assert records["truth"].tolist() == result["per_canvas"]["truth"]
    assert records["found|sr-ra-det-fcos|fcos"].tolist() == result["per_canvas"][
        "found|sr-ra-det-fcos|fcos"]
    other = {**models.digests, "fcos": "0" * 64}
    assert shipped_canvas_records(tmp_path, spec, models.setting.dataset, other)[0] is None
    assert shipped_canvas_records(tmp_path, spec, CANVAS + ",n_test=10", models.digests)[0] is None
    assert shipped_canvas_records(tmp_path / "none", spec, models.setting.dataset,
                                  models.digests)[0] is None


def test_thumbnails_are_the_inputs_the_detectors_see_side_by_side(models):
    thumbs = canvas_thumbnails(models, [3, 11], [NO_PROCESSING, "sr-plain-canvas"], gap=2)
    assert list(thumbs) == [3, 11]
    view = canvas_view(models, 11, ["sr-plain-canvas"])
    side = view.images[NO_PROCESSING].shape[1]
    assert thumbs[11].shape == (side, 2 * side + 2)
    assert np.allclose(thumbs[11][:, :side], view.images[NO_PROCESSING], atol=1e-5)
    assert np.allclose(thumbs[11][:, side + 2:], view.images["sr-plain-canvas"], atol=1e-4)
    assert (thumbs[11][:, side:side + 2] == 1).all()
