"""ImageFolder edge cases get one sentence each and nothing is trained or written (issue 40,
item 9): a class only in val/, an empty training class, a one-class folder."""

import numpy as np
import pytest
from PIL import Image

from analysis.cli.main import main
from analysis.data.datasets import load_dataset
from analysis.errors import DataError


def _folder(root, layout):
    """``layout``: {relative class folder: number of 8-px images}."""
    rng = np.random.default_rng(0)
    for where, n in layout.items():
        (root / where).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (8, 8, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(root / where / f"{i}.png")
    return f"imagefolder:{root}"


def _train_refused(spec, tmp_path, capsys) -> str:
    """train-classifier on ``spec`` fails with one line on stderr and writes no checkpoint."""
    out, runs = tmp_path / "zoo" / "clf", tmp_path / "runs"
    code = main(["train-classifier", "--arch", "resnet20", "--dataset", spec, "--out", str(out),
                 "--state-dir", str(runs), "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert not (tmp_path / "zoo").exists()
    assert not runs.exists() or not any(runs.rglob("*"))
    return err


def test_a_class_only_in_val_is_refused_not_dropped(tmp_path, capsys):
    data = tmp_path / "imgs"
    spec = _folder(data, {"train/ant": 2, "train/bee": 2, "val/ant": 1, "val/bee": 1,
                          "val/cow": 2})
    sentence = (f"The image folder {data} has val/cow but no train/cow, so that class could not "
                "be learnt and its images would be left out; add train/cow with training images "
                "or remove val/cow.")
    for split in ("train", "test"):
        with pytest.raises(DataError) as info:
            load_dataset(spec, split)
        assert str(info.value) == sentence
    assert sentence in _train_refused(spec, tmp_path, capsys)


def test_classes_only_in_test_are_named_together(tmp_path):
    data = tmp_path / "imgs"
    spec = _folder(data, {"train/ant": 2, "train/bee": 2, "val/ant": 1, "test/ant": 1,
                          "test/cow": 1, "test/dog": 1})
    with pytest.raises(DataError) as info:
        load_dataset(spec, "test")
    assert str(info.value) == (
        f"The image folder {data} has test/cow, test/dog but no such folders in train/, so "
        "those classes could not be learnt and their images would be left out; add them under "
        "train/ with training images or remove them from test/.")


def test_an_empty_training_class_is_refused(tmp_path, capsys):
    data = tmp_path / "imgs"
    spec = _folder(data, {"train/ant": 2, "train/bee": 2, "train/cow": 0, "val/ant": 1,
                          "val/bee": 1, "val/cow": 1})
    sentence = (f"The class folder train/cow of the image folder {data} holds no images, so its "
                "class would be trained on none; add images to it or remove it.")
    with pytest.raises(DataError) as info:
        load_dataset(spec, "test")
    assert str(info.value) == sentence
    assert sentence in _train_refused(spec, tmp_path, capsys)
    # the same in a folder of class folders only (a seeded split)
    flat = tmp_path / "flat"
    with pytest.raises(DataError, match=r"The class folders bee, cow of the image folder .*flat "
                                        r"hold no images, so their classes would be trained on "
                                        r"none; add images to them or remove them\."):
        load_dataset(_folder(flat, {"ant": 4, "bee": 0, "cow": 0}), "train")


def test_a_one_class_folder_is_not_trained(tmp_path, capsys):
    data = tmp_path / "imgs"
    spec = _folder(data, {"train/ant": 4, "val/ant": 2})
    assert len(load_dataset(spec, "test")) == 2          # readable (a processor may train on it)
    err = _train_refused(spec, tmp_path, capsys)
    assert (f"The dataset imagefolder:{data}:channels=3,policy=resize-center-crop,size=8 has one "
            "class (ant), so a classifier trained on it would reach accuracy 1.0 by always "
            "answering it; give it at least two classes (in an image folder, one class folder "
            "each).") in err
