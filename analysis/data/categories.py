"""Category subsets of a dataset (the RA paper's Table 7: disjoint class splits): a fixed subset
of the classes, relabelled 0..k-1, as the dataset option ``categories``.

``categories`` is either a ``+``-joined list of class indices of the full dataset
(``fashion-mnist:categories=0+2+4+6+8``; a single class is ``categories=3``) or a named half,
``a`` or ``b``, of a split fixed in code before any run: the class indices ordered by the SHA-256
of ``"ra-explorer-categories:<seed>:<index>"`` with :data:`CATEGORY_SPLIT_SEED` = 34, the first
``k // 2`` of that order forming half ``a`` and the rest half ``b`` (each half sorted). For
Fashion-MNIST's 10 classes that is :data:`FASHION_MNIST_HALVES`:

* ``a`` = (0, 3, 6, 8, 9): T-shirt/top, Dress, Shirt, Bag, Ankle boot;
* ``b`` = (1, 2, 4, 5, 7): Trouser, Pullover, Coat, Sandal, Sneaker.

The kept classes are relabelled 0..k-1 in ascending order of their original index, and the class
names come along (``info.class_names``); ``info.extra["categories"]`` holds the original indices.
The subset is taken after the val split is carved from the official training set, so an image is
in the val split of a subset exactly when it is in the val split of the full dataset.
"""

from __future__ import annotations

import dataclasses
import hashlib

import torch

from ..errors import DataError
from .containers import SubsetImageDataset

CATEGORY_SPLIT_SEED = 34
HALVES = ("a", "b")
FASHION_MNIST_HALVES = {"a": (0, 3, 6, 8, 9), "b": (1, 2, 4, 5, 7)}


def category_halves(num_classes: int, seed: int = CATEGORY_SPLIT_SEED) -> dict[str, tuple[int, ...]]:
    """The named halves {"a": indices, "b": indices} of ``num_classes`` classes (see the module
    docstring: SHA-256 order with ``seed``, first ``num_classes // 2`` are ``a``)."""
    if num_classes < 2:
        raise DataError(f"A dataset of {num_classes} class cannot be split into halves a and b; "
                        "it needs at least 2 classes.")
    order = sorted(range(num_classes), key=lambda i: hashlib.sha256(
        f"ra-explorer-categories:{seed}:{i}".encode()).hexdigest())
    half = num_classes // 2
    return {"a": tuple(sorted(order[:half])), "b": tuple(sorted(order[half:]))}


def normal_categories(value) -> str:
    """The one spelling of a ``categories`` value: ``a`` / ``b``, or sorted indices joined by
    ``+`` (``"4+0+2"`` -> ``"0+2+4"``); a value that cannot be read raises :class:`DataError`."""
    text = str(value).strip().lower()
    if text in HALVES:
        return text
    try:
        indices = [int(part) for part in text.split("+")]
    except ValueError:
        raise DataError(f"The dataset option categories={value!r} is neither 'a', 'b' nor class "
                        "indices joined by '+' (for example categories=0+2+4).") from None
    if len(set(indices)) != len(indices) or min(indices) < 0:
        raise DataError(f"The dataset option categories={value!r} repeats a class or names a "
                        "negative one; give each class index (0, 1, ...) once.")
    return "+".join(str(i) for i in sorted(indices))


def category_indices(value, num_classes: int) -> tuple[int, ...]:
    """The sorted original class indices a ``categories`` value keeps, of ``num_classes``."""
    text = normal_categories(value)
    if text in HALVES:
        return category_halves(num_classes)[text]
    indices = tuple(int(part) for part in text.split("+"))
    if max(indices) >= num_classes:
        raise DataError(f"The dataset option categories={value!r} names class {max(indices)}, "
                        f"but the dataset has {num_classes} classes (0 to {num_classes - 1}).")
    return indices


class CategoryDataset(SubsetImageDataset):
    """The images of ``base`` whose class is in ``keep`` (sorted original indices), with labels
    relabelled 0..k-1 in that order; items ``(image (C, H, W), new label, index in the view)``."""

    def __init__(self, base, keep: tuple[int, ...]):
        lookup = torch.full((base.info.num_classes,), -1, dtype=torch.long)
        lookup[list(keep)] = torch.arange(len(keep))
        self.lookup = lookup
        positions = torch.nonzero(lookup[base.labels] >= 0).flatten()
        names = tuple(base.info.class_names[i] for i in keep)
        info = dataclasses.replace(base.info, class_names=names,
                                   extra={**base.info.extra, "categories": list(keep)},
                                   splits=dict(base.info.splits))
        super().__init__(base, positions, info)

    def __getitem__(self, i: int):
        image, label, _ = self.base[int(self.indices[i])]
        return image, int(self.lookup[label]), i

    @property
    def labels(self) -> torch.Tensor:
        """(N,) int64 relabelled classes 0..k-1."""
        return self.lookup[self.base.labels[self.indices]]

    def get_batch(self, indices: torch.Tensor):
        indices = torch.as_tensor(indices, dtype=torch.long)
        images, labels, _ = self.base.get_batch(self.indices[indices])
        return images, self.lookup[labels], indices


def keep_categories(dataset, value) -> CategoryDataset:
    """``dataset`` restricted to the classes ``categories=value`` names, relabelled 0..k-1."""
    return CategoryDataset(dataset, category_indices(value, dataset.info.num_classes))
