"""How a result was made: the fields every result file carries.

``provenance(...)`` returns a JSON-ready dict: the command line, dataset and split, number of
images, seeds, the SHA-256 of each checkpoint used, the project's git commit and whether the
tree was dirty, torch version, device and threads, start time (UTC, ISO 8601) and wall time in
seconds.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone

from ..config import SOURCE_CHECKOUT


def git_state() -> dict:
    """{"commit": hash or None, "dirty": bool or None} of the source checkout the code runs
    from; "dirty" means uncommitted changes to tracked files outside results/ and runs/ (the
    code and the checkpoints, not the result files a run rewrites). Both None for an installed
    copy (no checkout) or where git cannot tell."""
    if SOURCE_CHECKOUT is None:
        return {"commit": None, "dirty": None}

    def git(*args):
        return subprocess.run(["git", "-C", str(SOURCE_CHECKOUT), *args], capture_output=True,
                              text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        # the code's state: result files a run rewrites (results/, runs/) do not make it dirty
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                     ":(exclude)results", ":(exclude)runs")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


_CLI_ARGS: list[str] | None = None   # the verb's arguments while analysis.cli.main runs one


def cli_command(args: list[str] | None) -> None:
    """Record the arguments of the CLI verb now running (None when it ends), so that a verb
    called in-process (tests, notebooks: ``main([...])``) records its own command line rather
    than the host program's ``sys.argv``."""
    global _CLI_ARGS
    _CLI_ARGS = None if args is None else list(args)


class Clock:
    """Start time and wall time of a run (``Clock()`` at the start, ``.fields()`` at the end)."""

    def __init__(self):
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()

    def fields(self) -> dict:
        return {"started": self.started.isoformat(timespec="seconds"),
                "wall_seconds": round(time.perf_counter() - self._t0, 3)}


def provenance(*, dataset: str, split: str, n_images: int, checkpoints: dict[str, str],
               seeds: dict, device, clock: Clock | None = None, command: list[str] | None = None,
               world_size: int = 1) -> dict:
    """The provenance record of one run.

    Args:
        dataset: the dataset spec.
        split: ``test``, ``val`` or ``train``.
        n_images: images the result rests on.
        checkpoints: checkpoint name -> SHA-256 of its weights.
        seeds: name -> seed (degradations, directions, t-SNE ...).
        device: the torch device the networks ran on.
        clock: the run's :class:`Clock` (start and wall time); None leaves them out.
        command: the command line (default: ``sys.argv``).
        world_size: processes under torchrun.
    """
    import torch

    if command is None and _CLI_ARGS is not None:
        text = "python -m analysis " + shlex.join(_CLI_ARGS)
    else:
        argv = command if command is not None else sys.argv
        text = ("python -m analysis " + shlex.join(argv[1:]) if argv and argv[0].endswith(
            ("__main__.py", "analysis")) else shlex.join(list(argv)))
    record = {
        "command": text,
        "dataset": dataset, "split": split, "n_images": int(n_images),
        "seeds": seeds, "checkpoints": dict(checkpoints),
        "git": git_state(), "torch": torch.__version__, "device": str(device),
        "threads": torch.get_num_threads(), "world_size": world_size,
    }
    if clock is not None:
        record.update(clock.fields())
    return record


def provenance_summary(record: dict | None, n_images: int | None = None) -> str:
    """One line for a reader: images, dataset, when, which commit, how long; or what is missing.

    ``record`` is a result's ``provenance`` field (None for files made before it was kept)."""
    if not record:
        count = f"{n_images:,} test images; " if n_images else ""
        return count + "no provenance recorded (made before provenance was kept)"
    git = record.get("git") or {}
    if record.get("reconstructed"):
        return (f"{record.get('n_images', n_images or 0):,} {record.get('split', 'test')} images "
                f"of {record.get('dataset', '?')} · provenance reconstructed from git: stored in "
                f"commit {(git.get('recorded_in') or '?')[:10]}, "
                f"{len(record.get('checkpoints') or {})} checkpoints; torch, device and times "
                "not recorded")
    commit = (git.get("commit") or "?")[:10] + (" (uncommitted changes)" if git.get("dirty") else "")
    parts = [f"{record.get('n_images', n_images or 0):,} {record.get('split', 'test')} images "
             f"of {record.get('dataset', '?')}"]
    if record.get("started"):
        parts.append(f"measured {record['started'].replace('T', ' ')[:16]} UTC")
    if record.get("wall_seconds") is not None:
        parts.append(f"{record['wall_seconds']:,.0f} s")
    parts += [f"commit {commit}", f"{len(record.get('checkpoints') or {})} checkpoints",
              f"torch {record.get('torch', '?')} on {record.get('device', '?')}"]
    return " · ".join(parts)
