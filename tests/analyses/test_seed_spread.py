import json

import numpy as np
import pytest

from analysis.analyses.evaluate import measure_task
from analysis.analyses.seed_spread import (
    format_seed_spread,
    save_seed_spread,
    seed_models,
    seed_spread,
    summarise,
)
from analysis.errors import RAExplorerError
from analysis.training.classifiers import train_classifier
from analysis.training.processors import train_processor
from tests.bad_input import assert_one_sentence, run_main
from tests.conftest import TINY_CLASSIFIER, TINY_PROCESSOR
from tests.data.test_categories import write_class_folders

SYNTH = "synthetic:n=120"


def _seed_zoo(folder, dataset, seeds=(1, 2)):
    """A tiny zoo (a classifier, plain and RA SR processors, seed 0) and its replicates of
    ``seeds`` in ``seeds/``."""
    common = {"dataset": dataset, "epochs": 1, "batch_size": 16, "val_limit": 8,
              "state_dir": str(folder / "state"), "progress": False, "device": "cpu",
              "arch_kwargs": TINY_PROCESSOR, "max_steps": 2}
    clf = str(folder / "clf")
    train_classifier("resnet20", out=clf, arch_kwargs=TINY_CLASSIFIER, max_steps=3,
                     **{k: v for k, v in common.items() if k not in ("arch_kwargs", "max_steps")})
    for seed in (0, *seeds):
        where, tail = (folder, "") if seed == 0 else (folder / "seeds", f"-seed{seed}")
        train_processor("sr", "plain", out=str(where / f"sr-plain{tail}"), seed=seed, **common)
        train_processor("sr", "ra", out=str(where / f"sr-ra{tail}"), recognizer=clf, lam=0.5,
                        seed=seed, **common)
    return folder


@pytest.fixture(scope="module")
def seed_zoo(tmp_path_factory):
    return _seed_zoo(tmp_path_factory.mktemp("seedzoo"), SYNTH)


def test_models_are_grouped_by_the_seed_their_cards_record(seed_zoo):
    models = seed_models("sr:scale=4", SYNTH, seed_zoo)
    assert list(models) == [0, 1, 2]
    assert {m: c["name"] for m, c in models[2].items()} == {"plain": "sr-plain-seed2",
                                                           "ra": "sr-ra-seed2"}
    assert models[0]["ra"]["name"] == "sr-ra"


def test_each_seed_is_paired_with_its_own_plain_and_the_summary_is_over_seeds(seed_zoo):
    result = seed_spread("sr", SYNTH, folder=seed_zoo, limit=12, device="cpu", progress=False)
    names = ["sr-plain", "sr-ra", "sr-plain-seed1", "sr-ra-seed1", "sr-plain-seed2",
             "sr-ra-seed2"]
    table, _, _ = measure_task("sr", SYNTH, seed_zoo, limit=12, device="cpu", progress=False,
                               processors=["sr-plain", "sr-ra"])
    zero = result["per_seed"]["0"]["ra"]["ra_minus_plain"]["clf"]
    assert zero["diff"] == pytest.approx((int(table.correct("sr-ra", "clf").sum())
                                          - int(table.correct("sr-plain", "clf").sum())) / 12)
    diffs = [result["per_seed"][s]["ra"]["ra_minus_plain"]["clf"]["diff"] for s in "012"]
    summary = result["summary"]["ra"]["ra_minus_plain"]["clf"]
    assert summary["mean"] == pytest.approx(np.mean(diffs))
    assert summary["sd"] == pytest.approx(np.std(diffs, ddof=1))
    assert summary["values"] == pytest.approx(diffs)
    assert result["summary"]["plain"]["seeds"] == [0, 1, 2]
    assert set(result["provenance"]["checkpoints"]) == {"clf", *names}


def test_the_counts_of_seeds_above_and_below_zero_follow_the_cis():
    def row(diff, low, high):
        return {"accuracy": {"c": {"accuracy": 0.5}}, "psnr": {"mean": 20.0},
                "ssim": {"mean": 0.5}, "ra_minus_plain": {"c": {"diff": diff,
                                                                "ci95": [low, high]}}}
    plain = {"accuracy": {"c": {"accuracy": 0.4}}, "psnr": {"mean": 21.0}, "ssim": {"mean": 0.6}}
    per_seed = {0: {"plain": plain, "ra": row(0.03, 0.01, 0.05)},
                1: {"plain": plain, "ra": row(0.01, -0.01, 0.03)},
                2: {"plain": plain, "ra": row(-0.03, -0.05, -0.01)}}
    ra = summarise(per_seed, ["c"])["ra"]["ra_minus_plain"]["c"]
    assert (ra["above"], ra["below"]) == (1, 1) and ra["mean"] == pytest.approx(1 / 300)


def test_the_table_is_written_and_reads_plainly(seed_zoo, tmp_path):
    result = seed_spread("sr", SYNTH, folder=seed_zoo, limit=8, device="cpu", progress=False)
    paths = save_seed_spread(result, tmp_path)
    assert {p.name for p in paths} >= {"seeds_sr_scale4.json", "seeds_sr_scale4.md"}
    saved = json.loads((tmp_path / "seeds_sr_scale4.json").read_text())
    assert list(saved["per_seed"]) == ["0", "1", "2"] and saved["provenance"]["n_images"] == 8
    text = format_seed_spread(result)
    assert "training seeds 0, 1, 2" in text and "| ra | 3 |" in text
    assert text.count("| seed ") == 3


def test_the_figure_draws_each_seeds_difference_and_the_mean(seed_zoo, tmp_path):
    from analysis.reporting.paper import FigureOptions, build_figure, save_figure

    result = seed_spread("sr", SYNTH, folder=seed_zoo, limit=8, device="cpu", progress=False)
    folder = tmp_path / "results"
    save_seed_spread(result, folder)
    fig = build_figure("seeds", FigureOptions(task="sr", results=folder, checkpoints=seed_zoo,
                                              dataset=SYNTH))
    assert [(r["method"], r["seed"]) for r in fig.rows] == [("ra", 0), ("ra", 1), ("ra", 2)]
    for row in fig.rows:
        d = result["per_seed"][str(row["seed"])]["ra"]["ra_minus_plain"]["clf"]
        assert row["ra_minus_plain_points"] == pytest.approx(100 * d["diff"])
        assert row["ci95_low_points"] == pytest.approx(100 * d["ci95"][0])
    written = save_figure(fig, tmp_path / "fig", ["png"], 50)
    assert {p.suffix for p in written} == {".png", ".csv"}


def test_on_an_image_folder_the_seeds_are_run_on_its_test_images(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=10, side=28)
    dataset = f"imagefolder:{tmp_path / 'imgs'}:channels=1"
    folder = _seed_zoo(tmp_path / "zoo", dataset, seeds=(1,))
    result = seed_spread("sr", dataset, folder=folder, device="cpu", progress=False)
    table, _, _ = measure_task("sr", dataset, folder, device="cpu", progress=False,
                               processors=["sr-plain"])
    assert result["n_images"] == len(table) > 0
    assert list(result["per_seed"]) == ["0", "1"]


def test_a_folder_without_replicates_is_one_sentence(tmp_path, capsys):
    code, err = run_main(["seeds", "--dataset", SYNTH, "--checkpoints", tmp_path,
                          "--no-progress"], capsys)
    assert_one_sentence(code, err, "no folder")
    (tmp_path / "seeds").mkdir()
    with pytest.raises(RAExplorerError, match="hold no processor .* needs two seeds or more"):
        seed_models("sr:scale=4", SYNTH, tmp_path)
