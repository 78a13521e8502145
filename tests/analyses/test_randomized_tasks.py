"""Fixed vs randomized training on randomized inputs (Table 15 analog), on tiny zoos of a
synthetic dataset and of an RGB ImageFolder a test makes."""

import json

import pytest

from analysis.analyses.evaluate import measure_task
from analysis.analyses.randomized_tasks import (
    format_randomized,
    normal_task,
    randomized_models,
    randomized_table,
    save_randomized,
)
from analysis.errors import RAExplorerError
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from analysis.training.classifiers import train_classifier
from analysis.training.processors import train_processor
from tests.bad_input import assert_one_sentence, run_main, snapshot
from tests.conftest import TINY_CLASSIFIER, TINY_PROCESSOR
from tests.data.test_categories import write_class_folders

SYNTH = "synthetic:n=120"


def _random_zoo(folder, dataset, task="sr-random"):
    """A classifier, plain and RA SR processors, and in ``randomized/`` plain and RA
    processors trained on ``task``."""
    common = {"dataset": dataset, "epochs": 1, "batch_size": 16, "val_limit": 8,
              "state_dir": str(folder / "state"), "progress": False, "device": "cpu"}
    clf = str(folder / "clf")
    train_classifier("resnet20", out=clf, arch_kwargs=TINY_CLASSIFIER, max_steps=3, **common)
    for where, t, prefix in ((folder, "sr", "sr"), (folder / "randomized", task, task)):
        train_processor(t, "plain", out=str(where / f"{prefix}-plain"),
                        arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
        train_processor(t, "ra", out=str(where / f"{prefix}-ra"), recognizer=clf, lam=0.5,
                        arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
    return folder


@pytest.fixture(scope="module")
def random_zoo(tmp_path_factory):
    return _random_zoo(tmp_path_factory.mktemp("randomzoo"), SYNTH)


@pytest.mark.parametrize("task, fixed", [
    ("sr-random", "sr:scale=4"), ("sr-random:scale=2", "sr:scale=2"),
    ("denoise-random", "denoise:sigma=0.1"), ("jpeg-random", "jpeg:quality=10"),
    ("compound", "sr:scale=4"), ("compound:scale=2", "sr:scale=2")])
def test_each_randomized_task_is_served_by_the_fixed_task_it_randomizes(task, fixed):
    assert normal_task(task) == fixed


def test_a_fixed_task_has_no_randomized_table():
    with pytest.raises(RAExplorerError, match="not a randomized or compound task"):
        normal_task("sr")


def test_both_groups_run_on_the_randomized_inputs_and_pair_as_stated(random_zoo):
    models = randomized_models("sr-random:scale=4", SYNTH, random_zoo)
    assert {g: {m: c["name"] for m, c in ms.items()} for g, ms in models.items()} == {
        "normal": {"plain": "sr-plain", "ra": "sr-ra"},
        "random": {"plain": "sr-random-plain", "ra": "sr-random-ra"}}
    result = randomized_table("sr-random", SYNTH, folder=random_zoo, limit=12, device="cpu",
                              progress=False)
    # evaluate on the randomized task with the fixed task's processors: the same images and
    # the same degradations, so the same counts
    table, _, _ = measure_task("sr-random", SYNTH, random_zoo, limit=12, device="cpu",
                               progress=False, processors=["sr-plain", "sr-ra"])
    normal = result["groups"]["normal"]
    assert normal["trained_on"] == "sr:scale=4"
    assert result["groups"]["random"]["trained_on"] == "sr-random:scale=4"
    for method, name in (("plain", "sr-plain"), ("ra", "sr-ra")):
        assert normal["rows"][method]["accuracy"]["clf"]["correct"] == int(
            table.correct(name, "clf").sum())
    assert result["bounds"]["clf"][NO_PROCESSING]["correct"] == int(
        table.correct(NO_PROCESSING, "clf").sum())
    assert result["bounds"]["clf"][CLEAN]["correct"] == int(table.correct(CLEAN, "clf").sum())
    rows = result["groups"]["random"]["rows"]
    d = rows["ra"]["ra_minus_plain"]["clf"]
    assert d["diff"] == pytest.approx((rows["ra"]["accuracy"]["clf"]["correct"]
                                       - rows["plain"]["accuracy"]["clf"]["correct"]) / 12)
    for method in ("plain", "ra"):
        across = result["random_minus_normal"][method]["clf"]
        assert across["diff"] == pytest.approx(
            (rows[method]["accuracy"]["clf"]["correct"]
             - normal["rows"][method]["accuracy"]["clf"]["correct"]) / 12)
        assert across["ci95"][0] <= across["diff"] <= across["ci95"][1]
    assert set(result["provenance"]["checkpoints"]) == {"clf", "sr-plain", "sr-ra",
                                                        "sr-random-plain", "sr-random-ra"}


def test_the_table_is_written_with_its_provenance(random_zoo, tmp_path):
    result = randomized_table("sr-random", SYNTH, folder=random_zoo, limit=8, device="cpu",
                              progress=False)
    paths = save_randomized(result, tmp_path)
    assert {p.name for p in paths} >= {"randomized_sr-random_scale4.json",
                                       "randomized_sr-random_scale4.md"}
    saved = json.loads((tmp_path / "randomized_sr-random_scale4.json").read_text())
    assert saved["provenance"]["n_images"] == 8 and saved["kind"] == "randomized"
    text = format_randomized(result)
    assert "| normal (sr:scale=4) | ra | sr-ra |" in text
    assert "| random (sr-random:scale=4) | plain | sr-random-plain |" in text
    assert "## Random - normal, same method" in text


def test_on_an_rgb_image_folder_the_table_is_of_its_test_images(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=10, side=28)
    dataset = f"imagefolder:{tmp_path / 'imgs'}"
    folder = _random_zoo(tmp_path / "zoo", dataset, task="compound")
    result = randomized_table("compound", dataset, folder=folder, device="cpu", progress=False)
    table, _, _ = measure_task("compound", dataset, folder, device="cpu", progress=False,
                               processors=["sr-plain"])
    assert result["n_images"] == len(table) > 0
    assert result["groups"]["normal"]["rows"]["plain"]["accuracy"]["clf"]["correct"] == int(
        table.correct("sr-plain", "clf").sum())
    assert result["groups"]["random"]["rows"]["ra"]["name"] == "compound-ra"


def test_missing_randomized_processors_are_one_sentence_and_nothing_is_written(
        random_zoo, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(random_zoo, out)
    code, err = run_main(["randomized", "--task", "jpeg-random", "--dataset", SYNTH,
                          "--checkpoints", random_zoo, "--out", out, "--no-progress"], capsys)
    assert_one_sentence(code, err, "No plain or ra processor trained on jpeg:quality=10")
    assert snapshot(random_zoo, out) == before
