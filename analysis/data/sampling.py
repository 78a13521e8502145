"""``--sample N``: a seeded, class-stratified sample of N images instead of the first N.

Datasets such as ImageFolder list their images class by class, so the first N images may
cover only some classes (``--sample 40`` on a 4-class folder measured 2 of them). A
:class:`Sample` is the count a user typed after ``--sample``; the functions that take
``limit`` read it through :func:`limited_indices`, which turns a ``Sample`` into a
stratified sample and a plain int into the first N images. Internal defaults (the
quality tables' first 2,000 test images, validation images per epoch) stay plain ints,
so the shipped numbers do not move; a ``Sample`` of at least the split's size is the
whole split in index order.
"""

from __future__ import annotations

import torch

SAMPLE_SEED = 0


class Sample(int):
    """An image count that asks for a seeded class-stratified sample (see the module doc).

    It is an ``int`` (``min(limit, n)``, JSON and formatting work unchanged); ``seed``
    chooses the sample.
    """

    seed: int

    def __new__(cls, n: int, seed: int = SAMPLE_SEED):
        self = super().__new__(cls, n)
        self.seed = seed
        return self

    def __reduce__(self):     # survives pickling (DataLoader workers, torch.distributed)
        return (Sample, (int(self), self.seed))


def stratified_sample(labels: torch.Tensor, n: int, seed: int = SAMPLE_SEED) -> torch.Tensor:
    """``n`` indices into ``labels`` (N,), sorted, covering every class when ``n`` >= classes.

    Classes take turns (in a seeded order), each giving its next image of a seeded
    permutation, until ``n`` are chosen; a class that runs out drops out of the turns.
    So the classes get equal shares (within one) as far as their sizes allow.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    if n >= len(labels):
        return torch.arange(len(labels))
    gen = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    classes = classes[torch.randperm(len(classes), generator=gen)]
    per_class = []
    for c in classes.tolist():
        members = torch.nonzero(labels == c).flatten()
        per_class.append(members[torch.randperm(len(members), generator=gen)])
    longest = max(len(m) for m in per_class)
    # column r holds every class's r-th pick, in the seeded class order
    table = torch.full((longest, len(per_class)), -1, dtype=torch.long)
    for k, members in enumerate(per_class):
        table[: len(members), k] = members
    order = table.flatten()
    order = order[order >= 0]
    return torch.sort(order[:n]).values


def limited_indices(dataset, limit: int | None) -> torch.Tensor:
    """The dataset indices a ``limit`` selects: all (None), the first ``limit`` (an int) or
    a class-stratified sample (a :class:`Sample`), in index order."""
    n = len(dataset)
    if limit is None or limit >= n:
        return torch.arange(n)
    if isinstance(limit, Sample):
        return stratified_sample(dataset.labels, int(limit), limit.seed)
    return torch.arange(int(limit))
