"""The corruption grid: mCE both ways against hand-computed values, paired bootstrap CIs, ECE per
cell, honest row labels, the CLI verb on the tiny zoo and its refusals."""

import json

import numpy as np
import pytest

from analysis.analyses.corruption_grid import (
    VANILLA,
    default_classifiers,
    format_grid,
    grid_from_records,
    measure_grid,
    record_stem,
    row_label,
)
from analysis.cli.main import main
from analysis.data.tasks import create_task
from analysis.errors import RAExplorerError
from analysis.pipeline.records import RecordTable
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from analysis.stats import expected_calibration_error
from tests.conftest import SYNTH

N = 10
LABEL = np.zeros(N, dtype=np.int64)


def _table(spec, right: dict[str, int], prob=0.9) -> RecordTable:
    """A record table of ``N`` images of class 0 where input i gets the first right[i] right."""
    inputs = [CLEAN, *right]
    pred = {(i, "clf"): np.where(np.arange(N) < (N if i == CLEAN else right[i]), 0, 1)
            .astype(np.int16) for i in inputs}
    probs = {(i, "clf"): np.full(N, prob, np.float16) for i in inputs}
    return RecordTable(create_task(spec).spec, "synthetic", "test", inputs, ["clf"],
                       np.arange(N), LABEL, pred, probs, {})


def _grid(n_boot=200):
    # errors (out of 10) of no processing / proc: snow 1: 2 / 1, snow 5: 6 / 3, fog 1: 4 / 4,
    # fog 5: 8 / 6; speckle_noise (an extra type, outside mCE) 5: 5 / 0
    right = {"corrupt:type=snow,level=1": (8, 9), "corrupt:type=snow,level=5": (4, 7),
             "corrupt:type=fog,level=1": (6, 6), "corrupt:type=fog,level=5": (2, 4),
             "corrupt:type=speckle_noise,level=5": (5, 10)}
    tables = {create_task(s).spec: _table(s, {NO_PROCESSING: a, "proc": b})
              for s, (a, b) in right.items()}
    card = {"name": "proc", "task": "denoise:sigma=0.1", "method": "ra"}
    return grid_from_records(tables, {"proc": card}, n_boot=n_boot)


def test_mce_both_ways_by_hand():
    result = _grid()
    assert result["mce_types"] == ["snow", "fog"] and result["vanilla"] == "clf"
    none, proc = result["rows"]
    assert none["mean_error"]["value"] == pytest.approx((0.2 + 0.6 + 0.4 + 0.8) / 4)
    assert none["mce"]["value"] == pytest.approx(1.0)
    assert proc["mean_error"]["value"] == pytest.approx((0.1 + 0.3 + 0.4 + 0.6) / 4)
    # CE_snow = (1 + 3) / (2 + 6), CE_fog = (4 + 6) / (4 + 8)
    assert proc["mce"]["value"] == pytest.approx((4 / 8 + 10 / 12) / 2)
    assert none["clean"]["accuracy"] == 1.0
    snow5 = proc["cells"]["corrupt:level=5,type=snow"]
    assert snow5["accuracy"] == 0.7 and snow5["ci95"][0] <= 0.7 <= snow5["ci95"][1]
    assert snow5["ece"] == pytest.approx(expected_calibration_error(np.full(N, np.float16(0.9)),
                                                                    np.arange(N) < 7))


def test_bootstrap_is_paired_and_seeded():
    a, b = _grid(), _grid()
    assert a == b
    # the reference row's normalised mCE is exactly 1 in every resample
    assert a["rows"][0]["mce"]["ci95"] == [1.0, 1.0]
    low, high = a["rows"][1]["mce"]["ci95"]
    assert low < a["rows"][1]["mce"]["value"] < high < 1


def test_rows_say_what_a_processor_was_trained_on():
    result = _grid()
    none, proc = result["rows"]
    assert row_label(none) == "clf, no processing"
    assert row_label(proc) == ("clf, proc (trained on denoise:sigma=0.1, not on these "
                               "corruptions)")
    assert proc["trained_on"] == "denoise:sigma=0.1" and not any(proc["seen"].values())
    text = format_grid(result)
    assert "not on these corruptions" in text and "| snow |" in text and "severity 5" in text


def test_a_first_cell_without_the_clean_images_is_refused():
    tables = {"corrupt:level=1,type=snow": _table("corrupt:type=snow,level=1", {NO_PROCESSING: 5})}
    table = tables["corrupt:level=1,type=snow"]
    table.inputs = [NO_PROCESSING]
    with pytest.raises(RAExplorerError, match="no clean-image records"):
        grid_from_records(tables, {})


def test_the_default_classifiers_are_the_vanilla_one_and_the_recognizer_side():
    names = default_classifiers()            # the embedded default's checkpoints
    assert names[0] == VANILLA and set(names[1:]) == {
        "resnet20-augment", "resnet20-feature-kd", "resnet20-qualnet", "resnet20-train-on-lq",
        "resnet20-ft-processed"}


def test_other_images_in_one_cell_are_refused():
    tables = {"corrupt:level=1,type=snow": _table("corrupt:type=snow,level=1", {NO_PROCESSING: 5}),
              "corrupt:level=5,type=snow": _table("corrupt:type=snow,level=5", {NO_PROCESSING: 5})}
    tables["corrupt:level=5,type=snow"].index = np.arange(N) + 1
    with pytest.raises(RAExplorerError, match="other images"):
        grid_from_records(tables, {})


def test_the_verb_on_the_tiny_zoo_writes_and_resumes(tiny_zoo, tmp_path, capsys):
    out = tmp_path / "grid"
    argv = ["corruption-grid", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
            "--classifiers", "clf-a,clf-b", "--processors", "", "--types", "fog,snow",
            "--levels", "1,5", "--sample", "12", "--boot", "50", "--out", str(out),
            "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    result = json.loads((out / "corruption_grid.json").read_text())
    assert result["n_images"] == 12 and result["vanilla"] == "clf-a"
    assert len(result["cells"]) == 4 and [r["classifier"] for r in result["rows"]] == [
        "clf-a", "clf-b"]
    tables = sorted((out / "corruption_grid").glob("records_grid_*.parquet"))
    assert len(tables) == 4
    # the clean images are classified once, in the first cell (fog, level 1)
    holding_clean = [p.stem for p in tables if CLEAN in RecordTable.load(p).inputs]
    assert holding_clean == [record_stem(create_task("corrupt:type=fog,level=1").spec)]
    assert result["provenance"]["n_images"] == 12
    capsys.readouterr()
    assert main(argv) == 0                           # a second run reuses every cell
    assert capsys.readouterr().err.count("reused from") == 4


def test_size_changing_processors_and_unknown_types_are_refused(tiny_zoo, capsys):
    with pytest.raises(RAExplorerError, match="changes the image size"):
        measure_grid(("clf-a",), ("sr-plain",), types=("fog",), levels=(1,), dataset=SYNTH,
                     folder=tiny_zoo, limit=4, progress=False)
    code = main(["corruption-grid", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--classifiers", "clf-a", "--types", "snw", "--no-save"])
    assert code != 0 and "Did you mean 'snow'" in capsys.readouterr().err


def test_the_default_adds_the_standard_classifier_of_a_recognizer_sides_architecture(tiny_zoo,
                                                                                    tmp_path):
    import shutil

    (tmp_path / "recognizers").mkdir()
    for name in ("clf-a", "clf-b"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(tiny_zoo / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    shutil.copy(tiny_zoo / "clf-b.safetensors", tmp_path / "recognizers" / "clf-b-side.safetensors")
    card = json.loads((tiny_zoo / "clf-b.json").read_text())      # a vgg11-bn, standard
    card["weights"]["file"] = "clf-b-side.safetensors"
    (tmp_path / "recognizers" / "clf-b-side.json").write_text(json.dumps(
        {**card, "name": "clf-b-side", "method": "augment"}))
    # no resnet20 here (another dataset's zoo): its first standard classifier is the vanilla one
    assert default_classifiers(SYNTH, tmp_path) == ["clf-a", "clf-b", "clf-b-side"]


def test_a_classifier_the_dataset_lacks_is_refused_naming_the_ones_it_has(tiny_zoo):
    with pytest.raises(RAExplorerError, match="No classifier resnet20 for synthetic:n=200; its "
                                              "classifiers: clf-a, clf-b, clf-robust"):
        measure_grid(("resnet20",), (), types=("fog",), levels=(1,), dataset=SYNTH,
                     folder=tiny_zoo, limit=4, progress=False)
