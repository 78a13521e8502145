"""Iteration over a dataset through the protocol: seeded shuffles, ``--sample`` samples and
shards per rank, in batches, decoded in this process or ahead of it by worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from .sampling import limited_indices


def iterate_batches(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                    epoch: int = 0, limit: int | None = None, rank: int = 0, world_size: int = 1,
                    num_workers: int = 0):
    """Yield ``(images (B, C, H, W), labels (B,), indices (B,))`` batches through the protocol.

    ``limit`` keeps the first ``limit`` images, or a seeded class-stratified sample of that
    many for a :class:`~analysis.data.sampling.Sample` (``--sample``), before shuffling;
    ``rank``/``world_size`` shard the indices the way DistributedSampler does (padding by
    repetition). ``num_workers`` > 0 decodes the batches in that many worker processes, two
    batches ahead each (:func:`decoded_batches`); the batches are the same either way.
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
    chunks = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    yield from decoded_batches(dataset, chunks, num_workers)


class _Chunks(Dataset):
    """Item k is ``dataset.get_batch(chunks[k])``: one whole batch per worker request."""

    def __init__(self, dataset, chunks: list[torch.Tensor]):
        self.dataset, self.chunks = dataset, chunks

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, k: int):
        return self.dataset.get_batch(self.chunks[k])


def decoded_batches(dataset, chunks: list[torch.Tensor], num_workers: int = 0) -> Iterator:
    """``dataset.get_batch(chunk)`` of each chunk of indices, in order: in this process, or with
    ``num_workers`` > 0 in worker processes (torch's DataLoader, two batches ahead per worker)
    while the caller computes on the previous one; where decoding (an image folder's JPEGs) is
    a visible share of a step, that share leaves the step."""
    if num_workers <= 0 or len(chunks) < 2:
        for chunk in chunks:
            yield dataset.get_batch(chunk)
        return
    yield from DataLoader(_Chunks(dataset, chunks), batch_size=None, shuffle=False,
                          num_workers=min(num_workers, len(chunks)), prefetch_factor=2)
