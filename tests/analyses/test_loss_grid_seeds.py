"""The loss grid across training seeds (Uelwer et al. Figure 1 per seed) on a tiny zoo."""

import shutil

import numpy as np
import pytest
from scipy.stats import spearmanr

from analysis.analyses.loss_grid import loss_grid_report
from analysis.analyses.loss_grid_seeds import (
    format_loss_grid_seeds,
    loss_grid_seed_report,
    seed_grids,
)
from analysis.cli.main import main as cli_main
from analysis.errors import RAExplorerError
from analysis.training.processors import train_processor
from tests.conftest import SYNTH, TINY_PROCESSOR

EVALUATORS = ("clf-a", "clf-robust")


@pytest.fixture(scope="module")
def zoo(tiny_zoo, tmp_path_factory):
    """The tiny zoo with a two-row grid (EP, P on clf-b's features) in loss-grid/, its seed-1
    copies in loss-grid/seeds/ and E's seed-1 copy in seeds/."""
    folder = tmp_path_factory.mktemp("seedzoo") / "zoo"
    shutil.copytree(tiny_zoo, folder)
    state = tmp_path_factory.mktemp("seedstate")
    common = dict(dataset=SYNTH, epochs=1, batch_size=16, max_steps=2, val_limit=20,
                  arch_kwargs=TINY_PROCESSOR, state_dir=str(state), progress=False)
    grid = dict(recognizer=str(folder / "clf-b"), lam=1.0, layers=["block1", "block3"],
                perceptual={"layer_weights": [0.2, 0.02], "feature_norm": "channel-mean"})
    for seed, where, suffix in ((0, folder / "loss-grid", ""),
                                (1, folder / "loss-grid" / "seeds", "-seed1")):
        for losses in ("EP", "P"):
            train_processor("sr", "perceptual", out=str(where / f"sr-{losses.lower()}{suffix}"),
                            losses=losses, seed=seed, **grid, **common)
    train_processor("sr", "plain", out=str(folder / "seeds" / "sr-plain-seed1"), seed=1,
                    **common)
    return folder


def test_each_seed_has_e_then_the_grid_in_the_same_order(zoo):
    grids = seed_grids("sr:scale=4", SYNTH, zoo)
    assert {s: [c["name"] for c in cards] for s, cards in grids.items()} == {
        0: ["sr-plain", "sr-ep", "sr-p"], 1: ["sr-plain-seed1", "sr-ep-seed1", "sr-p-seed1"]}


def test_per_seed_errors_are_the_loss_grids_and_the_spread_is_theirs(zoo):
    result = loss_grid_seed_report("sr", dataset=SYNTH, folder=zoo, evaluators=EVALUATORS,
                                   batch_size=32, progress=False)
    single = loss_grid_report("sr", dataset=SYNTH, folder=zoo, metrics=["psnr"],
                              evaluators=EVALUATORS, batch_size=32, progress=False)
    by_name = {r["name"]: r for r in single["error_rows"]}
    rows0 = result["per_seed"]["0"]["rows"]
    assert [r["label"] for r in rows0] == ["E", "EP (standard)", "P (standard)"]
    for row in rows0:                                    # seed 0 is the loss-grid table's
        assert row["error"] == by_name[row["name"]]["error"]
    assert result["per_seed"]["0"]["rank_correlation"] == single["rank_correlation"]
    rows1 = result["per_seed"]["1"]["rows"]
    ep = result["summary"]["rows"][1]
    values = [rows0[1]["error"]["clf-robust"]["error"], rows1[1]["error"]["clf-robust"]["error"]]
    assert ep["error"]["clf-robust"]["values"] == values
    assert ep["error"]["clf-robust"]["sd"] == pytest.approx(np.std(values, ddof=1))
    assert ep["names"] == ["sr-ep", "sr-ep-seed1"]
    between = spearmanr([r["error"]["clf-a"]["error"] for r in rows0],
                        [r["error"]["clf-a"]["error"] for r in rows1]).statistic
    got = result["summary"]["between_seeds"]["clf-a"]["pairs"]["0-1"]
    assert got == (None if np.isnan(between) else pytest.approx(between))
    assert set(result["provenance"]["checkpoints"]) >= {"sr-plain-seed1", "sr-p-seed1", "clf-a"}
    text = format_loss_grid_seeds(result)
    assert "| EP (standard) |" in text and "per training seed: seed 0" in text


def test_a_seed_missing_a_row_or_no_other_seed_is_one_sentence(zoo, tmp_path):
    folder = tmp_path / "zoo"
    shutil.copytree(zoo, folder)
    for ext in ("json", "safetensors"):
        (folder / "loss-grid" / "seeds" / f"sr-p-seed1.{ext}").unlink()
    with pytest.raises(RAExplorerError, match=r"seed 1 of the sr:scale=4 loss grid lacks "
                                              r"P \(standard\)"):
        seed_grids("sr:scale=4", SYNTH, folder)
    shutil.rmtree(folder / "loss-grid" / "seeds")
    with pytest.raises(RAExplorerError, match="holds no other training seed"):
        seed_grids("sr:scale=4", SYNTH, folder)


def test_cli_across_seeds_and_its_figure(zoo, tmp_path, capsys):
    from analysis.reporting.paper import FigureOptions, build_figure
    from analysis.reporting.paper.shipped import planned

    args = ["loss-grid", "--across-seeds", "--dataset", SYNTH, "--checkpoints", str(zoo),
            "--classifiers", "clf-a,clf-robust", "--no-progress", "--out", str(tmp_path)]
    assert cli_main(args + ["--metrics", "psnr"]) != 0
    assert "drop --metrics" in capsys.readouterr().err
    assert cli_main(args) == 0
    assert (tmp_path / "loss_grid_seeds_sr_scale4.md").read_text().startswith(
        "# Loss grid across training seeds")
    assert ("error-ranking-seeds", {"task": "sr:scale=4"}) in planned(tmp_path, zoo)
    assert not [k for k, _ in planned(tmp_path, zoo) if k == "error-ranking"]
    fig = build_figure("error-ranking-seeds", FigureOptions(results=tmp_path, dataset=SYNTH,
                                                            checkpoints=zoo))
    means = [r for r in fig.rows if r["seed"] == "mean"]
    assert len(means) == 2 * 3 and len(fig.rows) == 2 * 3 * 3     # 3 rows x 2 evaluators
    assert {r["seed"] for r in fig.rows} == {0, 1, "mean"}
    assert "Spearman rho per seed" in fig.title
