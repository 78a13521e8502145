"""The checked-in zoo: every checkpoint loads strictly and agrees with its card; size budget."""

from pathlib import Path

import pytest
import torch

from analysis.config import PROJECT_ROOT
from analysis.zoo.catalogue import COLLECTIONS, find_checkpoints, locate
from analysis.zoo.checkpoints import load_checkpoint

DEFAULT_DIR = PROJECT_ROOT / "checkpoints"   # the embedded zoo, whatever RA_CHECKPOINTS says

CARDS = (find_checkpoints(DEFAULT_DIR) + find_checkpoints(DEFAULT_DIR / "bases")
         + [c for name in COLLECTIONS for c in find_checkpoints(DEFAULT_DIR / name)]
         + find_checkpoints(DEFAULT_DIR / "categories" / "bases")
         + find_checkpoints(DEFAULT_DIR / "architectures" / "bases")
         + find_checkpoints(DEFAULT_DIR / "loss-grid" / "seeds")
         + find_checkpoints(DEFAULT_DIR / "recognizers" / "seeds"))
BUDGET_MIB = 80


def test_the_zoo_fits_its_budget():
    """In file bytes (what git stores) and in the 4 KiB blocks a file system gives each file
    (what 'du checkpoints' reports: the cards are small)."""
    sizes = [p.stat().st_size for p in Path(DEFAULT_DIR).rglob("*") if p.is_file()]
    assert sum(sizes) <= BUDGET_MIB * 2**20, f"{sum(sizes) / 2**20:.1f} MiB"
    blocks = sum(-(-size // 4096) * 4096 for size in sizes)
    assert blocks <= BUDGET_MIB * 2**20, f"{blocks / 2**20:.1f} MiB in 4 KiB blocks"


@pytest.mark.parametrize("card", CARDS, ids=[c["name"] for c in CARDS])
def test_checkpoint_loads_and_matches_its_card(card):
    model, loaded = load_checkpoint(card["path"])        # hash, keys and shapes are checked
    if loaded["kind"] == "detector":     # on canvases of Fashion-MNIST items
        assert loaded["dataset"].startswith("canvas:base=fashion-mnist,")
        size = loaded["arch_kwargs"]["image_size"]
        with torch.no_grad():
            found = model(torch.rand(2, 1, size, size))
        assert len(found) == 2 and {"boxes", "scores", "labels"} <= set(found[0])
        assert "val_map" in loaded["metrics"] and "val_map_50" in loaded["metrics"]
        return
    # the zoo's models are trained on Fashion-MNIST, a processor of the detection tables on
    # canvases of its items (processors are fully convolutional: the shapes below hold for both),
    # the category collection's on one half of its classes
    half = Path(card["path"]).parent.relative_to(DEFAULT_DIR).parts[:1] == ("categories",)
    assert loaded["dataset"] == "fashion-mnist" or (
        loaded["kind"] == "processor" and loaded["dataset"].startswith("canvas:base=fashion-mnist,")
    ) or (half and loaded["dataset"] in ("fashion-mnist:categories=a",
                                         "fashion-mnist:categories=b"))
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        if loaded["kind"] == "classifier":
            assert model(x).shape == (2, loaded["arch_kwargs"]["num_classes"])
            assert "val_accuracy" in loaded["metrics"]
        else:
            scale = loaded["arch_kwargs"]["scale"]
            assert model(torch.rand(2, 1, 28 // scale, 28 // scale)).shape == (2, 1, 28, 28)
            assert loaded["task"] and loaded["method"]
    if loaded.get("source"):   # in the zoo, or (a loss network) in a collection
        assert locate(loaded["source"], DEFAULT_DIR).with_suffix(".json").exists()
    if loaded.get("selection"):   # the grid's weights: the selection file holds every key
        import json

        chosen = json.loads((PROJECT_ROOT / loaded["selection"]["file"]).read_text())
        assert set(loaded["selection"]["keys"]) <= set(chosen)
