"""The ``agreement`` verb on the tiny synthetic zoo and on an ImageFolder made here."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from analysis.cli.main import main
from tests.conftest import SYNTH, TINY_CLASSIFIER, TINY_PROCESSOR


def test_agreement_on_the_tiny_zoo_writes_a_run_folder_not_results(tiny_zoo, capsys):
    code = main(["agreement", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--sample", "20", "--metrics", "psnr,fd-clf-a", "--classifiers", "clf-a,clf-b",
                 "--boot", "20", "--device", "cpu", "--no-progress", "--batch-size", "10"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Not the full protocol" in err and "--sample 20" in err
    written = err.split("Wrote ")[1].split(", ")
    result = json.loads(open(written[0].strip()).read())
    assert result["n_images"] == 20 and result["sample"] == "stratified"
    assert result["classifiers"] == ["clf-a", "clf-b"]
    assert "### sr-ra" in out and "clf-a / clf-b" in out


def test_agreement_refuses_first_and_sample_together(tiny_zoo, capsys):
    code = main(["agreement", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--sample", "20", "--first", "10", "--no-save"])
    assert code == 2
    assert "--first and --sample" in capsys.readouterr().err


def test_agreement_on_an_image_folder(tmp_path, capsys):
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("val", 4)):
        for k, c in enumerate(("ant", "bee", "cow")):
            (tmp_path / "imgs" / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 80, (24, 24, 3)) + 80 * k
                Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "imgs" / split / c / f"{i}.png")
    spec, zoo = f"imagefolder:{tmp_path / 'imgs'}", tmp_path / "zoo"
    common = {"dataset": spec, "epochs": 1, "batch_size": 6, "state_dir": str(tmp_path / "runs"),
              "progress": False, "val_limit": 6}
    train_classifier("resnet20", out=str(zoo / "own"), arch_kwargs=TINY_CLASSIFIER, max_steps=2,
                     **common)
    train_processor("sr", "plain", out=str(zoo / "sr-plain"), arch_kwargs=TINY_PROCESSOR,
                    max_steps=2, **common)
    train_processor("sr", "ra", out=str(zoo / "sr-ra"), recognizer=str(zoo / "own"), lam=0.1,
                    arch_kwargs=TINY_PROCESSOR, max_steps=2, **common)
    capsys.readouterr()
    code = main(["agreement", "--task", "sr", "--dataset", spec, "--checkpoints", str(zoo),
                 "--first", "12", "--metrics", "psnr,ssim,fd-own", "--boot", "20",
                 "--device", "cpu", "--no-progress", "--out", str(tmp_path / "out"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["n_images"] == 12 and result["classifiers"] == ["own"]
    assert result["margin_consistency"] == []          # one classifier: no pair
    rows = {(r["metric"], r["input"]) for r in result["agreement"]}
    assert ("fd-own", "sr-ra") in rows and ("confidence-own", "no processing") in rows
    assert {r["classifier"] for r in result["agreement"]} == {"own"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "agreement_sr_scale4.json", "agreement_sr_scale4.md", "agreement_sr_scale4_images.parquet"]
