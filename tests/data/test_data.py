import os
import pickle
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.data.batches import iterate_batches
from analysis.data.containers import SPLITS
from analysis.data.datasets import DATASETS, load_dataset, normalize_dataset_spec, same_dataset
from analysis.data.formats.idx import fashion_mnist_dirs, read_idx
from analysis.data.sampling import Sample, limited_indices, stratified_sample
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


def _same_batches(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for p, q in zip(a, b) for x, y in zip(p, q))


def test_worker_processes_decode_the_same_batches_in_the_same_order(tmp_path):
    ds = load_dataset("synthetic:n=200", "train")
    args = dict(batch_size=16, shuffle=True, seed=3, epoch=1, limit=100)
    alone = list(iterate_batches(ds, **args))
    assert _same_batches(alone, list(iterate_batches(ds, **args, num_workers=2)))
    for k in range(2):                      # an image folder's files, decoded by the workers
        (tmp_path / "imgs" / f"c{k}").mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((12, 12, 3), 60 * k + 10 * i, np.uint8)).save(
                tmp_path / "imgs" / f"c{k}" / f"{i}.png")
    folder = load_dataset(f"imagefolder:{tmp_path / 'imgs'}", "train")
    alone = list(iterate_batches(folder, 3, shuffle=True))
    workers = list(iterate_batches(folder, 3, shuffle=True, num_workers=2))
    assert len(alone) > 1 and _same_batches(alone, workers)


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
    monkeypatch.setattr("analysis.data.formats.idx.FASHION_MNIST_DIRS", (str(tmp_path),))
    monkeypatch.delenv("RA_FASHION_MNIST", raising=False)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "test", root=str(tmp_path))


def test_idx_reader_rejects_garbage(tmp_path):
    bad = tmp_path / "x-idx3-ubyte"
    bad.write_bytes(b"\x01\x02garbage")
    with pytest.raises(DataError, match="unreadable"):
        read_idx(bad)


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
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

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


def test_cifar10_reads_torchvision_layout(tmp_path):
    # home-made files in CIFAR-10's format fail the official MD5s: verify=false reads them
    _cifar_folder(tmp_path, per_batch=4)
    test = load_dataset("cifar10:verify=false", "test", root=str(tmp_path))
    assert len(test) == 4 and test[0][0].shape == (3, 32, 32)
    assert test.info.class_names == tuple("abcdefghij")
    assert len(load_dataset("cifar10:verify=false", "train", root=str(tmp_path))) == 18
    batch = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())
    pixels = batch["data"][2].reshape(3, 32, 32)          # CIFAR rows: R plane, G plane, B plane
    assert torch.equal(test[2][0], torch.from_numpy(pixels).float() / 255)
    assert test[2][1] == batch["labels"][2]


def test_cifar10_checksum_failure_names_the_escape(tmp_path):
    _cifar_folder(tmp_path, per_batch=2)
    with pytest.raises(DataError, match=r"fail torchvision's checksum .*'cifar10:verify=false'"):
        load_dataset("cifar10", "test", root=str(tmp_path))


def test_cifar10_unverified_batches_cannot_run_code(tmp_path):
    _cifar_folder(tmp_path, per_batch=2)

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"data": Evil()}))
    with pytest.raises(DataError, match="not allowed in a CIFAR-10 batch"):
        load_dataset("cifar10:verify=false", "test", root=str(tmp_path))
    assert not (tmp_path / "pwned").exists()


def test_cifar10_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="'cifar10:download=true'"):
        load_dataset("cifar10", "test", root=str(tmp_path))
    with mock.patch("torchvision.datasets.CIFAR10.__init__", side_effect=RuntimeError("offline")):
        with pytest.raises(DataError, match="could not be downloaded"):   # not a TypeError
            load_dataset("cifar10:download=true", "test", root=str(tmp_path))


def test_unknown_dataset_lists_close_names():
    with pytest.raises(UnknownNameError, match="fashion-mnist"):
        load_dataset("fashion-mnst", "test")
    assert set(DATASETS) >= {"fashion-mnist", "cifar10", "imagefolder", "synthetic"}


def _cifar_folder(tmp_path, per_batch: int = 6):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir(exist_ok=True)
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 255, (per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, per_batch).tolist()}
        (base / name).write_bytes(pickle.dumps(batch))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": list("abcdefghij")}))
    return str(tmp_path)


@pytest.mark.parametrize("kind", ["synthetic", "imagefolder", "imagefolder-splits", "cifar10",
                                  "fashion-mnist"])
def test_every_dataset_kind_implements_the_protocol(kind, tmp_path, monkeypatch):
    """len, info (channels, size, classes), labels without decoding, indexed batches equal to
    single items, values in [0, 1]: what the runner, the filters and the features need."""
    root, options = None, {}
    if kind == "synthetic":
        spec = "synthetic:n=60,channels=3,size=12"
    elif kind == "imagefolder":
        _write_folder(tmp_path / "imgs", per_class=5)
        spec, options = f"imagefolder:{tmp_path / 'imgs'}", {"size": 16}
    elif kind == "imagefolder-splits":      # train/ val/ test/, served at the images' own size
        for split, n in (("train", 6), ("val", 3), ("test", 4)):
            _write_folder(tmp_path / "d" / split, per_class=n, size=(20, 20))
        spec = f"imagefolder:{tmp_path / 'd'}"
    elif kind == "cifar10":
        spec, root = "cifar10:verify=false", _cifar_folder(tmp_path)
    else:
        if not HAS_FMNIST:
            pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        spec = "fashion-mnist"
    for split in ("train", "val", "test"):
        ds = load_dataset(spec, split, root=root, **options)
        n = len(ds)
        assert n > 0 and ds.info.num_classes >= 2 and set(ds.info.splits) == set(SPLITS)
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


# ----------------------------------------------------------------------------- issue 18, point 3

def test_imagefolder_size_defaults_to_the_images_own(tmp_path, capsys):
    _write_folder(tmp_path / "sq", per_class=3, size=(24, 24))
    ds = load_dataset(f"imagefolder:{tmp_path / 'sq'}", "test")
    assert ds.info.size == 24 and ds[0][0].shape == (3, 24, 24)
    assert "size=" not in capsys.readouterr().err          # nothing to say: one shared size
    _write_folder(tmp_path / "wide", per_class=3, size=(40, 30))
    ds = load_dataset(f"imagefolder:{tmp_path / 'wide'}", "test")
    assert ds.info.size == 30 and ds[0][0].shape == (3, 30, 30)
    assert "the images are 40x30; size=30" in capsys.readouterr().err


def test_imagefolder_of_mixed_sizes_says_which_size_once(tmp_path, capsys):
    _write_folder(tmp_path / "m" / "a", classes=("cat",), per_class=3, size=(32, 32))
    _write_folder(tmp_path / "m" / "b", classes=("dog",), per_class=1, size=(50, 64))
    for sub in ("a", "b"):       # two class folders directly under m/
        for d in (tmp_path / "m" / sub).iterdir():
            d.rename(tmp_path / "m" / d.name)
        (tmp_path / "m" / sub).rmdir()
    spec = f"imagefolder:{tmp_path / 'm'}"
    assert load_dataset(spec, "train").info.size == 32
    load_dataset(spec, "test")
    err = capsys.readouterr().err
    assert err.count("2 different sizes; size=32 was chosen, the most common shorter side "
                     "(3 of 4 images)") == 1


def test_imagefolder_splits_are_named(tmp_path, capsys):
    for split, n in (("train", 4), ("val", 2), ("test", 3)):
        _write_folder(tmp_path / "three" / split, per_class=n, size=(8, 8))
    spec = f"imagefolder:{tmp_path / 'three'}"
    assert [len(load_dataset(spec, s)) for s in SPLITS] == [8, 4, 6]   # val/ is the val split
    assert load_dataset(spec, "val").info.splits["val"] == str(tmp_path / "three" / "val")
    assert "serves as the test split" not in capsys.readouterr().err
    for split, n in (("train", 4), ("val", 2)):
        _write_folder(tmp_path / "two" / split, per_class=n, size=(8, 8))
    test = load_dataset(f"imagefolder:{tmp_path / 'two'}", "test")
    assert len(test) == 4 and test.info.splits["test"] == str(tmp_path / "two" / "val")
    assert "val/ serves as the test split (there is no test/)" in capsys.readouterr().err
    for split, n in (("train", 4), ("test", 3)):     # no val/: carved from train/, test/ is test
        _write_folder(tmp_path / "tt" / split, per_class=n, size=(8, 8))
    test = load_dataset(f"imagefolder:{tmp_path / 'tt'}", "test")
    assert test.info.splits["test"] == str(tmp_path / "tt" / "test")
    err = capsys.readouterr().err
    assert "serves as the test split" not in err
    assert "there is no val/, so the val split is carved from train/" in err
    _write_folder(tmp_path / "one", per_class=10, size=(8, 8))
    load_dataset(f"imagefolder:{tmp_path / 'one'}", "test")
    assert "test split is a seeded 20 % of the images (seed 0" in capsys.readouterr().err
    (tmp_path / "lone" / "train" / "cat").mkdir(parents=True)
    with pytest.raises(DataError, match="needs train/ and val/ or test/"):
        load_dataset(f"imagefolder:{tmp_path / 'lone'}", "test")


def test_dataset_specs_have_one_normal_form(tmp_path, monkeypatch):
    _write_folder(tmp_path / "imgs", per_class=2, size=(16, 16))
    normal = normalize_dataset_spec(f"imagefolder:{tmp_path / 'imgs'}")
    assert normal == (f"imagefolder:{tmp_path / 'imgs'}:channels=3,policy=resize-center-crop,"
                      "seed=0,size=16,test_fraction=0.2")
    monkeypatch.chdir(tmp_path)
    for spelling in ("imagefolder:imgs/", "imagefolder:./imgs:size=16",
                     f"imagefolder:{tmp_path / 'imgs'}/:policy=resize-center-crop,channels=3"):
        assert normalize_dataset_spec(spelling) == normal and same_dataset(spelling, normal)
    assert not same_dataset("imagefolder:imgs:size=8", normal)
    assert normalize_dataset_spec("synthetic:n=64") == \
        "synthetic:channels=1,classes=10,n=64,seed=0,size=28"
    assert normalize_dataset_spec("cifar10:verify=false") == "cifar10"
    assert normalize_dataset_spec("fashion-mnist") == "fashion-mnist"
    assert load_dataset("imagefolder:imgs/", "test").info.name == normal


def test_limit_takes_a_stratified_sample_that_covers_every_class(tmp_path):
    _write_folder(tmp_path / "imgs", classes=("a", "b", "c", "d"), per_class=10, size=(8, 8))
    train = load_dataset(f"imagefolder:{tmp_path / 'imgs'}", "train")
    first = train.labels[limited_indices(train, 8)]            # an int: the first 8 images
    assert len(set(first.tolist())) < 4                        # class order: not every class
    chosen = limited_indices(train, Sample(8))
    assert torch.bincount(train.labels[chosen], minlength=4).tolist() == [2, 2, 2, 2]
    assert chosen.tolist() == sorted(chosen.tolist())
    assert torch.equal(chosen, limited_indices(train, Sample(8)))          # seeded
    assert not torch.equal(chosen, limited_indices(train, Sample(8, seed=1)))
    assert torch.equal(limited_indices(train, Sample(len(train) + 5)), torch.arange(len(train)))
    assert limited_indices(train, None).tolist() == list(range(len(train)))
    seen = torch.cat([idx for _, _, idx in iterate_batches(train, 3, limit=Sample(8))])
    assert torch.equal(seen, chosen)
    # uneven classes: a class that runs out leaves its turns to the others
    labels = torch.tensor([0] * 2 + [1] * 20 + [2] * 20)
    counts = torch.bincount(labels[stratified_sample(labels, 12)], minlength=3).tolist()
    assert counts == [2, 5, 5]


def test_limit_on_the_command_line_is_a_sample():
    from analysis.cli.options import SAMPLE

    args = SAMPLE().parse_args(["--sample", "40"])
    assert isinstance(args.sample, Sample) and args.sample == 40
