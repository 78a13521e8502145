"""Transformer T for "RA with transformer": the CycleGAN ResNet generator (Zhu et al. 2017).

c7s1-ngf, two stride-2 downsamplings, ``blocks`` residual blocks, two
transposed-conv upsamplings, c7s1-out and tanh. Images in [0, 1] are mapped to
[-1, 1] on the way in and back on the way out. Shape-preserving for H and W
divisible by 4: (N, C, H, W) -> (N, C, H, W).
"""

from __future__ import annotations

import functools

import torch
from torch import nn

NORMS = {
    "instance": functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
    "batch": functools.partial(nn.BatchNorm2d, affine=True),
    "none": lambda channels: nn.Identity(),
}


class ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm, dropout: float):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels),
                  nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, in_channels: int = 3, out_channels: int | None = None, ngf: int = 64,
                 blocks: int = 9, norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"Unknown norm {norm!r}; use one of {', '.join(NORMS)}.")
        norm_layer = NORMS[norm]
        out_channels = out_channels or in_channels
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                       norm_layer(ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm_layer, dropout) for _ in range(blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                          output_padding=1),
                       norm_layer(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.model(x * 2 - 1) + 1) / 2


class TransformedProcessor(nn.Module):
    """P followed by T: the deployed model of "RA with transformer"."""

    def __init__(self, processor: nn.Module, transformer: nn.Module):
        super().__init__()
        self.processor = processor
        self.transformer = transformer

    def human_view(self, x: torch.Tensor) -> torch.Tensor:
        return self.processor(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transformer(self.processor(x))
