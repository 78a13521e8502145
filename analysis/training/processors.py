"""The processor trainer: an SRResNet P for a task, with any processor method's loss.

:func:`train_processor` trains P (and, for ``ra-transformer``, the transformer T behind it) with
a method of :mod:`analysis.methods.processors` through a frozen recognizer where the method
needs one; :func:`processor_validation` measures PSNR and recognizer accuracy on the validation
split after every epoch.

On a detection dataset (``canvas:``) the frozen recognizer of ``ra`` is a detector
(``detector``, the RA paper's Table 2): the loss is MSE + lambda * the sum of the detector's
training losses on P's output against the canvases' boxes. The detector is frozen as a
classifier is (eval mode, no gradients, never in the optimizer) and its losses come from
:meth:`analysis.zoo.detectors.Detector.losses`, which sets only the top-level flag torchvision
reads, so its BatchNorm layers keep their running statistics; the card checks that its weights
and buffers are unchanged. Validation then measures PSNR and the detector's mAP@[.5:.95] and
mAP@.5 on the processed validation canvases (:func:`detection_processor_validation`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..config import EMBEDDED_DATASET
from ..data.datasets import normalize_dataset_spec, same_dataset, split_dataset_spec
from ..data.tasks import create_task
from ..device import fit_batch
from ..errors import RAExplorerError
from ..methods.losses import ScaledFeatures, channel_mean_scales
from ..methods.processors import LossContext, get_method, perceptual_settings
from ..metrics.detection import mean_average_precision
from ..pipeline.runner import stream
from ..zoo import MODELS, TransformedProcessor, create_model, model_kind
from ..zoo.checkpoints import load_checkpoint, state_digest
from ..zoo.dataset_fit import check_classifier_fits
from ..zoo.options import check_arch_kwargs
from .engine import freeze, history_fields, portable_path, start
from .state import load_model_state, state_identity


class ProcessorWithTransformer(TransformedProcessor):
    """P and T while training "RA with transformer" (same state dict as the deployed pipeline)."""

    def forward(self, x):
        """Returns (P(x), T(P(x).detach())): T never sends gradients into P."""
        out = self.processor(x)
        return out, self.transformer(out.detach())


@torch.no_grad()
def processor_validation(model: nn.Module, task, dataset, device, recognizer=None,
                         batch_size: int = 256, limit: int | None = 2000) -> dict:
    """PSNR (dB, mean over images) of the clamped outputs, and recognizer accuracy if given.

    For P followed by T, PSNR is measured on P's output and accuracy on T(P(x)).
    ``batch_size`` is capped for large images (:func:`~analysis.device.fit_batch`).
    """
    psnr_sum = correct = total = 0.0
    batch_size = fit_batch(dataset.info.channels * dataset.info.size ** 2, batch_size)
    for batch in stream(task, {"p": model}, dataset, device, batch_size, limit,
                        include_clean=False, shard=False):
        views = batch.views["p"]
        mse = (views.human.cpu() - batch.clean.cpu()).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        psnr_sum += float((10 * torch.log10(1 / mse)).sum())
        if recognizer is not None:
            correct += int((recognizer(views.machine).argmax(1).cpu() == batch.labels).sum())
        total += len(batch.labels)
    metrics = {"val_psnr": psnr_sum / max(total, 1)}
    if recognizer is not None:
        metrics["val_accuracy"] = correct / max(total, 1)
    return metrics


@torch.no_grad()
def detection_processor_validation(model: nn.Module, task, dataset, device, detector,
                                   batch_size: int = 32, limit: int | None = 500) -> dict:
    """PSNR (dB, mean over canvases) of the clamped outputs on the first ``limit`` canvases of
    ``dataset``, and ``detector``'s mAP@[.5:.95] (``val_map``) and mAP@.5 (``val_map_50``) on
    them (the machine view: T(P(x)) for P followed by T)."""
    psnr_sum, total, preds, targets = 0.0, 0, [], []
    for batch in stream(task, {"p": model}, dataset, device, batch_size, limit,
                        include_clean=False, shard=False):
        views = batch.views["p"]
        mse = (views.human.cpu() - batch.clean.cpu()).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        psnr_sum += float((10 * torch.log10(1 / mse)).sum())
        total += len(mse)
        preds += [{k: v.cpu() for k, v in p.items()} for p in detector(views.machine)]
        targets += list(batch.labels)
    result = mean_average_precision(preds, targets)
    return {"val_psnr": psnr_sum / max(total, 1), "val_map": result["map"],
            "val_map_50": result["map_50"]}


COUNTS = ("n", "n_val", "n_test")    # a canvas spec's options that say how many, not how drawn


def canvas_drawing(spec: str) -> dict:
    """A detection dataset's options in normal form without :data:`COUNTS`: two specs with the
    same drawing make the same canvas ``i`` (a detector of one fits the other)."""
    name, params = split_dataset_spec(normalize_dataset_spec(spec))
    return {"name": name, **{k: v for k, v in params.items() if k not in COUNTS}}


def _load_detector(detector: str, method: str, spec, dataset: str, info, dev):
    """(frozen detector, its card, digest) for RA through ``detector`` on ``dataset``."""
    if spec.detection_loss is None:
        raise RAExplorerError(f"Method {method!r} takes a classifier, not a detector; train "
                              "'ra' through a detector (or 'plain' without one).")
    if info.extra.get("task") != "detection":
        raise RAExplorerError(f"RA through a detector trains on detection canvases, and "
                              f"{dataset!r} holds class labels; pass --dataset canvas:base="
                              f"{dataset.replace(',', ';')}.")
    det, card = load_checkpoint(detector, device=dev, kind="detector")
    if card.get("dataset") and canvas_drawing(card["dataset"]) != canvas_drawing(dataset):
        raise RAExplorerError(f"The detector {detector} was trained on canvases "
                              f"{card['dataset']!r}, drawn otherwise than {dataset!r} (only "
                              "the counts n, n_val, n_test may differ); choose a detector of "
                              "these canvases.")
    kwargs = card.get("arch_kwargs") or {}
    wanted = {"in_channels": info.channels, "num_classes": len(info.class_names),
              "image_size": info.size}
    wrong = {k: (kwargs.get(k), v) for k, v in wanted.items() if kwargs.get(k) != v}
    if wrong:
        raise RAExplorerError(f"The detector {detector} does not fit {dataset!r}: "
                              + ", ".join(f"{k} {a} vs {b}" for k, (a, b) in wrong.items())
                              + "; train one on these canvases (train-detector).")
    freeze(det)
    return det, card, state_digest(det)


def train_processor(task: str, method: str, dataset: str = EMBEDDED_DATASET,
                    out: str = "checkpoints/processor", recognizer: str | None = None,
                    lam: float = 0.0, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                    seed: int = 0, arch_kwargs: dict | None = None,
                    transformer_kwargs: dict | None = None, layers: list[str] | None = None,
                    losses: str = "EP", texture_weight: float = 0.0, patch: int = 8,
                    unsup_distance: str = "prob-l2", data_root: str | None = None,
                    limit: int | None = None, val_limit: int | None = 2000,
                    device: str | None = None, resume: bool = False,
                    max_steps: int | None = None, dtype: str = "float32",
                    state_dir: str = "runs", progress: bool = True,
                    init: str | None = None, perceptual: dict | None = None,
                    arch: str = "srresnet", detector: str | None = None,
                    precision: str = "auto", workers: int = 0) -> Path | None:
    """Train a processor of architecture ``arch`` (a processor of the model registry: srresnet,
    srdensenet, rdn, dbpn) for ``task`` with ``method`` (see analysis.methods).

    ``recognizer`` is the checkpoint path of the frozen classifier used by the
    loss (and, for reporting, in validation). ``init`` optionally starts P
    from another processor checkpoint (e.g. the plain one, for lambda sweeps).
    ``precision``: the steps' arithmetic (:mod:`.precision`); ``workers``: processes decoding
    the training batches ahead (:func:`~analysis.data.batches.decoded_batches`).
    ``perceptual`` holds Uelwer et al.'s settings of the perceptual methods
    (:data:`~analysis.methods.processors.PERCEPTUAL_OPTIONS`: ``layer_weights``,
    ``texture_layers``, ``patch_pixels``, ``feature_norm``).
    """
    spec = get_method(method)
    the_task = create_task(task)
    run = start(dataset, data_root, device, seed)
    dev, train_set, val_set, info, dataset = (run.device, run.train_set, run.val_set, run.info,
                                              run.dataset)

    rec, rec_card, rec_digest = None, None, None
    det = None
    if detector and recognizer:
        raise RAExplorerError("Pass --classifier or --detector, not both: RA uses one frozen "
                              "recognizer.")
    if detector:
        det, rec_card, rec_digest = _load_detector(detector, method, spec, dataset, info, dev)
        recognizer = detector
    elif info.extra.get("task") == "detection" and spec.needs_recognizer:
        raise RAExplorerError(f"On detection canvases the recognizer of {method!r} is a "
                              "detector: pass --detector (a detector checkpoint) and --method "
                              "ra.")
    if recognizer and det is None:
        rec, rec_card = load_checkpoint(recognizer, device=dev, kind="classifier")
        freeze(rec)
        rec_digest = state_digest(rec)
        if rec_card["kind"] != "classifier":
            raise RAExplorerError(f"The recognizer {recognizer} is a {rec_card['kind']}, "
                                  "not a classifier.")
    if spec.needs_recognizer and rec is None and det is None:
        raise RAExplorerError(f"Method {method!r} needs --classifier (a classifier checkpoint).")
    if spec.needs_robust and not (rec_card.get("training") or {}).get("adversarial"):
        raise RAExplorerError(f"Method {method!r} needs an adversarially trained recognizer, but "
                              f"the card of {recognizer} records standard training.")
    if model_kind(arch) != "processor":
        raise RAExplorerError(f"--arch {arch} is a {model_kind(arch)}, not a processor; use one "
                              f"of {', '.join(n for n in MODELS if model_kind(n) == 'processor')}.")
    kwargs = {"in_channels": info.channels, "scale": the_task.scale,
              **check_arch_kwargs(arch, arch_kwargs or {}, where="--arch-kw: ")}
    processor = create_model(arch, **kwargs)
    if init:
        init_model, _ = load_checkpoint(init, kind="processor")
        load_model_state(processor, init_model.state_dict(), Path(init),
                         advice="choose an --init processor with the same --arch-kw and task")
    t_kwargs = None
    if spec.uses_transformer:
        t_kwargs = {"in_channels": info.channels,
                    **check_arch_kwargs("cyclegan-resnet", transformer_kwargs or {},
                                        where="--transformer-kw: ")}
        model = ProcessorWithTransformer(processor, create_model("cyclegan-resnet", **t_kwargs))
    else:
        model = processor
    if (det is None and rec_card is not None and rec_card.get("dataset")
            and not same_dataset(rec_card["dataset"], dataset)):
        raise RAExplorerError(f"The recognizer {recognizer} was trained on "
                              f"{rec_card['dataset']!r}, not on {dataset!r}; choose a "
                              "classifier of this dataset.")
    if rec is not None:
        check_classifier_fits(str(recognizer), rec, info, dataset)
    default_layers = rec.feature_names[:2] if rec is not None else []
    ctx = LossContext(recognizer=rec if det is None else det, lam=lam,
                      unsup_distance=unsup_distance,
                      layers=tuple(layers or default_layers), losses=losses,
                      texture_weight=texture_weight, patch=patch,
                      **perceptual_settings(perceptual, spec, layers or default_layers))
    if ctx.feature_norm == "channel-mean":
        ctx.recognizer = ScaledFeatures(rec, channel_mean_scales(
            rec, norm_images(train_set, dev), set(ctx.layers) | set(ctx.texture_layers or ())))

    def step(net, images, labels, indices, gen):
        lq = the_task.degrade_train(images.cpu(), gen).to(images.device)
        if spec.uses_transformer:
            # both outputs come through net (DDP when distributed) so all gradients are synchronised
            out, ctx.transformed = net(lq)
        else:
            out = net(lq)
        parts = (spec.loss if det is None else spec.detection_loss)(ctx, out, images, labels)
        loss = sum(parts.values())
        return loss, {k: v.item() for k, v in parts.items()}

    def deployed():
        return _deployed_pipeline(model) if spec.uses_transformer else model

    def validate():
        if det is not None:
            return detection_processor_validation(deployed(), the_task, val_set, dev, det,
                                                  limit=val_limit)
        return processor_validation(deployed(), the_task, val_set, dev, rec, limit=val_limit)

    def card(history):
        frozen = rec if det is None else det
        if frozen is not None and state_digest(frozen) != rec_digest:
            raise RAExplorerError(f"The recognizer {recognizer} changed during training; "
                                  "this is a bug, and no checkpoint was written.")
        c = {
            "kind": "processor", "arch": arch, "arch_kwargs": kwargs, "dataset": dataset,
            "task": the_task.spec, "method": method, "lambda": lam,
            "source": Path(recognizer).name if recognizer else None,
            "source_state_sha256": rec_digest,
            **({"source_kind": "detector"} if det is not None else {}),
            "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                         **spec.card_options(ctx),
                         "init": portable_path(init), "limit": limit},
            **history_fields(history, seed),
        }
        if spec.uses_transformer:
            c["transformer"] = {"arch": "cyclegan-resnet", "arch_kwargs": t_kwargs}
        return c

    identity = state_identity(Path(out).name, dataset, arch, kwargs, method,
                              the_task.spec, rec_digest,
                              {"arch": "cyclegan-resnet", "arch_kwargs": t_kwargs}
                              if spec.uses_transformer else None)
    return run.fit(model, step, validate, card, identity, out=out, epochs=epochs,
                   batch_size=batch_size, lr=lr, seed=seed, limit=limit, dtype=dtype,
                   resume=resume, max_steps=max_steps, state_dir=state_dir, progress=progress,
                   precision=precision, workers=workers)


NORM_IMAGES = 1024   # clean training images that fix the feature normalisation


def norm_images(dataset, device) -> torch.Tensor:
    """The first :data:`NORM_IMAGES` training images (N, C, H, W) on ``device``, fewer for
    large images (:func:`~analysis.device.fit_batch`: 55 at 224x224x3)."""
    n = min(fit_batch(dataset.info.channels * dataset.info.size ** 2, NORM_IMAGES), len(dataset))
    return torch.stack([dataset[i][0] for i in range(n)]).to(device)


def _deployed_pipeline(model: ProcessorWithTransformer) -> nn.Module:
    return TransformedProcessor(model.processor, model.transformer)
