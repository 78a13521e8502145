"""The recognizer-side trainer: a classifier trained for degraded inputs by one of the
methods of :mod:`analysis.methods.recognizers` (augmentation, training on LQ images,
fine-tuning on a processor's outputs, feature distillation, QualNet).

:class:`Degrader` makes the LQ training and validation inputs; :class:`FeatureStudent` gives
the loss a feature map beside the logits in one pass; the teacher, decoder and processor are
loaded frozen and named in the card by their weights' SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import EMBEDDED_DATASET
from ..data.tasks import create_task
from ..errors import RAExplorerError, unknown_name
from ..methods.recognizers import (
    MIXES,
    RecognizerMethod,
    check_needs,
    degradation_tasks,
    get_recognizer_method,
    recognizer_card_fields,
)
from ..zoo import create_model
from ..zoo.checkpoints import load_checkpoint
from .classifiers import accuracy, augment, check_classifier, classifier_kwargs
from .engine import freeze, history_fields, portable_path, start
from .state import load_model_state, state_identity


@dataclass
class Degrader:
    """LQ images at the clean size from a task spec or a named mix (``mix``, ``corrupt-seen``);
    (N, C, H, W) in [0, 1]."""

    spec: str
    tasks: list = field(default_factory=list)

    def __post_init__(self):
        names = degradation_tasks(self.spec)
        self.tasks = [create_task(n) for n in names]

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = x.cpu()
        out = torch.empty_like(x)
        choice = torch.randint(0, len(self.tasks), (len(x),), generator=gen)
        for k, task in enumerate(self.tasks):
            idx = torch.nonzero(choice == k).flatten()
            if len(idx):
                lq = task.degrade_train(x[idx], gen)
                out[idx] = task.upsample(lq, tuple(x.shape[-2:]))
        return out

    def fixed(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """The evaluation degradation of images ``indices`` (seeded by index; a mix: the
        task by index too), for validation."""
        out = torch.empty_like(x)
        choice = indices % len(self.tasks)
        for k, task in enumerate(self.tasks):
            idx = torch.nonzero(choice == k).flatten()
            if len(idx):
                lq = task.degrade(x[idx], indices[idx].tolist())
                out[idx] = task.upsample(lq, tuple(x.shape[-2:]))
        return out


def feature_distance(a: torch.Tensor, b: torch.Tensor, norm: str) -> torch.Tensor:
    """Mean squared (``l2``) or absolute (``l1``) difference of two feature maps."""
    if norm == "l2":
        return F.mse_loss(a, b)
    if norm == "l1":
        return F.l1_loss(a, b)
    raise unknown_name("distillation distance", norm, ["l1", "l2"])


def code_shape(decoder, channels: int, size: tuple[int, int]) -> tuple[int, ...]:
    """(C, H, W) of the decoder's code for an image of ``channels`` x ``size``."""
    with torch.no_grad():
        x = torch.zeros(1, channels, *size, device=next(decoder.parameters()).device)
        return tuple(decoder.features(x, [decoder.code_name])[decoder.code_name].shape[1:])


def check_code_sizes(student_map: tuple, code: tuple, layer: str) -> None:
    """One sentence when R's ``layer`` map (C, H, W) and the decoder's code differ in size."""
    if student_map[1:] != code[1:]:
        raise RAExplorerError(
            f"The classifier's {layer} map is {student_map[1]} x {student_map[2]} but the "
            f"decoder's code is {code[1]} x {code[2]}; choose --kd-layer with the code's size.")


def load_frozen(path: str | None, device, kind: str | None = None):
    """A frozen checkpoint (eval mode, no gradients) and its card; (None, None) for None."""
    if not path:
        return None, None
    model, card = load_checkpoint(path, device=device, kind=kind)
    return freeze(model), card


def reference(card: dict | None, path: str | None) -> dict | None:
    """How a card names a model it was trained with: name, file, SHA-256 of the weights."""
    if card is None:
        return None
    return {"name": card["name"], "path": portable_path(path),
            "sha256": card["weights"]["sha256"]}


def input_batch(method: RecognizerMethod, degrader: Degrader, processor, images, gen):
    """The training input of a batch (N, C, H, W) for ``method``'s input rule."""
    if method.inputs == "all-lq":
        return degrader(images, gen).to(images.device)
    if method.inputs == "processed":
        lq = degrader.tasks[0].degrade_train(images.cpu(), gen).to(images.device)
        with torch.no_grad():
            return processor(lq).clamp(0, 1)
    lq = degrader(images, gen).to(images.device)
    use_lq = (torch.rand(len(images), generator=gen) < 0.5).to(images.device)
    return torch.where(use_lq.view(-1, 1, 1, 1), lq, images)


def validation_transform(method: RecognizerMethod, degrader: Degrader, processor):
    """``transform(images, indices)`` giving the degraded validation input the method targets."""
    def transform(images, indices):
        lq = degrader.fixed(images, torch.as_tensor(indices))
        if method.inputs != "processed":
            return lq
        task = degrader.tasks[0]
        small = task.degrade(images, torch.as_tensor(indices).tolist())
        with torch.no_grad():
            return processor(small.to(next(processor.parameters()).device)).clamp(0, 1).cpu()
    return transform


class FeatureStudent(nn.Module):
    """forward(x) -> (logits, the ``layer`` map, through ``connector`` when given, then through
    ``decoder.invert`` when a decoder is trained with the student): one pass, so that
    DistributedDataParallel sees every parameter that gets a gradient."""

    def __init__(self, classifier: nn.Module, layer: str, connector: nn.Module | None = None,
                 decoder: nn.Module | None = None):
        super().__init__()
        self.classifier = classifier
        self.layer = layer
        self.connector = connector
        self.decoder = decoder

    def train(self, mode: bool = True):
        """A trained decoder keeps its normalisation's stage-1 statistics (eval mode), as the
        frozen one does: the ablation changes whether its weights learn, nothing else."""
        super().train(mode)
        if self.decoder is not None:
            self.decoder.eval()
        return self

    def forward(self, x):
        feats = self.classifier.features(x, [self.layer, "logits"])
        fmap = feats[self.layer]
        if self.connector is not None:
            fmap = self.connector(fmap)
        return feats["logits"], (self.decoder.invert(fmap) if self.decoder is not None else fmap)


def train_recognizer(method: str, arch: str = "resnet20", options: dict | None = None,
                     **training) -> Path | None:
    """Train classifier ``arch`` with recognizer-side ``method`` (see the module docstring).

    ``options``: ``degradation`` (task spec or a named mix, default ``mix``), ``teacher`` /
    ``decoder`` / ``processor`` / ``init`` (checkpoint paths, as the method needs), ``lam``
    (default 1.0), ``kd_layer`` (default the classifier's last stage), ``kd_norm`` (``l2``).
    ``training``: the options of :func:`~analysis.training.classifiers.train_classifier` (dataset,
    out, epochs, batch_size, lr, weight_decay, seed, augmentation, arch_kwargs, data_root,
    limit, val_limit, device, resume, max_steps, dtype, state_dir, progress, precision,
    workers).
    """
    spec = get_recognizer_method(method)
    o = {"degradation": "mix", "lam": 1.0, "kd_norm": "l2", **(options or {})}
    unknown = set(o) - {"degradation", "teacher", "decoder", "processor", "init", "lam",
                        "kd_layer", "kd_norm"}
    if unknown:
        raise RAExplorerError(f"Unknown recognizer option(s) {', '.join(sorted(unknown))}.")
    check_needs(method, o)
    check_classifier(arch)
    t = {"dataset": EMBEDDED_DATASET, "out": "checkpoints/classifier", "epochs": 10,
         "batch_size": 128, "lr": 2e-3, "weight_decay": 5e-4, "seed": 0, "augmentation": True,
         "arch_kwargs": None, "data_root": None, "limit": None, "val_limit": None,
         "device": None, "resume": False, "max_steps": None, "dtype": "float32",
         "state_dir": "runs", "progress": True, "precision": "auto",
         "workers": 0, **training}
    run = start(t["dataset"], t["data_root"], t["device"], t["seed"])
    dev, train_set, val_set, info = run.device, run.train_set, run.val_set, run.info
    degrader = Degrader(o["degradation"])
    if spec.inputs == "processed":
        if o["degradation"] in MIXES:
            raise RAExplorerError(f"{method} needs the processor's task as --degradation, not "
                                  f"{o['degradation']}.")
    kwargs = classifier_kwargs(arch, info, t["arch_kwargs"])
    model = create_model(arch, **kwargs)
    init_card = None
    if o.get("init"):
        init_model, init_card = load_checkpoint(o["init"], kind="classifier")
        load_model_state(model, init_model.state_dict(), Path(o["init"]),
                         advice="choose an --init classifier of the same --arch and --arch-kw")
    teacher, teacher_card = load_frozen(o.get("teacher"), dev, "classifier")
    if spec.decoder_trained:   # a copy that learns with R: the weights that decode only
        decoder, decoder_card = load_checkpoint(o["decoder"], device=dev, kind="classifier")
        for name, weight in decoder.named_parameters():
            weight.requires_grad_(name.startswith("stages."))   # not the classifier head
    else:
        decoder, decoder_card = load_frozen(o.get("decoder"), dev, "classifier")
    processor, processor_card = load_frozen(o.get("processor"), dev, "processor")
    if processor_card is not None and processor_card.get("task") != degrader.tasks[0].spec:
        raise RAExplorerError(f"The processor {o['processor']} was trained for "
                              f"{processor_card.get('task')}, not {degrader.tasks[0].spec}; "
                              "pass its task as --degradation.")
    if decoder is not None and not hasattr(decoder, "invert"):
        raise RAExplorerError(f"The decoder {o['decoder']} is a {decoder_card['arch']}, not an "
                              "invertible classifier (train one with --arch irevnet).")
    layer = o.get("kd_layer") or model.feature_names[-1]
    if spec.extra_loss and layer not in model.feature_names:
        raise unknown_name(f"feature layer of {arch}", layer, model.feature_names)
    sample = train_set[0][0][None]
    with torch.no_grad():
        student_map = tuple(model.features(sample, [layer])[layer].shape[1:])
    trainable: nn.Module = model
    if spec.extra_loss == "kd":
        with torch.no_grad():
            teacher_map = tuple(teacher.features(sample.to(dev), [layer])[layer].shape[1:])
        if teacher_map != student_map:
            raise RAExplorerError(f"The teacher's {layer} map is {teacher_map}, the student's "
                                  f"{student_map}; distil between the same architecture.")
        trainable = FeatureStudent(model, layer)
    elif spec.extra_loss == "reconstruction":
        code = code_shape(decoder, info.channels, tuple(sample.shape[-2:]))
        check_code_sizes(student_map, code, layer)
        trainable = FeatureStudent(model, layer, nn.Conv2d(student_map[0], code[0], 3, 1, 1),
                                   decoder if spec.decoder_trained else None)
    lam, norm = float(o["lam"]), o["kd_norm"]

    def step(net, images, labels, indices, gen):
        if t["augmentation"]:
            images = augment(images.cpu(), gen).to(images.device)
        x_in = input_batch(spec, degrader, processor, images, gen)
        if spec.extra_loss is None:
            logits = net(x_in)
            loss = F.cross_entropy(logits, labels)
            parts = {"ce": loss.item()}
        else:
            logits, fmap = net(x_in)
            ce = F.cross_entropy(logits, labels)
            if spec.extra_loss == "kd":
                with torch.no_grad():
                    target = teacher.features(images, [layer])[layer]
                extra = feature_distance(fmap, target, norm)
                parts = {"ce": ce.item(), "kd": extra.item()}
            else:
                # a trained decoder is part of the student, which decodes in its forward
                decoded = fmap if spec.decoder_trained else decoder.invert(fmap)
                extra = F.l1_loss(decoded, images)
                parts = {"ce": ce.item(), "reconstruction": extra.item()}
            loss = ce + lam * extra
        acc = (logits.argmax(1) == labels).float().mean().item()
        return loss, {**parts, "acc": acc}

    transform = validation_transform(spec, degrader, processor)

    def validate():
        return {"val_accuracy": accuracy(model, val_set, dev, limit=t["val_limit"]),
                "val_lq_accuracy": accuracy(model, val_set, dev, limit=t["val_limit"],
                                            transform=transform)}

    used = {"teacher": reference(teacher_card, o.get("teacher")),
            "decoder": reference(decoder_card, o.get("decoder")),
            "processor": reference(processor_card, o.get("processor")),
            "init": reference(init_card, o.get("init"))}

    def card(history):
        return {
            "kind": "classifier", "arch": arch, "arch_kwargs": kwargs, "dataset": run.dataset,
            "task": None, "method": method,
            "training": {"epochs": t["epochs"], "batch_size": t["batch_size"], "lr": t["lr"],
                         "weight_decay": t["weight_decay"], "seed": t["seed"],
                         "augmentation": t["augmentation"], "adversarial": None,
                         "limit": t["limit"],
                         **recognizer_card_fields(method, o["degradation"], lam, layer, norm,
                                                  used)},
            **history_fields(history, t["seed"]),
        }

    frozen = "|".join(f"{k}={v['sha256']}" for k, v in used.items() if v)
    identity = state_identity(Path(t["out"]).name, run.dataset, arch, kwargs, method,
                              o["degradation"], frozen or None)
    schedule = {k: t[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "seed", "limit",
                                  "dtype", "resume", "max_steps", "state_dir", "progress",
                                  "precision", "workers")}
    return run.fit(trainable, step, validate, card, identity, out=t["out"],
                   export=lambda m: m.classifier if isinstance(m, FeatureStudent) else m,
                   **schedule)
