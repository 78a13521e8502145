import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from analysis.data.canvases import compose_canvas
from analysis.data.datasets import load_dataset
from analysis.errors import RAExplorerError
from analysis.metrics.detection import map_with_ci, mean_average_precision
from analysis.training.detectors import (
    detect,
    detection_validation,
    flip_canvases,
    train_detector,
)
from analysis.zoo.checkpoints import load_checkpoint
from tests.bad_input import assert_one_sentence, run_main

ROOT = Path(__file__).resolve().parents[2]
# 24 training and 8 validation canvases of 48 px made of synthetic 28 px images
CANVAS = "canvas:base=synthetic:n=200,n=24,n_val=8,n_test=8,size=48,min_side=12,max_side=24"
TINY = {"width": 8, "fpn_channels": 32}


@pytest.mark.parametrize("arch", ["fcos", "retinanet"])
def test_a_detector_trains_writes_a_card_and_its_map_comes_from_the_metric(arch, tmp_path):
    card_path = train_detector(arch, dataset=CANVAS, out=str(tmp_path / arch), epochs=2,
                               batch_size=8, arch_kwargs=TINY, val_limit=8,
                               state_dir=str(tmp_path), progress=False, device="cpu")
    card = json.loads(card_path.read_text())
    assert card["kind"] == "detector" and card["arch"] == arch and card["epochs"] == 2
    assert card["arch_kwargs"]["image_size"] == 48 and card["arch_kwargs"]["num_classes"] == 10
    assert [h["steps"] for h in card["history"]] == [3, 3]
    assert all(h["train_loss"] > 0 for h in card["history"])
    model, loaded = load_checkpoint(tmp_path / arch, kind="detector")
    # the card's validation mAP is the metric's on the saved model's detections
    val = load_dataset(CANVAS, "val")
    preds, targets = detect(model, val, torch.device("cpu"))
    assert len(preds) == len(targets) == 8
    again = mean_average_precision(preds, targets)
    assert loaded["metrics"] == {"val_map": again["map"], "val_map_50": again["map_50"]}
    assert detection_validation(model, val, torch.device("cpu")) == loaded["metrics"]
    ci = map_with_ci(preds, targets, n_boot=20)
    assert ci["map"]["value"] == again["map"] and ci["map"]["low"] <= ci["map"]["high"]
    for p in preds:
        assert p["boxes"].shape[1] == 4 and len(p["boxes"]) == len(p["scores"]) <= 100
        assert bool((p["boxes"] >= 0).all() and (p["boxes"] <= 48).all())


def test_a_detector_is_refused_a_classification_dataset_and_a_classifier_arch(tmp_path):
    with pytest.raises(RAExplorerError, match="holds class labels, not boxes"):
        train_detector("fcos", dataset="synthetic:n=64", out=str(tmp_path / "d"))
    with pytest.raises(RAExplorerError, match="'resnet20' is a classifier, not a detector"):
        train_detector("resnet20", dataset=CANVAS, out=str(tmp_path / "d"))
    assert not list(tmp_path.iterdir())


def test_the_verb_refuses_a_non_detection_dataset_in_one_sentence(tmp_path, capsys):
    code, err = run_main(["train-detector", "--arch", "fcos", "--dataset", "synthetic:n=64",
                          "--out", tmp_path / "d", "--state-dir", tmp_path / "runs",
                          "--no-progress"], capsys)
    assert_one_sentence(code, err, "use canvases of it, e.g. --dataset "
                                   "canvas:base=synthetic:n=64", status=2)
    code, err = run_main(["train-detector", "--arch", "resnet20", "--dataset", CANVAS,
                          "--out", tmp_path / "d"], capsys)
    assert_one_sentence(code, err, "invalid choice: 'resnet20'", status=2)
    assert not list(tmp_path.iterdir())


def test_flips_move_the_boxes_with_the_items():
    item = torch.zeros(1, 10, 10)
    item[:, 2:7, 1:4] = 1.0
    canvas, target = compose_canvas([(item, 3)], [(5, 20, 10)], size=40)
    gen = torch.Generator().manual_seed(0)
    images, targets = canvas[None].repeat(16, 1, 1, 1), [target] * 16
    flipped, moved = flip_canvases(images, targets, gen)
    seen = set()
    for image, t in zip(flipped, moved):
        mask = image[0] > 0.1
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        box = [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]
        assert t["boxes"].tolist() == [box] and t["labels"].tolist() == [3]
        seen.add(tuple(box))
    assert seen == {(6, 22, 9, 27), (31, 22, 34, 27)}       # both kept and flipped ones
    assert target["boxes"].tolist() == [[6, 22, 9, 27]]      # the input is left alone


def test_kill_9_then_resume_is_bitwise_identical(tmp_path):
    """SIGKILL during the second epoch, then --resume: the weights equal an uninterrupted run's."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

    def cmd(name, *extra):
        return [sys.executable, "-m", "analysis", "train-detector", "--arch", "fcos",
                "--arch-kw", "width=8,fpn_channels=32", "--dataset",
                CANVAS.replace("n=24", "n=96"), "--epochs", "2", "--batch-size", "8",
                "--val-first", "8", "--device", "cpu", "--no-progress",
                "--out", str(tmp_path / name), "--state-dir", str(tmp_path / f"runs-{name}"), *extra]

    whole = subprocess.Popen(cmd("whole"), cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    killed = subprocess.Popen(cmd("resumed"), cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    state = tmp_path / "runs-resumed" / "resumed.state.pt"
    deadline = time.monotonic() + 240
    while not state.exists():       # written (atomically) after the first epoch
        assert killed.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "resumed.json").exists()       # it died inside the second epoch
    assert torch.load(state, weights_only=True)["epoch"] == 1
    resumed = subprocess.run(cmd("resumed", "--resume"), cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0 and "Resuming resumed from epoch 1" in resumed.stderr
    assert whole.wait(timeout=240) == 0
    a, b = (load_file(str(tmp_path / f"{n}.safetensors")) for n in ("whole", "resumed"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k].view(-1).view(torch.uint8), b[k].view(-1).view(torch.uint8))
               for k in a)
    cards = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("whole", "resumed")]
    assert [[h["train_loss"] for h in c["history"]] for c in cards][0] == \
        [[h["train_loss"] for h in c["history"]] for c in cards][1]
    assert cards[0]["metrics"] == cards[1]["metrics"]


def test_the_verb_defaults_to_canvases_of_the_dataset_in_force(monkeypatch):
    from analysis.cli.training import detector_dataset

    assert detector_dataset(CANVAS) == CANVAS
    monkeypatch.setenv("RA_DATASET", "synthetic:n=64,channels=3")
    assert detector_dataset(None) == "canvas:base=synthetic:n=64;channels=3"
    monkeypatch.setenv("RA_DATASET", CANVAS)
    assert detector_dataset(None) == CANVAS
    monkeypatch.delenv("RA_DATASET")
    assert detector_dataset(None) == "canvas:base=fashion-mnist"


def test_detect_runs_a_transform_before_the_detector_in_image_order():
    from analysis.zoo import create_model

    model = create_model("fcos", in_channels=1, num_classes=10, image_size=48, mean=[0.3],
                         std=[0.35], **TINY)
    val = load_dataset(CANVAS, "val")
    seen = []

    def transform(images, indices):
        seen.append(indices.tolist())
        return torch.zeros_like(images) if indices[0] >= 4 else images

    plain, targets = detect(model, val, torch.device("cpu"), batch_size=4)
    blanked, again = detect(model, val, torch.device("cpu"), batch_size=4, transform=transform)
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7]] and model.training
    assert [t["boxes"].tolist() for t in targets] == [t["boxes"].tolist() for t in again]
    for i, (a, b) in enumerate(zip(plain, blanked)):
        same = torch.equal(a["boxes"], b["boxes"]) and torch.equal(a["scores"], b["scores"])
        if i < 4:            # untouched canvases: the same detections
            assert same
        else:                # blanked canvases: other detections (unless none on either)
            assert not same or len(a["boxes"]) == len(b["boxes"]) == 0
