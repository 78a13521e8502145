import json

import pytest
import torch

from analysis.errors import CheckpointError
from analysis.zoo import create_model, list_models, model_kind
from analysis.zoo.checkpoints import load_checkpoint, save_checkpoint, state_digest

TINY = {"in_channels": 1, "num_classes": 10, "width": 8, "fpn_channels": 32, "image_size": 64,
        "mean": [0.3], "std": [0.35]}


def card(arch, **fields):
    return {"kind": "detector", "arch": arch, "arch_kwargs": dict(TINY),
            "dataset": "canvas:base=synthetic", "task": None, "method": None, **fields}


def test_the_registry_lists_two_detector_architectures():
    detectors = [m["name"] for m in list_models("detector")]
    assert detectors == ["fcos", "retinanet"]
    assert all(model_kind(n) == "detector" for n in detectors)


@pytest.mark.parametrize("arch", ["fcos", "retinanet"])
@pytest.mark.parametrize("channels", [1, 3])
def test_a_canvas_is_not_resized_and_boxes_stay_inside(arch, channels):
    model = create_model(arch, **{**TINY, "in_channels": channels, "mean": [0.3] * channels,
                                  "std": [0.35] * channels}).eval()
    images = torch.rand(2, channels, 64, 64)
    batch, _ = model.net.transform(list(images))
    assert batch.tensors.shape == (2, channels, 64, 64) and batch.image_sizes == [(64, 64)] * 2
    features = model.net.backbone(batch.tensors)
    assert [tuple(f.shape[-2:]) for f in features.values()] == [(16, 16), (8, 8), (4, 4)]
    with torch.no_grad():
        out = model(images)
    assert len(out) == 2
    for p in out:
        assert len(p["boxes"]) <= 100 and p["labels"].dtype == torch.int64
        assert bool((p["boxes"] >= 0).all() and (p["boxes"] <= 64).all())
        assert bool((p["labels"] >= 0).all() and (p["labels"] < 10).all())


def test_mean_and_std_need_one_value_per_channel():
    with pytest.raises(ValueError, match="one value per channel"):
        create_model("fcos", **{**TINY, "in_channels": 3})


@pytest.mark.parametrize("arch", ["fcos", "retinanet"])
def test_checkpoint_round_trip_without_unpickling(arch, tmp_path, monkeypatch):
    model = create_model(arch, **TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    save_checkpoint(model, card(arch, metrics={"val_map": 0.5}), tmp_path / arch)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a checkpoint was read with torch.load")

    monkeypatch.setattr(torch, "load", no_unpickling)
    loaded, saved = load_checkpoint(tmp_path / arch, kind="detector")
    assert state_digest(loaded) == state_digest(model.eval())
    assert saved["kind"] == "detector" and saved["arch"] == arch
    images = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        a, b = model(images), loaded(images)
    assert all(torch.equal(x["boxes"], y["boxes"]) and torch.equal(x["scores"], y["scores"])
               for x, y in zip(a, b))
    with pytest.raises(CheckpointError, match="is a detector checkpoint, not a classifier"):
        load_checkpoint(tmp_path / arch, kind="classifier")


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.update(kind="classifier"), "'fcos' is a detector, but the card says kind "
                                            "'classifier'"),
    (lambda c: c["arch_kwargs"].update(anchors=3), "'fcos' takes no option 'anchors'"),
    (lambda c: c["arch_kwargs"].update(width=0), "option 'width' of 'fcos'"),
    (lambda c: c["arch_kwargs"].update(fpn_channels=64), "shape does not fit the card's architecture"),
])
def test_a_card_that_does_not_describe_its_weights_is_refused(edit, match, tmp_path):
    save_checkpoint(create_model("fcos", **TINY), card("fcos"), tmp_path / "d")
    path = tmp_path / "d.json"
    written = json.loads(path.read_text())
    edit(written)
    path.write_text(json.dumps(written))
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path / "d")
