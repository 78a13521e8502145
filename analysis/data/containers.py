"""The dataset protocol's containers: what a dataset is (:class:`DatasetInfo`) and the in-memory
datasets that serve it.

Every dataset yields ``(image, label, index)`` with ``image`` a float tensor in [0, 1] of shape
(C, H, W), ``label`` an int and ``index`` the position within its split (tasks use it to make
evaluation degradations deterministic); ``labels`` is (N,) int64 and ``get_batch(indices)``
returns ``(images (B, C, H, W), labels (B,), indices (B,))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset

SPLITS = ("train", "val", "test")


@dataclass
class DatasetInfo:
    """What models need to know about a dataset: shape, classes and normalisation."""

    name: str
    channels: int
    size: int
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    extra: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)     # split -> where its images come from, in words

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


class TensorImageDataset(Dataset):
    """An in-memory dataset of uint8 images (N, C, H, W) and int64 labels (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, info: DatasetInfo):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be a uint8 tensor of shape (N, C, H, W)")
        self.images = images
        self.labels = labels.long()
        self.info = info

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i].float() / 255.0, int(self.labels[i]), i

    def get_batch(self, indices: torch.Tensor):
        """Batched fetch: ``(images float (B, C, H, W), labels (B,), indices (B,))``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        return self.images[indices].float() / 255.0, self.labels[indices], indices


class SubsetImageDataset(Dataset):
    """A view of ``base`` restricted to ``indices``; the yielded index is the position in the view."""

    def __init__(self, base: Dataset, indices: torch.Tensor, info: DatasetInfo):
        self.base = base
        self.indices = torch.as_tensor(indices, dtype=torch.long)
        self.info = info

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        image, label, _ = self.base[int(self.indices[i])]
        return image, label, i

    @property
    def labels(self) -> torch.Tensor:
        """(N,) int64 labels of the view's samples."""
        return self.base.labels[self.indices]

    def get_batch(self, indices: torch.Tensor):
        indices = torch.as_tensor(indices, dtype=torch.long)
        images, labels, _ = self.base.get_batch(self.indices[indices])
        return images, labels, indices
