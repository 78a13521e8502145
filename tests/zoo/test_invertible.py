"""The i-RevNet-style classifier inverts exactly."""

import pytest
import torch

from analysis.zoo import create_model


@pytest.mark.parametrize("channels", [1, 3])
def test_inverse_of_forward_is_the_input(channels):
    torch.manual_seed(0)
    net = create_model("irevnet", in_channels=channels, num_classes=10, mean=[0.3] * channels,
                       std=[0.4] * channels)
    # coupling functions that are not the identity, and BatchNorm statistics of real batches
    for stage in net.stages.values():
        for block in stage.blocks:
            torch.nn.init.normal_(block.f[-1].weight, std=0.2)
    with torch.no_grad():
        net(torch.rand(16, channels, 28, 28))
    net.eval()
    x = torch.rand(5, channels, 28, 28)
    with torch.no_grad():
        z = net.features(x, [net.code_name])[net.code_name]
        assert z.shape == (5, 4 * 4 * 4, 7, 7)
        assert all(float(b.f[-1].weight.abs().sum()) > 0 for b in net.stages["level2"].blocks)
        back = net.invert(z)
    assert (back - x).abs().max() < 1e-4


def test_it_is_a_classifier_with_taps_and_logits():
    net = create_model("irevnet", in_channels=1, num_classes=10)
    out = net.features(torch.rand(2, 1, 28, 28))
    assert out["logits"].shape == (2, 10)
    assert list(net.feature_names) == ["level1", "level2"]


def test_odd_padding_is_refused():
    with pytest.raises(ValueError, match="even"):
        create_model("irevnet", in_channels=1, pad_to=3)
