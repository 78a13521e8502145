"""The training steps' precision (issue 39, point 1): the names, float16 refused on a CPU,
bfloat16 autocast on a CPU about halving the saved activations, and the card recording it."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from analysis.errors import RAExplorerError
from analysis.training import memory
from analysis.training.precision import autocast_dtype, precision_name
from analysis.training.processors import train_processor
from analysis.zoo import create_model
from tests.bad_input import assert_one_sentence, run_main
from tests.conftest import SYNTH, TINY_PROCESSOR

CPU = torch.device("cpu")


def test_names_map_to_autocast_dtypes_and_float16_needs_cuda():
    assert autocast_dtype("auto", CPU) is None and autocast_dtype("float32", CPU) is None
    assert autocast_dtype("bfloat16", CPU) is torch.bfloat16
    with pytest.raises(RAExplorerError, match="needs a CUDA device"):
        autocast_dtype("float16", CPU)
    with pytest.raises(RAExplorerError, match="Unknown precision 'half'"):
        autocast_dtype("half", CPU)
    assert [precision_name(d) for d in (None, torch.bfloat16, torch.float16)] == [
        "float32", "bfloat16", "float16"]


def _step(net, images, labels, indices, gen):
    return F.mse_loss(net(images[..., ::4, ::4]), images), {}


def test_bfloat16_saves_about_half_the_activations_of_float32():
    torch.manual_seed(0)
    model = create_model("srresnet", in_channels=1, scale=4, **TINY_PROCESSOR).train()
    images = torch.rand(2, 1, 32, 32)
    args = (_step, model, images, torch.tensor([0, 1]), torch.arange(2), CPU)
    full = memory.activation_bytes(*args)
    half = memory.activation_bytes(*args, torch.bfloat16)
    assert 0.4 < half.per_image / full.per_image < 0.75, (half, full)


def test_a_bfloat16_run_trains_and_its_card_says_so(tmp_path):
    card = train_processor("sr", "plain", dataset=SYNTH, out=str(tmp_path / "p"), epochs=1,
                           batch_size=16, arch_kwargs=TINY_PROCESSOR, max_steps=2, val_limit=8,
                           state_dir=str(tmp_path / "s"), progress=False, device="cpu",
                           precision="bfloat16")
    saved = json.loads(card.read_text())
    assert saved["training"]["precision"] == "bfloat16"
    assert saved["weights"]["dtype"] == "float32"
    assert saved["metrics"]["val_psnr"] > 0


def test_float16_on_a_cpu_is_one_sentence_and_writes_nothing(tmp_path, capsys):
    code, err = run_main(["train-processor", "--task", "sr", "--method", "plain", "--dataset",
                          SYNTH, "--device", "cpu", "--precision", "float16", "--max-steps", "1",
                          "--out", tmp_path / "p", "--state-dir", tmp_path / "s",
                          "--no-progress"], capsys)
    assert_one_sentence(code, err, "needs a CUDA device")
    assert not list(tmp_path.rglob("*"))
