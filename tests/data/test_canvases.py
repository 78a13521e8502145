"""Detection canvases (analysis/data/canvases.py and the ``canvas`` dataset kind): deterministic
in one process and across processes, exact boxes for items at known positions, items only from
their own split, and the same on an image folder made here."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from analysis.data.canvases import CanvasDataset, compose_canvas, draw_placements, foreground_box, resize_item
from analysis.data.datasets import load_dataset, normalize_dataset_spec
from analysis.data.formats.idx import fashion_mnist_dirs
from analysis.errors import DataError
from tests.data.test_categories import write_class_folders

ROOT = Path(__file__).resolve().parents[2]
HAS_FMNIST = any((d / "t10k-images-idx3-ubyte.gz").exists() or (d / "t10k-images-idx3-ubyte").exists()
                 for d in fashion_mnist_dirs(None))
SMALL = "canvas:base=synthetic:n=200;channels=3,n=12,n_val=5,n_test=9"


def _digest(ds) -> dict:
    """What must not change: every canvas's pixels (as exact floats) and targets."""
    images, targets, _ = ds.get_batch(torch.arange(len(ds)))
    return {"images": (images * 255).round().to(torch.uint8).flatten().tolist(),
            "boxes": [t["boxes"].tolist() for t in targets],
            "labels": [t["labels"].tolist() for t in targets]}


def test_item_box_is_exact_for_a_known_item_at_a_known_place():
    item = torch.zeros(1, 28, 28)
    item[0, 5:21, 8:16] = 0.8                 # rows 5..20, columns 8..15
    canvas, target = compose_canvas([(item, 7)], [(10, 30, 28)], size=112)
    # side 28: no resize, so the box is the item's own pixels shifted by (10, 30)
    assert target["boxes"].tolist() == [[18.0, 35.0, 26.0, 51.0]]
    assert target["labels"].tolist() == [7]
    assert torch.equal(canvas[0, 35:51, 18:26], torch.full((16, 8), round(0.8 * 255) / 255))
    canvas[0, 35:51, 18:26] = 0
    assert float(canvas.abs().sum()) == 0     # nothing outside the box
    # a full bright square resized to 40 px: the box is the whole square
    full = torch.ones(3, 28, 28)
    canvas, target = compose_canvas([(full, 2), (item, 1)], [(60, 2, 40), (0, 70, 28)], size=112)
    assert target["boxes"].tolist() == [[60.0, 2.0, 100.0, 42.0], [8.0, 75.0, 16.0, 91.0]]
    assert canvas.shape == (3, 112, 112) and float(canvas[:, 2:42, 60:100].min()) == 1.0
    # every box is the tight box of the canvas pixels above the threshold inside it
    for box in target["boxes"].long().tolist():
        x0, y0, x1, y1 = box
        patch = canvas[:, y0:y1, x0:x1]
        assert foreground_box(patch) == (0, 0, x1 - x0, y1 - y0)


def test_resized_items_keep_their_tight_box():
    item = torch.zeros(1, 28, 28)
    item[0, 10:18, 4:24] = 1.0
    for side in (20, 33, 48):
        resized = resize_item(item, side)
        x0, y0, x1, y1 = foreground_box(resized)
        canvas, target = compose_canvas([(item, 0)], [(3, 4, side)], size=64)
        assert target["boxes"].tolist() == [[3 + x0, 4 + y0, 3 + x1, 4 + y1]]
        mask = canvas[0] > 0.1
        rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
        assert [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1] == \
            target["boxes"][0].tolist()


def test_blank_items_are_left_out_and_bad_placements_refused():
    canvas, target = compose_canvas([(torch.zeros(1, 28, 28), 3)], [(0, 0, 28)], size=40)
    assert target["boxes"].shape == (0, 4) and target["labels"].shape == (0,)
    with pytest.raises(ValueError, match="does not fit"):
        compose_canvas([(torch.ones(1, 28, 28), 3)], [(30, 0, 28)], size=40)


def test_placements_do_not_overlap():
    import random

    rng = random.Random(5)
    for _ in range(200):
        squares = [s for s in draw_placements(rng, 4, 112, 20, 48) if s is not None]
        assert squares
        for i, (xa, ya, sa) in enumerate(squares):
            assert 0 <= xa <= 112 - sa and 0 <= ya <= 112 - sa and 20 <= sa <= 48
            for xb, yb, sb in squares[i + 1:]:
                assert xa + sa <= xb or xb + sb <= xa or ya + sa <= yb or yb + sb <= ya


def test_canvases_are_the_same_twice_and_in_another_process():
    first, again = load_dataset(SMALL, "test"), load_dataset(SMALL, "test")
    assert _digest(first) == _digest(again)
    code = ("import json, sys, torch; sys.path.insert(0, '.');"
            "from analysis.data.datasets import load_dataset;"
            "from tests.data.test_canvases import SMALL, _digest;"
            "print(json.dumps(_digest(load_dataset(SMALL, 'test'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"})
    assert json.loads(out.stdout) == json.loads(json.dumps(_digest(first)))
    other_seed = load_dataset(SMALL + ",seed=1", "test")
    assert _digest(other_seed)["boxes"] != _digest(first)["boxes"]


def test_canvas_items_come_only_from_their_split():
    for split, count in (("train", 12), ("val", 5), ("test", 9)):
        ds = load_dataset(SMALL, split)
        base = load_dataset("synthetic:n=200,channels=3", split)
        assert len(ds) == count and len(ds.base) == len(base)
        assert torch.equal(ds.base.labels, base.labels)
        for i in range(len(ds)):
            image, target, index = ds[i]
            layout = ds.layout(i)
            assert index == i and 1 <= len(layout) <= 4
            assert target["labels"].tolist() == [int(base.labels[j]) for j, _ in layout]
            for (j, (x, y, side)), box in zip(layout, target["boxes"].tolist()):
                item = resize_item(base[j][0], side)
                assert torch.equal(image[:, y:y + side, x:x + side], item)
                assert x <= box[0] < box[2] <= x + side and y <= box[1] < box[3] <= y + side
    # train and val canvases draw on disjoint images of the official training set
    train, val = load_dataset("synthetic:n=200", "train"), load_dataset("synthetic:n=200", "val")
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())


def test_canvases_of_an_image_folder(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=6, side=16)
    spec = f"canvas:base=imagefolder:{tmp_path / 'imgs'},n=6,n_val=2,n_test=4,size=64,max_side=30"
    ds = load_dataset(spec, "test")
    assert len(ds) == 4 and ds.info.channels == 3 and ds.info.size == 64
    assert ds.info.class_names == ("ant", "bee", "cat", "dog")
    assert ds.info.extra["task"] == "detection"
    images, targets, _ = ds.get_batch(torch.arange(4))
    assert images.shape == (4, 3, 64, 64) and 0 <= images.min() <= images.max() <= 1
    for image, target, i in zip(images, targets, range(4)):
        layout = ds.layout(i)
        assert len(target["boxes"]) == len(layout)
        for (j, (x, y, side)), box, label in zip(layout, target["boxes"].tolist(),
                                                 target["labels"].tolist()):
            # the folder's images are grey all over (level 40 + 50 k): the box is the square
            assert box == [x, y, x + side, y + side]
            grey = (float(image[:, y:y + side, x:x + side].mean()) * 255 - 40) / 50
            assert round(grey) == label == int(ds.base.labels[j])
    assert _digest(ds) == _digest(load_dataset(spec, "test"))
    half = load_dataset(spec.replace(",n=6", ":categories=a,n=6"), "test")
    assert half.info.class_names == ("ant", "dog")            # half a of 4 classes: (0, 3)
    assert all(set(t["labels"].tolist()) <= {0, 1} for _, t, _ in (half[i] for i in range(4)))


def test_canvas_spec_normal_form_and_refusals():
    normal = normalize_dataset_spec("canvas:n=50")
    assert normal == ("canvas:base=fashion-mnist,max_items=4,max_side=48,min_items=1,min_side=20,"
                      "n=50,n_test=1000,n_val=500,seed=0,size=112,threshold=0.1")
    assert normalize_dataset_spec("canvas:base=synthetic:n=64,n=5") == normalize_dataset_spec(
        "canvas:n=5,base=synthetic:n=64;seed=0")
    with pytest.raises(DataError, match="base=fashion-mnist:categories=a"):
        load_dataset("canvas:categories=a", "test")
    with pytest.raises(ValueError, match="max_side"):
        CanvasDataset(load_dataset("synthetic:n=20", "test"), 3, "test", max_side=200)


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed")
def test_fashion_mnist_canvases():
    ds = load_dataset("canvas:n=10,n_test=30", "test")
    assert len(ds) == 30 and ds.info.channels == 1 and ds.info.size == 112
    image, target, _ = ds[0]
    assert image.shape == (1, 112, 112) and len(target["boxes"]) >= 1
    boxes = target["boxes"]
    assert bool(((boxes[:, 2] - boxes[:, 0]) >= 1).all()) and float(boxes.max()) <= 112
    # no image repeats across the first canvases (the items' order is a permutation)
    used = [j for i in range(30) for j, _ in ds.layout(i)]
    assert len(used) == len(set(used))
