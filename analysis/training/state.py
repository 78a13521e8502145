"""The resumable training state: what it trains (its identity), and reading it back safely.

A state file (``<state_dir>/<name>.state.pt``, written by :func:`~.engine.fit` after every
epoch) holds the model, optimizer and scheduler states, the epoch, the history and the
identity of its run (:func:`state_identity`: name, dataset, architecture and options, method,
task, recognizer digest). :func:`read_state` reads it with ``torch.load(weights_only=True)``
and refuses a damaged or foreign file, and a state of another run, with one sentence naming
both sides.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from ..errors import TrainingStateError

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
