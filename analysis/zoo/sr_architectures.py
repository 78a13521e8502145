"""Processors of other architectures beside SRResNet (the RA paper's Table 11): small
SRDenseNet-, RDN- and DBPN-style networks for SR, denoising and JPEG deblocking.

All three follow SRResNet's conventions (:mod:`analysis.zoo.processors`): constructor options
``in_channels``, ``channels`` (feature width), ``scale`` (1 for denoising / JPEG, else 2, 3, 4,
8 or 16) and ``residual_input`` (the bicubic upsampling of the input, or the input itself at
scale 1, added to the output so that an untrained network starts at "no processing"). Input
(N, C, H, W) in [0, 1]; output (N, C, scale*H, scale*W), not clamped (callers clamp).

With their defaults (also their rows in :data:`analysis.zoo.MODELS`) on one channel at scale 4
they hold about as many parameters as the embedded zoo's SR x4 SRResNet (``channels=32,
blocks=6``: 200,266): SRDenseNet 200,151, RDN 202,467, DBPN 190,866. At scale 1 (denoising,
JPEG; the zoo's SRResNet there is ``channels=32, blocks=4``: 89,030) they hold 126,165, 128,481
and 130,361.

* :class:`SRDenseNet` (Tong et al., ICCV 2017): a 3x3 head, dense blocks (each layer adds
  ``growth`` feature maps from all earlier ones in its block), the head's and every block's
  output concatenated ("all" skip connections) and fused by a 1x1 bottleneck, pixel-shuffle
  upsampling, a 3x3 reconstruction.
* :class:`RDN` (Zhang et al., CVPR 2018): two shallow 3x3 convolutions, residual dense blocks
  (dense layers, 1x1 local fusion, local residual), global fusion of all blocks (1x1 + 3x3), a
  global residual to the first shallow features, pixel-shuffle upsampling, a 3x3 reconstruction.
* :class:`DBPN` (Haris et al., CVPR 2018): alternating up- and down-projection units
  (deconvolution / convolution with error feedback) between the input grid and a grid ``f``
  times finer (``f`` = scale, or 2 at scale 1), dense in the D-DBPN way (each unit reads the 1x1
  fusion of all earlier units of the other kind); the output is reconstructed from the
  concatenated fine features at scale > 1, from the concatenated input-grid features at scale 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .processors import upsampler


def _base(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The "no processing" output: ``x`` itself at scale 1, else its bicubic upsampling."""
    return x if scale == 1 else F.interpolate(x, scale_factor=scale, mode="bicubic",
                                              align_corners=False)


class _DenseLayers(nn.Module):
    """``layers`` 3x3 conv + ReLU layers, each fed the concatenation of the input and all
    earlier layers' outputs; returns that concatenation ((channels + layers * growth) maps)."""

    def __init__(self, channels: int, growth: int, layers: int):
        super().__init__()
        self.new = layers * growth      # the maps the block adds to its input
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels + k * growth, growth, 3, padding=1), nn.ReLU(inplace=True))
            for k in range(layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class SRDenseNet(nn.Module):
    """SRDenseNet-style processor (see the module docstring); ``blocks`` dense blocks of
    ``layers`` layers with growth ``growth``, each block's new maps ``layers * growth``."""

    def __init__(self, in_channels: int = 3, channels: int = 32, blocks: int = 4, layers: int = 5,
                 growth: int = 10, scale: int = 4, residual_input: bool = True):
        super().__init__()
        self.scale, self.residual_input = scale, residual_input
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True))
        width = layers * growth
        self.blocks = nn.ModuleList()
        for k in range(blocks):
            self.blocks.append(_DenseLayers(channels if k == 0 else width, growth, layers))
        self.bottleneck = nn.Sequential(nn.Conv2d(channels + blocks * width, channels, 1),
                                        nn.ReLU(inplace=True))
        self.upsample = upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, in_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        skips, feed = [h], h
        for block in self.blocks:
            feed = block(feed)[:, -block.new:]
            skips.append(feed)
        out = self.tail(self.upsample(self.bottleneck(torch.cat(skips, 1))))
        return out + _base(x, self.scale) if self.residual_input else out


class _ResidualDenseBlock(nn.Module):
    def __init__(self, channels: int, growth: int, layers: int):
        super().__init__()
        self.dense = _DenseLayers(channels, growth, layers)
        self.fuse = nn.Conv2d(channels + layers * growth, channels, 1)

    def forward(self, x):
        return x + self.fuse(self.dense(x))


class RDN(nn.Module):
    """RDN-style processor (see the module docstring); ``blocks`` residual dense blocks of
    ``layers`` layers with growth ``growth`` on ``channels`` feature maps."""

    def __init__(self, in_channels: int = 3, channels: int = 32, blocks: int = 3, layers: int = 4,
                 growth: int = 16, scale: int = 4, residual_input: bool = True):
        super().__init__()
        self.scale, self.residual_input = scale, residual_input
        self.shallow1 = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.shallow2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.blocks = nn.ModuleList(_ResidualDenseBlock(channels, growth, layers)
                                    for _ in range(blocks))
        self.fuse = nn.Sequential(nn.Conv2d(blocks * channels, channels, 1),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.upsample = upsampler(channels, scale)
        self.tail = nn.Conv2d(channels, in_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.shallow1(x)
        h = self.shallow2(f1)
        outs = []
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        out = self.tail(self.upsample(f1 + self.fuse(torch.cat(outs, 1))))
        return out + _base(x, self.scale) if self.residual_input else out


def _projection_geometry(factor: int) -> tuple[int, int, int]:
    """(kernel, stride, padding) of a projection between grids ``factor`` apart: kernel
    factor + 4, padding 2 (DBPN's 6/2/2, 8/4/2 and 12/8/2), so sizes map exactly."""
    return factor + 4, factor, 2


class _Projection(nn.Module):
    """A DBPN up- (``up=True``: coarse -> fine) or down-projection unit with error feedback:
    out = a(x) + a(b(a(x)) - x), ``a`` the projection, ``b`` its way back."""

    def __init__(self, channels: int, factor: int, up: bool):
        super().__init__()
        k, s, p = _projection_geometry(factor)
        there = nn.ConvTranspose2d if up else nn.Conv2d
        back = nn.Conv2d if up else nn.ConvTranspose2d
        self.go = nn.Sequential(there(channels, channels, k, s, p), nn.PReLU())
        self.back = nn.Sequential(back(channels, channels, k, s, p), nn.PReLU())
        self.again = nn.Sequential(there(channels, channels, k, s, p), nn.PReLU())

    def forward(self, x):
        first = self.go(x)
        return first + self.again(self.back(first) - x)


class DBPN(nn.Module):
    """DBPN-style processor (see the module docstring): ``stages`` pairs of up- and
    down-projection units on ``channels`` maps after a 3x3 + 1x1 head of ``channels`` maps."""

    def __init__(self, in_channels: int = 3, channels: int = 14, stages: int = 3, scale: int = 4,
                 residual_input: bool = True):
        super().__init__()
        if scale < 1:
            raise ValueError(f"DBPN scale must be 1 or more, not {scale}.")
        self.scale, self.residual_input = scale, residual_input
        factor = scale if scale > 1 else 2
        self.head = nn.Sequential(nn.Conv2d(in_channels, 2 * channels, 3, padding=1), nn.PReLU(),
                                  nn.Conv2d(2 * channels, channels, 1), nn.PReLU())
        self.ups = nn.ModuleList(_Projection(channels, factor, up=True) for _ in range(stages))
        self.downs = nn.ModuleList(_Projection(channels, factor, up=False)
                                   for _ in range(stages - 1 if scale > 1 else stages))
        # D-DBPN: unit k reads the 1x1 fusion of all earlier units of the other grid
        self.fuse_low = nn.ModuleList(nn.Conv2d(k * channels, channels, 1)
                                      for k in range(2, stages + 1))
        self.fuse_high = nn.ModuleList(nn.Conv2d(k * channels, channels, 1)
                                       for k in range(2, len(self.downs) + 1))
        self.tail = nn.Conv2d(len(self.ups if scale > 1 else self.downs) * channels,
                              in_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lows, highs = [self.head(x)], []
        for k, up in enumerate(self.ups):
            feed = lows[0] if k == 0 else self.fuse_low[k - 1](torch.cat(lows, 1))
            highs.append(up(feed))
            if k < len(self.downs):
                feed = highs[0] if k == 0 else self.fuse_high[k - 1](torch.cat(highs, 1))
                lows.append(self.downs[k](feed))
        out = self.tail(torch.cat(highs if self.scale > 1 else lows[1:], 1))
        return out + _base(x, self.scale) if self.residual_input else out
