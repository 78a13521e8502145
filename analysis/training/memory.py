"""Training memory, said before the run starts: the activations a training step keeps for the
backward pass, per image at the dataset's size, against the memory the device has free.

:func:`activation_bytes` runs the trainer's own step on two training images and adds up the
tensors autograd saves (``torch.autograd.graph.saved_tensors_hooks``), parameters left out:
the activation memory of that architecture, method and image size, whatever they are.
:func:`check_training_memory` says it on stderr, and refuses a batch that cannot fit with one
sentence naming a batch size that does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from torch import nn

from ..device import available_memory
from ..errors import RAExplorerError

OVERHEAD = 1.3      # the backward's transient gradients and the allocator's slack over the saved
OPTIMIZER_COPIES = 4    # weights, their gradients and AdamW's two moments
LARGE = 96 * 96         # pixels from which activations at full resolution are worth a word


@dataclass
class ActivationMemory:
    """What one training step keeps per image: ``per_image`` bytes of saved activations,
    ``full_resolution`` whether its largest saved activation keeps the input's height and
    width (a stem that does not downsample), ``size`` (H, W) of the images measured."""

    per_image: float
    full_resolution: bool
    size: tuple[int, int]


def activation_bytes(step, model: nn.Module, images: torch.Tensor, labels, indices,
                     device: torch.device, amp_dtype: torch.dtype | None = None
                     ) -> ActivationMemory:
    """The activations ``step(model, images, labels, indices, gen)`` saves for backward, per
    image (the images' count divides the total; parameters are not counted), with the step
    autocast to ``amp_dtype`` (None: float32) as the training runs it. The model's
    buffers (batch-norm statistics) and the random-number state are restored afterwards, so
    that the training run is the same as without the estimate."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
    storages: dict[int, int] = {}
    largest = [0, False]
    h, w = images.shape[-2:]

    def pack(t: torch.Tensor):
        if not isinstance(t, nn.Parameter) and t.device.type != "meta":
            storage = t.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
            if t.dim() == 4 and t.numel() > largest[0]:
                largest[:] = [t.numel(), tuple(t.shape[-2:]) == (h, w)]
        return t

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16,
                               enabled=amp_dtype is not None):
            loss, _ = step(model, images.to(device), labels, indices,
                           torch.Generator().manual_seed(0))
        del loss
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
    return ActivationMemory(sum(storages.values()) / len(images), largest[1], (h, w))


def check_training_memory(name: str, memory: ActivationMemory, model: nn.Module,
                          batch_size: int, device: torch.device, say: bool = True,
                          available: int | None = None) -> None:
    """Say the activation memory of ``name``'s training (on stderr when ``say``) and refuse,
    with one sentence and the fix, a ``batch_size`` whose activations, times
    :data:`OVERHEAD`, with the weights, gradients and AdamW moments, exceed the memory
    ``device`` has available (``available`` bytes; default :func:`available_memory`)."""
    available = available_memory(device) if available is None else available
    weights = OPTIMIZER_COPIES * sum(p.numel() * p.element_size() for p in model.parameters()
                                     if p.requires_grad)
    per_image = memory.per_image * OVERHEAD
    need = weights + per_image * batch_size
    h, w = memory.size
    stem = (f" (its largest activations are at the images' full {h}x{w} resolution)"
            if memory.full_resolution and h * w >= LARGE else "")
    where = "GPU memory free" if device.type == "cuda" else "memory available"
    if say:
        print(f"{name}: about {memory.per_image / 2**20:.1f} MiB of activations per {h}x{w} "
              f"image{stem}, {need / 2**30:.2f} GiB for a batch of {batch_size} of "
              f"{available / 2**30:.1f} GiB {where}.", file=sys.stderr)
    if need <= available:
        return
    fits = int((available - weights) // per_image) if available > weights else 0
    fix = (f"pass --batch-size {fits} or less" if fits >= 1 else
           "no batch size fits")
    raise RAExplorerError(
        f"Training {name} needs about {need / 2**30:.1f} GiB for a batch of {batch_size} "
        f"{h}x{w} images ({memory.per_image / 2**20:.0f} MiB of activations per image{stem}) "
        f"but {available / 2**30:.1f} GiB of {where}; {fix}, or train at a smaller size "
        "(imagefolder:PATH:size=N) or with an architecture that downsamples early.")
