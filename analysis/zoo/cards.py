"""The model card's schema: what a checkpoint's JSON card must hold, checked before anything
is built.

A card records what the model is (``kind``, ``arch`` and constructor ``arch_kwargs``), what it
was trained on (dataset, task spec, method, lambda, source recognizer, epochs, seed), what was
measured (metrics) and its weights (``file``, ``sha256``, ``dtype``, ``num_parameters``, and
``store``: ``outside`` for weights kept in the weights store instead of beside the card).
:func:`validate_card` checks the type of every field, ``arch_kwargs`` against the builder's
signature, ``weights.file`` a plain file name in the card's folder and ``kind`` the
architecture's kind; a failure raises :class:`~analysis.errors.CheckpointError` with one
sentence naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

from ..checks import is_int, is_number
from ..errors import CheckpointError, RAExplorerError, close_names_hint
from . import MODELS
from .options import check_arch_kwargs

CARD_FORMAT = "ra-explorer-card/1"
REQUIRED_FIELDS = ("format", "name", "kind", "arch", "arch_kwargs", "weights")
KINDS = ("classifier", "processor", "transformer", "detector")
STORAGE_DTYPES = ("float32", "float16")
# where the weights live: beside the card (``file``; the default) or in the weights store outside
# the repository under their SHA-256 (:func:`analysis.zoo.checkpoints.weights_file`)
WEIGHT_STORES = ("beside", "outside")



# field -> (test, what it must be); fields not listed here are free (notes, provenance)
_OPTIONAL_FIELDS = {
    "dataset": (lambda v: v is None or isinstance(v, str), "a dataset spec string or null"),
    "task": (lambda v: v is None or isinstance(v, str), "a task spec string or null"),
    "method": (lambda v: v is None or isinstance(v, str), "a method name or null"),
    "lambda": (lambda v: v is None or (is_number(v) and v == v and abs(v) != float("inf")),
               "a finite number or null"),
    "source": (lambda v: v is None or isinstance(v, str), "a checkpoint name or null"),
    "source_state_sha256": (lambda v: v is None or isinstance(v, str), "a hex digest or null"),
    "training": (lambda v: v is None or isinstance(v, dict), "an object or null"),
    "epochs": (lambda v: v is None or (is_int(v) and v >= 0), "a whole number >= 0 or null"),
    "seed": (lambda v: v is None or is_int(v), "a whole number or null"),
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
    if "store" in weights and weights["store"] not in WEIGHT_STORES:
        raise CheckpointError(f"{where}'weights.store' must be one of {', '.join(WEIGHT_STORES)}; "
                              f"got {weights['store']!r}.")
    if weights.get("store") == "outside" and sha is None:
        raise CheckpointError(f"{where}weights stored outside need their 'weights.sha256' (the "
                              "file's name in the weights store).")
    if "dtype" in weights and weights["dtype"] not in STORAGE_DTYPES:
        raise CheckpointError(f"{where}'weights.dtype' must be one of {', '.join(STORAGE_DTYPES)}; "
                              f"got {weights['dtype']!r}.")
    n = weights.get("num_parameters")
    if n is not None and not (is_int(n) and n >= 0):
        raise CheckpointError(f"{where}'weights.num_parameters' must be a whole number >= 0; "
                              f"got {n!r}.")
    return card
