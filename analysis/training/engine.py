"""The fit engine every trainer runs: set-up, the epochs, the resumable state, the checkpoint.

:func:`start` does what every trainer does first (device, the torchrun process group, the
seed, the dataset's train and validation splits); :meth:`Start.fit` hands a trainer's model,
step, validation and card to :func:`fit`: Adam(W) with a cosine LR schedule, seeded data order
and degradations, tqdm progress, validation after every epoch, a resumable state file written
after every epoch (:mod:`.state`), the activation memory per image said before the first step
and a batch that cannot fit refused (:mod:`.memory`), the steps in float32 or autocast to bfloat16 /
float16 (:mod:`.precision`; by default bfloat16 on a CUDA device, float32 on a CPU), and
DistributedDataParallel when started under torchrun (``WORLD_SIZE`` > 1; nccl on GPU, gloo on
CPU), rank 0 writing the one checkpoint.

The frozen models a loss uses (:func:`freeze`) are in eval mode, ``requires_grad=False``,
never handed to the optimizer.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from ..config import PROJECT_ROOT
from ..data.batches import iterate_batches
from ..data.datasets import load_dataset, normalize_dataset_spec
from ..device import pick_device
from ..errors import TrainingStateError
from ..pipeline.distributed import join_process_group, world_size_from_env
from ..zoo.checkpoints import save_checkpoint
from .memory import activation_bytes, check_training_memory
from .precision import autocast_dtype, precision_name
from .state import RESTART, load_model_state, read_state

# ----------------------------------------------------------------------------- distributed

@dataclass
class DistInfo:
    """This process's place in the torchrun group (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 (gloo on CPU, nccl on CUDA)."""
    if world_size_from_env() <= 1:
        return DistInfo()
    rank, world = join_process_group(device.type == "cuda")
    return DistInfo(rank, world, int(os.environ.get("LOCAL_RANK", "0")))


def barrier(info: DistInfo):
    """Wait for every rank (nothing to wait for when not distributed)."""
    if info.world_size > 1:
        dist.barrier()


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and no gradients: the recognizer must be bit-identical after training."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# ----------------------------------------------------------------------------- the loop

@dataclass
class FitJob:
    """What :func:`fit` needs from a trainer.

    ``step(net, images, labels, indices, gen)`` returns (loss, {name: float}), ``labels`` being
    the class labels (B,) or, for a detection dataset, the B target dicts; ``net`` being
    ``model`` (wrapped in DistributedDataParallel when distributed);
    ``validate()`` returns metrics (floats); ``card(history)`` the model card.
    """

    name: str
    model: nn.Module                      # the module(s) being trained (saved in the checkpoint)
    step: Callable
    validate: Callable[[], dict]
    card: Callable[[list], dict]
    dataset: object
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    seed: int = 0
    limit: int | None = None
    out: str = ""
    dtype: str = "float32"
    state_dir: str = "runs"
    resume: bool = False
    max_steps: int | None = None          # stop early (tests, smoke runs)
    progress: bool = True
    history: list = field(default_factory=list)
    identity: dict | None = None          # state_identity() of the run: what a resume must match
    export: Callable | None = None        # model -> the module saved (default: the model itself)
    grad_clip: float | None = None        # clip the gradients' total L2 norm to this (None: no clip)
    precision: str = "auto"               # the steps' arithmetic (:mod:`.precision`)
    workers: int = 0                      # processes decoding batches ahead (0: in this one)


def to_device(value, device: torch.device):
    """``value`` on ``device``: a tensor, or the tensors inside a list or tuple of them or of
    dicts of them (a detection batch's targets)."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def _state_path(job: FitJob) -> Path:
    return Path(job.state_dir) / f"{Path(job.out).name}.state.pt"


def fit(job: FitJob, device: torch.device, dist_info: DistInfo) -> Path | None:
    """Run the epochs of ``job``; returns the card path on rank 0 (None elsewhere)."""
    model = job.model.to(device)
    trainable = model
    if dist_info.world_size > 1:
        trainable = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=job.lr, weight_decay=job.weight_decay)
    n = len(job.dataset) if job.limit is None else min(job.limit, len(job.dataset))
    steps_per_epoch = math.ceil(math.ceil(n / dist_info.world_size) / job.batch_size)
    total = max(1, steps_per_epoch * job.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    start_epoch = 0
    state_path = _state_path(job)
    if job.resume and state_path.exists():
        state = read_state(state_path, job.identity)
        if state["epoch"] > job.epochs:
            raise TrainingStateError(
                f"The training state {state_path} has already trained {state['epoch']} epochs, "
                f"more than --epochs {job.epochs}; pass --epochs {state['epoch']} or more, or "
                f"{RESTART}.")
        load_model_state(model, state["model"], state_path)
        try:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise TrainingStateError(f"The optimizer state in {state_path} does not fit this run "
                                     f"({' '.join(str(exc).split())[:160]}); {RESTART}.") from None
        start_epoch = int(state["epoch"])
        job.history[:] = list(state["history"])
        if dist_info.is_main:
            print(f"Resuming {job.name} from epoch {start_epoch} ({state_path}).", file=sys.stderr)
    amp_dtype = autocast_dtype(job.precision, device)
    use_amp = amp_dtype is not None
    if start_epoch < job.epochs:
        _check_memory(job, model, device, dist_info, amp_dtype)
    steps_done = 0
    for epoch in range(start_epoch, job.epochs):
        model.train()
        gen = torch.Generator().manual_seed(job.seed * 7919 + epoch * 104729 + dist_info.rank)
        batches = iterate_batches(job.dataset, job.batch_size, shuffle=True, seed=job.seed,
                                  epoch=epoch, limit=job.limit, rank=dist_info.rank,
                                  world_size=dist_info.world_size, num_workers=job.workers)
        bar = tqdm(batches, total=steps_per_epoch, desc=f"{job.name} {epoch + 1}/{job.epochs}",
                   disable=not (job.progress and dist_info.is_main), file=sys.stderr, leave=False)
        sums: dict[str, float] = {}
        count = 0
        t0 = time.perf_counter()
        for images, labels, indices in bar:
            images, labels = images.to(device), to_device(labels, device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                loss, parts = job.step(trainable, images, labels, indices, gen)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if job.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, job.grad_clip)
            optimizer.step()
            scheduler.step()
            count += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix(loss=f"{loss.item():.4f}")
            steps_done += 1
            if job.max_steps and steps_done >= job.max_steps:
                break
        if dist_info.is_main:
            model.eval()
            validation = job.validate()
            # ms resolution: tiny test runs take under 0.1 s and must still record a duration
            record = {"epoch": epoch + 1, "steps": count,
                      "seconds": round(time.perf_counter() - t0, 3),
                      **{f"train_{k}": v / max(count, 1) for k, v in sums.items()}, **validation}
            print(f"{job.name} epoch {epoch + 1}/{job.epochs}: "
                  + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch"),
                  file=sys.stderr)
            job.history.append(record)
            state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = state_path.with_name(state_path.name + ".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": epoch + 1,
                        "history": job.history,
                        "identity": json.dumps(job.identity, sort_keys=True)}, tmp)
            os.replace(tmp, state_path)
        barrier(dist_info)
        if job.max_steps and steps_done >= job.max_steps:
            break
    card_path = None
    if dist_info.is_main:
        model.eval()
        card = job.card(job.history)
        card.setdefault("training", {})["world_size"] = dist_info.world_size
        card["training"]["precision"] = precision_name(amp_dtype)
        saved = job.export(model) if job.export is not None else model
        card_path = save_checkpoint(saved, card, job.out, dtype=job.dtype)
        print(f"Wrote {card_path}", file=sys.stderr)
    barrier(dist_info)
    return card_path


def _check_memory(job: FitJob, model: nn.Module, device: torch.device,
                  dist_info: DistInfo, amp_dtype: torch.dtype | None = None) -> None:
    """Measure the step's activations on two training images (in the run's precision), say
    them and refuse a batch that cannot fit (:mod:`.memory`), before the first step."""
    images, labels, indices = next(iterate_batches(job.dataset, 2, limit=job.limit))
    if len(images) < 2:        # one image: batch norm cannot train on it; nothing to measure
        return
    model.train()
    memory = activation_bytes(job.step, model, images, to_device(labels, device), indices, device,
                              amp_dtype)
    check_training_memory(job.name, memory, model, job.batch_size, device,
                          say=dist_info.is_main)


# ----------------------------------------------------------------------------- set-up

@dataclass
class Start:
    """What every trainer starts from: the device, the process group and the two splits.

    ``dataset`` is the normalised dataset spec (what the card and the state identity record).
    """

    device: torch.device
    dist: DistInfo
    train_set: object
    val_set: object
    dataset: str

    @property
    def info(self):
        """The training split's :class:`~analysis.data.datasets.DatasetInfo`."""
        return self.train_set.info

    def fit(self, model: nn.Module, step: Callable, validate: Callable[[], dict],
            card: Callable[[list], dict], identity: dict, *, out: str,
            export: Callable | None = None, **schedule) -> Path | None:
        """:func:`fit` ``model`` on the training split and write the checkpoint ``out``.

        ``schedule``: the other fields of :class:`FitJob` (epochs, batch_size, lr,
        weight_decay, seed, limit, dtype, resume, max_steps, state_dir, progress, grad_clip,
        precision, workers).
        """
        job = FitJob(name=Path(out).name, model=model, step=step, validate=validate, card=card,
                     dataset=self.train_set, out=out, identity=identity, export=export,
                     **schedule)
        return fit(job, self.device, self.dist)


def start(dataset: str, data_root: str | None, device: str | None, seed: int) -> Start:
    """Pick the device, join the torchrun group (one GPU per rank), seed torch, load the
    train and validation splits of ``dataset``."""
    dev = pick_device(device)
    dist_info = init_distributed(dev)
    if dev.type == "cuda" and dist_info.world_size > 1:
        dev = torch.device("cuda", dist_info.local_rank)
    torch.manual_seed(seed)
    train_set = load_dataset(dataset, "train", root=data_root)
    val_set = load_dataset(dataset, "val", root=data_root)
    return Start(dev, dist_info, train_set, val_set, normalize_dataset_spec(dataset))


def history_fields(history: list, seed: int) -> dict:
    """The last fields of every card: epochs trained, seed, the last validation metrics, the
    history."""
    last = history[-1] if history else {}
    return {"epochs": len(history), "seed": seed,
            "metrics": {k: v for k, v in last.items() if k.startswith("val_")},
            "history": history}


def portable_path(path: str | None) -> str | None:
    """A path relative to the project root when it lies inside it (cards travel with git)."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
