"""Training loops: classifiers (standard or PGD-L2 adversarial) and processors (every method).

Both share :func:`fit`: Adam(W) with a cosine LR schedule, seeded data order
and degradations, tqdm progress, validation after every epoch, a resumable
state file written after every epoch (``torch.load(weights_only=True)``
reads it back), CUDA with bfloat16 autocast when present, and
DistributedDataParallel when started under torchrun (``WORLD_SIZE`` > 1;
nccl on GPU, gloo on CPU), rank 0 writing the one checkpoint.

The state file records what it trains (:func:`state_identity`: name, dataset,
architecture and options, method, task, recognizer digest); ``--resume`` reads
it with :func:`read_state`, which refuses a damaged or foreign file and a state
of another run with one sentence naming both sides.

The recognizer used by a processor's loss is frozen: eval mode,
``requires_grad=False``, never handed to the optimizer.
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
import torch.nn.functional as F
from torch import nn

from ..config import EMBEDDED_DATASET
from ..data.datasets import iterate_batches, load_dataset, normalize_dataset_spec, same_dataset
from ..data.tasks import create_task
from ..device import pick_device
from ..errors import RAExplorerError, TrainingStateError, unknown_name
from ..pipeline.distributed import join_process_group, world_size_from_env
from ..zoo import TransformedProcessor, create_model, model_kind
from ..zoo.checkpoints import load_checkpoint, save_checkpoint, state_digest
from ..zoo.options import check_arch_kwargs
from .losses import ScaledFeatures, channel_mean_scales
from .methods import FEATURE_NORMS, METHODS, PERCEPTUAL_OPTIONS, LossContext, get_method

# ----------------------------------------------------------------------------- distributed helpers

@dataclass
class DistInfo:
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
    if info.world_size > 1:
        import torch.distributed as dist
        dist.barrier()


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and no gradients: the recognizer must be bit-identical after training."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# ----------------------------------------------------------------------------- the shared loop

@dataclass
class FitJob:
    """What :func:`fit` needs from a trainer.

    ``step(images, labels, indices, gen)`` returns (loss, {name: float});
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


def _state_path(job: FitJob) -> Path:
    return Path(job.state_dir) / f"{Path(job.out).name}.state.pt"


# ----------------------------------------------------------------------------- the training state

STATE_KEYS = ("model", "optimizer", "scheduler", "epoch", "history")
RESTART = "delete it or run without --resume to start again"


def state_identity(name: str, dataset: str | None, arch: str, arch_kwargs: dict,
                   method: str | None, task: str | None = None,
                   recognizer_sha256: str | None = None, transformer: dict | None = None) -> dict:
    """What a training state trains: the fields a resumed run (or a reader) must match.

    ``arch_kwargs`` and ``transformer`` are normalised through JSON (tuples become lists),
    so the identity built at training time equals the one built from the saved card.
    ``recognizer_sha256`` is the recognizer's :func:`~analysis.checkpoints.state_digest`.
    """
    def plain(value):
        return json.loads(json.dumps(value, sort_keys=True))

    return {"name": name, "dataset": dataset, "task": task, "arch": arch, "method": method,
            "recognizer_sha256": recognizer_sha256,
            "transformer": plain(transformer) if transformer else None,
            "arch_kwargs": plain(arch_kwargs)}


def card_state_identity(card: dict) -> dict:
    """:func:`state_identity` of the run that wrote the model card ``card``."""
    return state_identity(card["name"], card.get("dataset"), card["arch"], card["arch_kwargs"],
                          card.get("method"), card.get("task"), card.get("source_state_sha256"),
                          card.get("transformer"))


IDENTITY_LABELS = {"name": "name", "dataset": "dataset", "task": "task", "arch": "architecture",
                   "method": "method", "recognizer_sha256": "recognizer",
                   "transformer": "transformer", "arch_kwargs": "architecture options"}


def _describe(key: str, value) -> str:
    if key in ("arch_kwargs", "transformer") and value is not None:
        return json.dumps(value, sort_keys=True)
    if key == "recognizer_sha256":
        return f"state digest {value[:12]}..." if value else "none"
    return repr(value)


def check_state_identity(saved: dict, expected: dict, path: Path, advice: str = RESTART) -> None:
    """Refuse a state whose identity differs from ``expected``, naming both values of each field."""
    differ = [f"{IDENTITY_LABELS.get(k, k)} {_describe(k, saved.get(k))} there, "
              f"{_describe(k, want)} here" for k, want in expected.items() if saved.get(k) != want]
    if differ:
        raise TrainingStateError(f"The training state {path} belongs to another run "
                                 f"({'; '.join(differ)}); {advice}.")


def read_state(path: str | os.PathLike, expected: dict | None = None,
               advice: str = RESTART) -> dict:
    """Read a training state (``torch.load(weights_only=True)``, never unpickling code).

    A truncated, empty or foreign file, or (given ``expected``) the state of another
    run, raises :class:`~analysis.errors.TrainingStateError` with one sentence ending in
    ``advice``. States written before identities were recorded are read unchecked.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # EOFError, zip errors, UnpicklingError ... all mean "not readable"
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise TrainingStateError(f"The training state {path} is damaged or is not a training "
                                 f"state ({reason}); {advice}.") from None
    if not isinstance(state, dict) or any(k not in state for k in STATE_KEYS):
        have = sorted(state)[:5] if isinstance(state, dict) else type(state).__name__
        raise TrainingStateError(f"The training state {path} is not an RA Explorer training state "
                                 f"(it holds {have}); {advice}.")
    if not isinstance(state["model"], dict) or not isinstance(state["history"], list) or not (
            isinstance(state["epoch"], int) and state["epoch"] >= 0):
        raise TrainingStateError(f"The training state {path} is damaged (its model, epoch or "
                                 f"history has the wrong type); {advice}.")
    if expected is not None and "identity" in state:
        try:
            saved = json.loads(state["identity"])
        except (TypeError, ValueError):
            raise TrainingStateError(f"The training state {path} has a damaged identity; "
                                     f"{advice}.") from None
        check_state_identity(saved, expected, path, advice)
    return state


def load_model_state(model: nn.Module, weights: dict, path: Path, advice: str = RESTART) -> None:
    """``model.load_state_dict(weights)``, or one sentence when the state does not fit."""
    try:
        model.load_state_dict(weights, strict=True)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise TrainingStateError(f"The training state {path} does not fit this model ({first}); "
                                 f"{advice}.") from None


def fit(job: FitJob, device: torch.device, dist_info: DistInfo) -> Path | None:
    """Run the epochs of ``job``; returns the card path on rank 0 (None elsewhere)."""
    from tqdm import tqdm

    model = job.model.to(device)
    trainable = model
    if dist_info.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
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
    use_amp = device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    steps_done = 0
    for epoch in range(start_epoch, job.epochs):
        model.train()
        gen = torch.Generator().manual_seed(job.seed * 7919 + epoch * 104729 + dist_info.rank)
        batches = iterate_batches(job.dataset, job.batch_size, shuffle=True, seed=job.seed,
                                  epoch=epoch, limit=job.limit, rank=dist_info.rank,
                                  world_size=dist_info.world_size)
        bar = tqdm(batches, total=steps_per_epoch, desc=f"{job.name} {epoch + 1}/{job.epochs}",
                   disable=not (job.progress and dist_info.is_main), file=sys.stderr, leave=False)
        sums: dict[str, float] = {}
        count = 0
        t0 = time.perf_counter()
        for images, labels, indices in bar:
            images, labels = images.to(device), labels.to(device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                loss, parts = job.step(trainable, images, labels, indices, gen)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
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
        saved = job.export(model) if job.export is not None else model
        card_path = save_checkpoint(saved, card, job.out, dtype=job.dtype)
        print(f"Wrote {card_path}", file=sys.stderr)
    barrier(dist_info)
    return card_path


# ----------------------------------------------------------------------------- classifiers

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
    """Top-1 accuracy (in [0, 1]) of ``model`` on ``dataset``, optionally on ``transform(x, idx)``."""
    correct = total = 0
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
    """Accuracy under a PGD-``steps`` L2 attack of radius ``eps`` ([0, 1]-pixel units)."""
    gen = torch.Generator().manual_seed(seed)
    correct = total = 0
    model.eval()
    for images, labels, _ in iterate_batches(dataset, batch_size, limit=limit):
        images, labels = images.to(device), labels.to(device)
        adv = pgd_l2(model, images, labels, eps, steps, gen=gen)
        with torch.no_grad():
            correct += int((model(adv).argmax(1) == labels).sum())
        total += len(labels)
    return correct / max(total, 1)


def classifier_method(adv_eps: float, alp: float = 0.0) -> str:
    """The card's ``method`` of a classifier: standard, adversarial, or adversarial-alp."""
    return "standard" if adv_eps <= 0 else ("adversarial-alp" if alp > 0 else "adversarial")


def train_classifier(arch: str, dataset: str = EMBEDDED_DATASET, out: str = "checkpoints/classifier",
                     epochs: int = 10, batch_size: int = 128, lr: float = 2e-3,
                     weight_decay: float = 5e-4, seed: int = 0, adv_eps: float = 0.0,
                     adv_steps: int = 7, alp: float = 0.0, augmentation: bool = True,
                     arch_kwargs: dict | None = None,
                     data_root: str | None = None, limit: int | None = None,
                     val_limit: int | None = None, device: str | None = None,
                     resume: bool = False, max_steps: int | None = None, dtype: str = "float32",
                     state_dir: str = "runs", progress: bool = True) -> Path | None:
    """Train classifier ``arch`` on ``dataset``; PGD-L2 adversarial training when ``adv_eps`` > 0.

    ``alp`` > 0 adds adversarial logit pairing (Kannan et al. 2018): each batch is trained on
    its clean and its adversarial images together, loss = mean cross-entropy over both
    + ``alp`` * mean over images of the squared L2 distance between the clean and the
    adversarial logits (divided by the number of classes, as ``F.mse_loss`` does).
    """
    if model_kind(arch) != "classifier":
        raise RAExplorerError(f"{arch!r} is a {model_kind(arch)}, not a classifier.")
    if alp > 0 and adv_eps <= 0:
        raise RAExplorerError("Adversarial logit pairing (--alp) pairs clean and adversarial "
                              "images; give --adv-eps > 0 too.")
    dev = pick_device(device)
    info_dist = init_distributed(dev)
    if dev.type == "cuda" and info_dist.world_size > 1:
        dev = torch.device("cuda", info_dist.local_rank)
    torch.manual_seed(seed)
    train_set = load_dataset(dataset, "train", root=data_root)
    val_set = load_dataset(dataset, "val", root=data_root)
    info = train_set.info
    dataset = normalize_dataset_spec(dataset)     # what the card and the state identity record
    kwargs = {"in_channels": info.channels, "num_classes": info.num_classes,
              "mean": list(info.mean), "std": list(info.std),
              **check_arch_kwargs(arch, arch_kwargs or {}, where="--arch-kw: ")}
    model = create_model(arch, **kwargs)

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
        last = history[-1] if history else {}
        return {
            "kind": "classifier", "arch": arch, "arch_kwargs": kwargs, "dataset": dataset,
            "task": None, "method": classifier_method(adv_eps, alp),
            "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                         "weight_decay": weight_decay, "seed": seed, "augmentation": augmentation,
                         "adversarial": ({"norm": "L2", "eps": adv_eps, "steps": adv_steps,
                                          "units": "[0,1]-pixel L2",
                                          **({"logit_pairing": alp} if alp > 0 else {})}
                                         if adv_eps > 0 else None),
                         "limit": limit},
            "epochs": len(history), "seed": seed,
            "metrics": {k: v for k, v in last.items() if k.startswith("val_")},
            "history": history,
        }

    job = FitJob(name=Path(out).name, model=model, step=step, validate=validate, card=card,
                 dataset=train_set, epochs=epochs, batch_size=batch_size, lr=lr,
                 weight_decay=weight_decay, seed=seed, limit=limit, out=out, dtype=dtype,
                 resume=resume, max_steps=max_steps, state_dir=state_dir, progress=progress,
                 identity=state_identity(Path(out).name, dataset, arch, kwargs,
                                         classifier_method(adv_eps, alp)))
    return fit(job, dev, info_dist)


# ----------------------------------------------------------------------------- processors

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
    """
    from ..pipeline.runner import stream

    psnr_sum = correct = total = 0.0
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
                    init: str | None = None, perceptual: dict | None = None) -> Path | None:
    """Train an SRResNet processor for ``task`` with ``method`` (see analysis.methods).

    ``recognizer`` is the checkpoint path of the frozen classifier used by the
    loss (and, for reporting, in validation). ``init`` optionally starts P
    from another processor checkpoint (e.g. the plain one, for lambda sweeps).
    ``perceptual`` holds Uelwer et al.'s settings of the perceptual methods
    (:data:`~analysis.training.methods.PERCEPTUAL_OPTIONS`: ``layer_weights``,
    ``texture_layers``, ``patch_pixels``, ``feature_norm``).
    """
    spec = get_method(method)
    dev = pick_device(device)
    info_dist = init_distributed(dev)
    if dev.type == "cuda" and info_dist.world_size > 1:
        dev = torch.device("cuda", info_dist.local_rank)
    torch.manual_seed(seed)
    the_task = create_task(task)
    train_set = load_dataset(dataset, "train", root=data_root)
    val_set = load_dataset(dataset, "val", root=data_root)
    info = train_set.info
    dataset = normalize_dataset_spec(dataset)     # what the card and the state identity record

    rec, rec_card, rec_digest = None, None, None
    if recognizer:
        rec, rec_card = load_checkpoint(recognizer, device=dev, kind="classifier")
        freeze(rec)
        rec_digest = state_digest(rec)
        if rec_card["kind"] != "classifier":
            raise RAExplorerError(f"The recognizer {recognizer} is a {rec_card['kind']}, "
                                  "not a classifier.")
    if spec.needs_recognizer and rec is None:
        raise RAExplorerError(f"Method {method!r} needs --recognizer (a classifier checkpoint).")
    if spec.needs_robust and not (rec_card.get("training") or {}).get("adversarial"):
        raise RAExplorerError(f"Method {method!r} needs an adversarially trained recognizer, but "
                              f"the card of {recognizer} records standard training.")
    kwargs = {"in_channels": info.channels, "scale": the_task.scale,
              **check_arch_kwargs("srresnet", arch_kwargs or {}, where="--arch-kw: ")}
    processor = create_model("srresnet", **kwargs)
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
    if rec_card is not None and rec_card.get("dataset") and not same_dataset(rec_card["dataset"],
                                                                              dataset):
        raise RAExplorerError(f"The recognizer {recognizer} was trained on "
                              f"{rec_card['dataset']!r}, not on {dataset!r}; choose a "
                              "classifier of this dataset.")
    default_layers = rec.feature_names[:2] if rec is not None else []
    ctx = LossContext(recognizer=rec, lam=lam, unsup_distance=unsup_distance,
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
        parts = spec.loss(ctx, out, images, labels)
        loss = sum(parts.values())
        return loss, {k: v.item() for k, v in parts.items()}

    def deployed():
        return _deployed_pipeline(model) if spec.uses_transformer else model

    def validate():
        return processor_validation(deployed(), the_task, val_set, dev, rec, limit=val_limit)

    def card(history):
        last = history[-1] if history else {}
        if rec is not None and state_digest(rec) != rec_digest:
            raise RAExplorerError(f"The recognizer {recognizer} changed during training; "
                                  "this is a bug, and no checkpoint was written.")
        c = {
            "kind": "processor", "arch": "srresnet", "arch_kwargs": kwargs, "dataset": dataset,
            "task": the_task.spec, "method": method, "lambda": lam,
            "source": Path(recognizer).name if recognizer else None,
            "source_state_sha256": rec_digest,
            "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                         **spec.card_options(ctx),
                         "init": portable_path(init), "limit": limit},
            "epochs": len(history), "seed": seed,
            "metrics": {k: v for k, v in last.items() if k.startswith("val_")},
            "history": history,
        }
        if spec.uses_transformer:
            c["transformer"] = {"arch": "cyclegan-resnet", "arch_kwargs": t_kwargs}
        return c

    identity = state_identity(Path(out).name, dataset, "srresnet", kwargs, method,
                              the_task.spec, rec_digest,
                              {"arch": "cyclegan-resnet", "arch_kwargs": t_kwargs}
                              if spec.uses_transformer else None)
    job = FitJob(name=Path(out).name, model=model, step=step, validate=validate, card=card,
                 dataset=train_set, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                 limit=limit, out=out, dtype=dtype, resume=resume, max_steps=max_steps,
                 state_dir=state_dir, progress=progress, identity=identity)
    return fit(job, dev, info_dist)


NORM_IMAGES = 1024   # clean training images that fix the feature normalisation


def norm_images(dataset, device) -> torch.Tensor:
    """The first :data:`NORM_IMAGES` training images (N, C, H, W) on ``device``."""
    n = min(NORM_IMAGES, len(dataset))
    return torch.stack([dataset[i][0] for i in range(n)]).to(device)


def perceptual_settings(options: dict | None, spec, layers) -> dict:
    """LossContext fields from ``train_processor``'s ``perceptual`` dict, checked."""
    if not options:
        return {}
    unknown = set(options) - set(PERCEPTUAL_OPTIONS)
    if unknown:
        raise RAExplorerError(f"Unknown perceptual option(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(PERCEPTUAL_OPTIONS)}.")
    if spec.loss is not METHODS["perceptual"].loss:
        raise RAExplorerError("Perceptual options (layer weights, texture layers, patch pixels, "
                              "feature normalisation) apply to the perceptual methods only.")
    out = dict(options)
    if out.get("layer_weights") is not None:
        out["layer_weights"] = tuple(float(w) for w in out["layer_weights"])
        if len(out["layer_weights"]) != len(layers):
            raise RAExplorerError(f"{len(out['layer_weights'])} layer weights for "
                                  f"{len(layers)} perceptual layers ({', '.join(layers)}).")
    if out.get("texture_layers") is not None:
        out["texture_layers"] = tuple(out["texture_layers"])
    norm = out.get("feature_norm", "none")
    if norm not in FEATURE_NORMS:
        raise unknown_name("feature normalisation", norm, list(FEATURE_NORMS))
    return out


def portable_path(path: str | None) -> str | None:
    """A path relative to the project root when it lies inside it (cards travel with git)."""
    if path is None:
        return None
    from ..config import PROJECT_ROOT as root

    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def _deployed_pipeline(model: ProcessorWithTransformer) -> nn.Module:
    return TransformedProcessor(model.processor, model.transformer)
