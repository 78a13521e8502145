"""The BD search range scales with the image (issue 40, item 5): 30 * sqrt(C*H*W / 784), 30 at
28x28x1 (the shipped Table 17), and censored searches named with the range hit and the option."""

import io
import json
import math
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from analysis.analyses import boundary_defaults as bd
from analysis.analyses.boundary_search import boundary_distance
from analysis.analyses.boundary_table import censored_note
from analysis.cli.main import main
from analysis.zoo import create_model
from analysis.zoo.checkpoints import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_range_is_30_at_28x28x1_and_grows_with_the_root_of_the_dimension():
    assert bd.max_dist_for(28 * 28) == 30.0
    assert bd.max_dist_for(32 * 32 * 3) == 59.4
    assert bd.max_dist_for(224 * 224 * 3) == 415.7
    # the same per-pixel RMS (30 / 28) at every size
    for dims in (784, 3072, 150528):
        assert bd.max_dist_for(dims) / math.sqrt(dims) == pytest.approx(30 / 28, abs=1e-3)
    assert bd.search_range(12.5, 150528) == 12.5
    # the shipped Table 17 was searched to the range the rule gives at its size
    shipped = json.loads((ROOT / "results" / "boundaries_sr_scale4_resnet20_densenet-bc.json")
                         .read_text())
    assert shipped["max_dist"] == bd.max_dist_for(shipped["records"][0]["dims"]) == 30.0


def test_the_search_resolves_the_default_from_the_images():
    torch.manual_seed(0)
    mean_tint = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LazyLinear(2))
    x, d = torch.rand(2, 3, 224, 224), torch.randn(2, 3, 224, 224)
    assert boundary_distance(mean_tint, x, d, tol=1.0).max_dist == 415.7
    assert boundary_distance(mean_tint[:2], x[:, :, :28, :28].mean(1, keepdim=True),
                             d[:, :1, :28, :28], tol=1.0).max_dist == 30.0
    assert boundary_distance(mean_tint, x, d, max_dist=7.0, tol=1.0).max_dist == 7.0


def test_the_censored_note_names_the_range_and_the_option():
    report = {"censored": 3, "searches": 8, "max_dist": 415.7, "max_dist_rule": bd.MAX_DIST_RULE}
    assert censored_note(report) == (
        "3 of 8 searches found no class change within the default range 30 * sqrt(C*H*W / 784) "
        "= 415.7 ([0,1]-pixel L2), so their BD is censored and left out of the means; raise the "
        "range with --max-dist, e.g. --max-dist 831.4.")
    assert "within the range --max-dist 30 (" in censored_note(
        {**report, "max_dist": 30.0, "max_dist_rule": "given"})
    assert censored_note({**report, "censored": 0}) is None
    assert censored_note({"max_dist": 30.0}) is None          # a report written before the count


def _checkpoints(zoo: Path, spec: str) -> None:
    """Two classifiers (seeded initialisations of a narrow ResNet-20: 'flat' predicts one class
    within the range, 'edged' changes class between 30 and 415.7 L2 on these images) and a plain
    and an RA SR processor, written without training (the test is about the range)."""
    for name, seed in (("flat", 0), ("edged", 1)):
        torch.manual_seed(seed)
        kwargs = {"width": 2, "in_channels": 3, "num_classes": 3}
        save_checkpoint(create_model("resnet20", **kwargs),
                        {"kind": "classifier", "arch": "resnet20", "arch_kwargs": kwargs,
                         "dataset": spec}, zoo / name)
    for name, seed in (("sr-plain", 0), ("sr-ra", 1)):
        torch.manual_seed(seed)
        kwargs = {"channels": 4, "blocks": 1, "scale": 4, "in_channels": 3}
        save_checkpoint(create_model("srresnet", **kwargs),
                        {"kind": "processor", "arch": "srresnet", "arch_kwargs": kwargs,
                         "dataset": spec, "task": "sr:scale=4", "method": "plain"}, zoo / name)


def test_bd_at_224_px_searches_far_enough(tmp_path, capsys):
    """A 224x224 RGB image folder: the edged classifier's BDs all lie beyond 30 (the old fixed
    range, RMS 0.077: every one censored) and within the default 415.7; the flat one's searches
    are censored and the output names the range hit and --max-dist."""
    rng = np.random.default_rng(0)
    data = tmp_path / "imgs"
    for split, n in (("train", 1), ("val", 1)):
        for k, c in enumerate(("ant", "bee", "cow")):
            (data / split / c).mkdir(parents=True)
            for i in range(n if split == "train" or k == 0 else 0):
                ramp = np.linspace(0, 1, 224)[None, :, None] * rng.uniform(40, 120, 3)
                pixels = np.clip(50 + 60 * k + ramp + np.zeros((224, 224, 3)), 0, 255)
                Image.fromarray(pixels.astype(np.uint8)).save(data / split / c / f"{i}.png")
    spec = f"imagefolder:{data}"
    _checkpoints(tmp_path / "zoo", spec)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["bd", "--task", "sr", "--source", "edged", "--target", "flat", "--dataset",
                     spec, "--checkpoints", str(tmp_path / "zoo"), "--all-images", "--tol", "0.5",
                     "--json", "--no-save", "--no-progress"]) == 0
    report = json.loads(out.getvalue())
    assert report["max_dist"] == 415.7 and report["max_dist_rule"] == bd.MAX_DIST_RULE
    edged = [r["bd"]["edged"][d] for r in report["records"] for d in ("random", "ra")]
    assert len(edged) == 2 and all(30 < v < 415.7 for v in edged), edged
    assert report["pairs"][0]["directions"]["random"]["bd_source"]["censored"] == 0
    assert report["censored"] == 2 and report["searches"] == 4
    err = capsys.readouterr().err
    assert ("bd: 2 of 4 searches found no class change within the default range "
            "30 * sqrt(C*H*W / 784) = 415.7 ([0,1]-pixel L2)") in err
    assert "raise the range with --max-dist, e.g. --max-dist 831.4." in err
