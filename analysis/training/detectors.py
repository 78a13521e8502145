"""The detector trainer: a detector of the model registry (FCOS, RetinaNet) trained from scratch
on a detection dataset (the ``canvas:`` kind), with its validation mAP after every epoch.

:func:`train_detector` runs the fit engine (:mod:`.engine`: AdamW, cosine schedule, seeded data
order, resumable state after every epoch, tqdm progress) with torchvision's detection losses
summed, random horizontal flips of the canvases (boxes flipped with them) and the gradients'
norm clipped; :func:`detect` runs a detector over a dataset and :func:`detection_validation`
scores it with :func:`analysis.metrics.detection.mean_average_precision` (COCO mAP@[.5:.95]
and mAP@.5).

The recipe (:data:`DETECTOR_RECIPE`), chosen on validation canvases of
``canvas:base=fashion-mnist`` (never on test canvases) and written down before the long runs:
AdamW, lr 1e-3, weight decay 1e-4, batch 16, gradients' norm clipped to 10, random left-right
flips, the registry's default sizes (backbone width 32, FPN 64 channels, levels at strides
4/8/16 px; 1.13 M parameters for FCOS, 1.19 M for RetinaNet), 12 000 training canvases
(about 30 000 of the 55 000 training images) and 20 epochs (15 000 steps under the cosine
schedule), the mAP measured on the first 500 validation canvases after every epoch. Why: the
pilot (:data:`PILOT`: 12 epochs over the same 512 training canvases, 384 steps, one
thread at ``nice -n 19``) learnt steadily at lr 1e-3 without a diverging step, FCOS to mAP@.5
0.60 and RetinaNet to 0.46 on the first 100 validation canvases, both still rising; both
localise well (mAP@[.5:.95] 0.50 and 0.36, close to mAP@.5), so what is left is mostly telling
the classes apart, which wants more steps on more varied canvases: 15 000 steps are 39 times
the pilot's, about 1.6 (FCOS) and 1.9 (RetinaNet) core-hours on this machine (the pilot cost
0.37 and 0.43 core-s per step, validation included). Only lr 1e-3 was tried; RetinaNet learns
more slowly than FCOS per step, and both train the same recipe so that they compare.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..data.batches import iterate_batches
from ..data.datasets import DATASETS, split_dataset_spec
from ..errors import RAExplorerError
from ..metrics.detection import mean_average_precision
from ..zoo import MODELS, create_model, model_kind
from ..zoo.options import check_arch_kwargs
from .engine import history_fields, start
from .state import state_identity

DEFAULT_DATASET = "canvas:base=fashion-mnist"
# the chosen recipe (module docstring): the long runs' options, per architecture
DETECTOR_RECIPE = {
    arch: {"dataset": "canvas:base=fashion-mnist,n=12000", "epochs": 20, "batch_size": 16,
           "lr": 1e-3, "weight_decay": 1e-4, "grad_clip": 10.0, "flip": True, "val_limit": 500}
    for arch in ("fcos", "retinanet")
}
# the pilot behind the recipe: canvas:base=fashion-mnist (2 000 training canvases), the first 512
# of them per epoch, 12 epochs (384 steps of 16), the recipe's other options, validation on the
# first 100 validation canvases after each epoch, one thread at nice -n 19 on the shared 2-core
# machine; {arch: {"val_map_50": per epoch, "val_map": per epoch, "core_seconds": the process's
# CPU time, "wall_seconds"}}
PILOT = {
    "fcos": {"val_map_50": [0.041, 0.269, 0.360, 0.412, 0.445, 0.465, 0.507, 0.540, 0.574,
                            0.570, 0.591, 0.596],
             "val_map": [0.014, 0.119, 0.228, 0.234, 0.314, 0.358, 0.385, 0.420, 0.467,
                         0.464, 0.488, 0.495],
             "core_seconds": 140.5, "wall_seconds": 994},
    "retinanet": {"val_map_50": [0.084, 0.232, 0.293, 0.332, 0.374, 0.385, 0.407, 0.437, 0.433,
                                 0.457, 0.452, 0.455],
                  "val_map": [0.023, 0.097, 0.133, 0.187, 0.239, 0.265, 0.299, 0.327, 0.330,
                              0.353, 0.358, 0.362],
                  "core_seconds": 164.9, "wall_seconds": 1088},
}


def check_detector(arch: str) -> None:
    """One sentence when ``arch`` is not a detector architecture."""
    if model_kind(arch) != "detector":
        detectors = ", ".join(n for n in MODELS if model_kind(n) == "detector")
        raise RAExplorerError(f"{arch!r} is a {model_kind(arch)}, not a detector; use one of "
                              f"{detectors}.")


def check_detection_dataset(dataset: str) -> None:
    """One sentence when ``dataset`` is not a detection dataset (its items have no boxes)."""
    name, _ = split_dataset_spec(dataset)
    if not DATASETS[name].detection:
        raise RAExplorerError(f"A detector trains on a detection dataset, and {dataset!r} holds "
                              f"class labels, not boxes; use canvases of it, e.g. "
                              f"--dataset canvas:base={dataset.replace(',', ';')}.")


def flip_canvases(images: torch.Tensor, targets: list[dict], gen: torch.Generator):
    """Flip each canvas left-right with probability 1/2 (drawn from ``gen``), its boxes with it:
    returns (images (B, C, H, W), targets)."""
    flip = torch.rand(len(images), generator=gen) < 0.5
    if not bool(flip.any()):
        return images, targets
    width = images.shape[-1]
    images = images.clone()
    images[flip] = images[flip].flip(-1)
    out = []
    for t, f in zip(targets, flip.tolist()):
        if f:
            boxes = t["boxes"].clone()
            boxes[:, [0, 2]] = width - t["boxes"][:, [2, 0]]
            t = {**t, "boxes": boxes}
        out.append(t)
    return images, out


@torch.no_grad()
def detect(model: nn.Module, dataset, device: torch.device, batch_size: int = 32,
           limit: int | None = None, transform=None) -> tuple[list[dict], list[dict]]:
    """(predictions, targets) of ``model`` on the first ``limit`` items of ``dataset`` (all when
    None), one dict each per image on the CPU, optionally on ``transform(images, indices)``
    (a degradation and processor before the detector)."""
    was_training = model.training
    model.eval()
    preds, targets = [], []
    for images, batch_targets, indices in iterate_batches(dataset, batch_size, limit=limit):
        if transform is not None:
            images = transform(images, indices)
        for p in model(images.to(device)):
            preds.append({k: v.cpu() for k, v in p.items()})
        targets += batch_targets
    model.train(was_training)
    return preds, targets


def detection_validation(model: nn.Module, dataset, device: torch.device,
                         limit: int | None = None) -> dict:
    """``{"val_map": mAP@[.5:.95], "val_map_50": mAP@.5}`` on the first ``limit`` items."""
    result = mean_average_precision(*detect(model, dataset, device, limit=limit))
    return {"val_map": result["map"], "val_map_50": result["map_50"]}


def train_detector(arch: str, dataset: str = DEFAULT_DATASET, out: str = "checkpoints/detector",
                   epochs: int = 20, batch_size: int = 16, lr: float = 1e-3,
                   weight_decay: float = 1e-4, grad_clip: float | None = 10.0, flip: bool = True,
                   seed: int = 0, arch_kwargs: dict | None = None, data_root: str | None = None,
                   limit: int | None = None, val_limit: int | None = 500,
                   device: str | None = None, resume: bool = False,
                   max_steps: int | None = None, dtype: str = "float32",
                   state_dir: str = "runs", progress: bool = True,
                   precision: str = "auto", workers: int = 0) -> Path | None:
    """Train detector ``arch`` (``fcos``, ``retinanet``) from scratch on the detection dataset
    ``dataset``; writes the checkpoint ``out`` (kind ``detector``) and returns its card path.

    ``limit`` trains on the first ``limit`` canvases, ``val_limit`` measures the mAP on the
    first ``val_limit`` validation canvases after every epoch (``val_map``, ``val_map_50`` in
    the history and card); ``grad_clip`` bounds the gradients' total L2 norm (None: no clip);
    ``flip`` flips canvases left-right at random. The other options are the fit engine's.
    """
    check_detector(arch)
    check_detection_dataset(dataset)
    run = start(dataset, data_root, device, seed)
    info = run.info
    kwargs = {"in_channels": info.channels, "num_classes": len(info.class_names),
              "image_size": info.size, "mean": list(info.mean), "std": list(info.std),
              **check_arch_kwargs(arch, arch_kwargs or {}, where="--arch-kw: ")}
    model = create_model(arch, **kwargs)

    def step(net, images, targets, indices, gen):
        if flip:
            images, targets = flip_canvases(images, targets, gen)
        losses = net(images, targets)
        loss = sum(losses.values())
        return loss, {"loss": loss.item(), **{k: v.item() for k, v in losses.items()}}

    def validate():
        return detection_validation(model, run.val_set, run.device, limit=val_limit)

    def card(history):
        return {
            "kind": "detector", "arch": arch, "arch_kwargs": kwargs, "dataset": run.dataset,
            "task": None, "method": None,
            "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                         "weight_decay": weight_decay, "grad_clip": grad_clip, "flip": flip,
                         "seed": seed, "limit": limit, "val_limit": val_limit,
                         "seconds": round(sum(h.get("seconds", 0.0) for h in history), 1)},
            **history_fields(history, seed),
        }

    return run.fit(model, step, validate, card,
                   state_identity(Path(out).name, run.dataset, arch, kwargs, None),
                   out=out, epochs=epochs, batch_size=batch_size, lr=lr,
                   weight_decay=weight_decay, seed=seed, limit=limit, dtype=dtype,
                   resume=resume, max_steps=max_steps, state_dir=state_dir, progress=progress,
                   grad_clip=grad_clip, precision=precision, workers=workers)
