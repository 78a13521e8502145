"""A classifier's class count and channels are checked against the dataset (issue 40, item 7):
the verbs refuse with one sentence naming both, import-weights requires a dataset and checks it;
nothing is written."""

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.cli.main import main
from analysis.errors import CheckpointError, InputError
from analysis.zoo import create_model
from analysis.zoo.checkpoints import save_checkpoint
from analysis.zoo.weight_import import import_weights
from tests.conftest import TINY_PROCESSOR


@pytest.fixture
def folder(tmp_path):
    """A 3-class RGB image folder of 16 px images (train/ and val/)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for split, n in (("train", 2), ("val", 1)):
        for c in ("ant", "bee", "cow"):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 255, (16, 16, 3)).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / c / f"{i}.png")
    return f"imagefolder:{root}", f"imagefolder:{root}:channels=3,policy=resize-center-crop,size=16"


def _classifier(path, dataset, classes, channels):
    kwargs = {"width": 2, "in_channels": channels, "num_classes": classes}
    save_checkpoint(create_model("resnet20", **kwargs),
                    {"kind": "classifier", "arch": "resnet20", "arch_kwargs": kwargs,
                     "dataset": dataset}, path)


def _tv_weights(path, classes, channels):
    from torchvision.models import resnet18

    net = resnet18(weights=None, num_classes=classes)
    net.conv1 = torch.nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.parametrize("classes,channels,said", [
    (7, 3, "has 7 classes and 3 input channels, but the dataset {} has 3 classes and 3 "
           "channels"),
    (3, 1, "has 3 classes and 1 input channel, but the dataset {} has 3 classes and 3 channels")])
def test_evaluate_refuses_a_classifier_that_does_not_fit(folder, tmp_path, capsys, monkeypatch,
                                                         classes, channels, said):
    spec, _ = folder
    zoo, out = tmp_path / "zoo", tmp_path / "out"
    monkeypatch.setenv("RA_RESULTS", str(out))
    monkeypatch.setenv("RA_RUNS", str(out))
    _classifier(zoo / "wide", spec, classes, channels)
    save_checkpoint(create_model("srresnet", in_channels=3, scale=4, **TINY_PROCESSOR),
                    {"kind": "processor", "arch": "srresnet",
                     "arch_kwargs": {"in_channels": 3, "scale": 4, **TINY_PROCESSOR},
                     "dataset": spec, "task": "sr:scale=4", "method": "plain"}, zoo / "sr-plain")
    before = sorted(p.name for p in zoo.iterdir())
    code = main(["evaluate", "--task", "sr", "--dataset", spec, "--checkpoints", str(zoo),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert (f"The classifier wide {said.format(spec)}; use a classifier made for it (python -m "
            f"analysis train-classifier --dataset {spec}) or import weights with a 3-class "
            "head.") in err
    assert sorted(p.name for p in zoo.iterdir()) == before and not out.exists()


def test_a_classifier_is_checked_where_a_setting_loads_it(folder, tmp_path):
    """The one place: Setting.load and Setting.checkpoint (the app's Workspace is a Setting)."""
    from analysis.pipeline.setting import Setting

    spec, _ = folder
    _classifier(tmp_path / "rgb5", spec, 5, 3)
    setting = Setting(None, "synthetic:n=20", tmp_path, "cpu")        # Fashion-MNIST's shape
    with pytest.raises(CheckpointError, match=r"^The classifier rgb5 has 5 classes and 3 input "
                                              r"channels, but the dataset synthetic:.* has 10 "
                                              r"classes and 1 channel; "):
        setting.checkpoint("rgb5")
    _classifier(tmp_path / "fits", "synthetic:n=20", 10, 1)
    assert setting.checkpoint("fits", kind="classifier")[0].num_classes == 10


def test_import_weights_checks_the_class_count_and_channels(folder, tmp_path, capsys):
    spec, normal = folder
    out = tmp_path / "zoo" / "r18"
    for classes, channels, said in ((1000, 3, "1000 classes and 3 input channels"),
                                    (3, 1, "3 classes and 1 input channel")):
        weights = _tv_weights(tmp_path / f"r18-{classes}-{channels}.pth", classes, channels)
        code = main(["import-weights", "--arch", "tv-resnet18", "--weights", str(weights),
                     "--dataset", spec, "--out", str(out)])
        err = capsys.readouterr().err
        assert code != 0 and "Traceback" not in err
        assert (f"The classifier in {weights} has {said}, but the dataset {normal} has 3 classes "
                "and 3 channels; import weights for this dataset, or name the dataset they were "
                "trained on.") in err
        assert not (tmp_path / "zoo").exists()
    fits = _tv_weights(tmp_path / "r18-3-3.pth", 3, 3)
    assert main(["import-weights", "--arch", "tv-resnet18", "--weights", str(fits), "--dataset",
                 spec, "--out", str(out)]) == 0
    assert out.with_suffix(".json").exists()


def test_import_weights_requires_a_dataset(tmp_path, capsys):
    weights = _tv_weights(tmp_path / "r18.pth", 3, 3)
    with pytest.raises(InputError, match=r"^import-weights needs the dataset the weights are "
                                         r"for \(--dataset SPEC, e\.g\. --dataset "
                                         r"imagefolder:/data/imgs\): a card without one is found "
                                         r"by no verb\.$"):
        import_weights("tv-resnet18", weights, tmp_path / "zoo" / "r18")
    with pytest.raises(SystemExit) as info:
        main(["import-weights", "--arch", "tv-resnet18", "--weights", str(weights), "--out",
              str(tmp_path / "zoo" / "r18")])
    assert info.value.code == 2
    assert "the following arguments are required: --dataset" in capsys.readouterr().err
    assert not (tmp_path / "zoo").exists()


def test_ra_training_refuses_a_recognizer_that_does_not_fit(folder, tmp_path):
    from analysis.training.processors import train_processor

    spec, _ = folder
    _classifier(tmp_path / "zoo" / "wide", spec, 7, 3)
    with pytest.raises(CheckpointError, match=r"^The classifier .*wide has 7 classes and 3 input "
                                              r"channels, but the dataset imagefolder:.* has 3 "
                                              r"classes and 3 channels; "):
        train_processor("sr", "ra", out=str(tmp_path / "zoo" / "sr-ra"),
                        recognizer=str(tmp_path / "zoo" / "wide"), arch_kwargs=TINY_PROCESSOR,
                        dataset=spec, epochs=1, state_dir=str(tmp_path / "runs"),
                        progress=False)
    assert sorted(p.name for p in (tmp_path / "zoo").iterdir()) == ["wide.json",
                                                                   "wide.safetensors"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*"))
