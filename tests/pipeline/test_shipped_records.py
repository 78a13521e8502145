"""The shipped record tables agree with table1.md and with a direct model call."""

import re

import pytest
import torch

from analysis.config import PROJECT_ROOT
from analysis.data.datasets import load_dataset
from analysis.data.formats.idx import fashion_mnist_dirs
from analysis.data.tasks import create_task
from analysis.pipeline.records import RecordTable
from analysis.zoo.checkpoints import load_checkpoint

RESULTS = PROJECT_ROOT / "results"
CHECKPOINTS = PROJECT_ROOT / "checkpoints"
HAS_FMNIST = any((d / "t10k-images-idx3-ubyte.gz").exists() for d in fashion_mnist_dirs(None))


def table1_cell(task: str, label: str, classifier: str) -> str:
    """The text of one cell of results/table1.md (section ``task``, row ``label``)."""
    text = (RESULTS / "table1.md").read_text()
    section = text.split(f"### {task} ")[1].split("###")[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    row = next(ln for ln in lines if ln.startswith(f"| {label}"))
    return [c.strip() for c in row.strip("|").split("|")][header.index(classifier)]


SHIPPED = [("sr", "sr:scale=4", "records_sr_scale4.parquet"),
           ("denoise", "denoise:sigma=0.1", "records_denoise_sigma0.1.parquet"),
           ("jpeg", "jpeg:quality=10", "records_jpeg_quality10.parquet")]


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed")
@pytest.mark.parametrize("name, spec, file", SHIPPED)
def test_table1_accuracy_recounts_from_the_record_table_and_from_the_models(name, spec, file):
    table = RecordTable.load(RESULTS / file)
    assert len(table) == 10000 and table.provenance["checkpoints"][f"{name}-ra"]
    for label, row in (("RA (", f"{name}-ra"), ("plain", f"{name}-plain"),
                       ("no processing", "no processing")):
        correct = int(table.correct(row, "resnet20").sum())
        shown = table1_cell(spec, label, "resnet20")
        assert re.match(rf"{100 * correct / len(table):.1f} ±", shown), (row, shown)
    # a direct call of the models on the first batch (500 test images, the runner's batch)
    # gives the table's predictions and the same accuracy
    task = create_task(name)
    proc, _ = load_checkpoint(CHECKPOINTS / f"{name}-ra")
    clf, _ = load_checkpoint(CHECKPOINTS / "resnet20")
    images, labels, idx = load_dataset("fashion-mnist", "test").get_batch(torch.arange(500))
    with torch.no_grad():
        pred = clf(proc(task.degrade_eval(images, idx)).clamp(0, 1)).argmax(1)
    assert torch.equal(torch.from_numpy(table.index[:500]), idx)
    assert torch.equal(torch.from_numpy(table.label[:500]), labels)
    assert (pred.numpy() == table.pred[(f"{name}-ra", "resnet20")][:500]).all()
    assert int((pred == labels).sum()) == int(table.correct(f"{name}-ra", "resnet20")[:500].sum())


def offered_classifiers() -> list[dict]:
    """The cards of every classifier the app offers (the zoo's and checkpoints/recognizers/)."""
    from analysis.zoo.catalogue import classifier_cards

    return classifier_cards(CHECKPOINTS, "fashion-mnist")


@pytest.mark.parametrize("name, spec, file", SHIPPED)
def test_every_offered_classifier_answers_from_the_shipped_record_table(name, spec, file):
    """The Gallery finds each classifier in the shipped table, measured on the shipped weights
    (the check it makes before it would measure anything live)."""
    from analysis.explore.gallery import shipped_table
    from analysis.zoo.catalogue import find_checkpoints

    cards = offered_classifiers() + find_checkpoints(CHECKPOINTS, kind="processor", task=spec)
    digests = {c["name"]: c["weights"]["sha256"] for c in cards}
    assert {"resnet20", "resnet20-qualnet", "resnet20-train-on-lq"} <= set(digests)
    for card in offered_classifiers():
        found, _ = shipped_table(RESULTS, spec, "fashion-mnist", card["name"], digests)
        assert found is not None, f"{file} lacks {card['name']} (or has other weights of it)"
        assert len(found) == 10000


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed")
@pytest.mark.parametrize("name, spec, file", SHIPPED)
def test_an_added_classifier_recounts_from_a_direct_model_call(name, spec, file):
    table = RecordTable.load(RESULTS / file)
    added = {c for entry in table.provenance.get("added", []) for c in entry["classifiers"]}
    assert "resnet20-qualnet" in added
    proc, _ = load_checkpoint(CHECKPOINTS / f"{name}-ra-unsup")
    clf, _ = load_checkpoint(CHECKPOINTS / "recognizers" / "resnet20-qualnet")
    images, labels, idx = load_dataset("fashion-mnist", "test").get_batch(torch.arange(500))
    with torch.no_grad():
        pred = clf(proc(create_task(name).degrade_eval(images, idx)).clamp(0, 1)).argmax(1)
    assert (pred.numpy() == table.pred[(f"{name}-ra-unsup", "resnet20-qualnet")][:500]).all()


def corruption_cells() -> list[str]:
    """The task specs of the corruption cells with processors in checkpoints/corruptions/."""
    from analysis.zoo.catalogue import find_checkpoints

    return sorted({c["task"] for c in find_checkpoints(CHECKPOINTS / "corruptions",
                                                       kind="processor")})


def test_every_corruption_cell_answers_from_its_shipped_cell_table():
    """The pages find each corruption cell's every test image in
    results/corruption_processors/ (measured on the shipped weights), so that they never
    corrupt and measure 2,000 images live."""
    from analysis.explore.gallery import shipped_table
    from analysis.zoo.catalogue import find_checkpoints

    cells = corruption_cells()
    assert len(cells) >= 21
    for spec in cells:
        cards = (find_checkpoints(CHECKPOINTS, kind="classifier")
                 + find_checkpoints(CHECKPOINTS / "corruptions", kind="processor", task=spec))
        digests = {c["name"]: c["weights"]["sha256"] for c in cards}
        for classifier in ("resnet20", "densenet-bc"):
            found, path = shipped_table(RESULTS, spec, "fashion-mnist", classifier, digests)
            assert found is not None, f"{path} lacks {classifier} (or has other weights)"
            assert path.parent.name == "corruption_processors" and len(found) == 10000


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed")
def test_a_corruption_cell_table_recounts_from_a_direct_model_call():
    """Snow at severity 5: the RA processor and resnet20 on the first 200 corrupted test
    images give the shipped cell table's predictions."""
    from analysis.pipeline.records import shipped_records_path

    spec = create_task("corrupt", type="snow", level=5).spec
    table = RecordTable.load(shipped_records_path(RESULTS, spec))
    proc, _ = load_checkpoint(CHECKPOINTS / "corruptions" / "corrupt-snow-5-ra")
    clf, _ = load_checkpoint(CHECKPOINTS / "resnet20")
    images, labels, idx = load_dataset("fashion-mnist", "test").get_batch(torch.arange(200))
    with torch.no_grad():
        pred = clf(proc(create_task(spec).degrade_eval(images, idx)).clamp(0, 1)).argmax(1)
    assert torch.equal(torch.from_numpy(table.index[:200]), idx)
    assert (pred.numpy() == table.pred[("corrupt-snow-5-ra", "resnet20")][:200]).all()
