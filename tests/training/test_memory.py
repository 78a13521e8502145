"""Training memory said before the run (issue 39, point 1): the activation estimate, its
refusal with one sentence and a batch size that fits, and an estimate that leaves no trace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from analysis.errors import RAExplorerError
from analysis.training import memory
from analysis.zoo import create_model
from tests.conftest import SYNTH, TINY_CLASSIFIER


def _classifier():
    return create_model("resnet20", in_channels=3, num_classes=3, mean=[0.5] * 3, std=[0.5] * 3,
                        **TINY_CLASSIFIER).train()


def _step(net, images, labels, indices, gen):
    noise = torch.rand(images.shape, generator=gen)          # the step's own randomness
    return F.cross_entropy(net(images + 0.01 * noise), labels), {}


def _measure(model, size):
    torch.manual_seed(0)
    images = torch.rand(2, 3, size, size)
    return memory.activation_bytes(_step, model, images, torch.tensor([0, 1]), torch.arange(2),
                                   torch.device("cpu"))


def test_activations_grow_with_the_pixels_and_a_full_resolution_stem_is_seen():
    small, large = _measure(_classifier(), 16), _measure(_classifier(), 32)
    assert 3.5 < large.per_image / small.per_image < 4.5          # 4x the pixels
    assert large.full_resolution and large.size == (32, 32)
    assert large.per_image > 32 * 32 * 4 * 4          # at least one 4-channel float map per image


def test_the_estimate_leaves_the_buffers_and_the_random_state_as_they_were():
    model = _classifier()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    state = torch.get_rng_state()
    _measure_keep_rng(model)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def _measure_keep_rng(model):
    images = torch.ones(2, 3, 16, 16)
    return memory.activation_bytes(_step, model, images, torch.tensor([0, 1]), torch.arange(2),
                                   torch.device("cpu"))


def test_a_batch_that_cannot_fit_is_refused_with_one_that_does(capsys):
    model = torch.nn.Linear(1, 1, bias=False)          # 4 bytes of weights, 16 with AdamW
    mib = 2 ** 20
    estimate = memory.ActivationMemory(per_image=mib, full_resolution=True, size=(224, 224))
    fits = 16 + 10 * memory.OVERHEAD * mib
    memory.check_training_memory("big", estimate, model, 10, torch.device("cpu"),
                                 available=int(fits) + 1)
    assert "1.0 MiB of activations per 224x224 image" in capsys.readouterr().err
    with pytest.raises(RAExplorerError) as info:
        memory.check_training_memory("big", estimate, model, 64, torch.device("cpu"),
                                     available=int(fits) + 1)
    text = str(info.value)
    assert "pass --batch-size 10 or less" in text and "224x224" in text
    assert "full 224x224 resolution" in text and text.count(". ") == 0


def test_training_refuses_before_the_first_step_and_writes_nothing(tmp_path, monkeypatch):
    from analysis.training.classifiers import train_classifier

    monkeypatch.setattr(memory, "available_memory", lambda device: 2 ** 20)
    with pytest.raises(RAExplorerError, match="batch of 32"):
        train_classifier("resnet20", dataset=SYNTH, out=str(tmp_path / "clf"),
                         arch_kwargs=TINY_CLASSIFIER, epochs=1, batch_size=32, max_steps=1,
                         state_dir=str(tmp_path / "state"), progress=False)
    assert not list(tmp_path.glob("clf*")) and not (tmp_path / "state").exists()
