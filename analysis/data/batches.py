"""Iteration over a dataset through the protocol: seeded shuffles, ``--sample`` samples and
shards per rank, in batches."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from .sampling import limited_indices


def iterate_batches(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                    epoch: int = 0, limit: int | None = None, rank: int = 0, world_size: int = 1,
                    num_workers: int = 0):
    """Yield ``(images (B, C, H, W), labels (B,), indices (B,))`` batches through the protocol.

    ``limit`` keeps the first ``limit`` images, or a seeded class-stratified sample of that
    many for a :class:`~analysis.data.sampling.Sample` (``--sample``), before shuffling;
    ``rank``/``world_size`` shard the indices the way DistributedSampler does (padding by
    repetition). ``num_workers`` is accepted for callers and unused.
    """
    base = limited_indices(dataset, limit)
    n = len(base)
    if shuffle:
        gen = torch.Generator().manual_seed(seed * 1000003 + epoch)
        order = base[torch.randperm(n, generator=gen)]
    else:
        order = base
    if world_size > 1:
        per_rank = -(-n // world_size)
        padded = torch.cat([order, order[: per_rank * world_size - n]])
        order = padded[rank::world_size]
    for start in range(0, len(order), batch_size):
        yield dataset.get_batch(order[start:start + batch_size])
