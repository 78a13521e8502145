"""The recognizer-side trainer: classifiers trained for degraded inputs (fix the image or fix the
recognizer)."""

import json

import pytest
import torch

from analysis.errors import RAExplorerError
from analysis.training.classifiers import train_classifier
from analysis.training.recognizer_side import Degrader, train_recognizer
from analysis.zoo.checkpoints import load_checkpoint, state_digest
from tests.conftest import SYNTH, TINY_CLASSIFIER


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("irev")
    path = train_classifier("irevnet", dataset=SYNTH, out=str(folder / "irev"), epochs=1,
                            batch_size=32, arch_kwargs={"pad_to": 2, "blocks": 1},
                            max_steps=3, val_limit=20, state_dir=str(folder), progress=False)
    return path.with_suffix("")


def common(tmp_path, name, **kw):
    return dict(dataset=SYNTH, out=str(tmp_path / name), epochs=2, batch_size=32,
                arch_kwargs=TINY_CLASSIFIER, val_limit=40, state_dir=str(tmp_path),
                progress=False, lr=3e-3, **kw)


def history(card_path):
    return json.loads(card_path.read_text())["history"]


def falling(card_path, key):
    h = history(card_path)
    return h[-1][key] < h[0][key]


@pytest.mark.parametrize("method", ["augment", "train-on-lq"])
def test_plain_recognizer_methods_learn(tmp_path, method):
    path = train_recognizer(method, "resnet20", {"degradation": "mix"},
                            **common(tmp_path, method))
    card = json.loads(path.read_text())
    assert card["method"] == method and card["training"]["degradation_tasks"] == [
        "sr-random", "denoise-random", "jpeg-random"]
    assert falling(path, "train_ce")
    assert "val_lq_accuracy" in card["metrics"]


def test_feature_kd_pulls_towards_the_frozen_teacher(tiny_zoo, tmp_path):
    teacher = tiny_zoo / "clf-a"
    before = state_digest(load_checkpoint(teacher)[0])
    path = train_recognizer("feature-kd", "resnet20",
                            {"teacher": str(teacher), "lam": 1.0, "degradation": "sr"},
                            **common(tmp_path, "kd"))
    card = json.loads(path.read_text())
    assert card["training"]["teacher"]["name"] == "clf-a"
    assert card["training"]["kd_layer"] == "layer3" and card["training"]["kd_norm"] == "l2"
    assert falling(path, "train_kd") and falling(path, "train_ce")
    assert state_digest(load_checkpoint(teacher)[0]) == before


def test_qualnet_trains_through_a_frozen_decoder_that_stays_bit_identical(decoder, tmp_path):
    decoder_model, _ = load_checkpoint(decoder)
    before = {k: v.clone() for k, v in decoder_model.state_dict().items()}
    path = train_recognizer("qualnet", "resnet20", {"decoder": str(decoder), "lam": 1.0},
                            **common(tmp_path, "qn"))
    card = json.loads(path.read_text())
    assert card["training"]["decoder"]["name"] == "irev"
    assert falling(path, "train_reconstruction")
    after = load_checkpoint(decoder)[0].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # the saved classifier is a plain resnet20: no connector, no decoder
    model, _ = load_checkpoint(path.with_suffix(""))
    assert not any("connector" in k for k in model.state_dict())


def test_finetune_on_processed_starts_from_init_and_uses_the_processor(tiny_zoo, tmp_path):
    path = train_recognizer("finetune-on-processed", "resnet20",
                            {"processor": str(tiny_zoo / "sr-plain"), "init": str(tiny_zoo / "clf-a"),
                             "degradation": "sr"}, **common(tmp_path, "ft"))
    card = json.loads(path.read_text())
    assert card["training"]["init"]["name"] == "clf-a"
    assert card["training"]["processor"]["name"] == "sr-plain"


@pytest.mark.parametrize("method, options, message", [
    ("qualnet", {}, "needs --decoder"),
    ("feature-kd", {"teacher": None}, "needs --teacher"),
    ("augment", {"teacher": "x"}, "does not use --teacher"),
    ("finetune-on-processed", {"processor": "p", "init": "i", "degradation": "mix"}, "not mix"),
    ("nonsense", {}, "Unknown recognizer method"),
])
def test_bad_recognizer_options_get_one_sentence(tmp_path, method, options, message):
    with pytest.raises(RAExplorerError, match=message):
        train_recognizer(method, "resnet20", options, **common(tmp_path, "bad"))


def test_a_standard_classifier_is_refused_as_decoder(tiny_zoo, tmp_path):
    with pytest.raises(RAExplorerError, match="not an invertible classifier"):
        train_recognizer("qualnet", "resnet20", {"decoder": str(tiny_zoo / "clf-a")},
                         **common(tmp_path, "bad"))


def test_mix_degrades_each_image_with_one_randomized_task():
    x = torch.rand(12, 1, 28, 28)
    out = Degrader("mix")(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)
    fixed = Degrader("mix").fixed(x, torch.arange(12))
    assert torch.equal(fixed, Degrader("mix").fixed(x, torch.arange(12)))


def test_cli_trains_a_recognizer_method(tmp_path, capsys):
    from analysis.cli.main import main

    code = main(["train-classifier", "--arch", "resnet20", "--method", "augment",
                 "--task", "jpeg", "--dataset", SYNTH, "--out", str(tmp_path / "cli"),
                 "--epochs", "1", "--max-steps", "2", "--arch-kw", "width=4",
                 "--state-dir", str(tmp_path), "--no-progress", "--val-first", "20"])
    assert code == 0
    card = json.loads((tmp_path / "cli.json").read_text())
    assert card["method"] == "augment" and card["training"]["degradation"] == "jpeg"


def test_corrupt_seen_draws_the_seen_corruption_cells_per_image():
    import torch

    from analysis.data.tasks import create_task
    from analysis.methods.recognizers import SEEN_CORRUPTIONS, degradation_tasks
    from analysis.training.recognizer_side import Degrader

    specs = degradation_tasks("corrupt-seen")
    assert len(specs) == 4 * 5
    assert {create_task(s).params["type"] for s in specs} == set(SEEN_CORRUPTIONS)
    assert degradation_tasks("jpeg") == ("jpeg",)
    degrader = Degrader("corrupt-seen")
    x = torch.rand(8, 1, 28, 28)
    idx = torch.arange(8)
    fixed = degrader.fixed(x, idx)
    assert fixed.shape == x.shape and torch.equal(fixed, degrader.fixed(x, idx))   # seeded
    # image i gets cell i mod 20, as that cell's own task degrades it
    third = create_task(specs[3])
    assert torch.equal(fixed[3:4], third.upsample(third.degrade(x[3:4], [3]), (28, 28)))
    gen = torch.Generator().manual_seed(0)
    assert degrader(x, gen).shape == x.shape


def test_qualnets_ablation_trains_the_decoder_with_r_and_leaves_its_checkpoint(decoder, tmp_path):
    """``qualnet-trained-decoder`` (QualNet's Table 6): the decoder's invertible levels learn
    inside the training state, its head and normalisation statistics do not; the decoder
    checkpoint and the saved classifier's keys stay as they are."""
    decoder_model, _ = load_checkpoint(decoder)
    before = {k: v.clone() for k, v in decoder_model.state_dict().items()}
    path = train_recognizer("qualnet-trained-decoder", "resnet20",
                            {"decoder": str(decoder), "lam": 1.0}, **common(tmp_path, "qnd"))
    card = json.loads(path.read_text())
    assert card["method"] == "qualnet-trained-decoder"
    assert card["training"]["decoder"]["name"] == "irev"
    assert falling(path, "train_reconstruction")
    state = torch.load(tmp_path / "qnd.state.pt", weights_only=True)["model"]
    trained = {k.removeprefix("decoder."): v for k, v in state.items()
               if k.startswith("decoder.")}
    assert set(trained) == set(before)
    weights = dict(decoder_model.named_parameters())
    changed = {k for k in weights if not torch.equal(before[k], trained[k])}
    assert changed and all(k.startswith("stages.") for k in changed)   # the levels learn
    assert all(torch.equal(before[k], trained[k]) for k in before if k not in weights)  # BN stats
    after = load_checkpoint(decoder)[0].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    model, _ = load_checkpoint(path.with_suffix(""))
    assert not any(k.startswith(("connector", "decoder")) for k in model.state_dict())
