"""The recognizer side across training seeds: the claims per seed on a hand-made table, and
the whole measurement on a tiny zoo with a replicate in recognizers/seeds/."""

import json
import os
import shutil
from pathlib import Path

import pytest

from analysis.analyses.recognizer_seeds import (
    across_seeds,
    format_recognizer_seeds,
    measure_recognizer_seeds,
    seed_groups,
)
from analysis.analyses.recognizer_side import measure_recognizers
from analysis.cli.main import main
from analysis.errors import RAExplorerError
from analysis.training.recognizer_side import train_recognizer
from tests.conftest import SYNTH, TINY_CLASSIFIER

DEGS = ("sr", "compound")


def _row(clf, kind, mce, sr):
    return {"classifier": clf, "input": kind, "mce": mce,
            "cells": {"sr": {"accuracy": sr}, **({"clean": {"accuracy": 0.9}}
                                                 if kind == "none" else {})}}


def test_the_claims_per_seed_on_a_hand_made_table():
    rows = [_row("van", "none", 1.0, 0.4), _row("van", "ra", 0.46, 0.7),
            _row("aug", "none", 0.4, 0.76), _row("aug-seed1", "none", 0.6, 0.64),
            _row("qn", "none", 0.45, 0.73), _row("qn-seed1", "none", 0.48, 0.71)]
    table = {"rows": rows, "vanilla": "van", "degradations": ["sr"], "mce_columns": ["sr"]}
    groups = {"van": {0: "van"}, "aug": {0: "aug", 1: "aug-seed1"}, "qn": {0: "qn", 1: "qn-seed1"}}
    out = across_seeds(table, groups)
    aug = next(r for r in out["rows"] if r["classifier"] == "aug" and r["input"] == "none")
    assert aug["seeds"] == [0, 1] and aug["mce"]["mean"] == pytest.approx(0.5)
    assert aug["mce"]["sd"] == pytest.approx(0.1414213562)          # ddof=1 of 0.4, 0.6
    assert aug["cells"]["sr"]["values"] == [0.76, 0.64]
    against = {d["classifier"]: d for d in out["against_ra"]}
    assert against["aug"]["values"] == pytest.approx([-0.06, 0.14]) and against["aug"]["lower"] == 1
    assert against["qn"]["values"] == pytest.approx([-0.01, 0.02]) and against["qn"]["lower"] == 1
    (pair,) = out["pairs"]
    assert (pair["a"], pair["b"]) == ("aug", "qn")
    assert pair["values"] == pytest.approx([-0.05, 0.12]) and pair["a_lower"] == 1
    compared = ["van", "aug", "qn"]
    assert out["best"] == {"0": {"classifier": "aug", "input": "none", "mce": 0.4,
                                 "compared": compared},   # vanilla + RA wins seed 1
                           "1": {"classifier": "van", "input": "ra", "mce": 0.46,
                                 "compared": compared}}
    van = next(r for r in out["rows"] if r["classifier"] == "van" and r["input"] == "ra")
    assert van["seeds"] == [0] and van["mce"]["sd"] is None     # one checkpoint: no spread


def test_without_an_mce_the_rows_stand_and_the_claims_are_empty():
    rows = [_row("van", "none", None, 0.4), _row("aug", "none", None, 0.7),
            _row("aug-seed1", "none", None, 0.6)]
    table = {"rows": rows, "vanilla": "van", "degradations": ["sr"], "mce_columns": []}
    out = across_seeds(table, {"van": {0: "van"}, "aug": {0: "aug", 1: "aug-seed1"}})
    assert (out["against_ra"], out["pairs"], out["best"]) == ([], [], {})
    aug = next(r for r in out["rows"] if r["classifier"] == "aug")
    assert aug["mce"] is None and aug["cells"]["sr"]["values"] == [0.7, 0.6]
    text = format_recognizer_seeds({"dataset": "d", "split": "test", "n_images": 3,
                                    "degradations": ["sr"], "mce_columns": [], "vanilla": "van",
                                    **out})
    assert "| aug | no processing | 0, 1 | — |" in text and "lowest mCE" not in text


def test_two_checkpoints_of_one_seed_are_one_sentence():
    cards = [{"name": "aug", "seed": 1}, {"name": "aug-seed1", "training": {"seed": 1}}]
    with pytest.raises(RAExplorerError, match="Both aug and aug-seed1 .* seed 1"):
        seed_groups(cards)
    assert seed_groups([{"name": "aug-seed2", "seed": 2}, {"name": "aug", "seed": 0}]) == {
        "aug": {0: "aug", 2: "aug-seed2"}}
    assert seed_groups([{"name": "r-seed1", "seed": 1}, {"name": "aug", "seed": 0}],
                       vanilla="r-seed1") == {"r-seed1": {1: "r-seed1"}, "aug": {0: "aug"}}


@pytest.fixture(scope="module")
def zoo(tiny_zoo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rs") / "zoo"
    shutil.copytree(tiny_zoo, folder)
    for seed, out in ((0, "recognizers/aug"), (1, "recognizers/seeds/aug-seed1")):
        train_recognizer("augment", "resnet20", {"degradation": "mix"}, dataset=SYNTH,
                         out=str(folder / out), epochs=1, batch_size=32, seed=seed,
                         arch_kwargs=TINY_CLASSIFIER, max_steps=3, val_limit=20,
                         state_dir=str(folder.parent / f"s{seed}"), progress=False)
    return folder


def test_each_seeds_rows_are_those_of_the_one_seed_table(zoo, tmp_path):
    result = measure_recognizer_seeds(SYNTH, zoo, vanilla="clf-a", degradations=DEGS, limit=30,
                                      records_dir=tmp_path, progress=False)
    assert result["groups"]["aug"] == {"0": "aug", "1": "aug-seed1"}
    assert {p.name for p in tmp_path.iterdir()} == {
        "records_recognizer_seeds_sr_scale4.parquet",
        "records_recognizer_seeds_compound_scale4.parquet"}
    one_seed = measure_recognizers(SYNTH, zoo, vanilla="clf-a", degradations=DEGS, limit=30,
                                   progress=False)   # recognizers/ alone: seed 0
    seed1 = measure_recognizers(SYNTH, zoo, recognizer_folder=zoo / "recognizers" / "seeds",
                                vanilla="clf-a", degradations=DEGS, limit=30, progress=False)
    seed0 = {(r["classifier"], r["input"]): r for r in one_seed["rows"]}
    seed1 = {(r["classifier"], r["input"]): r for r in seed1["rows"]}
    for row in result["rows"]:
        if row["classifier"] == "aug":
            assert row["seeds"] == [0, 1]
            assert row["mce"]["values"] == pytest.approx(
                [seed0[("aug", row["input"])]["mce"], seed1[("aug-seed1", row["input"])]["mce"]])
    assert "| aug | no processing | 0, 1 |" in format_recognizer_seeds(result)


def test_no_replicate_says_how_to_train_them(zoo, tmp_path):
    lone = tmp_path / "zoo"
    shutil.copytree(zoo, lone)
    shutil.rmtree(lone / "recognizers" / "seeds")
    with pytest.raises(RAExplorerError, match="second training seed.*build-zoo"):
        measure_recognizer_seeds(SYNTH, lone, vanilla="clf-a", degradations=DEGS, limit=10,
                                 progress=False)


def test_cli_across_seeds_writes_its_table_to_runs(zoo, capsys):
    code = main(["recognizer-side", "--across-seeds", "--dataset", SYNTH, "--checkpoints",
                 str(zoo), "--classifier", "clf-a", "--tasks", "sr", "--first", "20",
                 "--no-progress", "--json"])
    assert code == 0
    out = capsys.readouterr()
    folder = Path(out.err.split("writing to ")[1].split(";")[0])
    assert str(folder).startswith(os.environ["RA_RUNS"])
    assert {p.name for p in folder.iterdir()} >= {"recognizer_seeds.json", "recognizer_seeds.md",
                                                 "records_recognizer_seeds_sr_scale4.parquet"}
    assert json.loads(out.out)["kind"] == "recognizer_seeds"
