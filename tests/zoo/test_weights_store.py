"""Weights kept outside the repository: the card stays in the checkpoint folder, the weights go
to the weights store under their SHA-256; a card without them is not offered and says how to
make them."""

import json

import pytest
import torch

from analysis.cli.main import main as cli_main
from analysis.errors import CheckpointError
from analysis.reporting.backfill import stale_checkpoints
from analysis.training.build import is_done
from analysis.zoo import create_model
from analysis.zoo.catalogue import absent_weights, find_checkpoints
from analysis.zoo.checkpoints import (
    load_card,
    load_checkpoint,
    move_outside,
    restore_as,
    save_checkpoint,
    state_digest,
)

CARD = {"kind": "classifier", "arch": "resnet20",
        "arch_kwargs": {"in_channels": 1, "num_classes": 10, "width": 4},
        "dataset": "synthetic", "task": None, "method": "standard", "epochs": 1, "seed": 0}


@pytest.fixture
def store(tmp_path, monkeypatch):
    folder = tmp_path / "store"
    monkeypatch.setenv("RA_WEIGHTS_STORE", str(folder))
    return folder


@pytest.fixture
def zoo(tmp_path):
    model = create_model("resnet20", in_channels=1, num_classes=10, width=4)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    folder = tmp_path / "zoo"
    save_checkpoint(model, CARD, folder / "m", dtype="float16")
    return folder, model


def test_moved_weights_load_from_the_store_by_their_hash(zoo, store):
    folder, model = zoo
    before, _ = load_checkpoint(folder / "m")
    digest = load_card(folder / "m")["weights"]["sha256"]
    card = move_outside(folder / "m")
    assert card["weights"]["store"] == "outside"
    assert not (folder / "m.safetensors").exists() and (folder / "m.json").exists()
    assert [p.name for p in store.iterdir()] == [f"{digest}.safetensors"]
    loaded, card = load_checkpoint(folder / "m")
    assert state_digest(loaded) == state_digest(before)
    assert [c["name"] for c in find_checkpoints(folder)] == ["m"] and absent_weights(folder) == []
    assert move_outside(folder / "m")["weights"]["store"] == "outside"    # a second move: no-op


def test_a_card_without_its_outside_weights_is_not_offered_and_says_how_to_make_them(
        zoo, store, capsys):
    folder, _ = zoo
    move_outside(folder / "m")
    next(store.iterdir()).unlink()
    assert find_checkpoints(folder) == [] and absent_weights(folder) == ["m"]
    with pytest.raises(CheckpointError, match=r"build-zoo --only m'.*RA_WEIGHTS_STORE"):
        load_checkpoint(folder / "m")
    assert cli_main(["list", "checkpoints", "--checkpoints", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "skipped: 1 checkpoint(s)" in err and "(m), so they are left out" in err


def test_a_replaced_file_in_the_store_is_refused(zoo, store):
    folder, _ = zoo
    move_outside(folder / "m")
    path = next(store.iterdir())
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the SHA-256"):
        load_checkpoint(folder / "m")


def test_rewriting_an_outside_checkpoint_keeps_it_outside(zoo, store):
    folder, _ = zoo
    move_outside(folder / "m")
    card = restore_as(folder / "m", "float32")
    assert card["weights"]["store"] == "outside" and card["weights"]["dtype"] == "float32"
    assert not (folder / "m.safetensors").exists()
    assert load_checkpoint(folder / "m")[1]["weights"]["dtype"] == "float32"


def test_an_outside_entry_is_done_only_with_its_weights(zoo, store):
    folder, _ = zoo
    entry = {"name": "m", "verb": "classifier", "folder": str(folder), "outside": True}
    move_outside(folder / "m")
    assert is_done(entry, folder)
    next(store.iterdir()).unlink()
    assert not is_done(entry, folder)
    assert is_done({**entry, "outside": False}, folder)     # a card beside its weights: done


def test_an_unknown_store_is_one_sentence(zoo):
    folder, _ = zoo
    card = json.loads((folder / "m.json").read_text())
    card["weights"]["store"] = "elsewhere"
    (folder / "m.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="'weights.store' must be one of beside, outside"):
        load_card(folder / "m")


def test_asking_by_name_for_absent_outside_weights_names_the_command(zoo, store):
    from analysis.zoo.catalogue import select_models

    folder, _ = zoo
    move_outside(folder / "m")
    next(store.iterdir()).unlink()
    with pytest.raises(CheckpointError, match="build-zoo --only m'"):
        select_models("sr:scale=4", "synthetic", folder, classifiers=["m"])


def test_an_interrupted_move_is_finished_by_the_next_one(zoo, store):
    """A move cut off after the card changed leaves the file beside it: the next move (and
    build-zoo's finish_moves for a card still beside its weights) completes it."""
    import shutil

    from analysis.training.build import finish_moves

    folder, _ = zoo
    move_outside(folder / "m")
    shutil.copyfile(next(store.iterdir()), folder / "m.safetensors")
    move_outside(folder / "m")
    assert not (folder / "m.safetensors").exists()
    save_checkpoint(create_model("resnet20", in_channels=1, num_classes=10, width=4), CARD,
                    folder / "n", dtype="float16")
    entries = [{"name": n, "verb": "classifier", "folder": str(folder), "outside": True}
               for n in ("m", "n")]
    assert not is_done(entries[1], folder)         # trained, not moved: not done
    assert finish_moves(entries, folder) == ["n"]
    assert is_done(entries[1], folder) and not (folder / "n.safetensors").exists()


def test_a_result_citing_an_outside_card_is_stale_only_when_the_card_changed(zoo, store):
    folder, _ = zoo
    digest = load_card(folder / "m")["weights"]["sha256"]
    move_outside(folder / "m")
    record = {"checkpoints": {"m": digest},
              "checkpoint_paths": {"m": str((folder / "m.safetensors").relative_to(folder.parent))}}
    assert stale_checkpoints(record, folder.parent) == []
    assert stale_checkpoints({**record, "checkpoints": {"m": "0" * 64}}, folder.parent) == ["m"]
    (folder / "m.json").unlink()
    assert stale_checkpoints(record, folder.parent) == ["m"]
