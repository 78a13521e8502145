"""Issue 18, points 2-6: own datasets and models through the verbs, nothing silently wrong.

A tiny 3-class ImageFolder (train/ + val/, 24 px) with tiny models trained for a few steps;
each test names the point it covers."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.cli.main import main
from analysis.errors import RAExplorerError, TrainingStateError
from analysis.zoo.catalogue import find_checkpoints
from analysis.zoo.checkpoints import load_card, load_checkpoint
from analysis.zoo.weight_import import import_weights
from tests.conftest import SYNTH, TINY_CLASSIFIER, TINY_PROCESSOR

CLASSES = ("ant", "bee", "cow")


def _folder(root, per_class=(("train", 8), ("val", 4)), size=24):
    rng = np.random.default_rng(0)
    for split, n in per_class:
        for k, c in enumerate(CLASSES):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 80, (size, size, 3)) + 80 * k      # class-dependent tint
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / c / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """An image folder and a zoo on it: classifier 'r18ish' (the RA source, not resnet20),
    a plain and an RA SR processor; training states kept."""
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    base = tmp_path_factory.mktemp("own")
    data = _folder(base / "imgs")
    zoo, runs = base / "zoo", base / "runs"
    spec = f"imagefolder:{data}"
    common = {"dataset": spec, "epochs": 1, "batch_size": 8, "state_dir": str(runs),
              "progress": False, "val_limit": 12}
    train_classifier("resnet20", out=str(zoo / "r18ish"), arch_kwargs=TINY_CLASSIFIER,
                     max_steps=3, **common)
    train_processor("sr", "plain", out=str(zoo / "sr-plain"), arch_kwargs=TINY_PROCESSOR,
                    max_steps=2, **common)
    train_processor("sr", "ra", out=str(zoo / "sr-ra"), recognizer=str(zoo / "r18ish"), lam=0.1,
                    arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
    return {"data": data, "zoo": zoo, "runs": runs, "spec": spec}


def test_cards_hold_the_normal_form_and_other_spellings_find_them(own, monkeypatch):
    """Point 3: a trailing slash, a relative path or an explicit default size find the cards."""
    card = load_card(own["zoo"] / "r18ish")
    assert card["dataset"] == (f"imagefolder:{own['data']}:channels=3,"
                               "policy=resize-center-crop,size=24")
    monkeypatch.chdir(own["data"].parent)
    for spelling in (f"{own['spec']}/", "imagefolder:imgs", f"{own['spec']}:size=24"):
        names = [c["name"] for c in find_checkpoints(own["zoo"], dataset=spelling)]
        assert names == ["r18ish", "sr-plain", "sr-ra"], spelling


def test_a_spec_mismatch_lists_the_specs_the_folder_holds(own):
    """Point 3: 'No classifier checkpoints for SPEC' says what the folder does hold."""
    from analysis.analyses.evaluate import evaluate

    with pytest.raises(RAExplorerError) as info:
        evaluate("sr", dataset=f"{own['spec']}:size=16", folder=own["zoo"], progress=False)
    text = str(info.value)
    assert "No classifier checkpoints for dataset" in text and "size=16" in text
    assert f"it holds classifier checkpoints for: imagefolder:{own['data']}:channels=3," in text


def test_every_verb_runs_on_the_image_folder_through_the_protocol(own, tmp_path, capsys):
    """Point 2: evaluate, features and the Compare filters on an ImageFolder (they failed on
    labels / get_batch); --limit covers every class."""
    from analysis.analyses.evaluate import evaluate
    from analysis.analyses.features import feature_report
    from analysis.data.sampling import Sample
    from analysis.explore.gallery import Query
    from analysis.explore.workspace import Workspace

    result = evaluate("sr", dataset=own["spec"], folder=own["zoo"], limit=Sample(6),
                      progress=False)
    assert result["n_images"] == 6 and result["classifiers"] == ["r18ish"]
    report = feature_report("sr", "r18ish", n=6, folder=own["zoo"], dataset=own["spec"])
    assert report["class_names"] == list(CLASSES)
    ws = Workspace("sr", own["spec"], own["zoo"])
    assert ws.indices_of_class(2, limit=5) == [8, 9, 10, 11]      # val/ is the test split
    selection, where = ws.gallery(Query("r18ish", "sr-ra", "sr-plain", filter="methods disagree"))
    assert "measured now" in where and selection.total == len(ws.test)   # by filter
    code = main(["evaluate", "--task", "sr", "--dataset", own["spec"], "--checkpoints",
                 str(own["zoo"]), "--sample", "3", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["n_images"] == 3


def test_limit_sample_on_the_runner_covers_every_class(own):
    """Point 3: the runner streams the stratified sample a Sample asks for."""
    from analysis.data.datasets import load_dataset
    from analysis.data.sampling import Sample
    from analysis.pipeline.runner import stream

    test = load_dataset(own["spec"], "test")
    labels = torch.cat([b.labels for b in stream(None, {}, test, "cpu", 2, Sample(3))])
    assert sorted(labels.tolist()) == [0, 1, 2]
    first = torch.cat([b.labels for b in stream(None, {}, test, "cpu", 2, 3)])
    assert first.tolist() == [0, 0, 0]                # a plain int keeps the first N


def test_a_resume_across_datasets_is_refused_with_both_named(own, tmp_path):
    """Point 4: the state of an ImageFolder run is not resumed by a synthetic run of the
    same name; a resume with another spelling of the same folder is accepted."""
    from analysis.training.processors import train_processor

    runs = tmp_path / "runs"
    shutil.copytree(own["runs"], runs)
    with pytest.raises(TrainingStateError) as info:
        train_processor("sr", "plain", dataset=SYNTH, out=str(tmp_path / "sr-plain"),
                        arch_kwargs=TINY_PROCESSOR, epochs=1, batch_size=8, max_steps=1,
                        state_dir=str(runs), resume=True, progress=False)
    text = str(info.value)
    assert "belongs to another run" in text
    assert f"dataset 'imagefolder:{own['data']}:" in text and "'synthetic:channels=1," in text
    train_processor("sr", "plain", dataset=f"{own['spec']}/", out=str(tmp_path / "sr-plain"),
                    arch_kwargs=TINY_PROCESSOR, epochs=1, batch_size=8, max_steps=1,
                    state_dir=str(runs), resume=True, progress=False, val_limit=4)
    assert load_card(tmp_path / "sr-plain")["dataset"] == load_card(own["zoo"] / "sr-plain")["dataset"]


def test_float16_check_judges_plain_with_the_source_the_cards_name(own, tmp_path):
    """Point 5: the judge of a plain processor is the RA source of its task's cards."""
    from analysis.analyses.storage_check import storage_check

    result = storage_check(["sr-plain", "sr-ra"], folder=own["zoo"], state_dir=own["runs"],
                           dataset_name=f"{own['spec']}/", progress=False)
    assert [r["judge"] for r in result["rows"]] == ["r18ish", "r18ish"]
    with pytest.raises(RAExplorerError, match="was trained through 'clf'; their cards name r18ish"):
        storage_check(["sr-plain"], folder=own["zoo"], state_dir=own["runs"],
                      dataset_name=own["spec"], progress=False, source="clf")
    with pytest.raises(RAExplorerError, match=r"trained on 'imagefolder:.*not 'synthetic:n=200'"):
        storage_check(["sr-plain"], folder=own["zoo"], state_dir=own["runs"],
                      dataset_name=SYNTH, progress=False)


def test_claims_use_the_source_named_in_the_cards(own, tmp_path):
    """Point 5: claims.md and Table 16 on a zoo whose RA source is not called resnet20."""
    from analysis.reporting.reproduce import regenerate

    results, written = regenerate(dataset=own["spec"], folder=own["zoo"], out_dir=tmp_path,
                                  progress=False)
    claims = (tmp_path / "claims.md").read_text()
    assert "RA vs plain on the source r18ish" in claims
    assert "no RA and plain processors to compare yet" not in claims.split("\n")[2]
    assert "embedded default" not in claims and f"imagefolder:{own['data']}" in claims
    assert "RA with source r18ish at each lambda" in (tmp_path / "table16_lambda.md").read_text()


def test_boundaries_and_features_default_to_the_cards_source(own, tmp_path, capsys):
    """Point 5: no --source / --classifier needed, none assumed to be resnet20."""
    code = main(["bd", "--task", "sr", "--target", "r18ish", "--dataset", own["spec"],
                 "--checkpoints", str(own["zoo"]), "--sample", "3", "--no-save", "--json",
                 "--no-progress", "--all-images", "--max-dist", "2", "--tol", "0.05",
                 "--schedule", "uniform", "--scan-steps", "4"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["pairs"][0]["source"] == "r18ish"
    assert sorted(r["label"] for r in report["records"]) == [0, 1, 2]   # --sample 3: each class
    from analysis.analyses.boundary_table import format_boundary_report

    assert "test split, a seeded class-stratified sample of 3 images" in \
        format_boundary_report(report)
    code = main(["tsne", "--task", "sr", "--dataset", own["spec"], "--checkpoints",
                 str(own["zoo"]), "--sample", "6", "--no-save", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["classifier"] == "r18ish"


def test_build_zoo_refuses_a_folder_of_another_dataset(own, capsys):
    """Point 6: the embedded recipe is not planned beside ImageFolder checkpoints."""
    code = main(["build-zoo", "--checkpoints", str(own["zoo"]), "--dry-run"])
    err = capsys.readouterr().err
    assert code != 0 and "holds checkpoints of another dataset (imagefolder:" in err
    assert "fashion-mnist" in err and "Traceback" not in err


def test_import_weights_reads_the_class_count_from_the_weights(tmp_path):
    """Point 6: tv-resnet18 without --arch-kw num_classes=4."""
    from torchvision.models import resnet18

    tv = resnet18(weights=None, num_classes=4)
    torch.save(tv.state_dict(), tmp_path / "r18.pth")
    import_weights("tv-resnet18", tmp_path / "r18.pth", tmp_path / "r18",
                   dataset="synthetic:classes=4,channels=3")
    model, card = load_checkpoint(tmp_path / "r18")
    assert card["arch_kwargs"]["num_classes"] == 4 and model(torch.rand(1, 3, 32, 32)).shape == (1, 4)
    assert card["dataset"] == "synthetic:channels=3,classes=4,n=600,seed=0,size=28"
    with pytest.raises(RAExplorerError, match=r"fc.weight is \(4, 512\) where 'tv-resnet18' has "
                                              r"\(10, 512\)"):
        import_weights("tv-resnet18", tmp_path / "r18.pth", tmp_path / "x", {"num_classes": 10},
                       dataset="synthetic")


def test_boundary_table_with_no_qualifying_image_says_so():
    """Smaller: 0 images in the Table 17 analog is explained, with --all-images."""
    from analysis.analyses.boundary_table import empty_selection_note

    report = {"task": "sr:scale=4", "limit": 50, "all_images": False,
              "pairs": [{"source": "a", "target": "b", "selected": 0}]}
    note = empty_selection_note(report)
    assert "No test image qualified for a / b" in note and "--all-images" in note
    report["pairs"][0]["selected"] = 3
    assert empty_selection_note(report) is None


def test_list_datasets_names_the_options_and_defaults(capsys):
    """Point 3/6: 'list datasets' says ImageFolder's size default and CIFAR's verify=false."""
    assert main(["list", "datasets", "--json"]) == 0
    kinds = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert kinds["imagefolder"]["options"]["size"] == "the images' own"
    assert kinds["cifar10"]["options"] == {
        "download": False, "verify": True,
        "categories": "all classes (or a, b, or indices such as 0+2+4)"}
    assert "categories" not in kinds["canvas"]["options"] and kinds["canvas"]["options"]["size"] == 112
    assert "test/ is the test split, else val/" in kinds["imagefolder"]["description"]


def test_an_ra_processor_refuses_a_recognizer_of_another_dataset(own, tmp_path):
    """Point 5: the RA source must be a classifier of the dataset the processor trains on."""
    from analysis.training.processors import train_processor

    with pytest.raises(RAExplorerError, match=r"was trained on 'imagefolder:.*not on 'synthetic"):
        train_processor("sr", "ra", dataset=SYNTH, out=str(tmp_path / "p"), lam=0.1,
                        recognizer=str(own["zoo"] / "r18ish"), arch_kwargs=TINY_PROCESSOR,
                        epochs=1, max_steps=1, state_dir=str(tmp_path), progress=False)
    assert not (tmp_path / "p.json").exists()
