import json

import pytest

from analysis.analyses.category_transfer import (
    category_models,
    category_transfer,
    format_category_transfer,
    half_dataset,
    save_category_transfer,
)
from analysis.data.datasets import load_dataset
from analysis.errors import RAExplorerError
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from analysis.pipeline.setting import Setting
from analysis.training.classifiers import train_classifier
from analysis.training.processors import train_processor
from tests.bad_input import assert_one_sentence, run_main, snapshot
from tests.conftest import TINY_CLASSIFIER, TINY_PROCESSOR
from tests.data.test_categories import write_class_folders

SYNTH = "synthetic:n=120"


def _split_models(folder, base, halves=("a", "b"), ra=True):
    """Tiny category-split models of ``base`` in ``folder/categories``: per half a classifier
    and plain / RA SR processors, each trained on that half only."""
    where = folder / "categories"
    state = folder / "state"
    for h in halves:
        common = {"dataset": half_dataset(base, h), "epochs": 1, "batch_size": 16,
                  "val_limit": 8, "state_dir": str(state), "progress": False, "device": "cpu"}
        train_classifier("resnet20", out=str(where / f"clf-{h}"), arch_kwargs=TINY_CLASSIFIER,
                         max_steps=3, **common)
        train_processor("sr", "plain", out=str(where / f"sr-plain-{h}"),
                        arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
        if ra:
            train_processor("sr", "ra", out=str(where / f"sr-ra-{h}"),
                            recognizer=str(where / f"clf-{h}"), lam=0.5,
                            arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
    return folder


@pytest.fixture(scope="module")
def split_zoo(tmp_path_factory):
    return _split_models(tmp_path_factory.mktemp("catzoo"), SYNTH)


def test_half_dataset_adds_the_half_and_keeps_an_image_folders_path_and_options(tmp_path):
    assert half_dataset("fashion-mnist", "a") == "fashion-mnist:categories=a"
    write_class_folders(tmp_path / "imgs")
    spec = half_dataset(f"imagefolder:{tmp_path / 'imgs'}:size=12", "b")
    assert spec.startswith(f"imagefolder:{tmp_path / 'imgs'}:")
    assert "categories=b" in spec and "size=12" in spec
    assert len(load_dataset(spec, "test").info.class_names) == 2


def test_each_cell_is_the_evaluation_halfs_classifier_on_its_images_after_the_train_halfs_processor(
        split_zoo):
    result = category_transfer("sr", SYNTH, folder=split_zoo, limit=10, device="cpu",
                               progress=False)
    assert set(result["cells"]) == {"a", "b"}
    for e in ("a", "b"):   # the cells again, from the runner's own record table of that half
        setting = Setting("sr", half_dataset(SYNTH, e), split_zoo / "categories", "cpu")
        clf = setting.checkpoint(f"clf-{e}", kind="classifier")[0]
        procs = {f"sr-{m}-{s}": setting.checkpoint(f"sr-{m}-{s}", kind="processor")[0]
                 for s in ("a", "b") for m in ("plain", "ra")}
        table = setting.records({"c": clf}, procs, limit=10)
        for s in ("a", "b"):
            cell = result["cells"][s][e]
            assert cell["classifier"] == f"clf-{e}"
            plain = table.correct(f"sr-plain-{s}", "c")
            ra = table.correct(f"sr-ra-{s}", "c")
            assert cell["plain"]["correct"] == int(plain.sum())
            assert cell["ra"]["correct"] == int(ra.sum())
            assert cell["ra_minus_plain"]["diff"] == pytest.approx(
                (int(ra.sum()) - int(plain.sum())) / 10)
            low, high = cell["ra_minus_plain"]["ci95"]
            assert low <= cell["ra_minus_plain"]["diff"] <= high
        assert result["bounds"][e][CLEAN]["correct"] == int(table.correct(CLEAN, "c").sum())
        assert result["bounds"][e][NO_PROCESSING]["correct"] == int(
            table.correct(NO_PROCESSING, "c").sum())
    assert result["n_images"] == {"a": 10, "b": 10}
    assert set(result["models"]["a"]) == {"classifier", "plain", "ra"}
    record = result["provenance"]           # one record of the run, both halves' images
    assert record["n_images"] == 20 and record["dataset"] == result["dataset"]
    assert {m["name"] for h in result["models"].values() for m in h.values()} == set(
        record["checkpoints"])


def test_the_halves_classes_are_disjoint_and_named(split_zoo):
    result = category_transfer("sr", SYNTH, folder=split_zoo, limit=8, device="cpu",
                               progress=False)
    a, b = result["halves"]["a"]["classes"], result["halves"]["b"]["classes"]
    assert a and b and not set(a) & set(b)
    assert result["halves"]["a"]["dataset"] == half_dataset(SYNTH, "a")


def test_the_table_is_written_with_its_provenance_and_reads_plainly(split_zoo, tmp_path):
    result = category_transfer("sr", SYNTH, folder=split_zoo, limit=8, device="cpu",
                               progress=False)
    paths = save_category_transfer(result, tmp_path)
    assert {p.name for p in paths} >= {"category_transfer_sr_scale4.json",
                                       "category_transfer_sr_scale4.md"}
    saved = json.loads((tmp_path / "category_transfer_sr_scale4.json").read_text())
    assert saved["cells"]["a"]["b"]["processors"] == {"plain": "sr-plain-a", "ra": "sr-ra-a"}
    text = format_category_transfer(result)
    assert "unseen classes" in text and "same half" in text
    assert text.count("\n| a | ") == 3       # two cells and the bounds row


def test_on_an_image_folder_the_halves_are_the_folders_classes(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=10, side=28)
    base = f"imagefolder:{tmp_path / 'imgs'}:channels=1"
    folder = _split_models(tmp_path / "zoo", base)
    result = category_transfer("sr", base, folder=folder, device="cpu", progress=False)
    halves = {h: set(result["halves"][h]["classes"]) for h in ("a", "b")}
    assert halves["a"] | halves["b"] == {"ant", "bee", "cat", "dog"}
    assert not halves["a"] & halves["b"]
    n = result["n_images"]["a"]
    assert n == len(load_dataset(half_dataset(base, "a"), "test"))
    assert 0 <= result["cells"]["b"]["a"]["plain"]["correct"] <= n


def test_a_missing_model_is_one_sentence_and_nothing_is_written(tmp_path, capsys):
    folder = _split_models(tmp_path / "zoo", SYNTH, ra=False)
    with pytest.raises(RAExplorerError, match="RA sr:scale=4 processor"):
        category_models("sr:scale=4", SYNTH, folder)
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(folder, out)
    capsys.readouterr()                  # the training's own lines
    code, err = run_main(["category-transfer", "--dataset", SYNTH, "--checkpoints", folder,
                          "--out", out, "--no-progress"], capsys)
    assert_one_sentence(code, err, "needs exactly one RA sr:scale=4 processor")
    assert snapshot(folder, out) == before


def test_a_folder_without_the_collection_is_one_sentence(tmp_path, capsys):
    code, err = run_main(["category-transfer", "--dataset", SYNTH, "--checkpoints", tmp_path,
                          "--no-save", "--no-progress"], capsys)
    assert_one_sentence(code, err, "no folder")


def test_the_cli_writes_the_table(split_zoo, tmp_path, capsys):
    code, _ = run_main(["category-transfer", "--dataset", SYNTH, "--checkpoints", split_zoo,
                        "--first", 8, "--out", tmp_path, "--no-progress", "--device", "cpu"],
                       capsys)
    assert code == 0
    assert "Transfer across categories" in (tmp_path / "category_transfer_sr_scale4.md").read_text()
    saved = json.loads((tmp_path / "category_transfer_sr_scale4.json").read_text())
    assert saved["n_images"] == {"a": 8, "b": 8}


def test_the_figure_kind_draws_the_result_file(split_zoo, tmp_path):
    from analysis.reporting.paper import FigureOptions, build_figure, save_figure

    result = category_transfer("sr", SYNTH, folder=split_zoo, limit=8, device="cpu",
                               progress=False)
    folder = tmp_path / "results"
    save_category_transfer(result, folder)
    fig = build_figure("category-transfer", FigureOptions(task="sr", results=folder,
                                                          checkpoints=split_zoo, dataset=SYNTH))
    assert [(r["processors_half"], r["evaluation_half"]) for r in fig.rows] == [
        ("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]
    cell = result["cells"]["a"]["b"]
    drawn = fig.rows[1]
    assert drawn["ra_pct"] == pytest.approx(100 * cell["ra"]["accuracy"])
    assert drawn["ra_minus_plain_points"] == pytest.approx(100 * cell["ra_minus_plain"]["diff"])
    assert drawn["classifier"] == "clf-b" and not drawn["same_half"]
    written = save_figure(fig, tmp_path / "fig", ["png"], 50)
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".csv" for p in written)
