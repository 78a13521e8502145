"""An i-RevNet-style invertible classifier (Jacobsen et al. 2018), QualNet's stage-1 network.

The feature extractor is a bijection (up to an injective zero-padding of the input channels):

* ``ChannelPad``: the (normalised) image's C channels padded with zeros to ``pad_to``
  (i-RevNet's injective variant; the inverse drops the padding);
* per level, an invertible downsampling (``pixel_unshuffle`` by 2: (C, H, W) -> (4C, H/2, W/2))
  then ``blocks`` additive coupling blocks: (x1, x2) -> (x2, x1 + F(x2)) with F a small
  conv-BN-ReLU-conv residual function (inverse: x2 = y1, x1 = y2 - F(y1)).

``features(x)`` gives the maps of each level; :meth:`InvertibleClassifier.invert` maps the last
level's map (N, 16 * pad_to, H/4, W/4) back to the image in [0, 1] (N, C, H, W), exactly up to
float rounding in eval mode (BatchNorm with running statistics). The head (BatchNorm, ReLU, an
average pool to ``head_side`` x ``head_side``, flattened, linear) classifies; QualNet keeps
only the inverse, as a frozen decoder.

Why the head keeps the spatial layout: at initialisation the couplings are identities, so the
last map is the image's pixels rearranged; a global average pool of it keeps little more than
the mean brightness, and a 150-step probe (Adam 2e-3, batch 128, Fashion-MNIST) stayed at
chance (11 %) with it, at 2 and at 10 times the width, against 78 % with this head.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .wrapper import Classifier


class ChannelPad(nn.Module):
    """(N, C, H, W) -> (N, pad_to, H, W) by zero channels; ``inverse`` keeps the first C."""

    def __init__(self, channels: int, pad_to: int):
        super().__init__()
        if pad_to < channels or pad_to % 2:
            raise ValueError(f"pad_to ({pad_to}) must be even and at least the input's "
                             f"{channels} channels.")
        self.channels, self.pad_to = channels, pad_to

    def forward(self, x):
        return F.pad(x, (0, 0, 0, 0, 0, self.pad_to - self.channels))

    def inverse(self, y):
        return y[:, :self.channels]


class Coupling(nn.Module):
    """Additive coupling on the two channel halves, with a swap; exactly invertible."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        half = channels // 2
        self.f = nn.Sequential(nn.Conv2d(half, hidden, 3, 1, 1, bias=False), nn.BatchNorm2d(hidden),
                               nn.ReLU(inplace=True), nn.Conv2d(hidden, half, 3, 1, 1))
        nn.init.zeros_(self.f[-1].weight)     # starts as the identity (with the swap)
        nn.init.zeros_(self.f[-1].bias)

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return torch.cat([x2, x1 + self.f(x2)], dim=1)

    def inverse(self, y):
        y1, y2 = y.chunk(2, dim=1)
        return torch.cat([y2 - self.f(y1), y1], dim=1)


class InvertibleLevel(nn.Module):
    """Invertible downsampling by 2 (``pixel_unshuffle``), then coupling blocks."""

    def __init__(self, channels_in: int, blocks: int, hidden_mult: float = 1.0,
                 pad: ChannelPad | None = None):
        super().__init__()
        self.pad = pad
        channels = 4 * (pad.pad_to if pad is not None else channels_in)
        self.blocks = nn.ModuleList(Coupling(channels, max(8, int(channels // 2 * hidden_mult)))
                                    for _ in range(blocks))
        self.out_channels = channels

    def forward(self, x):
        if self.pad is not None:
            x = self.pad(x)
        h = F.pixel_unshuffle(x, 2)
        for block in self.blocks:
            h = block(h)
        return h

    def inverse(self, y):
        for block in reversed(self.blocks):
            y = block.inverse(y)
        x = F.pixel_shuffle(y, 2)
        return self.pad.inverse(x) if self.pad is not None else x


class InvertibleClassifier(Classifier):
    """A :class:`Classifier` whose stages are invertible levels; ``invert`` decodes."""

    def invert(self, z: torch.Tensor) -> torch.Tensor:
        """The image in [0, 1] (N, C, H, W) whose last-level feature map is ``z``."""
        h = z
        for stage in reversed(list(self.stages.values())):
            h = stage.inverse(h)
        return h * self.std + self.mean

    @property
    def code_name(self) -> str:
        """The tap :meth:`invert` starts from (the last level)."""
        return self.feature_names[-1]


def irevnet(in_channels: int = 1, num_classes: int = 10, pad_to: int = 4, levels: int = 2,
            blocks: int = 3, hidden_mult: float = 1.0, head_side: int = 7, mean=(0.5,),
            std=(0.25,)):
    """An invertible classifier: ``levels`` halvings (28 px -> 7 px for 2), ``blocks`` coupling
    blocks per level; the last map has ``pad_to * 4 ** levels`` channels, pooled to
    ``head_side`` x ``head_side`` for the linear head. Sides must be divisible by
    ``2 ** levels``."""
    stages = OrderedDict()
    channels = in_channels
    for level in range(levels):
        pad = ChannelPad(in_channels, pad_to) if level == 0 else None
        stage = InvertibleLevel(channels, blocks, hidden_mult, pad)
        stages[f"level{level + 1}"] = stage
        channels = stage.out_channels
    pool = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(head_side),
                         nn.Flatten())
    return InvertibleClassifier(stages, pool, nn.Linear(channels * head_side ** 2, num_classes),
                                mean, std)
