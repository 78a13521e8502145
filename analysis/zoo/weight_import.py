"""Weight import: a user's ``torch.save`` state dict converted into a checkpoint (safetensors
and a card), read without unpickling arbitrary objects."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import torch

from ..data.datasets import load_dataset, normal_dataset
from ..errors import CheckpointError, InputError
from . import MODELS, create_model
from .catalogue import find_checkpoints
from .checkpoints import checkpoint_paths, save_checkpoint
from .dataset_fit import check_classifier_fits
from .options import check_arch_kwargs


def weights_kwargs(arch: str, state: dict) -> dict:
    """Constructor options read from foreign weights: ``num_classes`` from the classifier
    head (the last 2-D weight, e.g. torchvision's ``fc.weight`` (classes, features)) and
    ``in_channels`` from the first convolution, for builders that take them."""
    takes = inspect.signature(MODELS[arch].builder).parameters
    weights = [v for k, v in state.items() if k.endswith("weight")]
    found = {}
    heads = [w for w in weights if w.ndim == 2]
    convs = [w for w in weights if w.ndim == 4]
    if "num_classes" in takes and MODELS[arch].kind == "classifier" and heads:
        found["num_classes"] = int(heads[-1].shape[0])
    if "in_channels" in takes and convs:
        found["in_channels"] = int(convs[0].shape[1])
    return found


def existing_checkpoint(out: str | os.PathLike) -> Path | None:
    """The card or weights file of the checkpoint stem ``out`` that is already there, or the
    card of its folder that already gives its name; None when the name is free."""
    card_path, weights_path = checkpoint_paths(out)
    there = next((p for p in (card_path, weights_path) if p.exists()), None)
    if there is None and card_path.parent.is_dir():
        there = next((checkpoint_paths(c["path"])[0] for c in
                      find_checkpoints(card_path.parent) if c["name"] == card_path.stem), None)
    return there


def import_weights(arch: str, source: str | os.PathLike, out: str | os.PathLike,
                   arch_kwargs: dict | None = None, dataset: str | None = None, force: bool = False,
                   **card_fields) -> Path:
    """Convert a user's ``torch.save`` state dict into a safetensors checkpoint with a card.

    The source is read with ``torch.load(weights_only=True)``, which refuses
    arbitrary pickled objects. torchvision layouts (``conv1``, ``features.0``
    ...) are mapped onto the wrapper's stage names by position. The class count and
    input channels come from the weights (:func:`weights_kwargs`) unless
    ``arch_kwargs`` gives them. ``dataset`` (required) is the dataset the weights are for,
    written in the card so that the verbs find them; a classifier whose class count or input
    channels differ from the dataset's is refused, and nothing is written. A checkpoint already
    at ``out`` is overwritten only with ``force``; else one sentence, and nothing is read or
    written.
    """
    if not dataset:
        raise InputError("import-weights needs the dataset the weights are for (--dataset SPEC, "
                         "e.g. --dataset imagefolder:/data/imgs): a card without one is found by "
                         "no verb.")
    there = existing_checkpoint(out)
    if there is not None and not force:
        raise CheckpointError(f"{there} already exists; pass --force to overwrite the checkpoint "
                              f"{Path(out).name} (results measured with its weights will then "
                              "say so), or choose another --out.")
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{source} could not be read as a plain state dict ({exc}).") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{source} is not a state dict (a mapping of names to tensors).")
    kwargs = check_arch_kwargs(arch, {**weights_kwargs(arch, state), **dict(arch_kwargs or {})})
    model = create_model(arch, **kwargs)
    target = model.state_dict()
    source_keys = [k for k in state if not k.endswith("num_batches_tracked")]
    wrapper_buffers = {"mean", "std"}  # the wrapper's normalisation, not in foreign state dicts
    target_keys = [k for k in target
                   if not k.endswith("num_batches_tracked") and k not in wrapper_buffers]
    if len(source_keys) != len(target_keys):
        raise CheckpointError(f"{source} does not fit the architecture {arch!r} with {kwargs}: "
                              f"it holds {len(source_keys)} tensors, the architecture "
                              f"{len(target_keys)}.")
    wrong = [(s, t) for s, t in zip(source_keys, target_keys) if state[s].shape != target[t].shape]
    if wrong:
        s, t = wrong[0]
        raise CheckpointError(f"{source} does not fit the architecture {arch!r} with {kwargs}: "
                              f"{s} is {tuple(state[s].shape)} where {arch!r} has "
                              f"{tuple(target[t].shape)} ({len(wrong)} tensor(s) differ).")
    mapped = dict(target)
    for s, t in zip(source_keys, target_keys):
        mapped[t] = state[s]
    model.load_state_dict(mapped)
    kind = MODELS[arch].kind
    if kind == "classifier":
        check_classifier_fits(
            f"in {source}", model, load_dataset(dataset, "test").info, normal_dataset(dataset),
            fix="import weights for this dataset, or name the dataset they were trained on")
    return save_checkpoint(model, {"kind": kind, "arch": arch, "arch_kwargs": kwargs,
                                   "dataset": normal_dataset(dataset),
                                   "imported_from": str(source), **card_fields}, out)
