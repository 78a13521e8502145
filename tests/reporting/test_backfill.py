"""Reconstructed provenance from git history (analysis.reporting.backfill)."""

import hashlib
import json
import subprocess

from analysis.outputs.provenance import provenance_summary
from analysis.reporting.backfill import (
    card_digests_to_weights,
    first_commit_with,
    reconstructed_provenance,
    stale_checkpoints,
)


def _repo(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)
    git("init", "-q")
    return git


def _commit(git, tmp_path, files: dict, message: str) -> str:
    for rel, content in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git("add", ".")
    git("commit", "-qm", message)
    return subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_the_record_names_the_commit_that_stored_the_result_and_the_weights_of_that_tree(
        tmp_path):
    git = _repo(tmp_path)
    old_weights, new_weights = b"weights v1", b"weights v2"
    _commit(git, tmp_path, {"checkpoints/clf.safetensors": old_weights,
                            "results/r.json": json.dumps({"a": {"chosen": 1}})}, "first")
    stored = _commit(git, tmp_path, {"results/r.json": json.dumps({"a": {"chosen": 2}})},
                     "the result as it stands")
    _commit(git, tmp_path, {"README": "x"}, "unrelated")

    record = reconstructed_provenance(
        relpath="results/r.json", predicate=lambda d: d.get("a") == {"chosen": 2},
        command="python -m analysis x", dataset="d", split="val", n_images=7,
        checkpoints=["clf"], root=tmp_path)
    assert record["git"]["recorded_in"] == stored
    assert record["git"]["commit"] is None and record["torch"] is None
    assert record["checkpoints"] == {"clf": hashlib.sha256(old_weights).hexdigest()}
    assert stale_checkpoints(record, tmp_path) == []
    assert "reconstructed from git" in provenance_summary(record)
    assert stored[:10] in provenance_summary(record)

    _commit(git, tmp_path, {"checkpoints/clf.safetensors": new_weights}, "retrained")
    assert stale_checkpoints(record, tmp_path) == ["clf"]


def test_a_result_that_changed_back_and_forth_counts_from_its_last_arrival(tmp_path):
    git = _repo(tmp_path)
    _commit(git, tmp_path, {"r.json": '{"v": 1}'}, "1")
    _commit(git, tmp_path, {"r.json": '{"v": 2}'}, "2")
    third = _commit(git, tmp_path, {"r.json": '{"v": 1}'}, "3")
    assert first_commit_with("r.json", lambda d: d["v"] == 1, tmp_path) == third
    assert first_commit_with("r.json", lambda d: d["v"] == 5, tmp_path) is None


def test_card_digests_become_the_weights_digests_of_the_runs_commit(tmp_path):
    git = _repo(tmp_path)
    card, weights = b'{"name": "m"}', b"weights v1"
    run = _commit(git, tmp_path, {"checkpoints/sub/m.json": card,
                                  "checkpoints/sub/m.safetensors": weights}, "the run's tree")
    _commit(git, tmp_path, {"checkpoints/sub/m.safetensors": b"weights v2"}, "retrained")
    sha = lambda b: hashlib.sha256(b).hexdigest()   # noqa: E731
    record = {"git": {"commit": run, "dirty": False},
              "checkpoints": {"m": sha(card), "other": "f" * 64}}
    assert card_digests_to_weights(record, tmp_path) == ["m"]
    assert record["checkpoints"] == {"m": sha(weights), "other": "f" * 64}   # the run's weights
    assert "card" in record["corrected"]
    again = dict(record, checkpoints=dict(record["checkpoints"]))
    assert card_digests_to_weights(again, tmp_path) == []      # a weights digest stays
    dirty = {"git": {"commit": run, "dirty": True}, "checkpoints": {"m": sha(card)}}
    assert card_digests_to_weights(dirty, tmp_path) == [] and "corrected" not in dirty
