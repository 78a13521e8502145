"""torchvision's ImageNet classifiers, wrapped for users who bring their own weights.

No pretrained weights are downloaded: models are built with ``weights=None`` and
users load their own checkpoint (see ``analysis.checkpoints.import_torchvision``).
``in_channels`` other than 3 replaces the first convolution.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .wrapper import Classifier, GlobalAvgPool

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stats(in_channels, mean, std):
    if mean is None:
        mean = IMAGENET_MEAN if in_channels == 3 else (0.449,) * in_channels
    if std is None:
        std = IMAGENET_STD if in_channels == 3 else (0.226,) * in_channels
    return mean, std


def _replace_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    if in_channels == conv.in_channels:
        return conv
    return nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                     bias=conv.bias is not None)


def tv_resnet(arch: str, in_channels: int = 3, num_classes: int = 1000, mean=None, std=None):
    """ResNet-18/50/101: taps stem, layer1..layer4."""
    from torchvision import models

    net = getattr(models, arch)(weights=None, num_classes=num_classes)
    net.conv1 = _replace_first_conv(net.conv1, in_channels)
    stages = OrderedDict(stem=nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool))
    for name in ("layer1", "layer2", "layer3", "layer4"):
        stages[name] = getattr(net, name)
    return Classifier(stages, GlobalAvgPool(), net.fc, *_stats(in_channels, mean, std))


def tv_densenet(arch: str = "densenet121", in_channels: int = 3, num_classes: int = 1000,
                mean=None, std=None):
    """DenseNet-121: taps denseblock1..denseblock4 (each stage ends with its block)."""
    from torchvision import models

    net = getattr(models, arch)(weights=None, num_classes=num_classes)
    net.features.conv0 = _replace_first_conv(net.features.conv0, in_channels)
    stages, current = OrderedDict(), []
    for name, module in net.features.named_children():
        if name == "norm5":
            break
        current.append(module)
        if name.startswith("denseblock"):
            stages[name] = nn.Sequential(*current)
            current = []
    pool = GlobalAvgPool(nn.Sequential(net.features.norm5, nn.ReLU()))
    return Classifier(stages, pool, net.classifier, *_stats(in_channels, mean, std))


def tv_vgg(arch: str = "vgg16_bn", in_channels: int = 3, num_classes: int = 1000,
           mean=None, std=None):
    """VGG-16-BN: taps block1..block5 (each ends with its max-pool); penultimate is fc7."""
    from torchvision import models

    net = getattr(models, arch)(weights=None, num_classes=num_classes)
    net.features[0] = _replace_first_conv(net.features[0], in_channels)
    stages, current = OrderedDict(), []
    for module in net.features:
        current.append(module)
        if isinstance(module, nn.MaxPool2d):
            stages[f"block{len(stages) + 1}"] = nn.Sequential(*current)
            current = []
    pool = nn.Sequential(net.avgpool, nn.Flatten(), *list(net.classifier)[:-1])
    return Classifier(stages, pool, net.classifier[-1], *_stats(in_channels, mean, std))
