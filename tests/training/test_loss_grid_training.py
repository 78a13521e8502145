"""Uelwer et al.'s loss grid on the training side: adversarial logit pairing, the perceptual
settings (layer weights, texture patches in image pixels, channel-mean normalisation), the
loss-weight rule and the recipe's grid entries."""

import json

import pytest

from analysis.errors import RAExplorerError
from analysis.training import build, recipe
from analysis.training.classifiers import train_classifier
from analysis.training.processors import train_processor
from analysis.training.selection import largest_within
from tests.conftest import SYNTH, TINY_CLASSIFIER, TINY_PROCESSOR


def test_alp_trains_on_clean_and_adversarial_images_and_records_the_weight(tmp_path):
    card_path = train_classifier("resnet20", dataset=SYNTH, out=str(tmp_path / "alp"), epochs=1,
                                 batch_size=32, arch_kwargs=TINY_CLASSIFIER, adv_eps=0.5,
                                 adv_steps=2, alp=0.5, max_steps=3, val_limit=40,
                                 state_dir=str(tmp_path), progress=False)
    card = json.loads(card_path.read_text())
    assert card["method"] == "adversarial-alp"
    assert card["training"]["adversarial"]["logit_pairing"] == 0.5
    last = card["history"][-1]
    # loss = CE + alp * pairing, each logged
    assert last["train_loss"] == pytest.approx(last["train_ce"] + 0.5 * last["train_pairing"],
                                               rel=0.05)
    assert last["train_pairing"] > 0
    assert "val_robust_accuracy" in card["metrics"]


def test_alp_without_an_attack_is_refused(tmp_path):
    with pytest.raises(RAExplorerError, match="--pgd-eps"):
        train_classifier("resnet20", dataset=SYNTH, out=str(tmp_path / "x"), alp=0.5,
                         arch_kwargs=TINY_CLASSIFIER, state_dir=str(tmp_path), progress=False)


def test_grid_processor_card_records_uelwer_settings(tiny_zoo, tmp_path):
    options = {"layer_weights": [0.2, 0.02], "texture_layers": ["block1", "block2", "block3"],
               "patch_pixels": 8, "feature_norm": "channel-mean"}
    card_path = train_processor("sr", "perceptual", dataset=SYNTH, out=str(tmp_path / "g"),
                                recognizer=str(tiny_zoo / "clf-b"), lam=0.1, losses="EPT",
                                texture_weight=10.0, layers=["block1", "block3"],
                                perceptual=options, arch_kwargs=TINY_PROCESSOR, epochs=1,
                                batch_size=16, max_steps=2, val_limit=20,
                                state_dir=str(tmp_path), progress=False)
    card = json.loads(card_path.read_text())
    t = card["training"]
    assert (t["losses"], t["layers"], t["layer_weights"]) == ("EPT", ["block1", "block3"],
                                                              [0.2, 0.02])
    assert t["texture_layers"] == ["block1", "block2", "block3"] and t["patch_pixels"] == 8
    assert t["feature_norm"] == "channel-mean" and t["texture_weight"] == 10.0
    assert card["history"][-1]["train_texture"] > 0


@pytest.mark.parametrize("options, message", [
    ({"layer_weights": [1.0]}, "1 layer weights for 2"),
    ({"feature_norm": "l2"}, "feature normalisation"),
    ({"colour": 1}, "Unknown perceptual option"),
])
def test_bad_perceptual_options_get_one_sentence(tiny_zoo, tmp_path, options, message):
    with pytest.raises(RAExplorerError, match=message):
        train_processor("sr", "perceptual", dataset=SYNTH, out=str(tmp_path / "g"),
                        recognizer=str(tiny_zoo / "clf-b"), lam=0.1,
                        layers=["block1", "block3"], perceptual=options,
                        arch_kwargs=TINY_PROCESSOR, max_steps=1, state_dir=str(tmp_path),
                        progress=False)


def test_perceptual_options_are_refused_for_other_methods(tiny_zoo, tmp_path):
    with pytest.raises(RAExplorerError, match="perceptual methods only"):
        train_processor("sr", "ra", dataset=SYNTH, out=str(tmp_path / "g"),
                        recognizer=str(tiny_zoo / "clf-a"), lam=0.1,
                        perceptual={"feature_norm": "channel-mean"}, arch_kwargs=TINY_PROCESSOR,
                        max_steps=1, state_dir=str(tmp_path), progress=False)


def test_weight_rule_takes_the_largest_weight_within_the_margin():
    cands = [{"weight": 0.01, "val_psnr": 22.0}, {"weight": 0.1, "val_psnr": 21.8},
             {"weight": 1.0, "val_psnr": 21.4}, {"weight": 10.0, "val_psnr": 19.0}]
    assert largest_within(22.0, cands, 0.5) == 0.1
    assert largest_within(22.0, cands, 0.7) == 1.0
    assert largest_within(30.0, cands, 0.5) == 0.01     # none qualifies: the smallest


def test_recipe_has_eleven_sr_models_and_ep_ept_for_the_other_tasks():
    grid = [e for e in recipe.RECIPE if e.get("folder") == recipe.LOSS_GRID_DIR
            and e["verb"] == "processor"]
    sr = [e["name"] for e in grid if e["prefix"] == "sr"]
    assert len(sr) == 10        # + E (sr-plain) = eleven rows of Table 2
    assert {"sr-ep-vgg11-bn", "sr-pt-vgg11-bn-robust", "sr-et-vgg11-bn"} <= set(sr)
    for prefix in ("denoise", "jpeg"):
        assert sorted(e["name"] for e in grid if e["prefix"] == prefix) == sorted(
            f"{prefix}-{c}-{n}" for c in ("ep", "ept") for n in ("vgg11-bn", "vgg11-bn-robust"))
    methods = {e["name"]: e["args"]["method"] for e in grid}
    assert methods["sr-ep-vgg11-bn-robust"] == "robust-perceptual"
    assert methods["sr-ep-vgg11-bn"] == "perceptual"


def test_grid_entries_depend_on_their_weight_selections_and_loss_network():
    by_name = {e["name"]: e for e in recipe.RECIPE}
    deps = recipe.dependencies(by_name["sr-ept-vgg11-bn-robust"])
    # one selection per term, on the standard network's features, for both networks
    assert {"vgg11-bn-robust", "sr-base", "select-weight:sr:vgg11-bn:P",
            "select-weight:sr:vgg11-bn:T"} <= set(deps)
    assert not [e for e in recipe.RECIPE if e["name"].startswith("select-weight:sr:vgg11-bn-r")]
    assert "select-weight:sr:vgg11-bn:T" not in recipe.dependencies(by_name["sr-ep-vgg11-bn"])
    for dep in deps:
        assert dep in by_name, dep


def test_chosen_weights_resolve_from_the_selection_file(tmp_path, monkeypatch):
    from analysis.data import folders

    path = tmp_path / "loss_weight_selection.json"
    path.write_text(json.dumps({"sr:scale=4|P|vgg11-bn": {"chosen": 0.1},
                                "sr:scale=4|T|vgg11-bn": {"chosen": 100.0}}))
    monkeypatch.setattr(folders, "results_dir", lambda override=None, dataset=None: tmp_path)
    monkeypatch.setattr("analysis.training.selection.results_dir",
                        lambda override=None, dataset=None: tmp_path)
    for name in ("sr-ept-vgg11-bn", "sr-ept-vgg11-bn-robust", "jpeg-ept-vgg11-bn-robust"):
        entry = next(e for e in recipe.RECIPE if e["name"] == name)
        assert recipe.resolve_lambda(entry) == 0.1
        assert recipe.resolve_weight(entry, "texture_weight") == 100.0
        assert recipe.weight_citation(entry)["keys"] == ["sr:scale=4|P|vgg11-bn",
                                                         "sr:scale=4|T|vgg11-bn"]
    assert build.is_done(next(e for e in recipe.RECIPE
                               if e["name"] == "select-weight:sr:vgg11-bn:T"), tmp_path)
