"""The classifier trainer: standard or PGD-L2 adversarial (optionally with logit pairing).

Besides :func:`train_classifier`, what classifier training measures and perturbs with:
:func:`augment` (random shifts and flips), :func:`pgd_l2` (the attack of adversarial training
and of :func:`robust_accuracy`) and :func:`accuracy`. The recognizer-side methods train
classifiers too (:mod:`.recognizer_side`) and share these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..config import EMBEDDED_DATASET
from ..data.batches import iterate_batches
from ..device import BATCH_VALUES, fit_batch
from ..errors import DataError, RAExplorerError
from ..methods.recognizers import classifier_method
from ..zoo import create_model, model_kind
from ..zoo.options import check_arch_kwargs
from .engine import history_fields, start
from .state import state_identity


def augment(images: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random translation by up to ``pad`` pixels (reflect padding) and horizontal flips."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad,) * 4, mode="reflect")
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def pgd_l2(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float, steps: int,
           step_size: float | None = None, gen: torch.Generator | None = None,
           clip: bool = True) -> torch.Tensor:
    """PGD under an L2 budget ``eps`` in [0, 1]-pixel units; returns adversarial images.

    Starts from a uniform point in the eps-ball, takes ``steps`` normalised
    gradient steps of ``step_size`` (default 2.5 * eps / steps, Madry et al.),
    projects onto the ball and onto [0, 1] after each.
    """
    if eps <= 0 or steps <= 0:
        return images.detach()
    step_size = step_size or 2.5 * eps / steps
    was_training = model.training
    model.eval()
    flat = images[0].numel()
    noise = torch.randn(images.shape, generator=gen).to(images.device)
    noise = noise / noise.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    radius = eps * torch.rand(len(images), generator=gen).to(images.device) ** (1 / flat)
    delta = noise * radius.view(-1, 1, 1, 1)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(images + delta), labels)
        (grad,) = torch.autograd.grad(loss, delta)
        grad_norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        delta = delta.detach() + step_size * grad / grad_norm
        norm = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        delta = delta * (eps / norm).clamp(max=1.0)
        if clip:
            delta = (images + delta).clamp(0, 1) - images
    model.train(was_training)
    return (images + delta).detach()


@torch.no_grad()
def accuracy(model: nn.Module, dataset, device: torch.device, batch_size: int = 512,
             limit: int | None = None, transform: Callable | None = None) -> float:
    """Top-1 accuracy (in [0, 1]) of ``model`` on ``dataset``, optionally on ``transform(x, idx)``;
    ``batch_size`` is capped for large images (:func:`~analysis.device.fit_batch`)."""
    correct = total = 0
    batch_size = fit_batch(image_values(dataset), batch_size)
    model.eval()
    for images, labels, indices in iterate_batches(dataset, batch_size, limit=limit):
        if transform is not None:
            images = transform(images, indices)
        pred = model(images.to(device)).argmax(1).cpu()
        correct += int((pred == labels).sum())
        total += len(labels)
    return correct / max(total, 1)


def robust_accuracy(model: nn.Module, dataset, device: torch.device, eps: float, steps: int = 20,
                    batch_size: int = 256, limit: int | None = None, seed: int = 0) -> float:
    """Accuracy under a PGD-``steps`` L2 attack of radius ``eps`` ([0, 1]-pixel units);
    ``batch_size`` is capped for large images to a quarter of the inference budget (the attack
    keeps activations for its gradients)."""
    gen = torch.Generator().manual_seed(seed)
    batch_size = fit_batch(image_values(dataset), batch_size, BATCH_VALUES // 4)
    correct = total = 0
    model.eval()
    for images, labels, _ in iterate_batches(dataset, batch_size, limit=limit):
        images, labels = images.to(device), labels.to(device)
        adv = pgd_l2(model, images, labels, eps, steps, gen=gen)
        with torch.no_grad():
            correct += int((model(adv).argmax(1) == labels).sum())
        total += len(labels)
    return correct / max(total, 1)


def image_values(dataset) -> int:
    """C*H*W of a dataset's images (from its info)."""
    return dataset.info.channels * dataset.info.size ** 2


def check_classifier(arch: str) -> None:
    """One sentence when ``arch`` is not a classifier architecture."""
    if model_kind(arch) != "classifier":
        raise RAExplorerError(f"{arch!r} is a {model_kind(arch)}, not a classifier.")


def classifier_kwargs(arch: str, info, arch_kwargs: dict | None) -> dict:
    """The constructor options of classifier ``arch`` for a dataset of ``info``: channels,
    classes, normalisation, then the checked ``arch_kwargs`` (``--arch-kw``); a dataset of one
    class is refused (every answer would be right)."""
    if info.num_classes < 2:
        raise DataError(f"The dataset {info.name} has one class ({', '.join(info.class_names)}), "
                        "so a classifier trained on it would reach accuracy 1.0 by always "
                        "answering it; give it at least two classes (in an image folder, one "
                        "class folder each).")
    return {"in_channels": info.channels, "num_classes": info.num_classes,
            "mean": list(info.mean), "std": list(info.std),
            **check_arch_kwargs(arch, arch_kwargs or {}, where="--arch-kw: ")}


def train_classifier(arch: str, dataset: str = EMBEDDED_DATASET, out: str = "checkpoints/classifier",
                     epochs: int = 10, batch_size: int = 128, lr: float = 2e-3,
                     weight_decay: float = 5e-4, seed: int = 0, adv_eps: float = 0.0,
                     adv_steps: int = 7, alp: float = 0.0, augmentation: bool = True,
                     arch_kwargs: dict | None = None,
                     data_root: str | None = None, limit: int | None = None,
                     val_limit: int | None = None, device: str | None = None,
                     resume: bool = False, max_steps: int | None = None, dtype: str = "float32",
                     state_dir: str = "runs", progress: bool = True,
                     precision: str = "auto", workers: int = 0) -> Path | None:
    """Train classifier ``arch`` on ``dataset``; PGD-L2 adversarial training when ``adv_eps`` > 0.
    ``precision``: the steps' arithmetic (:mod:`.precision`); ``workers``: processes decoding
    the training batches ahead (:func:`~analysis.data.batches.decoded_batches`).

    ``alp`` > 0 adds adversarial logit pairing (Kannan et al. 2018): each batch is trained on
    its clean and its adversarial images together, loss = mean cross-entropy over both
    + ``alp`` * mean over images of the squared L2 distance between the clean and the
    adversarial logits (divided by the number of classes, as ``F.mse_loss`` does).
    """
    check_classifier(arch)
    if alp > 0 and adv_eps <= 0:
        raise RAExplorerError("Adversarial logit pairing (--alp) pairs clean and adversarial "
                              "images; give --pgd-eps > 0 too.")
    run = start(dataset, data_root, device, seed)
    dev, val_set = run.device, run.val_set
    kwargs = classifier_kwargs(arch, run.info, arch_kwargs)
    model = create_model(arch, **kwargs)
    method = classifier_method(adv_eps, alp)

    def step(net, images, labels, indices, gen):
        if augmentation:
            images = augment(images.cpu(), gen).to(images.device)
        if adv_eps > 0 and alp > 0:
            adv = pgd_l2(net, images, labels, adv_eps, adv_steps, gen=gen)
            logits = net(torch.cat([images, adv]))
            clean_logits, adv_logits = logits.chunk(2)
            ce = F.cross_entropy(logits, torch.cat([labels, labels]))
            pairing = F.mse_loss(adv_logits, clean_logits)
            loss = ce + alp * pairing
            acc = (adv_logits.argmax(1) == labels).float().mean().item()
            return loss, {"loss": loss.item(), "ce": ce.item(), "pairing": pairing.item(),
                          "acc": acc}
        if adv_eps > 0:
            images = pgd_l2(net, images, labels, adv_eps, adv_steps, gen=gen)
        logits = net(images)
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(1) == labels).float().mean().item()
        return loss, {"loss": loss.item(), "acc": acc}

    def validate():
        metrics = {"val_accuracy": accuracy(model, val_set, dev, limit=val_limit)}
        if adv_eps > 0:
            metrics["val_robust_accuracy"] = robust_accuracy(
                model, val_set, dev, adv_eps, steps=adv_steps, limit=min(val_limit or 1000, 1000))
        return metrics

    def card(history):
        return {
            "kind": "classifier", "arch": arch, "arch_kwargs": kwargs, "dataset": run.dataset,
            "task": None, "method": method,
            "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                         "weight_decay": weight_decay, "seed": seed, "augmentation": augmentation,
                         "adversarial": ({"norm": "L2", "eps": adv_eps, "steps": adv_steps,
                                          "units": "[0,1]-pixel L2",
                                          **({"logit_pairing": alp} if alp > 0 else {})}
                                         if adv_eps > 0 else None),
                         "limit": limit},
            **history_fields(history, seed),
        }

    return run.fit(model, step, validate, card,
                   state_identity(Path(out).name, run.dataset, arch, kwargs, method),
                   out=out, epochs=epochs, batch_size=batch_size, lr=lr,
                   weight_decay=weight_decay, seed=seed, limit=limit, dtype=dtype, resume=resume,
                   max_steps=max_steps, state_dir=state_dir, progress=progress,
                   precision=precision, workers=workers)
