"""The LPIPS-style and teacher-feature metrics of a zoo classifier take the channels its first
layer takes, whatever the shape of its normalisation buffers."""

import torch

from analysis.metrics.classifier_distance import classifier_metrics
from analysis.zoo import create_model
from analysis.zoo.checkpoints import save_checkpoint


def test_an_rgb_classifier_with_a_shared_normalisation_gets_rgb_inputs(tmp_path):
    torch.manual_seed(0)
    kwargs = {"width": 2, "in_channels": 3, "num_classes": 3}
    model = create_model("resnet20", **kwargs)
    assert model.mean.shape[1] == 1               # one mean for all three channels
    save_checkpoint(model, {"kind": "classifier", "arch": "resnet20", "arch_kwargs": kwargs,
                            "dataset": "imagefolder:/nowhere"}, tmp_path / "rgbnet")
    specs = classifier_metrics(tmp_path)
    x = torch.rand(2, 3, 32, 32)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    for name in ("lpips-rgbnet", "fd-rgbnet"):
        metric = specs[name].build(torch.device("cpu"))
        same, apart = metric(x, x), metric(noisy, x)
        assert same.shape == (2,) and torch.allclose(same, torch.zeros(2), atol=1e-6)
        assert bool((apart > 0).all())
