"""Provenance for result files written before provenance was kept, reconstructed from git.

A file such as ``results/lambda_selection.json`` was measured by runs whose command line,
torch version and wall time were not recorded. What git still knows is recorded here, and
nothing else: the commit that first stored the result as it stands (``recorded_in``), the
command that makes it (the full protocol's command), and the SHA-256 of each checkpoint file
in that commit's tree — the weights the run used, on the assumption (stated in the record)
that the run's checkpoints were the ones committed with it. Fields git cannot know (torch,
device, threads, start and wall time, the code's own commit) are None, and
``reconstructed`` says so. :func:`stale_checkpoints` names the checkpoints whose current
file no longer matches the recorded digest, i.e. the parts of the result that describe
weights since replaced.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import CheckpointError
from ..zoo.checkpoints import load_card, sha256_file, stored_outside

RECONSTRUCTED_NOTE = ("reconstructed from git history: the run did not record its provenance; "
                      "checkpoint digests are those of the files in the commit that stored "
                      "the result; torch, device, threads and times are unknown")


def _git(root: Path, *args: str, text: bool = True):
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=text,
                          check=True)
    return done.stdout


def file_history(relpath: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Commits that changed ``relpath``, oldest first."""
    out = _git(root, "log", "--format=%H", "--follow", "--", relpath)
    return list(reversed(out.split()))


def first_commit_with(relpath: str, predicate: Callable[[dict], bool],
                      root: Path = PROJECT_ROOT) -> str | None:
    """The oldest commit whose version of the JSON file ``relpath`` satisfies ``predicate``
    and after which every later version does too (the commit that stored the result as it
    stands), or None."""
    found = None
    for commit in file_history(relpath, root):
        try:
            data = json.loads(_git(root, "show", f"{commit}:{relpath}"))
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            data = None
        ok = data is not None and predicate(data)
        if ok and found is None:
            found = commit
        elif not ok:
            found = None
    return found


def digest_at(commit: str, relpath: str, root: Path = PROJECT_ROOT) -> str | None:
    """SHA-256 of ``relpath`` as stored in ``commit`` (None when the commit lacks it)."""
    try:
        blob = _git(root, "show", f"{commit}:{relpath}", text=False)
    except subprocess.CalledProcessError:
        return None
    return hashlib.sha256(blob).hexdigest()


def checkpoint_path_at(commit: str, name: str, root: Path = PROJECT_ROOT) -> str | None:
    """The repository path of checkpoint ``name``'s weights in ``commit``'s tree."""
    listing = _git(root, "ls-tree", "-r", "--name-only", commit, "--", "checkpoints")
    for path in listing.split():
        if path.endswith(f"/{name}.safetensors"):
            return path
    return None


def reconstructed_provenance(*, relpath: str, predicate: Callable[[dict], bool],
                             command: str, dataset: str, split: str, n_images: int,
                             checkpoints: list[str], seeds: dict | None = None,
                             root: Path = PROJECT_ROOT) -> dict:
    """A provenance record (the fields of :func:`analysis.outputs.provenance.provenance`)
    for a result of ``relpath`` that ``predicate`` recognises, rebuilt from git."""
    commit = first_commit_with(relpath, predicate, root)
    digests, paths = {}, {}
    for name in checkpoints:
        paths[name] = checkpoint_path_at(commit, name, root) if commit else None
        digests[name] = digest_at(commit, paths[name], root) if paths[name] else None
    return {"command": command, "dataset": dataset, "split": split, "n_images": int(n_images),
            "seeds": seeds or {}, "checkpoints": digests, "checkpoint_paths": paths,
            "git": {"commit": None, "dirty": None, "recorded_in": commit},
            "torch": None, "device": None, "threads": None, "world_size": None,
            "started": None, "wall_seconds": None, "reconstructed": RECONSTRUCTED_NOTE}


def stale_checkpoints(record: dict, root: Path = PROJECT_ROOT) -> list[str]:
    """Checkpoints of ``record`` whose current file differs from the recorded digest (or is
    gone); [] when the result still describes the weights on disk. A card whose weights are
    kept in the weights store answers with the digest it names (loading checks the file)."""
    paths = record.get("checkpoint_paths") or {}
    stale = []
    for name, digest in (record.get("checkpoints") or {}).items():
        path = root / (paths.get(name) or f"checkpoints/{name}.safetensors")
        if digest is None or _current_digest(path) != digest:
            stale.append(name)
    return stale


def _current_digest(weights: Path) -> str | None:
    """The SHA-256 of the weights at ``weights`` (a beside file), or the one its card names
    when the card keeps them outside; None when neither is there."""
    if weights.exists():
        return sha256_file(weights)
    try:
        card = load_card(weights.with_suffix(".json"))
    except CheckpointError:
        return None
    return card["weights"]["sha256"] if stored_outside(card) else None


CARD_DIGEST_NOTE = ("checkpoints: the SHA-256 of each weights file as stored in the run's commit "
                    "(git.commit; the tree was clean); the run itself recorded each model card's "
                    "SHA-256 in their place (fixed in analysis/training/selection.py)")


def card_digests_to_weights(record: dict, root: Path = PROJECT_ROOT) -> list[str]:
    """Where ``record`` (a provenance record of a clean tree) gives a checkpoint's *card*
    digest, put its weights' digest in ``commit``'s tree instead, and say so in the record;
    the names changed. A digest that is not the card's at that commit is left as it is."""
    commit = (record.get("git") or {}).get("commit")
    if not commit or (record.get("git") or {}).get("dirty"):
        return []
    changed = []
    for name, digest in (record.get("checkpoints") or {}).items():
        weights = checkpoint_path_at(commit, name, root)
        if weights is None:
            continue
        card = weights[: -len(".safetensors")] + ".json"
        if digest_at(commit, card, root) == digest:
            record["checkpoints"][name] = digest_at(commit, weights, root)
            changed.append(name)
    if changed:
        record["corrected"] = CARD_DIGEST_NOTE
    return changed

