"""Category subsets (analysis/data/categories.py): disjoint, complete, relabelled, names right, on
the embedded default, an image folder made here, the synthetic set and CIFAR-10's layout."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.data.categories import (
    CATEGORY_SPLIT_SEED,
    FASHION_MNIST_HALVES,
    category_halves,
    category_indices,
    normal_categories,
)
from analysis.data.datasets import DATASETS, describe_datasets, load_dataset, normalize_dataset_spec
from analysis.data.formats.idx import FASHION_MNIST_CLASSES, fashion_mnist_dirs
from analysis.errors import DataError

HAS_FMNIST = any((d / "t10k-images-idx3-ubyte.gz").exists() or (d / "t10k-images-idx3-ubyte").exists()
                 for d in fashion_mnist_dirs(None))


def write_class_folders(root: Path, classes=("ant", "bee", "cat", "dog"), per_class=4, side=12):
    """Class folders of tiny PNGs; every image of class k has mean grey level 40 + 50 k, so a test
    can tell an image's class from its pixels."""
    rng = np.random.default_rng(1)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((side, side, 3), 40 + 50 * k, dtype=np.int16)
            pixels += rng.integers(-3, 4, pixels.shape)
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(root / name / f"{i}.png")


def _check_halves(spec, names, root=None, **options):
    """Both halves of ``spec`` are disjoint, complete and relabelled 0..k-1 in every split, with
    the right class names; returns the halves' original indices."""
    halves = category_halves(len(names))
    for split in ("train", "val", "test"):
        full = load_dataset(spec, split, root=root, **options)
        full_labels = full.labels
        seen = []
        for half in ("a", "b"):
            ds = load_dataset(spec, split, root=root, categories=half, **options)
            keep = halves[half]
            assert ds.info.class_names == tuple(names[i] for i in keep)
            assert ds.info.extra["categories"] == list(keep)
            labels = ds.labels
            assert labels.dtype == torch.long and set(labels.tolist()) <= set(range(len(keep)))
            # relabelling: the original label of each kept image is keep[new label]
            original = full_labels[ds.indices]
            assert torch.equal(torch.tensor(keep)[labels], original)
            images, batch_labels, idx = ds.get_batch(torch.tensor([0, len(ds) - 1]))
            assert torch.equal(batch_labels, labels[idx])
            image, label, index = ds[len(ds) - 1]
            assert torch.equal(image, images[1]) and label == int(labels[-1]) and index == len(ds) - 1
            seen.append(set(ds.indices.tolist()))
        assert seen[0].isdisjoint(seen[1])                       # disjoint
        assert seen[0] | seen[1] == set(range(len(full)))        # complete
    return halves


def test_the_halves_are_fixed_before_any_run():
    assert CATEGORY_SPLIT_SEED == 34
    assert category_halves(10) == FASHION_MNIST_HALVES
    assert FASHION_MNIST_HALVES == {"a": (0, 3, 6, 8, 9), "b": (1, 2, 4, 5, 7)}
    for k in (2, 3, 7, 10, 100):
        halves = category_halves(k)
        assert len(halves["a"]) == k // 2
        assert sorted(halves["a"] + halves["b"]) == list(range(k))
    assert category_halves(10, seed=35) != category_halves(10)


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed "
                    "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_halves():
    halves = _check_halves("fashion-mnist", FASHION_MNIST_CLASSES)
    a = load_dataset("fashion-mnist:categories=a", "test")
    assert a.info.class_names == ("T-shirt/top", "Dress", "Shirt", "Bag", "Ankle boot")
    assert len(a) == 5000 and torch.equal(torch.bincount(a.labels), torch.full((5,), 1000))
    assert halves == FASHION_MNIST_HALVES
    # the val split of a half is the full val split's images of those classes
    val, val_a = load_dataset("fashion-mnist", "val"), load_dataset("fashion-mnist:categories=a", "val")
    kept = torch.isin(val.labels, torch.tensor(FASHION_MNIST_HALVES["a"]))
    assert torch.equal(val_a.indices, torch.nonzero(kept).flatten())
    # explicit indices give the same data as the named half
    same = load_dataset("fashion-mnist:categories=9+0+3+8+6", "test")
    assert torch.equal(same.labels, a.labels) and same.info.class_names == a.info.class_names


def test_image_folder_halves(tmp_path):
    for split, n in (("train", 4), ("val", 2), ("test", 3)):
        write_class_folders(tmp_path / "imgs" / split, per_class=n)
    spec = f"imagefolder:{tmp_path / 'imgs'}"
    names = ("ant", "bee", "cat", "dog")
    halves = _check_halves(spec, names)
    # each kept image's pixels say its original class: the relabelling maps the right images
    for half in ("a", "b"):
        ds = load_dataset(spec, "train", categories=half)
        images, labels, _ = ds.get_batch(torch.arange(len(ds)))
        grey = (images.mean(dim=(1, 2, 3)) * 255 - 40) / 50
        assert torch.equal(grey.round().long(), torch.tensor(halves[half])[labels])
    explicit = load_dataset(f"{spec}:categories=1+3", "test")
    assert explicit.info.class_names == ("bee", "dog")


def test_synthetic_and_cifar_layout_take_categories(tmp_path):
    ds = load_dataset("synthetic:n=100,categories=0+2+4", "train")
    assert ds.info.class_names == ("class 0", "class 2", "class 4")
    assert set(ds.labels.tolist()) == {0, 1, 2}
    _check_halves("synthetic:n=100", tuple(f"class {i}" for i in range(10)))
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 255, (20, 3072), dtype=np.uint8),
                 "labels": (np.arange(20) % 10).tolist()}
        (base / name).write_bytes(pickle.dumps(batch))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": list("abcdefghij")}))
    _check_halves("cifar10:verify=false", tuple("abcdefghij"), root=str(tmp_path))


def test_categories_in_normal_forms_and_listing(tmp_path):
    assert normalize_dataset_spec("fashion-mnist:categories=4+0+2") == "fashion-mnist:categories=0+2+4"
    assert normalize_dataset_spec("fashion-mnist:categories=A") == "fashion-mnist:categories=a"
    assert normal_categories(3) == "3"
    assert "categories" in next(d for d in describe_datasets() if d["name"] == "synthetic")["options"]
    assert category_indices("b", 4) == category_halves(4)["b"]
    assert "categories" in DATASETS["fashion-mnist"].options()
    assert "categories" not in DATASETS["canvas"].options() and "base" in DATASETS["canvas"].options()


@pytest.mark.parametrize("value,words", [("c", "neither"), ("1+1", "repeats"), ("0+12", "has 10 classes"),
                                         ("-1", "negative")])
def test_bad_categories_name_the_problem(value, words):
    with pytest.raises(DataError, match=words):
        load_dataset(f"synthetic:n=50,categories={value}", "test")
    with pytest.raises(DataError, match="at least 2"):
        category_halves(1)
