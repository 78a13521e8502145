"""The one place that runs the processing networks: split -> degrade -> processors -> views.

Every analysis (evaluate, quality, features, the boundary table, the float16 check, the app's
filters, lambda selection) consumes :func:`stream`; none re-implements the loop. Per batch it
yields a :class:`ProcessedBatch` with the clean images, the LQ inputs and, for every input
name, two views:

* ``human``   what a person and an image metric see (P(x) for "RA with transformer");
* ``machine`` what a classifier sees (T(P(x)) for "RA with transformer"; else the same tensor).

Input names: :data:`CLEAN` (the undegraded image), :data:`NO_PROCESSING` (the LQ input resized
bicubically to full size) and each processor's checkpoint name. Every view is clamped to [0, 1]
and has the clean image's shape (B, C, H, W). P of "RA with transformer" runs once per batch:
its output is the human view and T's input.

Sharding. Under ``torchrun`` (WORLD_SIZE > 1) the split's batches are dealt round-robin to the
ranks: rank r gets batches r, r + W, r + 2W, ... of the same partition a single process uses, so
every image is computed in a batch of exactly the same composition as without torchrun (results
match a 1-process run bit for bit). :func:`gather_objects` collects per-rank results.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from ..data.sampling import Sample, limited_indices
from ..zoo import TransformedProcessor
from .distributed import join_process_group, world_size_from_env

CLEAN, NO_PROCESSING = "clean", "no processing"

Progress = Callable[[int, int], None]     # on_progress(done, total), called once per batch


@dataclass
class Views:
    """The two images of one input: ``human`` (people, image metrics) and ``machine``
    (classifiers); both (B, C, H, W) in [0, 1], the same tensor unless they differ."""

    human: torch.Tensor
    machine: torch.Tensor


@dataclass
class ProcessedBatch:
    """One batch of the split through every processor (all tensors on the runner's device,
    indices and labels on the CPU)."""

    indices: torch.Tensor                 # (B,) dataset indices
    labels: torch.Tensor                  # (B,)
    clean: torch.Tensor                   # (B, C, H, W)
    lq: torch.Tensor                      # (B, C, h, w), the degraded input
    views: dict[str, Views]               # CLEAN, NO_PROCESSING, then each processor in order
    number: int = 0                       # position of the batch in the split's plan
    start: int = 0                        # position of its first image in the plan


def processor_views(processor: torch.nn.Module, lq: torch.Tensor) -> Views:
    """Human and machine view of one processor on ``lq`` (P run once for P followed by T)."""
    if isinstance(processor, TransformedProcessor):
        p = processor.processor(lq)
        return Views(p.clamp(0, 1), processor.transformer(p).clamp(0, 1))
    out = processor(lq).clamp(0, 1)
    return Views(out, out)


def input_views(task, processors: dict[str, torch.nn.Module], clean: torch.Tensor,
                lq: torch.Tensor, include_clean: bool = True) -> dict[str, Views]:
    """Every input's views for one batch: clean, no processing, then each processor
    (``task`` None: the clean images only, for classifier-only passes)."""
    views = {}
    if include_clean or task is None:
        views[CLEAN] = Views(clean, clean)
    if task is None:
        return views
    up = task.upsample(lq, clean.shape[-2:]).to(clean.device)
    views[NO_PROCESSING] = Views(up, up)
    lq = lq.to(clean.device)
    for name, proc in processors.items():
        views[name] = processor_views(proc, lq)
    return views


def world() -> tuple[int, int]:
    """(rank, world size) under torchrun (the process group started once), else (0, 1)."""
    if world_size_from_env() <= 1:
        return 0, 1
    return join_process_group(torch.cuda.is_available())


def gather_objects(part: list, world_size: int) -> list:
    """Every rank's ``part`` concatenated in rank order (the part itself with one process)."""
    if world_size <= 1:
        return part
    import torch.distributed as dist

    everyone = [None] * world_size
    dist.all_gather_object(everyone, part)
    return [item for chunk in everyone for item in chunk]


def get_batch(dataset, indices: torch.Tensor):
    """(images, labels, indices) for ``indices`` through the dataset protocol."""
    return dataset.get_batch(indices)


def batch_plan(n: int, batch_size: int, indices: Sequence[int] | torch.Tensor | None = None,
               shard: bool = True) -> tuple[list[torch.Tensor], int]:
    """(this rank's batches of dataset indices, the split's total image count).

    ``indices`` picks images (default: the first ``n``); batches are cut in that order and
    dealt round-robin to the ranks when ``shard`` and under torchrun.
    """
    order = torch.arange(n) if indices is None else torch.as_tensor(indices, dtype=torch.long)
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    rank, size = world() if shard else (0, 1)
    return batches[rank::size], len(order)


class _Prepared(TorchDataset):
    """Item k: ``(images, labels, indices, lq)`` of the k-th chunk of indices, decoded from
    ``dataset`` and degraded by ``task`` (deterministic per index), so that a worker process
    can prepare it while the networks run on the previous one."""

    def __init__(self, task, dataset, chunks, seed: int):
        self.task, self.dataset, self.chunks, self.seed = task, dataset, chunks, seed

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, k: int):
        images, labels, idx = get_batch(self.dataset, self.chunks[k])
        lq = images if self.task is None else self.task.degrade_eval(images, idx, seed=self.seed)
        return images, labels, idx, lq


def prepared_batches(task, dataset, chunks: list, seed: int = 0, workers: int = 0) -> Iterator:
    """``(images, labels, indices, lq)`` per chunk of ``chunks``, in order: in this process, or
    with ``workers`` > 0 in that many worker processes (torch's DataLoader, two chunks ahead
    each), where decoding and degrading (an image folder's files, the corruption benchmark's
    numpy corruptions) leave the networks' time. The same tensors either way."""
    items = _Prepared(task, dataset, chunks, seed)
    if workers <= 0 or len(chunks) < 2:
        for k in range(len(items)):
            yield items[k]
        return
    yield from DataLoader(items, batch_size=None, shuffle=False,
                          num_workers=min(workers, len(chunks)), prefetch_factor=2)


@torch.inference_mode()
def stream(task, processors: dict[str, torch.nn.Module], dataset, device, batch_size: int = 500,
           limit: int | None = None, indices: Sequence[int] | None = None, seed: int = 0,
           include_clean: bool = True, shard: bool = True,
           on_progress: Progress | None = None,
           skip: Collection[int] = (), workers: int = 0) -> Iterator[ProcessedBatch]:
    """Stream ``dataset`` (a split) through ``task``'s evaluation degradation and ``processors``.

    Args:
        task: a task object (``degrade_eval``, ``upsample``); None streams clean images only.
        processors: name -> model (eval mode, on ``device``), in the order views are wanted.
        dataset: a split implementing the dataset protocol (``len``, ``get_batch``).
        device: where the networks run.
        batch_size: images per batch.
        limit: the first ``limit`` images only, or for a :class:`~analysis.data.sampling.Sample`
            (``--sample``) a seeded class-stratified sample of that many (ignored when
            ``indices`` is given).
        indices: the dataset indices to run, in this order.
        seed: seed of the per-index degradations.
        include_clean: whether views hold :data:`CLEAN`.
        shard: deal batches to torchrun ranks (set False to run every batch in every process).
        on_progress: ``on_progress(images done, images total)`` after every batch (this rank's).
        skip: numbers of batches of the plan not run (done by an interrupted run that
            :mod:`~analysis.pipeline.partial` resumes); their images count as done.
        workers: worker processes decoding and degrading batches ahead
            (:func:`prepared_batches`; 0: in this process). The batches are the same.

    Yields:
        :class:`ProcessedBatch` per batch, in index order within the rank.
    """
    if indices is None and isinstance(limit, Sample):
        indices = limited_indices(dataset, limit)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    plan, _ = batch_plan(n, batch_size, indices, shard)
    rank, size = world() if shard else (0, 1)
    total = sum(len(b) for b in plan)
    done = sum(len(b) for k, b in enumerate(plan) if rank + k * size in skip)
    if on_progress is not None:
        on_progress(done, total)
    todo = [k for k in range(len(plan)) if rank + k * size not in skip]
    prepared = prepared_batches(task, dataset, [plan[k] for k in todo], seed, workers)
    for k, (images, labels, idx, lq) in zip(todo, prepared):
        clean = images.to(device)
        views = input_views(task, processors, clean, lq.to(device), include_clean)
        yield ProcessedBatch(idx, labels, clean, lq.to(device), views, number=rank + k * size,
                             start=(rank + k * size) * batch_size)
        done += len(idx)
        if on_progress is not None:
            on_progress(done, total)


def tqdm_progress(desc: str, enabled: bool = True) -> tuple[Progress, Callable[[], None]]:
    """(on_progress callback driving a tqdm bar on stderr, close function)."""
    import sys

    from tqdm import tqdm

    rank, _ = world()
    bar = tqdm(desc=desc, file=sys.stderr, disable=not (enabled and rank == 0), unit="img")

    def update(done: int, total: int):
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def chain(*callbacks: Progress | None) -> Progress:
    """One progress callback calling each of ``callbacks`` that is not None."""
    live = [c for c in callbacks if c is not None]

    def call(done: int, total: int):
        for c in live:
            c(done, total)

    return call
