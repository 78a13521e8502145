import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from analysis.errors import RAExplorerError
from analysis.methods import METHODS
from analysis.training.classifiers import augment, pgd_l2, train_classifier
from analysis.training.processors import train_processor
from analysis.zoo.checkpoints import load_checkpoint, state_digest
from tests.conftest import SYNTH, TINY_PROCESSOR, TINY_TRANSFORMER
from tests.process_groups import run_session

ROOT = Path(__file__).resolve().parents[2]


def total_loss(record):
    return sum(v for k, v in record.items() if k.startswith("train_") and k != "train_acc")


def test_classifier_training_learns_and_writes_a_card(tmp_path):
    card_path = train_classifier("resnet20", dataset=SYNTH, out=str(tmp_path / "c"), epochs=3,
                                 batch_size=32, lr=3e-3, arch_kwargs={"width": 4},
                                 state_dir=str(tmp_path), progress=False)
    card = json.loads(card_path.read_text())
    losses = [h["train_loss"] for h in card["history"]]
    assert losses[-1] < losses[0]
    assert card["method"] == "standard" and card["epochs"] == 3
    assert 0 <= card["metrics"]["val_accuracy"] <= 1
    model, _ = load_checkpoint(tmp_path / "c")
    assert model.num_classes == 10


def test_resume_continues_from_the_saved_epoch(tmp_path, capsys):
    common = dict(dataset=SYNTH, out=str(tmp_path / "c"), batch_size=64,
                  arch_kwargs={"width": 4}, state_dir=str(tmp_path), progress=False)
    train_classifier("resnet20", epochs=1, **common)
    card_path = train_classifier("resnet20", epochs=2, resume=True, **common)
    assert "Resuming c from epoch 1" in capsys.readouterr().err
    card = json.loads(card_path.read_text())
    assert [h["epoch"] for h in card["history"]] == [1, 2]


def test_pgd_l2_stays_in_the_ball_and_hurts_accuracy(tiny_zoo):
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    x = torch.rand(16, 1, 28, 28)
    y = model(x).argmax(1)
    adv = pgd_l2(model, x, y, eps=2.0, steps=10, gen=torch.Generator().manual_seed(0))
    norms = (adv - x).flatten(1).norm(dim=1)
    assert float(norms.max()) <= 2.0 + 1e-4
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1
    with torch.no_grad():
        assert (model(adv).argmax(1) == y).float().mean() < 1.0


def test_adversarial_card_records_the_attack(tiny_zoo):
    card = json.loads((tiny_zoo / "clf-robust.json").read_text())
    assert card["method"] == "adversarial"
    assert card["training"]["adversarial"] == {"norm": "L2", "eps": 0.5, "steps": 2,
                                               "units": "[0,1]-pixel L2"}
    assert "val_robust_accuracy" in card["metrics"]


def test_augment_shifts_and_flips_but_keeps_shape():
    x = torch.rand(8, 1, 28, 28)
    y = augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and not torch.equal(x, y)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_trains_and_leaves_the_recognizer_untouched(method, tiny_zoo, tmp_path):
    recognizer = {"plain": None, "robust-perceptual": "clf-robust"}.get(method, "clf-a")
    rec_path = str(tiny_zoo / recognizer) if recognizer else None
    before = state_digest(load_checkpoint(rec_path)[0]) if rec_path else None
    card_path = train_processor(
        "sr", method, dataset=SYNTH, out=str(tmp_path / method), recognizer=rec_path, lam=0.1,
        epochs=3, batch_size=32, lr=2e-3, arch_kwargs=TINY_PROCESSOR,
        transformer_kwargs=TINY_TRANSFORMER, losses="EPT", texture_weight=1.0, patch=4,
        state_dir=str(tmp_path), progress=False, val_limit=20)
    card = json.loads(card_path.read_text())
    losses = [total_loss(h) for h in card["history"]]
    assert losses[-1] < losses[0], losses
    assert card["method"] == method and card["task"] == "sr:scale=4"
    if rec_path:
        after = state_digest(load_checkpoint(rec_path)[0])
        assert card["source_state_sha256"] == before == after
    model, _ = load_checkpoint(card_path)
    assert model(torch.rand(2, 1, 7, 7)).shape == (2, 1, 28, 28)
    if method == "ra-transformer":
        assert card["transformer"]["arch"] == "cyclegan-resnet"
        assert hasattr(model, "human_view")


@pytest.mark.parametrize("arch", ["srdensenet", "rdn", "dbpn"])
def test_train_processor_builds_the_chosen_architecture(arch, tiny_zoo, tmp_path):
    """The Table 11 architectures train through the same trainer (RA, one epoch) and load back
    as themselves, their card naming them."""
    card_path = train_processor(
        "sr", "ra", dataset=SYNTH, out=str(tmp_path / arch), recognizer=str(tiny_zoo / "clf-a"),
        lam=0.1, epochs=1, batch_size=32, arch=arch, arch_kwargs={"channels": 8},
        state_dir=str(tmp_path), progress=False, val_limit=20)
    card = json.loads(card_path.read_text())
    assert card["arch"] == arch and card["arch_kwargs"]["channels"] == 8
    model, loaded = load_checkpoint(card_path)
    assert loaded["arch"] == arch and type(model).__name__.lower() == arch
    assert model(torch.rand(2, 1, 7, 7)).shape == (2, 1, 28, 28)


def test_train_processor_refuses_a_classifier_architecture(tmp_path):
    with pytest.raises(RAExplorerError, match="not a processor"):
        train_processor("sr", "plain", dataset=SYNTH, out=str(tmp_path / "p"), arch="resnet20",
                        max_steps=1, progress=False, state_dir=str(tmp_path))


def test_robust_perceptual_refuses_a_standard_classifier(tiny_zoo, tmp_path):
    with pytest.raises(RAExplorerError, match="adversarially trained"):
        train_processor("sr", "robust-perceptual", dataset=SYNTH, out=str(tmp_path / "p"),
                        recognizer=str(tiny_zoo / "clf-a"), arch_kwargs=TINY_PROCESSOR,
                        max_steps=1, progress=False, state_dir=str(tmp_path))


def test_ra_needs_a_recognizer(tmp_path):
    with pytest.raises(RAExplorerError, match="--classifier"):
        train_processor("sr", "ra", dataset=SYNTH, out=str(tmp_path / "p"), max_steps=1,
                        progress=False, state_dir=str(tmp_path))


def test_ra_transformer_keeps_p_on_mse_only(tiny_zoo, tmp_path):
    """P's gradient must not depend on lambda: T's loss sees P's output detached."""
    from analysis.methods.processors import LossContext, get_method
    from analysis.training.processors import ProcessorWithTransformer
    from analysis.zoo import create_model

    torch.manual_seed(0)
    rec, _ = load_checkpoint(tiny_zoo / "clf-a")
    net = ProcessorWithTransformer(create_model("srresnet", in_channels=1, scale=4, **TINY_PROCESSOR),
                                   create_model("cyclegan-resnet", in_channels=1, **TINY_TRANSFORMER))
    x, target, y = torch.rand(4, 1, 7, 7), torch.rand(4, 1, 28, 28), torch.randint(0, 10, (4,))
    grads = []
    for lam in (0.0, 10.0):
        net.zero_grad()
        ctx = LossContext(recognizer=rec, lam=lam)
        out, ctx.transformed = net(x)
        sum(get_method("ra-transformer").loss(ctx, out, target, y).values()).backward()
        grads.append(net.processor.tail.weight.grad.clone())
    assert torch.equal(grads[0], grads[1])
    assert net.transformer.model[1].weight.grad.abs().sum() > 0


def test_torchrun_two_processes_train_one_checkpoint(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "analysis", "train-classifier", "--arch", "resnet20", "--dataset", SYNTH,
           "--out", str(tmp_path / "ddp"), "--epochs", "1", "--batch-size", "16",
           "--arch-kw", "width=4", "--device", "cpu", "--state-dir", str(tmp_path / "state"),
           "--val-first", "20", "--no-progress"]
    result = run_session(cmd, 300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob("ddp*")) == ["ddp.json", "ddp.safetensors"]
    assert result.stderr.count("Wrote ") == 1
    model, card = load_checkpoint(tmp_path / "ddp")
    assert card["training"]["world_size"] == 2
    # each rank saw half of the 180 training images: ceil(90 / 16) = 6 steps, not 12
    assert card["history"][0]["steps"] == 6


def test_kill_9_then_resume_is_bitwise_identical(tmp_path):
    """SIGKILL during the second epoch, then --resume: the weights equal an uninterrupted run's."""
    import signal
    import time

    from safetensors.torch import load_file

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

    def cmd(name, *extra):
        return [sys.executable, "-m", "analysis", "train-classifier", "--arch", "resnet20",
                "--arch-kw", "width=4", "--dataset", "synthetic:n=600", "--epochs", "2",
                "--batch-size", "32", "--val-first", "16", "--device", "cpu", "--no-progress",
                "--out", str(tmp_path / name), "--state-dir", str(tmp_path / f"runs-{name}"), *extra]

    whole = subprocess.Popen(cmd("whole"), cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    killed = subprocess.Popen(cmd("resumed"), cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    state = tmp_path / "runs-resumed" / "resumed.state.pt"
    deadline = time.monotonic() + 240
    while not state.exists():       # written (atomically) after the first epoch
        assert killed.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "resumed.json").exists()       # it died inside the second epoch
    assert torch.load(state, weights_only=True)["epoch"] == 1
    resumed = subprocess.run(cmd("resumed", "--resume"), cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0 and "Resuming resumed from epoch 1" in resumed.stderr
    assert whole.wait(timeout=240) == 0
    a, b = (load_file(str(tmp_path / f"{n}.safetensors")) for n in ("whole", "resumed"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k].view(-1).view(torch.uint8), b[k].view(-1).view(torch.uint8))
               for k in a)
    losses = [[h["train_loss"] for h in json.loads((tmp_path / f"{n}.json").read_text())["history"]]
              for n in ("whole", "resumed")]
    assert losses[0] == losses[1]
