"""Bad training state files (resume and float16-check): one sentence each, and nothing saved
changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from analysis.cli.main import main
from analysis.zoo.checkpoints import load_card
from tests.bad_input import (
    ROOT,
    SYN,
    assert_one_sentence,
    run_main,
    snapshot,
    tensor_bytes,
    truncate_at,
    write_at,
)

CLF_1 = ["train-classifier", "--arch", "resnet20", "--arch-kw", "width=4", "--dataset", SYN,
         "--batch-size", "32", "--val-first", "16", "--no-progress", "--epochs", "1"]
PRO_1 = ["train-processor", "--task", "sr", "--method", "ra", "--lambda", "0.1",
         "--arch-kw", "channels=4,blocks=1", "--dataset", SYN, "--batch-size", "32",
         "--val-first", "16", "--no-progress", "--epochs", "1"]
CLF = CLF_1[:-1] + ["2"]     # the resumed runs ask for a second epoch
PRO = PRO_1[:-1] + ["2"]


def _paths(d: Path, name: str):
    return ["--out", d / "zoo" / name, "--state-dir", d / "runs"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch of a tiny classifier ``c`` and an RA processor ``p`` (recognizer ``c``), their
    states in runs/; ``c2`` is another classifier (other weights) for the recognizer case."""
    d = tmp_path_factory.mktemp("trained")
    assert main([str(a) for a in CLF_1 + _paths(d, "c")]) == 0
    assert main([str(a) for a in CLF_1 + ["--seed", "1"] + _paths(d, "c2")]) == 0
    assert main([str(a) for a in PRO_1 + _paths(d, "p") + ["--classifier", d / "zoo" / "c"]]) == 0
    return d


def _state(d):
    return d / "runs" / "c.state.pt"


def _rewrite_state(change, name="c"):
    def apply(d):
        path = d / "runs" / f"{name}.state.pt"
        state = torch.load(path, weights_only=True)
        change(state)
        torch.save(state, path)
    return apply


def _foreign_state(d):
    torch.save({"weights": torch.zeros(3)}, _state(d))


def _evil_state(d):
    marker = d / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"model": Evil()}, _state(d))


def _other_arch_state(d):
    """A state whose weights belong to vgg11-bn, without an identity (as before identities)."""
    from analysis.zoo import create_model

    def change(state):
        state["model"] = create_model("vgg11-bn", width_mult=0.125).state_dict()
        del state["identity"]
    _rewrite_state(change)(d)


def _identity(**changes):
    def change(state):
        identity = json.loads(state["identity"])
        identity.update(changes)
        state["identity"] = json.dumps(identity)
    return _rewrite_state(change)


def _swap(argv, old, new):
    out = list(argv)
    out[out.index(old)] = new
    return out


RESUME = "delete it or run without --resume"
RESUME_CASES = {
    # the list
    "truncated state": (truncate_at("runs/c.state.pt"), CLF, "c", "is damaged"),
    "empty state": (write_at("runs/c.state.pt", b""), CLF, "c", "is damaged"),
    "foreign state": (_foreign_state, CLF, "c", "is not an RA Explorer training state"),
    "another architecture": (None, _swap(CLF, "resnet20", "vgg11-bn")[:3] + ["--arch-kw", "width_mult=0.125"]
                             + CLF[5:], "c", "architecture 'resnet20' there, 'vgg11-bn' here"),
    "another dataset": (None, _swap(CLF, SYN, "synthetic:n=80"), "c",
                        "dataset 'synthetic:channels=1,classes=10,n=64,seed=0,size=28' there, "
                        "'synthetic:channels=1,classes=10,n=80,seed=0,size=28' here"),
    # more
    "random bytes": (write_at("runs/c.state.pt", np.random.default_rng(0).bytes(5000)), CLF, "c",
                     "is damaged"),
    "a JSON file": (write_at("runs/c.state.pt", b'{"model": {}}'), CLF, "c", "is damaged"),
    "a pickle with code": (_evil_state, CLF, "c", "is damaged"),
    "a tensor, not a dict": (lambda d: torch.save(torch.zeros(2), _state(d)), CLF, "c",
                             "is not an RA Explorer training state"),
    "epoch of the wrong type": (_rewrite_state(lambda s: s.update(epoch="one")), CLF, "c", "wrong type"),
    "history of the wrong type": (_rewrite_state(lambda s: s.update(history=5)), CLF, "c", "wrong type"),
    "weights of another architecture": (_other_arch_state, CLF, "c", "does not fit this model"),
    "optimizer state damaged": (_rewrite_state(lambda s: s.update(optimizer={"state": {}})), CLF, "c",
                                "optimizer state"),
    "identity damaged": (_rewrite_state(lambda s: s.update(identity="{not json")), CLF, "c",
                         "damaged identity"),
    "more epochs than asked": (_rewrite_state(lambda s: s.update(epoch=5)), CLF, "c",
                               "already trained 5 epochs"),
    "other architecture options": (None, _swap(CLF, "width=4", "width=8"), "c",
                                   '"width": 4} there'),
    "other method (adversarial)": (None, CLF + ["--pgd-eps", "0.5", "--pgd-steps", "1"], "c",
                                   "method 'standard' there, 'adversarial' here"),
    "another name's state": (lambda d: shutil.copy(d / "runs" / "c2.state.pt", _state(d)), CLF, "c",
                             "name 'c2' there, 'c' here"),
    "another recognizer": (None, PRO, "p:c2", "recognizer state digest"),
    "another task": (None, _swap(PRO, "sr", "sr:scale=2"), "p", "task 'sr:scale=4' there, 'sr:scale=2' here"),
    "another processor method": (None, _swap(PRO, "ra", "ra-unsup"), "p",
                                 "method 'ra' there, 'ra-unsup' here"),
    "plain instead of ra": (None, _swap(PRO, "ra", "plain"), "p", "method 'ra' there, 'plain' here"),
    "processor options": (None, _swap(PRO, "channels=4,blocks=1", "channels=8,blocks=1"), "p",
                          '"channels": 4'),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_bad_resume_is_one_sentence(case, trained, tmp_path, capsys):
    d = tmp_path / "t"
    shutil.copytree(trained, d)
    damage, argv, who, match = RESUME_CASES[case]
    if damage:
        damage(d)
    name, _, recognizer = who.partition(":")
    extra = ["--classifier", d / "zoo" / (recognizer or "c")] if name == "p" else []
    before = snapshot(d, ROOT / "results")
    code, err = run_main(list(argv) + _paths(d, name) + extra + ["--resume"], capsys)
    assert_one_sentence(code, err, match)
    assert str(d / "runs" / f"{name}.state.pt") in err
    if "is damaged" in match or "not an RA Explorer" in match or "does not fit" in match:
        assert RESUME in err            # the sentence gives the choice to start again
    assert snapshot(d, ROOT / "results") == before
    assert not (d / "pwned").exists()


def test_resume_after_an_interrupted_save_finishes_it(trained, tmp_path, capsys):
    """Ctrl-C between the weights and the card: loading says so; --resume writes the same weights."""
    d = tmp_path / "t"
    shutil.copytree(trained, d)
    argv = [str(a) for a in CLF + _paths(d, "c")]
    with mock.patch("analysis.zoo.checkpoints._write_card", side_effect=KeyboardInterrupt):
        code, err = run_main(argv + ["--resume"], capsys)    # trains the second epoch, then ^C
    assert code == 130 and "Traceback" not in err     # above it: the resume and epoch lines
    assert err.strip().splitlines()[-1] == "error: interrupted."
    weights = tensor_bytes(d / "zoo" / "c.safetensors")
    code, err = run_main(["robustness", "--checkpoints", d / "zoo", "--classifier", "c", "--pgd-eps", "0.1"],
                         capsys)
    assert_one_sentence(code, err, "training was interrupted while c was being saved")
    assert main(argv + ["--resume"]) == 0
    assert tensor_bytes(d / "zoo" / "c.safetensors") == weights     # bitwise the interrupted run's
    assert not (d / "zoo" / "c.saving").exists()
    assert load_card(d / "zoo" / "c")["epochs"] == 2


FLOAT16_CASES = {
    "truncated state": (truncate_at("runs/c.state.pt"), "is damaged"),
    "empty state": (write_at("runs/c.state.pt", b""), "float32 reference of 'c'"),
    "state of another dataset": (_identity(dataset="fashion-mnist"), "dataset 'fashion-mnist' there"),
    "state of another architecture": (_identity(arch="vgg11-bn"), "architecture 'vgg11-bn' there"),
    "state of another method": (_identity(method="adversarial"), "method 'adversarial' there"),
    "state of another run's name": (lambda d: shutil.copy(d / "runs" / "c2.state.pt", _state(d)),
                                    "name 'c2' there"),
    "weights of another architecture": (_other_arch_state, "does not fit this model"),
}


@pytest.mark.parametrize("case", list(FLOAT16_CASES))
def test_float16_check_refuses_a_bad_state(case, trained, tmp_path, capsys):
    d = tmp_path / "t"
    shutil.copytree(trained, d)
    damage, match = FLOAT16_CASES[case]
    damage(d)
    before = snapshot(d, ROOT / "results")
    code, err = run_main(["float16-check", "--checkpoints", d / "zoo", "--state-dir", d / "runs",
                          "--models", "c", "--dataset", SYN, "--no-progress", "--no-save"], capsys)
    assert_one_sentence(code, err, match)
    assert snapshot(d, ROOT / "results") == before


def test_the_case_count():
    assert len(RESUME_CASES) + len(FLOAT16_CASES) >= 10
