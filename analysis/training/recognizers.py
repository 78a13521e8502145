"""Fix the recognizer instead of the image: classifier training methods for degraded inputs.

Each method, by name in :data:`RECOGNIZER_METHODS`, trains a classifier R on the training
split; the degradation is a task spec (``sr``, ``jpeg:quality=10`` ...) or ``mix`` (each image
degraded by one of the three randomized tasks, ``sr-random``, ``denoise-random`` and
``jpeg-random``, drawn uniformly). "LQ" below is the degraded image resized bicubically to the
clean size (the "no processing" input).

``augment``                naive augmentation: each image is clean or LQ with probability 1/2;
                           cross-entropy.
``train-on-lq``            every image LQ (the RA paper's section 7: R trained on interpolated
                           LQ images); cross-entropy.
``finetune-on-processed``  R initialised from ``init`` and fine-tuned on the frozen
                           ``processor``'s outputs P(LQ) (RA paper section 7).
``feature-kd``             FitNet-style distillation: the batch as for ``augment``; cross-entropy
                           + lambda * D(f_R(x_in), f_teacher(x_clean)) at ``kd_layer`` (D: mean
                           squared (``l2``) or absolute (``l1``) difference), the teacher frozen.
``qualnet``                QualNet's stage 2 (Kim et al., section 3.3): the batch as for
                           ``augment``; cross-entropy + lambda * mean |x_clean -
                           g^-1(c(f_R(x_in)))| with g^-1 the inverse of a frozen invertible
                           classifier (``decoder``, stage 1: ``irevnet``) and c a trained 3 x 3
                           convolution from R's ``kd_layer`` map to g's last map; c and the
                           decoder are not part of the saved classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import RAExplorerError, unknown_name

MIX = ("sr-random", "denoise-random", "jpeg-random")


@dataclass(frozen=True)
class RecognizerMethod:
    """What a recognizer-side method needs and how it forms a batch's input."""

    description: str
    inputs: str                        # "half-lq", "all-lq" or "processed"
    needs: tuple[str, ...] = ()        # of "teacher", "decoder", "processor", "init"
    extra_loss: str | None = None      # None, "kd" or "reconstruction"
    uses_lambda: bool = False


RECOGNIZER_METHODS: dict[str, RecognizerMethod] = {
    "augment": RecognizerMethod("half clean, half LQ images; cross-entropy", "half-lq"),
    "train-on-lq": RecognizerMethod("every image LQ (bicubic-upsampled); cross-entropy",
                                    "all-lq"),
    "finetune-on-processed": RecognizerMethod(
        "fine-tuned from --init on the frozen --processor's outputs", "processed",
        needs=("processor", "init")),
    "feature-kd": RecognizerMethod(
        "half LQ; cross-entropy + lambda * feature distance to a frozen clean teacher",
        "half-lq", needs=("teacher",), extra_loss="kd", uses_lambda=True),
    "qualnet": RecognizerMethod(
        "half LQ; cross-entropy + lambda * L1 reconstruction through a frozen invertible "
        "decoder (QualNet)", "half-lq", needs=("decoder",), extra_loss="reconstruction",
        uses_lambda=True),
}


def list_recognizer_methods() -> list[dict]:
    """One entry per recognizer-side method (``list methods`` shows them beside the
    processor methods)."""
    return [{"name": n, "kind": "classifier", "description": m.description,
             "needs": list(m.needs), "uses_lambda": m.uses_lambda}
            for n, m in RECOGNIZER_METHODS.items()]


def get_recognizer_method(name: str) -> RecognizerMethod:
    if name not in RECOGNIZER_METHODS:
        raise unknown_name("recognizer method", name, list(RECOGNIZER_METHODS))
    return RECOGNIZER_METHODS[name]


@dataclass
class Degrader:
    """LQ images at the clean size from a task spec or ``mix``; (N, C, H, W) in [0, 1]."""

    spec: str
    tasks: list = field(default_factory=list)

    def __post_init__(self):
        from ..data.tasks import create_task

        names = MIX if self.spec == "mix" else (self.spec,)
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
        """The evaluation degradation of images ``indices`` (seeded by index; ``mix``: the
        task by index too), for validation."""
        out = torch.empty_like(x)
        choice = indices % len(self.tasks)
        for k, task in enumerate(self.tasks):
            idx = torch.nonzero(choice == k).flatten()
            if len(idx):
                lq = task.degrade(x[idx], indices[idx].tolist())
                out[idx] = task.upsample(lq, tuple(x.shape[-2:]))
        return out


class QualNetStudent(nn.Module):
    """The classifier being trained and the connector c (R's map -> the decoder's code)."""

    def __init__(self, classifier: nn.Module, connector: nn.Module):
        super().__init__()
        self.classifier = classifier
        self.connector = connector

    def forward(self, x):
        return self.classifier(x)


def feature_distance(a: torch.Tensor, b: torch.Tensor, norm: str) -> torch.Tensor:
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
    if student_map[1:] != code[1:]:
        raise RAExplorerError(
            f"The classifier's {layer} map is {student_map[1]} x {student_map[2]} but the "
            f"decoder's code is {code[1]} x {code[2]}; choose --kd-layer with the code's size.")


def load_frozen(path: str | None, device, kind: str | None = None):
    """A frozen checkpoint (eval mode, no gradients) and its card; (None, None) for None."""
    if not path:
        return None, None
    from ..zoo.checkpoints import load_checkpoint
    from .loops import freeze

    model, card = load_checkpoint(path, device=device, kind=kind)
    return freeze(model), card


def reference(card: dict | None, path: str | None) -> dict | None:
    """How a card names a model it was trained with: name, file, SHA-256 of the weights."""
    if card is None:
        return None
    from .loops import portable_path

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


def recognizer_card_fields(method_name: str, degradation: str, lam: float, kd_layer: str | None,
                           kd_norm: str | None, used: dict) -> dict:
    """The training record of a recognizer-side method, for the card."""
    spec = get_recognizer_method(method_name)
    return {"recognizer_method": method_name, "degradation": degradation,
            "degradation_tasks": list(MIX) if degradation == "mix" else [degradation],
            "lambda": lam if spec.uses_lambda else None,
            "kd_layer": kd_layer if spec.extra_loss else None,
            "kd_norm": kd_norm if spec.extra_loss == "kd" else None,
            **{k: used.get(k) for k in ("teacher", "decoder", "processor", "init")}}


def check_needs(method_name: str, given: dict) -> None:
    spec = get_recognizer_method(method_name)
    missing = [n for n in spec.needs if not given.get(n)]
    if missing:
        flags = ", ".join(f"--{m}" for m in missing)
        raise RAExplorerError(f"Method {method_name!r} needs {flags} (a checkpoint).")
    extra = [n for n in ("teacher", "decoder", "processor") if given.get(n)
             and n not in spec.needs]
    if extra:
        raise RAExplorerError(f"Method {method_name!r} does not use --{extra[0]}.")


def stem(path: str | None) -> str | None:
    return Path(path).name if path else None


class FeatureStudent(nn.Module):
    """forward(x) -> (logits, the ``layer`` map, through ``connector`` when given): one pass,
    so that DistributedDataParallel sees every parameter that gets a gradient."""

    def __init__(self, classifier: nn.Module, layer: str, connector: nn.Module | None = None):
        super().__init__()
        self.classifier = classifier
        self.layer = layer
        self.connector = connector

    def forward(self, x):
        feats = self.classifier.features(x, [self.layer, "logits"])
        fmap = feats[self.layer]
        return feats["logits"], (self.connector(fmap) if self.connector is not None else fmap)


def train_recognizer(method: str, arch: str = "resnet20", options: dict | None = None,
                     **training) -> Path | None:
    """Train classifier ``arch`` with recognizer-side ``method`` (see the module docstring).

    ``options``: ``degradation`` (task spec or ``mix``, default ``mix``), ``teacher`` /
    ``decoder`` / ``processor`` / ``init`` (checkpoint paths, as the method needs), ``lam``
    (default 1.0), ``kd_layer`` (default the classifier's last stage), ``kd_norm`` (``l2``).
    ``training``: the options of :func:`~analysis.training.loops.train_classifier` (dataset,
    out, epochs, batch_size, lr, weight_decay, seed, augmentation, arch_kwargs, data_root,
    limit, val_limit, device, resume, max_steps, dtype, state_dir, progress).
    """
    from ..config import EMBEDDED_DATASET
    from ..data.datasets import load_dataset, normalize_dataset_spec
    from ..device import pick_device
    from ..zoo import create_model, model_kind
    from ..zoo.checkpoints import load_checkpoint
    from ..zoo.options import check_arch_kwargs
    from .loops import (
        FitJob,
        accuracy,
        augment,
        fit,
        init_distributed,
        load_model_state,
        state_identity,
    )

    spec = get_recognizer_method(method)
    o = {"degradation": "mix", "lam": 1.0, "kd_norm": "l2", **(options or {})}
    unknown = set(o) - {"degradation", "teacher", "decoder", "processor", "init", "lam",
                        "kd_layer", "kd_norm"}
    if unknown:
        raise RAExplorerError(f"Unknown recognizer option(s) {', '.join(sorted(unknown))}.")
    check_needs(method, o)
    if model_kind(arch) != "classifier":
        raise RAExplorerError(f"{arch!r} is a {model_kind(arch)}, not a classifier.")
    t = {"dataset": EMBEDDED_DATASET, "out": "checkpoints/classifier", "epochs": 10,
         "batch_size": 128, "lr": 2e-3, "weight_decay": 5e-4, "seed": 0, "augmentation": True,
         "arch_kwargs": None, "data_root": None, "limit": None, "val_limit": None,
         "device": None, "resume": False, "max_steps": None, "dtype": "float32",
         "state_dir": "runs", "progress": True, **training}
    dev = pick_device(t["device"])
    info_dist = init_distributed(dev)
    if dev.type == "cuda" and info_dist.world_size > 1:
        dev = torch.device("cuda", info_dist.local_rank)
    torch.manual_seed(t["seed"])
    train_set = load_dataset(t["dataset"], "train", root=t["data_root"])
    val_set = load_dataset(t["dataset"], "val", root=t["data_root"])
    info = train_set.info
    dataset = normalize_dataset_spec(t["dataset"])
    degrader = Degrader(o["degradation"])
    if spec.inputs == "processed":
        if o["degradation"] == "mix":
            raise RAExplorerError(f"{method} needs the processor's task as --degradation, not "
                                  "mix.")
    kwargs = {"in_channels": info.channels, "num_classes": info.num_classes,
              "mean": list(info.mean), "std": list(info.std),
              **check_arch_kwargs(arch, t["arch_kwargs"] or {}, where="--arch-kw: ")}
    model = create_model(arch, **kwargs)
    init_card = None
    if o.get("init"):
        init_model, init_card = load_checkpoint(o["init"], kind="classifier")
        load_model_state(model, init_model.state_dict(), Path(o["init"]),
                         advice="choose an --init classifier of the same --arch and --arch-kw")
    teacher, teacher_card = load_frozen(o.get("teacher"), dev, "classifier")
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
        trainable = FeatureStudent(model, layer, nn.Conv2d(student_map[0], code[0], 3, 1, 1))
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
                extra = F.l1_loss(decoder.invert(fmap), images)
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
        last = history[-1] if history else {}
        return {
            "kind": "classifier", "arch": arch, "arch_kwargs": kwargs, "dataset": dataset,
            "task": None, "method": method,
            "training": {"epochs": t["epochs"], "batch_size": t["batch_size"], "lr": t["lr"],
                         "weight_decay": t["weight_decay"], "seed": t["seed"],
                         "augmentation": t["augmentation"], "adversarial": None,
                         "limit": t["limit"],
                         **recognizer_card_fields(method, o["degradation"], lam, layer, norm,
                                                  used)},
            "epochs": len(history), "seed": t["seed"],
            "metrics": {k: v for k, v in last.items() if k.startswith("val_")},
            "history": history,
        }

    frozen = "|".join(f"{k}={v['sha256']}" for k, v in used.items() if v)
    job = FitJob(name=Path(t["out"]).name, model=trainable, step=step, validate=validate,
                 card=card, dataset=train_set, epochs=t["epochs"], batch_size=t["batch_size"],
                 lr=t["lr"], weight_decay=t["weight_decay"], seed=t["seed"], limit=t["limit"],
                 out=t["out"], dtype=t["dtype"], resume=t["resume"], max_steps=t["max_steps"],
                 state_dir=t["state_dir"], progress=t["progress"],
                 identity=state_identity(Path(t["out"]).name, dataset, arch, kwargs, method,
                                         o["degradation"], frozen or None),
                 export=lambda m: m.classifier if isinstance(m, FeatureStudent) else m)
    return fit(job, dev, info_dist)
