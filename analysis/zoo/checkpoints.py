"""The checkpoint file format: safetensors weights plus a JSON model card; loading never unpickles.

A checkpoint ``NAME`` is two files side by side: ``NAME.safetensors`` (the
state dict, float32 or float16) and ``NAME.json`` (the model card, checked
against :mod:`analysis.zoo.cards` before anything is built; it carries the
weights' SHA-256, so a loader can tell a card from another checkpoint). Every
failure raises :class:`~analysis.errors.CheckpointError` with one sentence
naming the file and the problem.

A card whose ``weights.store`` is ``outside`` keeps its weights in the weights store
(:func:`~analysis.config.weights_store_dir`, outside the repository) as ``<sha256>.safetensors``:
the zoo's models beyond its size budget, whose cards (and the results citing their hashes) stay
in the repository; without the file such a card is not offered (:func:`weights_present`) and
loading it says how to make the weights.

Loading refuses pickled files, weights with NaN or infinite values (naming the
tensor) and, given ``kind=``, a checkpoint of another kind. ``save_checkpoint``
writes a marker ``NAME.saving`` before the weights and removes it after the
card: a card/weights mismatch with the marker present means the save was
interrupted, not that a file was edited.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from ..config import version, weights_store_dir
from ..errors import CheckpointError, RAExplorerError
from . import MODELS, TransformedProcessor, create_model
from .cards import CARD_FORMAT, validate_card

SAVING_SUFFIX = ".saving"     # marker present while save_checkpoint writes weights and card
PICKLE_MAGICS = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
OUTSIDE = "outside"           # a card's weights.store: the weights live in the weights store


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(card path, weights path) for a stem, a ``.json`` or a ``.safetensors`` path."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".safetensors") else p
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".safetensors")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def state_digest(model: nn.Module) -> str:
    """SHA-256 over a model's state dict (names, dtypes, shapes and bytes, in key order)."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def build_model(card: dict) -> nn.Module:
    """Construct the (untrained) model a card describes, through the registry.

    Build under ``with torch.device("meta"):`` to get the shapes without allocating memory.
    """
    for field in ("arch", "arch_kwargs"):
        if field not in card:
            raise CheckpointError(f"The model card {card.get('name', '?')!r} has no {field!r} field.")
    if card["arch"] not in MODELS:
        raise CheckpointError(f"The model card {card.get('name', '?')!r} names the architecture "
                              f"{card['arch']!r}, which is not in the model registry.")
    try:
        model = create_model(card["arch"], **card["arch_kwargs"])
        if card.get("transformer"):
            t = card["transformer"]
            model = TransformedProcessor(model, create_model(t["arch"], **t["arch_kwargs"]))
    except RAExplorerError:
        raise
    except (TypeError, ValueError, RuntimeError, AssertionError, KeyError, IndexError) as exc:
        raise CheckpointError(f"The model card {card.get('name', '?')!r} has arch_kwargs that do "
                              f"not build a {card['arch']!r} ({' '.join(str(exc).split())}).") from exc
    return model


def saving_marker(path: str | os.PathLike) -> Path:
    """The marker that exists while :func:`save_checkpoint` writes ``path``."""
    card_path, _ = checkpoint_paths(path)
    return card_path.with_name(card_path.stem + SAVING_SUFFIX)


def _interrupted(card_path: Path) -> CheckpointError:
    return CheckpointError(
        f"Training was interrupted while {card_path.stem} was being saved (the weights and the "
        f"card {card_path.name} do not belong together yet, and {card_path.stem}{SAVING_SUFFIX} "
        "is still there): run the same training command again with --resume.")


def save_checkpoint(model: nn.Module, card: dict, path: str | os.PathLike,
                    dtype: str = "float32") -> Path:
    """Write ``path.safetensors`` and ``path.json``; returns the card path.

    ``dtype`` is the storage type of floating-point tensors (``float32`` or
    ``float16``); integer buffers keep their type. The card is completed with
    name, format, version, creation time and the weights' SHA-256.
    """
    from safetensors.torch import save_file

    card_path, weights_path = checkpoint_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    storage = {"float32": torch.float32, "float16": torch.float16}[dtype]
    state = {k: (v.detach().to("cpu", storage) if v.is_floating_point() else v.detach().cpu())
             .contiguous() for k, v in model.state_dict().items()}
    marker = saving_marker(card_path)
    marker.write_text(json.dumps({"pid": os.getpid(),
                                  "started": datetime.now(timezone.utc).isoformat()}) + "\n")
    tmp = weights_path.with_name(weights_path.name + ".tmp")
    save_file(state, str(tmp), metadata={"arch": card["arch"], "kind": card["kind"],
                                         "format": CARD_FORMAT})
    os.replace(tmp, weights_path)  # never leave a half-written file under the real name
    full = {
        "format": CARD_FORMAT,
        **card,
        "weights": {"file": weights_path.name, "sha256": sha256_file(weights_path), "dtype": dtype,
                    "num_parameters": int(sum(p.numel() for p in model.parameters()))},
        "version": version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    full["name"] = card_path.stem
    _write_card(card_path, full)
    marker.unlink()
    return card_path


def stored_outside(card: dict) -> bool:
    """Whether a card's weights live in the weights store instead of beside it."""
    return card["weights"].get("store") == OUTSIDE


def weights_file(card_path: Path, card: dict) -> Path:
    """Where a card's weights are: beside the card (``weights.file``), or for weights stored
    outside ``<weights store>/<sha256>.safetensors``."""
    if stored_outside(card):
        return weights_store_dir() / f"{card['weights']['sha256']}.safetensors"
    return beside_file(card_path, card)


def beside_file(card_path: Path, card: dict) -> Path:
    """The weights file beside a card (``weights.file``, default ``<name>.safetensors``)."""
    return card_path.with_name(card["weights"].get("file", card_path.stem + ".safetensors"))


def weights_present(card: dict) -> bool:
    """Whether a loaded card's weights file is there (beside it or in the weights store)."""
    return weights_file(checkpoint_paths(card["path"])[0], card).is_file()


def absent_outside_message(card: dict) -> str:
    """One sentence: where the weights of a card stored outside were looked for, how to make
    them."""
    return (f"The weights of {card['name']} are kept outside the repository (its card says so) "
            f"and {weights_store_dir()} does not hold them; make them with 'python -m analysis "
            f"build-zoo --only {card['name']}', or set $RA_WEIGHTS_STORE to the folder that does.")


def move_outside(path: str | os.PathLike) -> dict:
    """Move a saved checkpoint's weights into the weights store (named by their SHA-256) and
    mark its card ``weights.store = outside``; the card stays where it is. Returns the card.

    Each step can be repeated after an interruption: the copy is written under a temporary name
    and checked before the card changes, and a file left beside an outside card with the card's
    hash (a move cut off before its last step) is removed."""
    card = load_card(path)
    card_path, _ = checkpoint_paths(path)
    beside = beside_file(card_path, card)
    digest = card["weights"].get("sha256")
    if stored_outside(card):
        if beside.is_file() and weights_present(card) and sha256_file(beside) == digest:
            beside.unlink()
        return card
    if sha256_file(beside) != digest:
        raise CheckpointError(f"{beside.name} does not match the SHA-256 in {card_path.name}; "
                              "the card and weights disagree, nothing was moved.")
    target = weights_store_dir() / f"{digest}.safetensors"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.is_file() and sha256_file(target) == digest):
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(beside, tmp)
        if sha256_file(tmp) != digest:
            raise CheckpointError(f"The copy of {beside.name} in {target.parent} does not match "
                                  "its SHA-256; nothing was moved.")
        os.replace(tmp, target)
    card = update_card(card_path, weights={**card["weights"], "store": OUTSIDE})
    beside.unlink()
    return card


def restore_as(path: str | os.PathLike, dtype: str, **fields) -> dict:
    """Rewrite a saved checkpoint's weights in storage ``dtype`` (``float32`` or ``float16``),
    keeping every field of its card (its creation time included) and merging ``fields`` (a
    note of the check that allowed it); returns the new card."""
    model, card = load_checkpoint(path)
    kept = {k: v for k, v in card.items() if k not in ("format", "weights", "version", "path")}
    card_path = save_checkpoint(model, kept, card["path"], dtype=dtype)
    restored = update_card(card_path, created=card.get("created"), version=card.get("version"),
                           **fields)
    return move_outside(card_path) if stored_outside(card) else restored


def _write_card(card_path: Path, card: dict) -> None:
    """Write a card atomically (a temporary file, then a rename)."""
    tmp = card_path.with_name(card_path.name + ".tmp")
    tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, card_path)


def update_card(path: str | os.PathLike, **fields) -> dict:
    """Merge ``fields`` into a saved card (``metrics`` dicts are merged key by key)."""
    card_path, _ = checkpoint_paths(path)
    card = load_card(card_path)
    for key, value in fields.items():
        if key == "metrics" and isinstance(value, dict):
            card.setdefault("metrics", {}).update(value)
        else:
            card[key] = value
    card.pop("path", None)
    _write_card(card_path, card)
    return card


# checked cards by their text: the app lists the zoo on every page run, and a card's check
# depends on nothing but its text and the model registry (reading the file stays: it is cheap)
_CHECKED_CARDS: dict[bytes, dict] = {}


def load_card(path: str | os.PathLike) -> dict:
    """Read and check a model card; adds ``path`` (the stem) to the returned dict (a fresh
    copy each call; a text checked before is not parsed or checked again)."""
    card_path, _ = checkpoint_paths(path)
    if not card_path.exists():
        if saving_marker(card_path).exists():
            raise _interrupted(card_path)
        raise CheckpointError(f"The model card {card_path} does not exist; every checkpoint needs "
                              "its .json card beside its .safetensors weights.")
    try:
        text = card_path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"The model card {card_path} cannot be read ({exc.strerror}).") from exc
    key = hashlib.blake2b(text, digest_size=20).digest()
    if key not in _CHECKED_CARDS:
        try:
            card = json.loads(text.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"The model card {card_path} is not valid JSON ({exc}).") from exc
        validate_card(card, card_path)
        if len(_CHECKED_CARDS) > 4096:
            _CHECKED_CARDS.clear()
        _CHECKED_CARDS[key] = card
    card = copy.deepcopy(_CHECKED_CARDS[key])
    card["path"] = str(card_path.with_suffix(""))
    return card


def _read_weights(weights_path: Path) -> tuple[dict, dict]:
    from safetensors import safe_open

    if not weights_path.exists():
        raise CheckpointError(f"The weights file {weights_path} does not exist.")
    with open(weights_path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(PICKLE_MAGICS):
        raise CheckpointError(
            f"{weights_path} is a pickled PyTorch file, which RA Explorer never loads because "
            "unpickling can run code; convert it with 'python -m analysis import-weights'.")
    try:
        state = {}
        with safe_open(str(weights_path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            for key in fh.keys():
                state[key] = fh.get_tensor(key)
    except Exception as exc:  # safetensors raises several types for bad headers / short files
        raise CheckpointError(f"The weights file {weights_path} is corrupt or truncated ({exc}); "
                              "restore it from git or retrain the model.") from exc
    return state, metadata


def _check_finite(state: dict, weights_path: Path) -> None:
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            kind = "NaN" if bool(torch.isnan(tensor).any()) else "infinite"
            raise CheckpointError(
                f"{weights_path.name} holds {kind} values ({bad} of {tensor.numel()}) in the tensor "
                f"{key!r}; the training diverged or the file was damaged: retrain the model "
                "(for example with a smaller --lr).")


def load_checkpoint(path: str | os.PathLike, device: str | torch.device | None = None,
                    verify_hash: bool = True, kind: str | None = None) -> tuple[nn.Module, dict]:
    """Build the model a card describes and load its weights strictly; returns (model, card).

    The model is in eval mode on ``device`` (default CPU) with float32 weights.
    ``kind`` (``"classifier"``, ``"processor"``) refuses a checkpoint of another kind.
    """
    card = load_card(path)
    card_path, _ = checkpoint_paths(path)
    if kind and card["kind"] != kind:
        raise CheckpointError(f"{card['name']} is a {card['kind']} checkpoint, not a {kind}; "
                              f"choose a {kind} (see 'python -m analysis list checkpoints').")
    weights_path = weights_file(card_path, card)
    interrupted = saving_marker(card_path).exists()
    if not weights_path.exists() and interrupted:
        raise _interrupted(card_path)
    if not weights_path.exists() and stored_outside(card):
        raise CheckpointError(absent_outside_message(card))
    state, metadata = _read_weights(weights_path)
    if metadata.get("arch") and metadata["arch"] != card["arch"]:
        if interrupted:
            raise _interrupted(card_path)
        raise CheckpointError(
            f"The card {card_path} names the architecture {card['arch']!r} but {weights_path.name} "
            f"was saved from {metadata['arch']!r}; the card and weights disagree.")
    expected_hash = card["weights"].get("sha256")
    if verify_hash and expected_hash and sha256_file(weights_path) != expected_hash:
        if interrupted:
            raise _interrupted(card_path)
        raise CheckpointError(
            f"{weights_path.name} does not match the SHA-256 in {card_path.name}; the card and "
            "weights disagree (one of them was replaced or edited).")
    _check_finite(state, weights_path)
    with torch.device("meta"):   # shapes first: a card must not allocate more than its weights
        reference = build_model(card).state_dict()
    missing = sorted(set(reference) - set(state))
    unexpected = sorted(set(state) - set(reference))
    if missing or unexpected:
        raise CheckpointError(
            f"{weights_path.name} does not fit the architecture {card['arch']!r} of its card: "
            f"{len(missing)} missing key(s) (e.g. {missing[:2]}) and {len(unexpected)} unexpected "
            f"key(s) (e.g. {unexpected[:2]}).")
    wrong = [f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
             for k, v in reference.items() if state[k].shape != v.shape]
    if wrong:
        raise CheckpointError(f"{weights_path.name} has {len(wrong)} tensor(s) whose shape does not "
                              f"fit the card's architecture, e.g. {wrong[0]}.")
    model = build_model(card)
    reference = model.state_dict()
    model.load_state_dict({k: v.to(reference[k].dtype) for k, v in state.items()}, strict=True)
    model.eval()
    return model.to(device or "cpu"), card


def load_models(cards: list[dict], device=None) -> dict[str, nn.Module]:
    """{name: model} for each card (see :func:`load_checkpoint`)."""
    return {c["name"]: load_checkpoint(c["path"], device=device)[0] for c in cards}
