import json

import pytest
import torch

from analysis.errors import CheckpointError
from analysis.zoo import create_model
from analysis.zoo.checkpoints import load_card, load_checkpoint, save_checkpoint, state_digest

CARD = {"kind": "classifier", "arch": "resnet20",
        "arch_kwargs": {"in_channels": 1, "num_classes": 10, "width": 4},
        "dataset": "synthetic", "task": None, "method": "standard", "epochs": 1, "seed": 0,
        "metrics": {"val_accuracy": 0.5}}


def saved(tmp_path, dtype="float32"):
    model = create_model("resnet20", in_channels=1, num_classes=10, width=4)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_checkpoint(model, CARD, tmp_path / "m", dtype=dtype)
    return model


def test_round_trip_is_exact_in_float32(tmp_path):
    model = saved(tmp_path)
    loaded, card = load_checkpoint(tmp_path / "m")
    assert state_digest(loaded) == state_digest(model.eval())
    assert card["name"] == "m" and card["arch"] == "resnet20" and card["weights"]["sha256"]
    assert not loaded.training
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded(x), model.eval()(x))
    for path in (tmp_path / "m.json", tmp_path / "m.safetensors"):
        assert load_checkpoint(path)[1]["name"] == "m"


def test_float16_storage_is_close(tmp_path):
    model = saved(tmp_path, dtype="float16")
    loaded, card = load_checkpoint(tmp_path / "m")
    assert card["weights"]["dtype"] == "float16"
    assert next(loaded.parameters()).dtype == torch.float32
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(loaded(x), model.eval()(x), rtol=1e-2, atol=1e-2)
    save_checkpoint(model, CARD, tmp_path / "m32", dtype="float32")
    saved_bytes = (tmp_path / "m32.safetensors").stat().st_size - (
        tmp_path / "m.safetensors").stat().st_size
    assert saved_bytes >= 2 * sum(p.numel() for p in model.parameters())  # 2 bytes per value


def test_pickle_file_is_refused_without_unpickling(tmp_path):
    saved(tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"x": Evil()}, tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="pickled PyTorch file"):
        load_checkpoint(tmp_path / "m")
    assert not marker.exists()


def test_truncated_file_is_refused(tmp_path):
    saved(tmp_path)
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "m", verify_hash=False)


def test_card_naming_another_architecture_is_refused(tmp_path):
    saved(tmp_path)
    card = json.loads((tmp_path / "m.json").read_text())
    card["arch"] = "resnet32"   # takes the same options, so the card itself is well-formed
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="resnet32.*resnet20.*disagree"):
        load_checkpoint(tmp_path / "m")
    card["arch"] = "vgg11-bn"   # does not take 'width': refused by the card's schema
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="'vgg11-bn' takes no option 'width'"):
        load_checkpoint(tmp_path / "m")


def test_weights_swapped_under_a_card_are_refused(tmp_path):
    saved(tmp_path)
    other = create_model("resnet20", in_channels=1, num_classes=10, width=4)
    save_checkpoint(other, CARD, tmp_path / "other")
    (tmp_path / "other.safetensors").replace(tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "m")


def test_wrong_shapes_are_refused(tmp_path):
    saved(tmp_path)
    card = json.loads((tmp_path / "m.json").read_text())
    card["arch_kwargs"]["width"] = 8
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(tmp_path / "m")


def test_missing_and_broken_cards(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing")
    saved(tmp_path)
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_card(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({"format": "ra-explorer-card/1"}))
    with pytest.raises(CheckpointError, match="lacks the field"):
        load_card(tmp_path / "m")


def test_a_card_read_again_is_its_current_text_and_a_fresh_copy(tmp_path):
    saved(tmp_path)
    first = load_card(tmp_path / "m")
    first["metrics"]["val_accuracy"] = 0.99            # a caller's change stays its own
    first["arch_kwargs"]["width"] = 64
    again = load_card(tmp_path / "m")
    assert again["metrics"]["val_accuracy"] == 0.5 and again["arch_kwargs"]["width"] == 4
    # an edit of the same length right away (same size, maybe the same mtime tick) is seen
    path = tmp_path / "m.json"
    text = path.read_text()
    assert '"epochs": 1' in text
    path.write_text(text.replace('"epochs": 1', '"epochs": 7'))
    assert load_card(tmp_path / "m")["epochs"] == 7
    path.write_text(text.replace('"arch": "resnet20"', '"arch": "resnet99"'))
    with pytest.raises(CheckpointError, match="not in the model registry"):
        load_card(tmp_path / "m")
    # the same card under another path names that path
    (tmp_path / "copy").mkdir()
    path.write_text(text)
    (tmp_path / "copy" / "m.json").write_text(text)
    assert load_card(tmp_path / "copy" / "m")["path"] == str(tmp_path / "copy" / "m")
