"""Damaged checkpoint folders (cards, weights, pickles, interrupted saves): one sentence each,
and nothing saved changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from unittest import mock

import pytest
import torch

from analysis.errors import RAExplorerError
from analysis.zoo.checkpoints import load_checkpoint, save_checkpoint
from tests.bad_input import REAL, ROOT, assert_one_sentence, run_main, snapshot, truncate_at, write_at


def _edit(name, change):
    """A case that rewrites the card NAME.json with ``change(card)``."""
    def apply(folder: Path):
        path = folder / f"{name}.json"
        card = json.loads(path.read_text())
        change(card)
        path.write_text(json.dumps(card))
    return apply


def _set(name, *keys_value):
    *keys, value = keys_value

    def change(card):
        target = card
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return _edit(name, change)


def _delete(name, key):
    return _edit(name, lambda card: card.pop(key))


def _resave(name, change):
    """Re-save checkpoint NAME with its weights changed by ``change(state_dict)``, the card's
    SHA-256 kept consistent (as a diverged training run would write it)."""
    def apply(folder):
        model, card = load_checkpoint(folder / name)
        state = model.state_dict()
        change(state)
        model.load_state_dict(state)
        keep = {k: v for k, v in card.items() if k not in ("path", "weights", "format", "name")}
        save_checkpoint(model, keep, folder / name)
    return apply


def _nan(state):
    state["fc.weight"][0, 0] = float("nan")


def _inf(state):
    state["stages.stem.0.weight"].fill_(float("inf"))


def _pickle(folder):
    marker = folder / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"x": Evil()}, folder / "resnet20.safetensors")


def _interrupted(folder):
    """Kill between the weights and the card: new weights, old card, the marker left."""
    model, card = load_checkpoint(folder / "resnet20")
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    keep = {k: v for k, v in card.items() if k not in ("path", "weights", "format", "name")}
    with mock.patch("analysis.zoo.checkpoints._write_card", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            save_checkpoint(model, keep, folder / "resnet20")


def _interrupted_first_save(folder):
    _interrupted(folder)
    (folder / "resnet20.json").unlink()


def _swap_weights(folder):
    shutil.copy(folder / "resnet32.safetensors", folder / "resnet20.safetensors")


def _replaced(folder):
    """The card re-saved for other weights, then the old weights put back: a real edit."""
    shutil.copy(folder / "resnet20.safetensors", folder.parent / "old.safetensors")
    _resave("resnet20", lambda state: state["fc.bias"].add_(1.0))(folder)
    shutil.copy(folder.parent / "old.safetensors", folder / "resnet20.safetensors")


def _outside_file(folder):
    shutil.copy(folder / "resnet20.safetensors", folder.parent / "outside.safetensors")
    _set("resnet20", "weights", "file", "../outside.safetensors")(folder)


CHECKPOINT_CASES = {
    # the list
    "arch_kwargs a string": (_set("resnet20", "arch_kwargs", "width=16"), "must be a mapping"),
    "arch_kwargs unknown key": (_set("resnet20", "arch_kwargs", "bogus", 1),
                                "'resnet20' takes no option 'bogus'"),
    "arch_kwargs bad value": (_set("resnet20", "arch_kwargs", "width", "abc"),
                              "'width' of 'resnet20' must be a whole number"),
    "weights not an object": (_set("resnet20", "weights", "resnet20.safetensors"),
                              "'weights' must be an object"),
    "weights outside the folder": (_outside_file, "must be a plain file name"),
    "weights full of NaN": (_resave("resnet20", _nan), "NaN values (1 of 640) in the tensor 'fc.weight'"),
    "weights full of Inf": (_resave("resnet20", _inf), "infinite values"),
    "processor loaded as classifier": (lambda f: None, "not a classifier"),   # --classifier sr-plain
    "interrupted save": (_interrupted, "training was interrupted"),
    # more card fields
    "arch_kwargs negative": (_set("resnet20", "arch_kwargs", "width", -3), "got -3"),
    "arch_kwargs huge": (_set("resnet20", "arch_kwargs", "width", 10**9), "got 1000000000"),
    "arch_kwargs bool": (_set("resnet20", "arch_kwargs", "width", True), "got True"),
    "arch_kwargs float for int": (_set("resnet20", "arch_kwargs", "width", 4.5), "got 4.5"),
    "arch_kwargs list": (_set("resnet20", "arch_kwargs", [16]), "must be a mapping"),
    "arch_kwargs null": (_set("resnet20", "arch_kwargs", None), "must be a mapping"),
    "mean not numbers": (_set("resnet20", "arch_kwargs", "mean", "x"), "list of numbers"),
    "mean with NaN": (_set("resnet20", "arch_kwargs", "mean", [float("nan")]), "finite"),
    "arch_kwargs wrong width": (_set("resnet20", "arch_kwargs", "width", 8), "shape"),
    "arch unknown": (_set("resnet20", "arch", "resnet21"), "Did you mean"),
    "arch a number": (_set("resnet20", "arch", 20), "'arch' must be a string"),
    "kind unknown": (_set("resnet20", "kind", "bogus"), "'kind' must be one of"),
    "kind contradicts arch": (_set("resnet20", "kind", "processor"), "is a classifier, but the card says"),
    "name not a string": (_set("resnet20", "name", 7), "'name' must be a non-empty string"),
    "format other": (_set("resnet20", "format", "other/9"), "has format 'other/9'"),
    "field missing": (_delete("resnet20", "arch_kwargs"), "lacks the field"),
    "weights null": (_set("resnet20", "weights", None), "'weights' must be an object"),
    "weights.file absolute": (_set("resnet20", "weights", "file", "/etc/passwd"), "plain file name"),
    "weights.file in a sub-folder": (_set("resnet20", "weights", "file", "sub/x.safetensors"),
                                     "plain file name"),
    "weights.file dot-dot": (_set("resnet20", "weights", "file", ".."), "plain file name"),
    "weights.file a number": (_set("resnet20", "weights", "file", 3), "plain file name"),
    "weights.sha256 not hex": (_set("resnet20", "weights", "sha256", "xyz"), "64 lower-case hex"),
    "weights.dtype unknown": (_set("resnet20", "weights", "dtype", "int8"), "'weights.dtype'"),
    "weights.num_parameters text": (_set("resnet20", "weights", "num_parameters", "many"),
                                    "num_parameters"),
    "lambda text": (_set("resnet20", "lambda", "abc"), "'lambda' must be a finite number"),
    "epochs negative": (_set("resnet20", "epochs", -1), "'epochs'"),
    "metrics a string": (_set("resnet20", "metrics", "good"), "'metrics' must be an object"),
    "history a dict": (_set("resnet20", "history", {}), "'history' must be a list"),
    "card not JSON": (write_at("resnet20.json", b"{not json"), "not valid JSON"),
    "card a list": (write_at("resnet20.json", b"[]"), "not a JSON object"),
    "card empty": (write_at("resnet20.json", b""), "not valid JSON"),
    "card binary": (write_at("resnet20.json", b"\xff\xfe\x00\x01"), "not valid JSON"),
    "card missing": (lambda f: (f / "resnet20.json").unlink(), "does not exist"),
    # weights files
    "weights missing": (lambda f: (f / "resnet20.safetensors").unlink(), "does not exist"),
    "weights truncated": (truncate_at("resnet20.safetensors"), "corrupt or truncated"),
    "weights empty": (write_at("resnet20.safetensors", b""), "corrupt or truncated"),
    "weights a pickle": (_pickle, "pickled PyTorch file"),
    "weights of another architecture": (_swap_weights,
                                        "saved from 'resnet32'; the card and weights disagree"),
    "weights replaced (no marker)": (_replaced, "replaced or edited"),
    "interrupted first save": (_interrupted_first_save, "training was interrupted"),
    # the transformer of an RA-with-transformer card and a processor's scale
    "transformer unknown key": (_set("denoise-ra-transformer", "transformer", "arch_kwargs", "bogus", 1),
                                "'cyclegan-resnet' takes no option 'bogus'"),
    "transformer a string": (_set("denoise-ra-transformer", "transformer", "cyclegan"),
                             "'transformer' must be an object"),
    "transformer of a classifier": (_set("denoise-ra-transformer", "transformer", "arch", "resnet20"),
                                    "is a classifier, but the card says kind 'transformer'"),
    "srresnet scale 5": (_set("sr-plain", "arch_kwargs", "scale", 5), "got 5"),
}
USES = {"processor loaded as classifier": "sr-plain", "transformer unknown key": "denoise-ra-transformer",
        "transformer a string": "denoise-ra-transformer",
        "transformer of a classifier": "denoise-ra-transformer", "srresnet scale 5": "sr-plain"}


@pytest.fixture(scope="module")
def real_zoo(tmp_path_factory):
    """Copies of four real checkpoints of checkpoints/ (cards and weights)."""
    base = tmp_path_factory.mktemp("real") / "zoo"
    base.mkdir()
    for name in ("resnet20", "resnet32", "sr-plain", "denoise-ra-transformer"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(REAL / f"{name}{suffix}", base / f"{name}{suffix}")
    return base


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_damaged_checkpoint_folder_is_one_sentence(case, real_zoo, tmp_path, capsys):
    folder = tmp_path / "zoo"
    shutil.copytree(real_zoo, folder)
    damage, match = CHECKPOINT_CASES[case]
    damage(folder)
    before = snapshot(tmp_path, ROOT / "results")
    name = USES.get(case, "resnet20")
    code, err = run_main(["robustness", "--checkpoints", folder, "--classifier", name,
                          "--first", "2", "--pgd-eps", "0.1"], capsys)
    assert_one_sentence(code, err, match)
    assert snapshot(tmp_path, ROOT / "results") == before
    assert not (folder / "pwned").exists()    # no pickle payload ever runs


def test_interrupted_save_is_told_apart_from_an_edit(real_zoo, tmp_path):
    """The marker decides: without it the same mismatch is 'replaced or edited'."""
    folder = tmp_path / "zoo"
    shutil.copytree(real_zoo, folder)
    _interrupted(folder)
    with pytest.raises(RAExplorerError, match="run the same training command again with --resume"):
        load_checkpoint(folder / "resnet20")
    (folder / "resnet20.saving").unlink()
    with pytest.raises(RAExplorerError, match="replaced or edited"):
        load_checkpoint(folder / "resnet20")


def test_zoo_lists_the_good_cards_and_names_each_broken_one(real_zoo, tmp_path, capsys):
    folder = tmp_path / "zoo"
    shutil.copytree(real_zoo, folder)
    _set("resnet32", "arch_kwargs", "bogus", 1)(folder)
    code, err = run_main(["list", "checkpoints", "--checkpoints", folder], capsys)
    assert code == 0 and "Traceback" not in err
    assert err.strip().splitlines() == [err.strip()]     # one line: the one broken card
    assert "resnet32.json" in err and "takes no option 'bogus'" in err


def test_the_case_count():
    assert len(CHECKPOINT_CASES) >= 41
