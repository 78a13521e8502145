import json

import pytest

from analysis.analyses.architecture_transfer import (
    architecture_models,
    architecture_transfer,
    format_architecture_transfer,
    save_architecture_transfer,
)
from analysis.analyses.evaluate import measure_task
from analysis.errors import RAExplorerError
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from analysis.reporting.paper import FigureOptions, build_figure, save_figure
from analysis.training.classifiers import train_classifier
from analysis.training.processors import train_processor
from tests.bad_input import assert_one_sentence, run_main, snapshot
from tests.conftest import TINY_CLASSIFIER, TINY_PROCESSOR, TINY_TRANSFORMER
from tests.data.test_categories import write_class_folders

SYNTH = "synthetic:n=120"
TINY_RDN = {"channels": 8, "blocks": 1, "layers": 2, "growth": 4}


def _arch_zoo(folder, dataset, other_methods=("plain", "ra", "ra-transformer")):
    """A tiny zoo: a classifier, plain and RA SRResNets, and in ``architectures/`` an RDN
    trained with each of ``other_methods`` through the same classifier."""
    common = {"dataset": dataset, "epochs": 1, "batch_size": 16, "val_limit": 8,
              "state_dir": str(folder / "state"), "progress": False, "device": "cpu"}
    clf = str(folder / "clf")
    train_classifier("resnet20", out=clf, arch_kwargs=TINY_CLASSIFIER, max_steps=3, **common)
    train_processor("sr", "plain", out=str(folder / "sr-plain"), arch_kwargs=TINY_PROCESSOR,
                    max_steps=2, **common)
    train_processor("sr", "ra", out=str(folder / "sr-ra"), recognizer=clf, lam=0.5,
                    arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
    lams = {"plain": 0.0, "ra": 0.5, "ra-unsup": 0.5, "ra-transformer": 1.0}
    for method in other_methods:
        train_processor("sr", method, out=str(folder / "architectures" / f"sr-{method}-rdn"),
                        arch="rdn", arch_kwargs=TINY_RDN, lam=lams[method],
                        recognizer=None if method == "plain" else clf,
                        transformer_kwargs=TINY_TRANSFORMER, max_steps=2, **common)
    return folder


@pytest.fixture(scope="module")
def arch_zoo(tmp_path_factory):
    return _arch_zoo(tmp_path_factory.mktemp("archzoo"), SYNTH)


def test_models_group_the_zoos_and_the_collections_processors_by_architecture(arch_zoo):
    models = architecture_models("sr:scale=4", SYNTH, arch_zoo)
    assert list(models) == ["srresnet", "rdn"]
    assert {m: c["name"] for m, c in models["srresnet"].items()} == {"plain": "sr-plain",
                                                                     "ra": "sr-ra"}
    assert {m: c["name"] for m, c in models["rdn"].items()} == {
        "plain": "sr-plain-rdn", "ra": "sr-ra-rdn", "ra-transformer": "sr-ra-transformer-rdn"}


def test_each_difference_pairs_a_processor_with_its_own_architectures_plain_one(arch_zoo):
    result = architecture_transfer("sr", SYNTH, folder=arch_zoo, limit=12, device="cpu",
                                   progress=False)
    procs = ["sr-plain", "sr-ra", "sr-plain-rdn", "sr-ra-rdn", "sr-ra-transformer-rdn"]
    table, _, _ = measure_task("sr", SYNTH, arch_zoo, limit=12, device="cpu", progress=False,
                               processors=["sr-plain", "sr-ra"])
    assert result["classifiers"] == ["clf"] and result["source"] == "clf"
    assert result["n_images"] == 12
    # the zoo's rows agree with evaluate's record table of the same images
    zoo = result["architectures"]["srresnet"]["rows"]
    assert zoo["ra"]["accuracy"]["clf"]["correct"] == int(table.correct("sr-ra", "clf").sum())
    diff = zoo["ra"]["ra_minus_plain"]["clf"]["diff"]
    assert diff == pytest.approx((int(table.correct("sr-ra", "clf").sum())
                                  - int(table.correct("sr-plain", "clf").sum())) / 12)
    assert result["bounds"]["clf"][CLEAN]["correct"] == int(table.correct(CLEAN, "clf").sum())
    assert result["bounds"]["clf"][NO_PROCESSING]["correct"] == int(
        table.correct(NO_PROCESSING, "clf").sum())
    rdn = result["architectures"]["rdn"]["rows"]
    assert "ra_minus_plain" not in rdn["plain"]
    for method in ("ra", "ra-transformer"):
        d = rdn[method]["ra_minus_plain"]["clf"]
        expected = (rdn[method]["accuracy"]["clf"]["correct"]
                    - rdn["plain"]["accuracy"]["clf"]["correct"]) / 12
        assert d["diff"] == pytest.approx(expected)
        assert d["ci95"][0] <= d["diff"] <= d["ci95"][1]
    assert set(result["provenance"]["checkpoints"]) == {"clf", *procs}
    assert result["architectures"]["rdn"]["parameters"] > 0


def test_the_table_is_written_with_its_provenance_and_reads_plainly(arch_zoo, tmp_path):
    result = architecture_transfer("sr", SYNTH, folder=arch_zoo, limit=8, device="cpu",
                                   progress=False)
    paths = save_architecture_transfer(result, tmp_path)
    assert {p.name for p in paths} >= {"architecture_transfer_sr_scale4.json",
                                       "architecture_transfer_sr_scale4.md"}
    saved = json.loads((tmp_path / "architecture_transfer_sr_scale4.json").read_text())
    assert saved["provenance"]["n_images"] == 8
    text = format_architecture_transfer(result)
    assert text.count("| rdn (") == 3 and text.count("| srresnet (") == 2
    assert "On the source classifier (clf)" in text


def test_the_figure_draws_each_architectures_methods_with_their_differences(arch_zoo, tmp_path):
    result = architecture_transfer("sr", SYNTH, folder=arch_zoo, limit=8, device="cpu",
                                   progress=False)
    folder = tmp_path / "results"
    save_architecture_transfer(result, folder)
    fig = build_figure("architecture-transfer", FigureOptions(task="sr", results=folder,
                                                              checkpoints=arch_zoo,
                                                              dataset=SYNTH))
    assert [(r["architecture"], r["method"]) for r in fig.rows] == [
        ("srresnet", "plain"), ("rdn", "plain"), ("srresnet", "ra"), ("rdn", "ra"),
        ("rdn", "ra-transformer")]
    drawn = fig.rows[3]
    row = result["architectures"]["rdn"]["rows"]["ra"]
    assert drawn["accuracy_pct"] == pytest.approx(100 * row["accuracy"]["clf"]["accuracy"])
    assert drawn["ra_minus_plain_points"] == pytest.approx(
        100 * row["ra_minus_plain"]["clf"]["diff"])
    assert "ra_minus_plain_points" not in fig.rows[0]
    written = save_figure(fig, tmp_path / "fig", ["png"], 50)
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".csv" for p in written)


def test_on_an_image_folder_the_table_is_of_its_test_images(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=10, side=28)
    dataset = f"imagefolder:{tmp_path / 'imgs'}:channels=1"
    folder = _arch_zoo(tmp_path / "zoo", dataset, other_methods=("plain", "ra"))
    result = architecture_transfer("sr", dataset, folder=folder, device="cpu", progress=False)
    table, _, _ = measure_task("sr", dataset, folder, device="cpu", progress=False,
                               processors=["sr-plain"])
    assert result["n_images"] == len(table) > 0
    assert result["bounds"]["clf"][CLEAN]["correct"] == int(table.correct(CLEAN, "clf").sum())
    assert list(result["architectures"]) == ["srresnet", "rdn"]


def test_a_second_processor_of_one_method_is_one_sentence_and_nothing_is_written(
        arch_zoo, tmp_path, capsys):
    folder = tmp_path / "zoo"
    (folder / "architectures").mkdir(parents=True)
    for p in arch_zoo.iterdir():
        if p.is_file():
            (folder / p.name).write_bytes(p.read_bytes())
    for p in (arch_zoo / "architectures").iterdir():
        (folder / "architectures" / p.name).write_bytes(p.read_bytes())
    card = json.loads((folder / "architectures" / "sr-ra-rdn.json").read_text())
    card["name"] = "sr-ra-rdn-again"
    (folder / "architectures" / "sr-ra-rdn-again.json").write_text(json.dumps(card))
    (folder / "architectures" / "sr-ra-rdn-again.safetensors").write_bytes(
        (folder / "architectures" / "sr-ra-rdn.safetensors").read_bytes())
    with pytest.raises(RAExplorerError, match="one per method"):
        architecture_models("sr:scale=4", SYNTH, folder)
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(folder, out)
    code, err = run_main(["architecture-transfer", "--dataset", SYNTH, "--checkpoints", folder,
                          "--out", out, "--no-progress"], capsys)
    assert_one_sentence(code, err, "are ra sr:scale=4 processors of architecture rdn")
    assert snapshot(folder, out) == before


def test_a_folder_without_the_collection_is_one_sentence(tmp_path, capsys):
    code, err = run_main(["architecture-transfer", "--dataset", SYNTH, "--checkpoints", tmp_path,
                          "--no-progress"], capsys)
    assert_one_sentence(code, err, "no folder")
