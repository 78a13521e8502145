"""Classifiers sized for 28-32 px inputs: ResNet, VGG with BN, DenseNet-BC and MobileNetV2.

Each builder takes ``in_channels`` (1 or 3), ``num_classes``, ``mean``/``std``
(per channel, for the wrapper's normalisation) and a width setting, and returns
a :class:`~analysis.zoo.wrapper.Classifier` whose stage names are the feature taps.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .wrapper import Classifier, GlobalAvgPool


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1,
            act: nn.Module | None = None) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- ResNet (He et al., CIFAR form)

class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, 3, stride, act=nn.ReLU(inplace=True)),
                                  conv_bn(cout, cout, 3, 1))
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout
                         else conv_bn(cin, cout, 1, stride))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet_cifar(depth: int = 20, in_channels: int = 1, num_classes: int = 10, width: int = 16,
                 mean=(0.5,), std=(0.25,)) -> Classifier:
    """ResNet-(6n+2) with three stages of widths (w, 2w, 4w); taps stem, layer1..3."""
    if (depth - 2) % 6:
        raise ValueError("ResNet depth must be 6n + 2 (20, 32, 44, 56, ...).")
    n = (depth - 2) // 6
    stages = OrderedDict(stem=conv_bn(in_channels, width, 3, 1, act=nn.ReLU(inplace=True)))
    cin = width
    for i, mult in enumerate((1, 2, 4)):
        cout = width * mult
        blocks = [BasicBlock(cin if j == 0 else cout, cout, 1 if (i == 0 or j) else 2)
                  for j in range(n)]
        stages[f"layer{i + 1}"] = nn.Sequential(*blocks)
        cin = cout
    return Classifier(stages, GlobalAvgPool(), nn.Linear(cin, num_classes), mean, std)


# ----------------------------------------------------------------------------- VGG with batch norm

VGG_CONFIGS = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512)),
}


def vgg_bn(config: str = "vgg11", in_channels: int = 1, num_classes: int = 10,
           width_mult: float = 0.5, mean=(0.5,), std=(0.25,)) -> Classifier:
    """VGG with BN; each block is convs then 2x2 max-pool (the last block pools globally)."""
    stages = OrderedDict()
    cin = in_channels
    blocks = VGG_CONFIGS[config]
    for b, (reps, width) in enumerate(blocks):
        cout = max(8, int(width * width_mult))
        layers = []
        for _ in range(reps):
            layers.append(conv_bn(cin, cout, 3, 1, act=nn.ReLU(inplace=True)))
            cin = cout
        if b < len(blocks) - 1:
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        stages[f"block{b + 1}"] = nn.Sequential(*layers)
    head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3))
    pool = nn.Sequential(nn.AdaptiveMaxPool2d(1), head)
    return Classifier(stages, pool, nn.Linear(cin, num_classes), mean, std)


# ----------------------------------------------------------------------------- DenseNet-BC

class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(inplace=True),
            nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


def densenet_bc(in_channels: int = 1, num_classes: int = 10, growth: int = 12,
                blocks=(4, 4, 4), compression: float = 0.5, mean=(0.5,), std=(0.25,)) -> Classifier:
    """DenseNet-BC (bottleneck + compression), 3 dense blocks.

    Taps: stem, dense1..3 (the transitions close dense1 and dense2).
    """
    cin = 2 * growth
    stages = OrderedDict(stem=nn.Conv2d(in_channels, cin, 3, padding=1, bias=False))
    for i, n in enumerate(blocks):
        layers = []
        for _ in range(n):
            layers.append(DenseLayer(cin, growth))
            cin += growth
        if i < len(blocks) - 1:
            cout = int(cin * compression)
            layers += [nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, 1, bias=False),
                       nn.AvgPool2d(2, ceil_mode=True)]
            cin = cout
        stages[f"dense{i + 1}"] = nn.Sequential(*layers)
    pool = GlobalAvgPool(nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True)))
    return Classifier(stages, pool, nn.Linear(cin, num_classes), mean, std)


# ----------------------------------------------------------------------------- MobileNetV2

class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn(cin, hidden, 1, act=nn.ReLU6(inplace=True))]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6(inplace=True)),
                   conv_bn(hidden, cout, 1)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


# (expansion, channels, repeats, stride) per stage, strides adapted to 28-32 px inputs.
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 1), (6, 96, 3, 1))


def mobilenet_v2(in_channels: int = 1, num_classes: int = 10, width_mult: float = 1.0,
                 last_channels: int = 256, mean=(0.5,), std=(0.25,)) -> Classifier:
    """MobileNetV2 with CIFAR-style strides; taps stem, stage1..5, head."""
    def ch(c):
        return max(8, int(round(c * width_mult / 8)) * 8)
    cin = ch(32)
    stages = OrderedDict(stem=conv_bn(in_channels, cin, 3, 1, act=nn.ReLU6(inplace=True)))
    for i, (t, c, n, s) in enumerate(MOBILENET_STAGES):
        cout = ch(c)
        stages[f"stage{i + 1}"] = nn.Sequential(
            *[InvertedResidual(cin if j == 0 else cout, cout, s if j == 0 else 1, t) for j in range(n)])
        cin = cout
    stages["head"] = conv_bn(cin, last_channels, 1, act=nn.ReLU6(inplace=True))
    return Classifier(stages, GlobalAvgPool(), nn.Linear(last_channels, num_classes), mean, std)
