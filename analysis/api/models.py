"""The API's models, data and tasks: load a model by name, path or as a module, a dataset split and
a task by spec; degrade clean images and process LQ inputs. Images are float tensors in [0, 1],
(C, H, W) or (N, C, H, W); what comes in as one image goes out as one."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..data.datasets import load_dataset as _load_dataset
from ..data.tasks import Task
from ..data.tasks import create_task as _create_task
from ..device import pick_device
from ..errors import InputError, unknown_name
from ..pipeline.runner import processor_views
from ..zoo.catalogue import find_checkpoints, locate
from ..zoo.checkpoints import load_checkpoint


def load_model(name_or_path: str | Path | nn.Module, device: str | None = None,
               folder: str | Path | None = None) -> nn.Module:
    """A model of the zoo by name, a checkpoint from a path, or a module as it is.

    Args:
        name_or_path: a checkpoint name (``"resnet20"``, ``"sr-ra"``; ``python -m analysis list
            checkpoints`` lists them), a checkpoint path (the stem, or its ``.json`` card or
            ``.safetensors`` weights), or an ``nn.Module``, returned unchanged.
        device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available, else the CPU.
        folder: where names are looked up (default ``$RA_CHECKPOINTS`` or the shipped
            ``checkpoints/``).

    Returns:
        The model in eval mode with float32 weights. A classifier maps (N, C, H, W) in [0, 1]
        to logits (N, K); a processor maps the degraded input to (N, C, H, W) (see
        :func:`process`).

    Example:
        >>> clf = ra.load_model("resnet20")
        >>> clf(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """
    if isinstance(name_or_path, nn.Module):
        return name_or_path
    text = str(name_or_path)
    for suffix in (".json", ".safetensors"):
        text = text.removesuffix(suffix)
    if Path(text + ".json").is_file():
        stem = Path(text)
    elif Path(text).name == text:
        stem = locate(text, folder)
        if not Path(f"{stem}.json").is_file():
            raise unknown_name("checkpoint", text, [c["name"] for c in find_checkpoints(folder)])
    else:
        raise InputError(f"No checkpoint card {text}.json; give a checkpoint's stem or a name "
                         "of 'python -m analysis list checkpoints'.")
    return load_checkpoint(stem, device=pick_device(device))[0]


def load_dataset(spec: str, split: str = "test", root: str | None = None):
    """One split of a dataset by name.

    Args:
        spec: ``"fashion-mnist"``, ``"cifar10"``, ``"synthetic:n=64"``, ``"imagefolder:PATH"``
            (options after the colon; ``python -m analysis list datasets``).
        split: ``"train"``, ``"val"`` (carved from the official training set, seeded) or
            ``"test"``.
        root: data folder (default ``$RA_DATA_ROOT``).

    Returns:
        A dataset: ``ds[i]`` is (image (C, H, W) float in [0, 1], label int, index int);
        ``len(ds)``; ``ds.info.class_names``; ``ds.get_batch(indices)`` gives (images (B, C, H,
        W), labels (B,), indices (B,)).

    Example:
        >>> x, label, _ = ra.load_dataset("fashion-mnist", "test")[0]
        >>> x.shape, label
        (torch.Size([1, 28, 28]), 9)
    """
    return _load_dataset(spec, split, root=root)


def create_task(spec: str | Task, **params) -> Task:
    """A degradation task by spec: ``"sr"`` (x4 bicubic down-sampling), ``"sr:scale=2"``,
    ``"denoise:sigma=0.1"`` (Gaussian noise, std in [0, 1] units), ``"jpeg:quality=10"``, ...
    (``python -m analysis list tasks``).

    Args:
        spec: the task spec (a :class:`~analysis.data.tasks.Task` is returned as it is).
        **params: parameters that override the spec's.

    Returns:
        The task: ``task.spec`` (its canonical spelling), ``task.scale`` (LQ size factor).

    Example:
        >>> ra.create_task("denoise", sigma=0.2).spec
        'denoise:sigma=0.2'
    """
    return spec if isinstance(spec, Task) and not params else _create_task(
        spec.spec if isinstance(spec, Task) else spec, **params)


def as_batch(images, what: str = "image") -> tuple[torch.Tensor, bool]:
    """(images as (N, C, H, W) float, whether one (C, H, W) image was given); checks [0, 1]."""
    if not isinstance(images, torch.Tensor) or images.ndim not in (3, 4) or \
            not images.is_floating_point() or images.numel() == 0:
        raise InputError(f"The {what} must be a float tensor (C, H, W) or (N, C, H, W) in [0, 1]; "
                         f"got {getattr(images, 'dtype', type(images).__name__)} of shape "
                         f"{tuple(getattr(images, 'shape', ()))}.")
    one = images.ndim == 3
    images = images[None] if one else images
    low, high = float(images.min()), float(images.max())
    if not (low >= -1e-4 and high <= 1 + 1e-4):
        raise InputError(f"The {what} must hold values in [0, 1]; got [{low:.3g}, {high:.3g}] "
                         "(divide 8-bit values by 255, clamp outputs).")
    return images, one


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without parameters)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def degrade(task: str | Task, images: torch.Tensor, indices=None, seed: int = 0) -> torch.Tensor:
    """The task's LQ input for clean images, deterministic per image index (as every table).

    Args:
        task: a task spec or :class:`~analysis.data.tasks.Task` (see :func:`create_task`).
        images: clean images (C, H, W) or (N, C, H, W) in [0, 1].
        indices: the images' dataset indices (default 0..N-1): a random degradation (noise) is
            seeded per index, so index i gets the LQ input the tables measured on test image i.
        seed: the degradation seed (the tables use 0).

    Returns:
        The LQ input, (C, h, w) or (N, C, h, w) (h = H / scale for super-resolution), in [0, 1]
        for every task but ``denoise:clip=false``.

    Example:
        >>> ra.degrade("sr", torch.rand(1, 28, 28)).shape
        torch.Size([1, 7, 7])
    """
    x, one = as_batch(images)
    lq = create_task(task).degrade_eval(x, range(len(x)) if indices is None else indices, seed)
    return lq[0] if one else lq


@torch.no_grad()
def process(processor: str | Path | nn.Module, lq: torch.Tensor, view: str = "human",
            device: str | None = None) -> torch.Tensor:
    """A processor's output on an LQ input, clamped to [0, 1].

    Args:
        processor: a processor name, path or module (see :func:`load_model`).
        lq: the LQ input (C, h, w) or (N, C, h, w) in [0, 1] (see :func:`degrade`).
        view: ``"human"`` (what people and image metrics see: P(x)) or ``"machine"`` (what
            classifiers see: T(P(x)) for RA with a transformer T; else the same image).
        device: where a processor given by name is loaded.

    Returns:
        The output (C, H, W) or (N, C, H, W) in [0, 1], on the CPU.

    Example:
        >>> y = ra.process("sr-ra", ra.degrade("sr", x))       # (1, 28, 28)
    """
    if view not in ("human", "machine"):
        raise InputError(f"view is 'human' or 'machine', not {view!r}.")
    model = load_model(processor, device)
    x, one = as_batch(lq, "LQ input")
    out = getattr(processor_views(model.eval(), x.to(model_device(model))), view).cpu()
    return out[0] if one else out
