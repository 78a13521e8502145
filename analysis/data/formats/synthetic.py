"""The synthetic dataset: labelled gratings made from a seed (tests and smoke runs)."""

from __future__ import annotations

import torch

from ..containers import DatasetInfo, TensorImageDataset


def _synthetic_images(n: int, channels: int, size: int, num_classes: int, seed: int):
    """Labelled images whose class sets the orientation and frequency of a grating.

    Shapes: images uint8 (n, channels, size, size), labels int64 (n,). A random
    phase, contrast and pixel noise make the classes learnable but not trivial.
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % num_classes
    labels = labels[torch.randperm(n, generator=gen)]
    coords = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    angle = labels.float() * (torch.pi / num_classes)
    freq = 2.0 + (labels % 3).float()
    phase = torch.rand(n, generator=gen) * 2 * torch.pi
    proj = (xx[None] * torch.cos(angle)[:, None, None] + yy[None] * torch.sin(angle)[:, None, None])
    wave = torch.sin(proj * freq[:, None, None] * torch.pi + phase[:, None, None])
    contrast = 0.25 + 0.2 * torch.rand(n, generator=gen)
    img = 0.5 + contrast[:, None, None] * wave
    img = img[:, None].repeat(1, channels, 1, 1)
    if channels > 1:  # give colour channels a class-independent tint
        img = img * (0.8 + 0.2 * torch.rand(n, channels, 1, 1, generator=gen))
    img = img + 0.05 * torch.randn(img.shape, generator=gen)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8), labels


def load_synthetic(root: str | None, official: str, n: int = 600, channels: int = 1,
                   size: int = 28, classes: int = 10, seed: int = 0, **_) -> TensorImageDataset:
    """``n`` training images (a fifth of that, at least ``classes``, for test) of shape
    (channels, size, size) in ``classes`` classes; ``seed`` makes them."""
    count = n if official == "train" else max(n // 5, classes)
    images, labels = _synthetic_images(count, channels, size, classes,
                                       seed=seed * 2 + (official != "train"))
    info = DatasetInfo("synthetic", channels, size, tuple(f"class {i}" for i in range(classes)),
                       mean=(0.5,) * channels, std=(0.25,) * channels,
                       extra={"n": n, "seed": seed})
    return TensorImageDataset(images, labels, info)
