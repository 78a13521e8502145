"""Checkpoints: safetensors weights plus a JSON model card; loading never unpickles.

A checkpoint ``NAME`` is two files side by side: ``NAME.safetensors`` (the
state dict, float32 or float16) and ``NAME.json`` (the model card). The card
records what the model is (kind, arch and constructor kwargs), what it was
trained on (dataset, task spec, method, lambda, source recognizer, epochs,
seed), what was measured (metrics) and the weights' SHA-256, so a loader can
tell a card from another checkpoint. Every failure raises
:class:`~analysis.errors.CheckpointError` with one sentence naming the file
and the problem.

Before anything is built, a card is checked against a schema
(:func:`validate_card`): the type of every field, ``arch_kwargs`` against the
builder's signature, ``weights.file`` a plain file name in the card's folder and
``kind`` the architecture's kind. Loading also refuses weights with NaN or
infinite values (naming the tensor) and, given ``kind=``, a checkpoint of
another kind. ``save_checkpoint`` writes a marker ``NAME.saving`` before the
weights and removes it after the card: a card/weights mismatch with the marker
present means the save was interrupted, not that a file was edited.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from .. import __version__
from ..config import checkpoints_dir
from ..errors import CheckpointError, RAExplorerError, close_names_hint
from . import MODELS, TransformedProcessor, create_model
from .options import check_arch_kwargs

CARD_FORMAT = "ra-explorer-card/1"
REQUIRED_FIELDS = ("format", "name", "kind", "arch", "arch_kwargs", "weights")
KINDS = ("classifier", "processor", "transformer")
STORAGE_DTYPES = ("float32", "float16")
SAVING_SUFFIX = ".saving"     # marker present while save_checkpoint writes weights and card
PICKLE_MAGICS = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def checkpoint_dir(override: str | os.PathLike | None = None) -> Path:
    """The checkpoint folder: ``override``, else $RA_CHECKPOINTS, else the embedded ``checkpoints/``."""
    return checkpoints_dir(override)


# Sub-folders of a checkpoint folder that hold a collection of models beside the zoo (not
# listed by the zoo's tables and pages unless asked for): Uelwer et al.'s loss grid, and the
# recognizer-side classifiers (trained for degraded inputs).
COLLECTIONS = ("loss-grid", "recognizers")
# Collections whose classifiers are offered wherever the zoo's are (the app's pages).
CLASSIFIER_COLLECTIONS = ("recognizers",)


def classifier_cards(folder: str | os.PathLike | None = None, dataset: str | None = None):
    """The zoo's classifier cards, then those of :data:`CLASSIFIER_COLLECTIONS`."""
    cards = find_checkpoints(folder, kind="classifier", dataset=dataset)
    for name, place in collection_dirs(folder).items():
        if name in CLASSIFIER_COLLECTIONS:
            cards += find_checkpoints(place, kind="classifier", dataset=dataset)
    return cards


def collection_dirs(folder: str | os.PathLike | None = None) -> dict[str, Path]:
    """{collection name: folder} of the :data:`COLLECTIONS` present in ``folder``."""
    base = checkpoint_dir(folder)
    return {name: base / name for name in COLLECTIONS if (base / name).is_dir()}


def locate(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The stem of checkpoint ``name`` seen from ``folder``: in it, else (when ``folder`` is a
    collection) in the checkpoint folder around it, else in one of its collections; ``folder /
    name`` when none holds it (loading then says it is missing)."""
    base = checkpoint_dir(folder)
    around = [base.parent] if base.name in COLLECTIONS else []
    for place in [base, *around, *collection_dirs(base).values()]:
        if (place / f"{name}.json").exists():
            return place / name
    return base / name


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


# ----------------------------------------------------------------------------- the card schema

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# field -> (test, what it must be); fields not listed here are free (notes, provenance)
_OPTIONAL_FIELDS = {
    "dataset": (lambda v: v is None or isinstance(v, str), "a dataset spec string or null"),
    "task": (lambda v: v is None or isinstance(v, str), "a task spec string or null"),
    "method": (lambda v: v is None or isinstance(v, str), "a method name or null"),
    "lambda": (lambda v: v is None or (_is_number(v) and v == v and abs(v) != float("inf")),
               "a finite number or null"),
    "source": (lambda v: v is None or isinstance(v, str), "a checkpoint name or null"),
    "source_state_sha256": (lambda v: v is None or isinstance(v, str), "a hex digest or null"),
    "training": (lambda v: v is None or isinstance(v, dict), "an object or null"),
    "epochs": (lambda v: v is None or (_is_int(v) and v >= 0), "a whole number >= 0 or null"),
    "seed": (lambda v: v is None or _is_int(v), "a whole number or null"),
    "metrics": (lambda v: v is None or isinstance(v, dict), "an object or null"),
    "history": (lambda v: v is None or isinstance(v, list), "a list or null"),
    "version": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "created": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "transformer": (lambda v: v is None or isinstance(v, dict), "an object or null"),
}


def plain_file_name(name) -> bool:
    """Whether ``name`` is a file name without folders: no separators, not '.', '..', absolute."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and "\\" not in name and "\x00" not in name and not Path(name).is_absolute()
            and ":" not in name)


def _check_arch(where: str, arch, kwargs, kind: str | None) -> None:
    if not isinstance(arch, str):
        raise CheckpointError(f"{where}'arch' must be a string; got {arch!r}.")
    if arch not in MODELS:
        raise CheckpointError(f"{where}the architecture {arch!r} is not in the model registry."
                              f"{close_names_hint(arch, list(MODELS))}")
    if kind and MODELS[arch].kind != kind:
        raise CheckpointError(f"{where}{arch!r} is a {MODELS[arch].kind}, but the card says "
                              f"kind {kind!r}.")
    try:
        check_arch_kwargs(arch, kwargs, where=f"{where}arch_kwargs: ")
    except RAExplorerError as exc:
        raise CheckpointError(str(exc)) from None


def validate_card(card, card_path: Path) -> dict:
    """Check a card against the schema before anything is built; returns it or raises.

    Types of every known field, ``kind`` one of :data:`KINDS` and the architecture's
    kind, ``arch_kwargs`` names the builder accepts with values of sane types,
    ``weights`` an object whose ``file`` is a plain file name (no folders, no ``..``)
    and whose ``sha256`` / ``dtype`` / ``num_parameters`` have their types.
    """
    where = f"The model card {card_path}: "
    if not isinstance(card, dict):
        raise CheckpointError(f"The model card {card_path} is not a JSON object.")
    missing = [f for f in REQUIRED_FIELDS if f not in card]
    if missing:
        raise CheckpointError(f"The model card {card_path} lacks the field(s) {', '.join(missing)}.")
    if card["format"] != CARD_FORMAT:
        raise CheckpointError(f"The model card {card_path} has format {card['format']!r}; "
                              f"this version reads {CARD_FORMAT!r}.")
    if not isinstance(card["name"], str) or not card["name"]:
        raise CheckpointError(f"{where}'name' must be a non-empty string; got {card['name']!r}.")
    if card["kind"] not in KINDS:
        raise CheckpointError(f"{where}'kind' must be one of {', '.join(KINDS)}; "
                              f"got {card['kind']!r}.")
    _check_arch(where, card["arch"], card["arch_kwargs"], card["kind"])
    for field, (test, wanted) in _OPTIONAL_FIELDS.items():
        if field in card and not test(card[field]):
            raise CheckpointError(f"{where}{field!r} must be {wanted}; got {card[field]!r}.")
    if card.get("transformer"):
        t = card["transformer"]
        if set(t) - {"arch", "arch_kwargs"} or "arch" not in t or "arch_kwargs" not in t:
            raise CheckpointError(f"{where}'transformer' must hold exactly 'arch' and "
                                  f"'arch_kwargs'; got the keys {sorted(t)}.")
        _check_arch(f"{where}transformer ", t["arch"], t["arch_kwargs"], "transformer")
    weights = card["weights"]
    if not isinstance(weights, dict):
        raise CheckpointError(f"{where}'weights' must be an object with 'file' and 'sha256'; "
                              f"got {weights!r}.")
    if "file" in weights and not plain_file_name(weights["file"]):
        raise CheckpointError(f"{where}'weights.file' must be a plain file name in the card's "
                              f"folder (no folders, no '..'); got {weights['file']!r}.")
    sha = weights.get("sha256")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64
                                and all(c in "0123456789abcdef" for c in sha)):
        raise CheckpointError(f"{where}'weights.sha256' must be 64 lower-case hex digits; "
                              f"got {sha!r}.")
    if "dtype" in weights and weights["dtype"] not in STORAGE_DTYPES:
        raise CheckpointError(f"{where}'weights.dtype' must be one of {', '.join(STORAGE_DTYPES)}; "
                              f"got {weights['dtype']!r}.")
    n = weights.get("num_parameters")
    if n is not None and not (_is_int(n) and n >= 0):
        raise CheckpointError(f"{where}'weights.num_parameters' must be a whole number >= 0; "
                              f"got {n!r}.")
    return card


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
        "version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    full["name"] = card_path.stem
    _write_card(card_path, full)
    marker.unlink()
    return card_path


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
                              f"choose a {kind} (see 'python -m analysis zoo').")
    weights_path = card_path.with_name(card["weights"].get("file", card_path.stem + ".safetensors"))
    interrupted = saving_marker(card_path).exists()
    if not weights_path.exists() and interrupted:
        raise _interrupted(card_path)
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


def find_checkpoints(folder: str | os.PathLike | None = None, kind: str | None = None,
                     **filters) -> list[dict]:
    """Cards in ``folder`` (default :func:`checkpoint_dir`), sorted by name, optionally filtered.

    ``filters`` compare card fields for equality, e.g. ``task="sr:scale=4"``; ``dataset``
    compares normal forms (:func:`~analysis.data.datasets.normalize_dataset_spec`), so
    ``imagefolder:imgs/`` finds the cards of ``imagefolder:/abs/imgs:...,size=64``.
    Cards that fail to load are skipped here; ``load_checkpoint`` reports them.
    """
    wanted_dataset = None
    if filters.get("dataset") is not None:
        wanted_dataset = normal_dataset(filters.pop("dataset"))
    cards = []
    for card_path in sorted(checkpoint_dir(folder).glob("*.json")):
        try:
            card = load_card(card_path)
        except CheckpointError:
            continue
        if kind and card["kind"] != kind:
            continue
        if wanted_dataset is not None and normal_dataset(card.get("dataset")) != wanted_dataset:
            continue
        if all(card.get(k) == v for k, v in filters.items()):
            cards.append(card)
    return cards


def normal_dataset(spec: str | None) -> str | None:
    """A card's (or a query's) dataset spec in its normal form; the spec itself if it cannot
    be read (an unknown name: it then matches only its own spelling)."""
    from ..data.datasets import normalize_dataset_spec

    if not spec:
        return spec
    try:
        return normalize_dataset_spec(spec)
    except RAExplorerError:
        return spec


NO_DATASET = "no dataset"     # how datasets_held counts cards that name none


def datasets_held(folder: str | os.PathLike | None = None, kind: str | None = None) -> dict:
    """{dataset spec (normal form): number of cards} of the readable cards in ``folder``."""
    held: dict = {}
    for card in find_checkpoints(folder, kind=kind):
        spec = normal_dataset(card.get("dataset")) or NO_DATASET
        held[spec] = held.get(spec, 0) + 1
    return dict(sorted(held.items()))


def no_checkpoints_message(kind: str, dataset: str, folder=None) -> str:
    """The sentence for a folder without ``kind`` checkpoints of ``dataset``: which dataset
    specs it does hold (so a spelling or option difference shows), and how to get one."""
    where = checkpoint_dir(folder)
    held = datasets_held(folder, kind)
    head = f"No {kind} checkpoints for dataset {normal_dataset(dataset)!r} in {where}"
    if held:
        listed = "; ".join(f"{spec} ({n})" for spec, n in held.items())
        return (f"{head}; it holds {kind} checkpoints for: {listed}. Pass that spec as "
                "--dataset, or train one for this dataset with 'python -m analysis train-"
                f"{kind}'.")
    return f"{head}; it holds none: train one with 'python -m analysis train-{kind}'."


def broken_cards(folder: str | os.PathLike | None = None) -> dict[str, str]:
    """{file name: the sentence saying what is wrong} for each card ``find_checkpoints`` skips."""
    problems = {}
    for card_path in sorted(checkpoint_dir(folder).glob("*.json")):
        try:
            load_card(card_path)
        except CheckpointError as exc:
            problems[card_path.name] = str(exc)
    return problems


def weights_kwargs(arch: str, state: dict) -> dict:
    """Constructor options read from foreign weights: ``num_classes`` from the classifier
    head (the last 2-D weight, e.g. torchvision's ``fc.weight`` (classes, features)) and
    ``in_channels`` from the first convolution, for builders that take them."""
    import inspect

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


def import_weights(arch: str, source: str | os.PathLike, out: str | os.PathLike,
                   arch_kwargs: dict | None = None, dataset: str = "", **card_fields) -> Path:
    """Convert a user's ``torch.save`` state dict into a safetensors checkpoint with a card.

    The source is read with ``torch.load(weights_only=True)``, which refuses
    arbitrary pickled objects. torchvision layouts (``conv1``, ``features.0``
    ...) are mapped onto the wrapper's stage names by position. The class count and
    input channels come from the weights (:func:`weights_kwargs`) unless
    ``arch_kwargs`` gives them.
    """
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
    return save_checkpoint(model, {"kind": kind, "arch": arch, "arch_kwargs": kwargs,
                                   "dataset": normal_dataset(dataset) or dataset,
                                   "imported_from": str(source), **card_fields}, out)
