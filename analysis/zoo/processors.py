"""Processor P: SRResNet (Ledig et al. 2017) for SR, denoising and JPEG deblocking.

Head conv 9x9 + PReLU; ``blocks`` residual blocks (conv-BN-PReLU-conv-BN); a
conv-BN closing the trunk with a global skip to the head; pixel-shuffle
upsampling (x2 steps, or one x3) to ``scale``; a tail conv 9x9. With
``residual_input`` the bicubic upsampling of the input is added to the output,
so an untrained network starts at the "no processing" baseline (not in the
original SRResNet; it speeds up CPU training). Input (N, C, H, W) in [0, 1],
output (N, C, scale*H, scale*W), not clamped (callers clamp for display).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


def upsampler(channels: int, scale: int) -> nn.Sequential:
    if scale == 1:
        return nn.Sequential()
    steps = [3] if scale == 3 else [2] * (scale.bit_length() - 1)
    if scale != 3 and 2 ** len(steps) != scale:
        raise ValueError(f"SRResNet scale must be 1, 2, 3, 4 or 8, not {scale}.")
    layers = []
    for s in steps:
        layers += [nn.Conv2d(channels, channels * s * s, 3, padding=1), nn.PixelShuffle(s), nn.PReLU()]
    return nn.Sequential(*layers)


class SRResNet(nn.Module):
    def __init__(self, in_channels: int = 3, channels: int = 64, blocks: int = 16, scale: int = 4,
                 residual_input: bool = True):
        super().__init__()
        self.scale = scale
        self.residual_input = residual_input
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU())
        self.trunk = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)],
                                   nn.Conv2d(channels, channels, 3, padding=1),
                                   nn.BatchNorm2d(channels))
        self.upsample = upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, in_channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        out = self.tail(self.upsample(h + self.trunk(h)))
        if self.residual_input:
            base = x if self.scale == 1 else F.interpolate(
                x, scale_factor=self.scale, mode="bicubic", align_corners=False)
            out = out + base
        return out
