"""The classifier wrapper: input normalisation, logits, penultimate features and feature taps.

Every classifier in the zoo is a :class:`Classifier` made of named ``stages``
(run in order; each stage's output is a tap), a ``pool`` that turns the last
stage's map into the penultimate feature vector, and a linear ``fc`` giving the
logits. Callers pass images in [0, 1]; normalisation happens here only.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class Classifier(nn.Module):
    """A classifier on [0, 1] images of shape (N, C, H, W).

    ``forward(x)`` returns logits (N, K); ``penultimate(x)`` the features
    before ``fc`` (N, D); ``features(x, layers)`` a dict of named intermediate
    maps (N, C_l, H_l, W_l) plus ``"penultimate"`` and ``"logits"``.
    """

    def __init__(self, stages: "OrderedDict[str, nn.Module]", pool: nn.Module, fc: nn.Linear,
                 mean, std):
        super().__init__()
        self.stages = nn.ModuleDict(stages)
        self.pool = pool
        self.fc = fc
        channels = len(mean)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, channels, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, channels, 1, 1))

    @property
    def feature_names(self) -> list[str]:
        """Names of the intermediate taps, shallow to deep."""
        return list(self.stages.keys())

    @property
    def num_classes(self) -> int:
        return self.fc.out_features

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        """Named feature maps for ``layers`` (default: every stage), plus penultimate and logits.

        Stops early when only stage taps are asked for, so perceptual losses on
        shallow layers do not pay for the whole network.
        """
        wanted = set(self.feature_names + ["penultimate", "logits"] if layers is None else layers)
        unknown = wanted - set(self.feature_names) - {"penultimate", "logits"}
        if unknown:
            raise KeyError(f"Unknown feature layer(s) {', '.join(sorted(unknown))}; "
                           f"this classifier has {', '.join(self.feature_names)}, penultimate, logits.")
        out: dict[str, torch.Tensor] = {}
        h = self.normalize(x)
        for name, stage in self.stages.items():
            h = stage(h)
            if name in wanted:
                out[name] = h
            if not (wanted - out.keys()):
                return out
        feats = self.pool(h)
        if "penultimate" in wanted:
            out["penultimate"] = feats
        out["logits"] = self.fc(feats)
        return out

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x, ["penultimate"])["penultimate"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.normalize(x)
        for stage in self.stages.values():
            h = stage(h)
        return self.fc(self.pool(h))


class GlobalAvgPool(nn.Module):
    """(N, C, H, W) -> (N, C), optionally after an activation."""

    def __init__(self, pre: nn.Module | None = None):
        super().__init__()
        self.pre = pre if pre is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pre(x).mean(dim=(2, 3))
