"""`results` writes table1.md and the record table from one pass; an accuracy of table1.md is
recounted from the record table and from a direct call of the models, and agrees."""

import re
import shutil

import torch

from analysis.data.datasets import load_dataset
from analysis.data.tasks import create_task
from analysis.pipeline.records import RecordTable
from analysis.reporting.reproduce import regenerate
from analysis.zoo.checkpoints import load_checkpoint
from tests.conftest import SYNTH


def table1_cell(text: str, task: str, label: str, classifier: str) -> str:
    section = text.split(f"### {task} ")[1].split("###")[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    row = next(ln for ln in lines if ln.startswith(f"| {label}"))
    return [c.strip() for c in row.strip("|").split("|")][header.index(classifier)]


def test_table1_accuracy_recounts_from_the_record_table_and_from_the_models(tiny_zoo, tmp_path):
    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    out = tmp_path / "res"
    regenerate(dataset=SYNTH, folder=folder, out_dir=out, progress=False)
    table = RecordTable.load(out / "records_sr_scale4.parquet")
    assert table.provenance["checkpoints"]["sr-ra"] and table.provenance["n_images"] == len(table)
    text = (out / "table1.md").read_text()
    for label, name in (("RA (", "sr-ra"), ("plain", "sr-plain"), ("no processing", "no processing")):
        correct = int(table.correct(name, "clf-a").sum())
        assert re.match(rf"{100 * correct / len(table):.1f} ±",
                        table1_cell(text, "sr:scale=4", label, "clf-a")), name
    # the models called directly on the same images (one batch, as the runner ran them)
    images, labels, idx = load_dataset(SYNTH, "test").get_batch(torch.arange(len(table)))
    proc, _ = load_checkpoint(folder / "sr-ra")
    clf, _ = load_checkpoint(folder / "clf-a")
    with torch.no_grad():
        pred = clf(proc(create_task("sr").degrade_eval(images, idx)).clamp(0, 1)).argmax(1)
    assert (pred.numpy() == table.pred[("sr-ra", "clf-a")]).all()
    assert int((pred == labels).sum()) == int(table.correct("sr-ra", "clf-a").sum())


def test_results_record_table_holds_the_recognizer_side_classifiers_too(tiny_zoo, tmp_path):
    """The Gallery reads every offered classifier from the file; Table 1 stays the zoo's."""
    import json

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    (folder / "recognizers").mkdir()
    card = json.loads((folder / "clf-a.json").read_text())
    card.update(name="clf-a-augment", method="augment",
                weights={**card["weights"], "file": "clf-a-augment.safetensors"})
    (folder / "recognizers" / "clf-a-augment.json").write_text(json.dumps(card))
    shutil.copy(folder / "clf-a.safetensors", folder / "recognizers" / "clf-a-augment.safetensors")
    out = tmp_path / "res"
    regenerate(dataset=SYNTH, folder=folder, out_dir=out, progress=False)
    table = RecordTable.load(out / "records_sr_scale4.parquet")
    assert table.classifiers[-1] == "clf-a-augment" and "clf-a" in table.classifiers
    assert (table.pred[("sr-ra", "clf-a-augment")] == table.pred[("sr-ra", "clf-a")]).all()
    evaluation = json.loads((out / "evaluate_sr_scale4.json").read_text())
    assert "clf-a-augment" not in evaluation["classifiers"]
    assert "clf-a-augment" not in (out / "table1.md").read_text()
