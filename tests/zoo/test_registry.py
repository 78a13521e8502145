import pytest
import torch

from analysis.errors import UnknownNameError
from analysis.zoo import Classifier, create_model, list_models

SMALL = [m["name"] for m in list_models("classifier") if not m["name"].startswith("tv-")]
IMAGENET = [m["name"] for m in list_models("classifier") if m["name"].startswith("tv-")]


def test_at_least_four_small_classifier_families():
    families = {m["family"] for m in list_models("classifier") if m["name"] in SMALL}
    assert {"resnet", "vgg", "densenet", "mobilenet"} <= families


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_small_classifier_shapes_and_taps(name, channels, size):
    net = create_model(name, in_channels=channels, num_classes=7,
                       mean=[0.5] * channels, std=[0.25] * channels).eval()
    x = torch.rand(2, channels, size, size)
    logits = net(x)
    assert logits.shape == (2, 7)
    feats = net.features(x)
    assert list(feats)[: len(net.feature_names)] == net.feature_names
    assert torch.allclose(feats["logits"], logits, atol=1e-5)
    assert feats["penultimate"].ndim == 2 and feats["penultimate"].shape[0] == 2
    assert torch.allclose(net.fc(feats["penultimate"]), logits, atol=1e-5)
    for name_ in net.feature_names:
        assert feats[name_].ndim == 4
    # asking for a shallow tap alone stops early and gives the same tensor
    first = net.feature_names[0]
    assert torch.allclose(net.features(x, [first])[first], feats[first])


def test_wrapper_normalises_inputs_itself():
    net = create_model("resnet20", in_channels=1, num_classes=10, mean=[0.3], std=[0.2]).eval()
    x = torch.rand(2, 1, 28, 28)
    stem = net.stages["stem"]
    assert torch.allclose(net.features(x, ["stem"])["stem"], stem((x - 0.3) / 0.2))


def test_unknown_feature_layer_is_named():
    net = create_model("vgg11-bn", in_channels=1, num_classes=10)
    with pytest.raises(KeyError, match="block1"):
        net.features(torch.rand(1, 1, 28, 28), ["conv9"])


@pytest.mark.parametrize("name", IMAGENET)
@pytest.mark.parametrize("channels", [1, 3])
def test_torchvision_classifiers_take_channels_and_classes(name, channels):
    net = create_model(name, in_channels=channels, num_classes=5).eval()
    assert isinstance(net, Classifier)
    x = torch.rand(1, channels, 64, 64)
    with torch.no_grad():
        feats = net.features(x)
    assert feats["logits"].shape == (1, 5)
    assert len(net.feature_names) >= 4
    assert feats[net.feature_names[-1]].shape[-1] == 2  # 64 px / 32


@pytest.mark.parametrize("scale,size", [(1, 28), (2, 14), (3, 10), (4, 7)])
@pytest.mark.parametrize("channels", [1, 3])
def test_srresnet_scales(scale, size, channels):
    net = create_model("srresnet", in_channels=channels, channels=8, blocks=2, scale=scale)
    assert net(torch.rand(2, channels, size, size)).shape == (2, channels, size * scale, size * scale)


def test_srresnet_residual_input_starts_near_bicubic():
    net = create_model("srresnet", in_channels=1, channels=8, blocks=1, scale=4)
    assert any(isinstance(m, torch.nn.PReLU) for m in net.modules())
    assert any(isinstance(m, torch.nn.PixelShuffle) for m in net.modules())
    plain = create_model("srresnet", in_channels=1, channels=8, blocks=1, scale=4,
                         residual_input=False)
    torch.nn.init.zeros_(net.tail.weight)
    torch.nn.init.zeros_(net.tail.bias)
    x = torch.rand(1, 1, 7, 7)
    bicubic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic")
    assert torch.allclose(net(x), bicubic, atol=1e-6)
    assert plain(x).shape == (1, 1, 28, 28)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("channels", [1, 3])
def test_cyclegan_generator_preserves_shape_and_range(norm, channels):
    net = create_model("cyclegan-resnet", in_channels=channels, ngf=4, blocks=2, norm=norm)
    with torch.no_grad():
        y = net(torch.rand(2, channels, 28, 28))
    assert y.shape == (2, channels, 28, 28)
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_unknown_model_lists_close_names():
    with pytest.raises(UnknownNameError, match="resnet20"):
        create_model("resnet21")
