"""The embedded default zoo as data: every checkpoint and the CLI options that train it.

``python -m analysis build-zoo`` walks ``RECIPE`` in order (classifiers
first, since processors name them as recognizers), skips entries whose
checkpoint already exists, and resumes interrupted ones from their state
file. ``--only PATTERN`` restricts to names matching a glob.
"""

from __future__ import annotations

import fnmatch
import sys
import time
from pathlib import Path

from .checkpoints import checkpoint_dir

DATASET = "fashion-mnist"
# The robust classifier's PGD-L2 radius in [0, 1]-pixel L2 units (28 x 28 images).
ROBUST_EPS = 1.0

CLASSIFIERS = [
    {"name": "resnet20", "verb": "classifier", "args": {"arch": "resnet20", "epochs": 15}},
    {"name": "resnet20-robust", "verb": "classifier",
     "args": {"arch": "resnet20", "epochs": 6, "adv_eps": ROBUST_EPS, "adv_steps": 3}},
    {"name": "densenet-bc", "verb": "classifier", "args": {"arch": "densenet-bc", "epochs": 8}},
    {"name": "vgg11-bn", "verb": "classifier", "args": {"arch": "vgg11-bn", "epochs": 10}},
    {"name": "mobilenetv2", "verb": "classifier", "args": {"arch": "mobilenetv2", "epochs": 8}},
    {"name": "resnet32", "verb": "classifier", "args": {"arch": "resnet32", "epochs": 8}},
]

RECIPE: list[dict] = CLASSIFIERS


def run_entry(entry: dict, folder: Path, state_dir: str, progress: bool) -> None:
    from .train import train_classifier, train_processor

    out = str(folder / entry["name"])
    common = {"out": out, "dataset": DATASET, "resume": True, "state_dir": state_dir,
              "progress": progress, "dtype": "float16"}
    args = dict(entry["args"])
    if entry["verb"] == "classifier":
        train_classifier(**common, **args)
    else:
        if args.get("recognizer"):
            args["recognizer"] = str(folder / args["recognizer"])
        if args.get("init"):
            args["init"] = str(folder / args["init"])
        train_processor(**common, **args)


def _claim(state_dir: str, name: str) -> Path | None:
    """A lock file so that several build-zoo processes can share the recipe; None if taken."""
    import os

    lock = Path(state_dir) / f"{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        pid = int(lock.read_text())
        os.kill(pid, 0)
        return None  # a live process is training this entry
    except (FileNotFoundError, ValueError, ProcessLookupError):
        pass
    lock.write_text(str(os.getpid()))
    return lock


def build_zoo(only: list[str] | None = None, folder=None, state_dir: str = "runs",
              force: bool = False, progress: bool = True, dry_run: bool = False) -> list[str]:
    """Train every missing checkpoint of the recipe; returns the names trained (or planned)."""
    folder = checkpoint_dir(folder)
    done = []
    for entry in RECIPE:
        if only and not any(fnmatch.fnmatch(entry["name"], p) for p in only):
            continue
        if (folder / f"{entry['name']}.json").exists() and not force:
            continue
        if dry_run:
            done.append(entry["name"])
            continue
        lock = _claim(state_dir, entry["name"])
        if lock is None:
            print(f"build-zoo: {entry['name']} is being trained by another process; skipped",
                  file=sys.stderr)
            continue
        done.append(entry["name"])
        t0 = time.time()
        try:
            run_entry(entry, folder, state_dir, progress)
        finally:
            lock.unlink(missing_ok=True)
        print(f"build-zoo: {entry['name']} took {time.time() - t0:.0f} s", file=sys.stderr)
    return done
