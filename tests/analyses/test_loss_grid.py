"""The loss-grid report (Uelwer et al. Table 2 and Figure 1 analogs) on a tiny zoo."""

import json

import numpy as np
import pytest
import torch

from analysis.analyses.loss_grid import error_matrix, format_loss_grid, loss_grid_report
from analysis.data.datasets import load_dataset
from analysis.data.tasks import create_task
from analysis.errors import RAExplorerError
from analysis.pipeline.runner import stream
from analysis.training.processors import train_processor
from analysis.zoo.checkpoints import load_checkpoint
from tests.conftest import SYNTH, TINY_PROCESSOR

METRICS = ["psnr", "ssim", "lpips-clf-a", "rlpips-clf-robust"]


@pytest.fixture(scope="module")
def grid(tiny_zoo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    state = tmp_path_factory.mktemp("gridstate")
    common = dict(dataset=SYNTH, epochs=1, batch_size=16, max_steps=2, val_limit=20,
                  arch_kwargs=TINY_PROCESSOR, state_dir=str(state), progress=False,
                  layers=["block1", "block3"],
                  perceptual={"layer_weights": [0.2, 0.02], "feature_norm": "channel-mean"})
    train_processor("sr", "perceptual", out=str(folder / "sr-ep-b"),
                    recognizer=str(tiny_zoo / "clf-b"), lam=1.0, losses="EP", **common)
    train_processor("sr", "perceptual", out=str(folder / "sr-p-b"),
                    recognizer=str(tiny_zoo / "clf-b"), lam=1.0, losses="P", **common)
    return folder


def report(tiny_zoo, grid, **kw):
    return loss_grid_report("sr", dataset=SYNTH, folder=tiny_zoo, grid_folder=grid,
                            metrics=METRICS, evaluators=("clf-a", "clf-robust"),
                            quality_limit=30, batch_size=32, progress=False, **kw)


@pytest.fixture(scope="module")
def full(tiny_zoo, grid):
    """The report on the whole split, read by several tests (one run)."""
    return report(tiny_zoo, grid)


def test_rows_are_e_then_the_grid_in_table_order(full):
    result = full
    assert [r["label"] for r in result["quality_rows"]] == [
        "no processing", "E", "EP (standard)", "P (standard)"]
    assert [r["name"] for r in result["error_rows"]] == [
        "clean", "no processing", "sr-plain", "sr-ep-b", "sr-p-b"]
    assert result["n_images"] == len(load_dataset(SYNTH, "test")) and result["quality_images"] == 30
    assert {m["name"] for m in result["metrics"]} == set(METRICS)
    assert set(result["provenance"]["checkpoints"]) == {"clf-a", "clf-robust", "sr-plain",
                                                        "sr-ep-b", "sr-p-b"}
    assert result["settings"]["sr-ep-b"]["layer_weights"] == [0.2, 0.02]


def test_errors_match_a_direct_count(tiny_zoo, grid):
    result = report(tiny_zoo, grid, limit=35)
    proc, _ = load_checkpoint(grid / "sr-ep-b")
    clf, _ = load_checkpoint(tiny_zoo / "clf-robust")
    test = load_dataset(SYNTH, "test")
    wrong = total = 0
    with torch.no_grad():
        for batch in stream(create_task("sr"), {"p": proc}, test, "cpu", 32, 35,
                            include_clean=False):
            pred = clf(batch.views["p"].machine).argmax(1)
            wrong += int((pred != batch.labels).sum())
            total += len(pred)
    row = next(r for r in result["error_rows"] if r["name"] == "sr-ep-b")
    cell = row["error"]["clf-robust"]
    assert cell["error"] == pytest.approx(wrong / total)
    assert cell["ci95"][0] <= cell["error"] <= cell["ci95"][1]


def test_rank_correlation_is_that_of_the_error_columns(full):
    from scipy.stats import spearmanr

    result = full
    labels, errors = error_matrix(result)
    assert labels == ["E", "EP (standard)", "P (standard)"]
    rho = spearmanr(errors[:, 0], errors[:, 1]).statistic
    got = result["rank_correlation"]["spearman_rho"]
    assert (np.isnan(rho) and got is None) or got == pytest.approx(rho)
    text = format_loss_grid(result)
    assert "Spearman rho" in text and "| EP (standard) | sr-ep-b |" in text


def test_a_standard_network_as_robust_evaluator_is_refused(tiny_zoo, grid):
    with pytest.raises(RAExplorerError, match="not trained adversarially"):
        loss_grid_report("sr", dataset=SYNTH, folder=tiny_zoo, grid_folder=grid,
                         metrics=["psnr"], evaluators=("clf-a", "clf-b"), progress=False)


def test_an_empty_grid_folder_says_how_to_train_it(tiny_zoo, tmp_path):
    with pytest.raises(RAExplorerError, match="build-zoo"):
        loss_grid_report("sr", dataset=SYNTH, folder=tiny_zoo, grid_folder=tmp_path,
                         metrics=["psnr"], evaluators=("clf-a", "clf-robust"), progress=False)


def test_cli_limited_run_goes_to_runs(tiny_zoo, grid, capsys):
    from analysis.cli.main import main

    code = main(["loss-grid", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--grid-folder", str(grid), "--metrics", "psnr,ssim",
                 "--classifiers", "clf-a,clf-robust", "--first", "30", "--quality-first", "20",
                 "--no-progress", "--json"])
    assert code == 0
    out = capsys.readouterr()
    assert "Not the full protocol" in out.err
    result = json.loads(out.out)
    assert result["n_images"] == 30


@pytest.fixture(scope="module")
def zoo_with_grid(tiny_zoo, grid, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("zoo-with-grid") / "zoo"
    shutil.copytree(tiny_zoo, folder)
    shutil.copytree(grid, folder / "loss-grid")
    return folder


def test_the_collection_is_listed_by_zoo_and_shown_on_request(zoo_with_grid, capsys):
    from analysis.cli.main import main
    from analysis.explore.workspace import Workspace

    assert main(["list", "checkpoints", "--checkpoints", str(zoo_with_grid), "--json"]) == 0
    cards = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert cards["sr-ep-b"]["collection"] == "loss-grid"
    assert cards["sr-ep-b"]["training"]["layer_weights"] == [0.2, 0.02]
    assert cards["sr-plain"]["collection"] is None
    plain = Workspace("sr", SYNTH, zoo_with_grid)
    assert "sr-ep-b" not in plain.processors
    with_grid = Workspace("sr", SYNTH, zoo_with_grid, collections=("loss-grid",))
    assert {"sr-ep-b", "sr-p-b", "sr-plain"} <= set(with_grid.processors)
    panels = with_grid.panels(0, "clf-a", processors=["sr-ep-b"])
    assert "sr-ep-b" in [p.name for p in panels]


def test_the_examples_figure_can_show_grid_models(zoo_with_grid):
    from analysis.reporting.paper import FigureOptions, build_figure

    fig = build_figure("examples", FigureOptions(
        checkpoints=zoo_with_grid, dataset=SYNTH, indices=[0, 1], classifier="clf-a",
        processors=["sr-plain", "sr-ep-b"]))
    assert {r["input"] for r in fig.rows} >= {"sr-plain", "sr-ep-b"}


def test_the_error_ranking_figure_plots_both_evaluators(tiny_zoo, full, tmp_path):
    from analysis.analyses.loss_grid import save_loss_grid
    from analysis.reporting.paper import FigureOptions, build_figure

    save_loss_grid(full, tmp_path)
    fig = build_figure("error-ranking", FigureOptions(results=tmp_path, dataset="synthetic:n=200",
                                                      checkpoints=tiny_zoo))
    assert {r["evaluator"] for r in fig.rows} == {"clf-a", "clf-robust"}
    assert {r["model"] for r in fig.rows} == {"sr-plain", "sr-ep-b", "sr-p-b"}


def test_locate_finds_a_loss_network_around_or_inside_a_collection(zoo_with_grid):
    from analysis.zoo.catalogue import locate

    assert locate("clf-b", zoo_with_grid / "loss-grid") == zoo_with_grid / "clf-b"
    assert locate("sr-ep-b", zoo_with_grid) == zoo_with_grid / "loss-grid" / "sr-ep-b"
    assert locate("nothing", zoo_with_grid) == zoo_with_grid / "nothing"
