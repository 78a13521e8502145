"""build-zoo: train every missing entry of the recipe, dependencies first.

``python -m analysis build-zoo`` walks :data:`~.zoo_recipe.RECIPE` in order, skips entries that are
done (:func:`is_done`), and resumes interrupted ones from their state file. ``--only PATTERN``
restricts to names matching a glob; several processes may share the recipe (each entry is
claimed by a lock file). The recipe's settings are read from :mod:`.recipe` when used.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
from pathlib import Path

from ..data.datasets import normal_dataset
from ..errors import RAExplorerError
from ..zoo.catalogue import NO_DATASET, checkpoint_dir, datasets_held, trained_on_canvases_of
from ..zoo.checkpoints import (
    load_card,
    move_outside,
    stored_outside,
    update_card,
    weights_present,
)
from . import recipe as zoo_recipe
from .classifiers import train_classifier
from .processors import train_processor
from .recognizer_side import train_recognizer
from .selection import (
    chosen_lambda,
    read_selections,
    read_weight_selections,
    select_lambda,
    select_loss_weight,
    selection_key,
    weight_key,
)


def _weight_record(entry: dict) -> dict | None:
    a = entry["args"]
    return read_weight_selections(dataset=entry.get("dataset", zoo_recipe.DATASET)).get(
        weight_key(a["task"], a["term"], Path(a["recognizer"]).name))


def is_done(entry: dict, folder: Path) -> bool:
    """Whether ``entry`` needs no training: its checkpoint or selection exists, or the final
    processor covers it."""
    if entry["verb"] == "select-weight":
        return _weight_record(entry) is not None
    if entry["verb"] == "select":
        a = entry["args"]
        return selection_key(a["task"], a["method"], a["recognizer"]) in read_selections(
            dataset=entry.get("dataset", zoo_recipe.DATASET))
    target = Path(entry.get("folder") or folder) / f"{entry['name']}.json"
    if target.exists() and entry.get("outside"):   # its card is here: are its weights, outside?
        card = load_card(target)
        return stored_outside(card) and weights_present(card)
    return target.exists() or _covered_by_final(entry, folder)


def _covered_by_final(entry: dict, folder: Path) -> bool:
    """A sweep point whose lambda is the one selection chose: the final RA processor is it."""
    final = entry.get("same_as_if_chosen")
    if not final or not (Path(folder) / f"{final}.json").exists():
        return False
    a = entry["args"]
    try:
        return chosen_lambda(a["task"], a["method"], a["recognizer"],
                             dataset=entry.get("dataset", zoo_recipe.DATASET)) == a["lam"]
    except KeyError:  # not selected yet
        return False


def entry_seconds(entry: dict, folder: Path) -> float | None:
    """Training seconds a finished entry took, as recorded by the run itself.

    Checkpoints: the sum of their cards' per-epoch ``seconds`` (validation
    included); selections: the ``seconds`` of their record. None when not done
    or not recorded.
    """
    if not is_done(entry, folder):
        return None
    if entry["verb"] == "select-weight":
        return _weight_record(entry).get("seconds")
    if entry["verb"] == "select":
        a = entry["args"]
        return read_selections(dataset=entry.get("dataset", zoo_recipe.DATASET))[
            selection_key(a["task"], a["method"], a["recognizer"])].get("seconds")
    path = Path(entry.get("folder") or folder) / f"{entry['name']}.json"
    if not path.exists():  # covered by the final processor: nothing trained
        return 0.0
    card = json.loads(path.read_text())
    return float(sum(h.get("seconds", 0.0) for h in card.get("history", [])))


def run_entry(entry: dict, folder: Path, state_dir: str, progress: bool) -> None:
    """Train (or select for) one recipe entry into ``folder``, resuming from ``state_dir``."""
    out = str(Path(entry.get("folder") or folder) / entry["name"])
    common = {"dataset": entry.get("dataset", zoo_recipe.DATASET), "progress": progress}
    args = dict(entry["args"])
    if args.get("recognizer"):
        args["recognizer"] = str(folder / args["recognizer"])
    if entry["verb"] == "classifier":
        train_classifier(out=out, resume=True, state_dir=state_dir, dtype="float16", **common,
                         **args)
    elif entry["verb"] == "recognizer":
        options = {k: (str(folder / v) if k in zoo_recipe.RECOGNIZER_REFERENCES else v)
                   for k, v in args.pop("options").items()}
        train_recognizer(args.pop("method"), args.pop("arch"), options, out=out, resume=True,
                         state_dir=state_dir, dtype="float16", **common, **args)
    elif entry["verb"] == "select":
        select_lambda(work_dir=str(Path(state_dir) / "grid"), **common, **args)
    elif entry["verb"] == "select-weight":
        select_loss_weight(work_dir=str(Path(state_dir) / "grid"), **common, **args)
    else:
        args["lam"] = zoo_recipe.resolve_lambda(entry)
        if isinstance(args.get("texture_weight"), str):
            args["texture_weight"] = zoo_recipe.resolve_weight(entry, "texture_weight")
        train_processor(out=out, resume=True, state_dir=state_dir,
                        dtype="float32" if entry.get("folder") == zoo_recipe.BASES else "float16",
                        **common, **args)
        cite_weight_selection(entry, out)
    if entry.get("outside"):     # beyond the zoo's size budget: the card stays, the weights go
        move_outside(out)


def cite_weight_selection(entry: dict, out) -> None:
    """Write :func:`weight_citation` into the card at ``out`` (loss-grid entries only)."""
    citation = zoo_recipe.weight_citation(entry)
    if citation is not None:
        update_card(out, selection=citation)


def _lock_path(state_dir: str, name: str) -> Path:
    return Path(state_dir) / f"{name.replace(':', '_')}.lock"


def _locked(state_dir: str, name: str) -> bool:
    """Whether a live process holds the lock of entry ``name``."""
    try:
        os.kill(int(_lock_path(state_dir, name).read_text()), 0)
        return True
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False


def _claim(state_dir: str, name: str) -> Path | None:
    """A lock file so that several build-zoo processes can share the recipe; None if taken."""
    if _locked(state_dir, name):
        return None
    lock = _lock_path(state_dir, name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(os.getpid()))
    return lock


def refuse_other_datasets(entries: list[dict], folder: Path) -> None:
    """One sentence when ``folder`` holds checkpoints of a dataset the recipe does not train:
    build-zoo would plan its models beside them and count a same-named one as done. Models
    trained on detection canvases of a planned dataset (the detection tables' detectors and
    canvas processors) belong beside its zoo."""
    planned = {normal_dataset(e.get("dataset", zoo_recipe.DATASET)) for e in entries}
    other = {spec: n for spec, n in datasets_held(folder).items()
             if spec not in planned and spec != NO_DATASET
             and not any(trained_on_canvases_of(spec, p) for p in planned)}
    if other:
        held = "; ".join(f"{spec} ({n})" for spec, n in other.items())
        raise RAExplorerError(
            f"{folder} holds checkpoints of another dataset ({held}), but build-zoo plans the "
            f"embedded zoo on {', '.join(sorted(planned))}; pass --checkpoints to an empty "
            "folder for it, or train your own models with train-classifier / train-processor.")


def finish_moves(entries: list[dict], folder: Path) -> list[str]:
    """Move the weights of outside entries trained but not moved yet (a run cut off between
    the save and the move) to the weights store; returns their names."""
    moved = []
    for entry in entries:
        target = Path(entry.get("folder") or folder) / f"{entry['name']}.json"
        if entry.get("outside") and target.exists():
            card = load_card(target)
            if weights_present(card) and not stored_outside(card):
                move_outside(target)
                moved.append(entry["name"])
    return moved


def build_zoo(only: list[str] | None = None, folder=None, state_dir: str = "runs",
              force: bool = False, progress: bool = True, dry_run: bool = False,
              recipe: list[dict] | None = None, poll_seconds: float = 30.0) -> list[str]:
    """Train every missing entry of the recipe, dependencies first; returns the names trained.

    Entries whose dependencies another process is still training are retried
    after ``poll_seconds``; entries whose dependencies nobody will build (left
    out by ``only``) are reported and dropped.
    """
    folder = checkpoint_dir(folder)
    entries = list(recipe if recipe is not None else zoo_recipe.RECIPE)
    refuse_other_datasets(entries, folder)
    if not dry_run:
        finish_moves(entries, folder)
    by_name = {e["name"]: e for e in entries}

    def done(name: str) -> bool:
        entry = by_name.get(name)
        if entry is None:  # a checkpoint outside the recipe
            return (folder / f"{name}.json").exists()
        return is_done(entry, folder)

    pending = [e for e in entries
               if not (only and not any(fnmatch.fnmatch(e["name"], p) for p in only))
               and (force or not is_done(e, folder))]
    if dry_run:
        return [e["name"] for e in pending]
    trained: list[str] = []
    while pending:
        progressed, waiting = False, False
        for entry in list(pending):
            if not force and is_done(entry, folder):  # finished by another process meanwhile,
                pending.remove(entry)                 # or covered by a selection made since
                continue
            missing = [d for d in zoo_recipe.dependencies(entry) if not done(d)]
            if missing:
                pending_names = {e["name"] for e in pending}
                if any(_locked(state_dir, d) or d in pending_names for d in missing):
                    waiting = True
                else:
                    print(f"build-zoo: {entry['name']} needs {', '.join(missing)} first; skipped",
                          file=sys.stderr)
                    pending.remove(entry)
                continue
            lock = _claim(state_dir, entry["name"])
            if lock is None:
                waiting = True
                continue
            t0 = time.time()
            print(f"build-zoo: [{len(trained) + 1}/{len(trained) + len(pending)}] "
                  f"{entry['name']}", file=sys.stderr)
            try:
                run_entry(entry, folder, state_dir, progress)
            finally:
                lock.unlink(missing_ok=True)
            print(f"build-zoo: {entry['name']} took {time.time() - t0:.0f} s", file=sys.stderr)
            pending.remove(entry)
            trained.append(entry["name"])
            progressed = True
            break  # rescan from the top: earlier entries first
        if not progressed:
            if not waiting:
                break
            time.sleep(poll_seconds)
    return trained
