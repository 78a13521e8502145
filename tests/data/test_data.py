from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.data.datasets import DATASETS, _read_idx, fashion_mnist_dirs, iterate_batches, load_dataset
from analysis.errors import DataError, UnknownNameError

HAS_FMNIST = any((d / "t10k-images-idx3-ubyte.gz").exists() for d in fashion_mnist_dirs(None))


def test_synthetic_shapes_ranges_and_labels():
    ds = load_dataset("synthetic:n=100,channels=3,size=32", "test")
    image, label, index = ds[3]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert 0 <= label < 10 and index == 3
    assert ds.info.num_classes == 10 and ds.info.channels == 3


def test_val_split_is_seeded_disjoint_and_complete():
    train = load_dataset("synthetic:n=300", "train")
    val = load_dataset("synthetic:n=300", "val")
    assert len(val) == 30 and len(train) == 270
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())
    assert sorted(train.indices.tolist() + val.indices.tolist()) == list(range(300))
    again = load_dataset("synthetic:n=300", "val")
    assert torch.equal(again.indices, val.indices)
    other = load_dataset("synthetic:n=300", "val", seed=5)
    assert not torch.equal(other.indices, val.indices)


def test_iterate_batches_shards_like_a_distributed_sampler():
    ds = load_dataset("synthetic:n=100", "test")  # 20 images
    seen = []
    for rank in range(3):
        for _, _, idx in iterate_batches(ds, 4, rank=rank, world_size=3):
            seen += idx.tolist()
    assert len(seen) == 21 and set(seen) == set(range(20))  # padded by one repeat


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed "
                    "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian_files():
    test = load_dataset("fashion-mnist", "test")
    assert len(test) == 10000
    image, label, _ = test[0]
    assert image.shape == (1, 28, 28) and label == 9  # first test image is an ankle boot
    assert len(load_dataset("fashion-mnist", "train")) == 55000
    assert len(load_dataset("fashion-mnist", "val")) == 5000


def test_fashion_mnist_missing_gives_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr("analysis.data.datasets.FASHION_MNIST_DIRS", (str(tmp_path),))
    monkeypatch.delenv("RA_FASHION_MNIST", raising=False)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "test", root=str(tmp_path))


def test_idx_reader_rejects_garbage(tmp_path):
    bad = tmp_path / "x-idx3-ubyte"
    bad.write_bytes(b"\x01\x02garbage")
    with pytest.raises(DataError, match="unreadable"):
        _read_idx(bad)


def _write_folder(root: Path, classes=("cat", "dog"), per_class=5, size=(40, 30)):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(
                root / c / f"{i}.png")


def test_imagefolder_single_folder_split_and_resize(tmp_path):
    _write_folder(tmp_path / "imgs", per_class=10)
    spec = f"imagefolder:{tmp_path / 'imgs'}"
    test = load_dataset(spec, "test", size=16)
    train = load_dataset(spec, "train", size=16)
    val = load_dataset(spec, "val", size=16)
    assert len(test) == 4 and len(train) + len(val) == 16
    image, label, _ = test[0]
    assert image.shape == (3, 16, 16) and label in (0, 1)
    assert test.info.class_names == ("cat", "dog")
    images, labels, _ = next(iterate_batches(test, 3))
    assert images.shape == (3, 3, 16, 16)


def test_imagefolder_train_val_layout_and_grayscale(tmp_path):
    _write_folder(tmp_path / "d" / "train", per_class=4)
    _write_folder(tmp_path / "d" / "val", per_class=2)
    test = load_dataset(f"imagefolder:{tmp_path / 'd'}", "test", size=8, channels=1,
                        policy="resize")
    assert len(test) == 4 and test[0][0].shape == (1, 8, 8)


def test_imagefolder_options_in_the_spec(tmp_path):
    _write_folder(tmp_path / "imgs", per_class=5)
    ds = load_dataset(f"imagefolder:{tmp_path / 'imgs'}:size=12,channels=1", "test")
    assert ds[0][0].shape == (1, 12, 12)


def test_training_and_evaluation_on_an_image_folder(tmp_path):
    from analysis.analyses.evaluate import evaluate
    from analysis.training.loops import train_classifier, train_processor

    _write_folder(tmp_path / "imgs", per_class=10)
    spec = f"imagefolder:{tmp_path / 'imgs'}:size=16"
    common = {"dataset": spec, "epochs": 1, "batch_size": 8, "state_dir": str(tmp_path / "s"),
              "progress": False}
    train_classifier("resnet20", out=str(tmp_path / "z" / "c"), arch_kwargs={"width": 4}, **common)
    train_processor("sr", "ra", out=str(tmp_path / "z" / "p"), recognizer=str(tmp_path / "z" / "c"),
                    lam=0.1, arch_kwargs={"channels": 8, "blocks": 1}, **common)
    result = evaluate("sr", dataset=spec, folder=tmp_path / "z", progress=False)
    assert result["n_images"] == 4 and [r["name"] for r in result["rows"]][-1] == "p"


def test_imagefolder_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"imagefolder:{tmp_path / 'nope'}", "test")


def test_cifar10_reads_torchvision_layout(tmp_path, monkeypatch):
    # torchvision checks md5 sums of the real files; the small files stand in for them
    _cifar_folder(tmp_path, monkeypatch, per_batch=4)
    test = load_dataset("cifar10", "test", root=str(tmp_path))
    assert len(test) == 4 and test[0][0].shape == (3, 32, 32)
    assert test.info.class_names == tuple("abcdefghij")
    assert len(load_dataset("cifar10", "train", root=str(tmp_path))) == 18


def test_cifar10_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="--download"):
        load_dataset("cifar10", "test", root=str(tmp_path))


def test_unknown_dataset_lists_close_names():
    with pytest.raises(UnknownNameError, match="fashion-mnist"):
        load_dataset("fashion-mnst", "test")
    assert set(DATASETS) >= {"fashion-mnist", "cifar10", "imagefolder", "synthetic"}


def _cifar_folder(tmp_path, monkeypatch, per_batch: int = 6):
    import pickle

    from torchvision.datasets import CIFAR10

    base = tmp_path / "cifar-10-batches-py"
    base.mkdir(exist_ok=True)
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 255, (per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, per_batch).tolist()}
        (base / name).write_bytes(pickle.dumps(batch))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": list("abcdefghij")}))
    monkeypatch.setattr(CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *a, **k: True)
    return str(tmp_path)


@pytest.mark.parametrize("kind", ["synthetic", "imagefolder", "cifar10", "fashion-mnist"])
def test_every_dataset_kind_implements_the_protocol(kind, tmp_path, monkeypatch):
    """len, info (channels, size, classes), labels without decoding, indexed batches equal to
    single items, values in [0, 1]: what the runner, the filters and the features need."""
    root, options = None, {}
    if kind == "synthetic":
        spec = "synthetic:n=60,channels=3,size=12"
    elif kind == "imagefolder":
        _write_folder(tmp_path / "imgs", per_class=5)
        spec, options = f"imagefolder:{tmp_path / 'imgs'}", {"size": 16}
    elif kind == "cifar10":
        spec, root = "cifar10", _cifar_folder(tmp_path, monkeypatch)
    else:
        if not HAS_FMNIST:
            pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        spec = "fashion-mnist"
    for split in ("train", "val", "test"):
        ds = load_dataset(spec, split, root=root, **options)
        n = len(ds)
        assert n > 0 and ds.info.num_classes >= 2
        labels = ds.labels
        assert labels.shape == (n,) and labels.dtype == torch.long
        pick = torch.tensor([n - 1, 0, n // 2])
        images, batch_labels, idx = ds.get_batch(pick)
        assert images.shape == (3, ds.info.channels, ds.info.size, ds.info.size)
        assert images.dtype == torch.float32 and 0 <= images.min() <= images.max() <= 1
        assert idx.tolist() == pick.tolist() and torch.equal(batch_labels, labels[pick])
        for k, i in enumerate(pick.tolist()):
            image, label, index = ds[i]
            assert torch.equal(image, images[k]) and label == int(labels[i]) and index == i
