"""The processors beside SRResNet (analysis/zoo/sr_architectures.py): built by name, SR x4 and
scale-1 shapes, the "no processing" start, gradients, parameter counts near the zoo's SRResNet,
and a checkpoint round trip through zoo/checkpoints with its card checked."""

import json

import pytest
import torch

from analysis.errors import CheckpointError
from analysis.zoo import MODELS, create_model, list_models
from analysis.zoo.checkpoints import load_card, load_checkpoint, save_checkpoint, state_digest

ARCHS = ("srdensenet", "rdn", "dbpn")
# parameters on one channel with the registry defaults (the module docstring states them)
PARAMETERS = {4: {"srdensenet": 200151, "rdn": 202467, "dbpn": 190866, "srresnet-zoo": 200266},
              1: {"srdensenet": 126165, "rdn": 128481, "dbpn": 130361, "srresnet-zoo": 89030}}


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registered_as_processors_with_families():
    listed = {m["name"]: m for m in list_models("processor")}
    assert set(ARCHS) | {"srresnet"} <= set(listed)
    assert {listed[a]["family"] for a in ARCHS} == set(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_shapes_start_and_gradients(arch):
    torch.manual_seed(0)
    sr = create_model(arch, in_channels=1, scale=4)
    x = torch.rand(2, 1, 7, 7)
    out = sr(x)
    assert out.shape == (2, 1, 28, 28)
    out.square().mean().backward()
    grads = [p.grad for p in sr.parameters()]
    assert all(g is not None for g in grads) and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) > 0 for g in grads) >= 0.9 * len(grads)   # reach the head
    same = create_model(arch, in_channels=3, scale=1, channels=8)
    y = torch.rand(2, 3, 20, 24, requires_grad=True)
    assert same(y).shape == (2, 3, 20, 24)
    same(y).sum().backward()
    assert y.grad is not None and float(y.grad.abs().sum()) > 0
    for scale, size in ((2, 9), (3, 8), (8, 4)):
        assert create_model(arch, in_channels=1, channels=8, scale=scale)(
            torch.rand(1, 1, size, size)).shape == (1, 1, scale * size, scale * size)


@pytest.mark.parametrize("arch", ARCHS)
def test_residual_input_starts_at_no_processing(arch):
    net = create_model(arch, in_channels=1, channels=8, scale=4)
    torch.nn.init.zeros_(net.tail.weight)
    torch.nn.init.zeros_(net.tail.bias)
    x = torch.rand(1, 1, 7, 7)
    bicubic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.allclose(net(x), bicubic, atol=1e-6)
    plain = create_model(arch, in_channels=1, channels=8, scale=1, residual_input=False)
    torch.nn.init.zeros_(plain.tail.weight)
    torch.nn.init.zeros_(plain.tail.bias)
    with torch.no_grad():
        assert float(plain(x).abs().max()) == 0


@pytest.mark.parametrize("scale", [4, 1])
def test_parameter_counts_near_the_zoos_srresnet(scale):
    zoo = create_model("srresnet", in_channels=1, channels=32, blocks=6 if scale == 4 else 4,
                       scale=scale)
    assert _count(zoo) == PARAMETERS[scale]["srresnet-zoo"]
    for arch in ARCHS:
        n = _count(create_model(arch, in_channels=1, scale=scale))
        assert n == PARAMETERS[scale][arch]
        if scale == 4:
            assert 0.9 < n / _count(zoo) < 1.1


@pytest.mark.parametrize("arch", ARCHS)
def test_checkpoint_round_trip(arch, tmp_path):
    kwargs = {"in_channels": 1, "scale": 4, "channels": 8}
    model = create_model(arch, **kwargs)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    card = {"kind": "processor", "arch": arch, "arch_kwargs": kwargs, "dataset": "fashion-mnist",
            "task": "sr:scale=4", "method": "plain", "lambda": 0.0, "epochs": 1, "seed": 0}
    save_checkpoint(model, card, tmp_path / arch)
    loaded, read = load_checkpoint(tmp_path / arch, kind="processor")
    assert state_digest(loaded) == state_digest(model.eval())
    assert read["arch"] == arch and read["weights"]["num_parameters"] == _count(model)
    x = torch.rand(2, 1, 7, 7)
    assert torch.equal(loaded(x), model(x))
    assert load_card(tmp_path / arch)["arch_kwargs"] == kwargs
    # the card is checked: an option the architecture lacks, or a scale it cannot build
    for bad, words in (({"blocks_": 2}, "takes no option"), ({"scale": 5}, "scale")):
        text = json.loads((tmp_path / f"{arch}.json").read_text())
        text["arch_kwargs"] = {**kwargs, **bad}
        (tmp_path / "bad.json").write_text(json.dumps(text))
        (tmp_path / "bad.safetensors").write_bytes((tmp_path / f"{arch}.safetensors").read_bytes())
        text["weights"]["file"] = "bad.safetensors"
        (tmp_path / "bad.json").write_text(json.dumps(text))
        with pytest.raises(CheckpointError, match=words):
            load_checkpoint(tmp_path / "bad")
    assert MODELS[arch].kind == "processor"
