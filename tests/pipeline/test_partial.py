"""Partial results and --resume (issue 39, point 2): a run interrupted after some batches and
resumed writes the same result file as a run that was never interrupted.

The interruption is a KeyboardInterrupt (what Ctrl-C raises; the CLI exits with 130) right
after the second batch's partial result is kept, so the test does not depend on timing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.cli.main import main
from analysis.pipeline import partial as partial_module
from analysis.pipeline.records import RecordTable
from tests.conftest import SYNTH


def _interrupt_after(monkeypatch, batches: int) -> list:
    """Make the batch-th PartialStore.save raise KeyboardInterrupt after writing."""
    saved = []
    original = partial_module.PartialStore.save

    def save(self, number, parts):
        original(self, number, parts)
        saved.append(number)
        if len(saved) == batches:
            raise KeyboardInterrupt

    monkeypatch.setattr(partial_module.PartialStore, "save", save)
    return saved


def _without_clock(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.pop("provenance", None)
    if isinstance(doc.get("nearest"), dict):       # the attack's wall time
        doc["nearest"].pop("seconds", None)
    return doc


def _partial_folders(tmp_path):
    return sorted((tmp_path / "runs" / "partial").glob("*"))


@pytest.fixture()
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("RA_RUNS", str(tmp_path / "runs"))
    return tmp_path


def test_evaluate_killed_and_resumed_writes_the_same_records(tiny_zoo, runs, monkeypatch,
                                                            capsys):
    args = ["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
            "--batch-size", "8", "--sample", "40", "--no-progress", "--json"]
    assert main([*args, "--records", str(runs / "whole.parquet")]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert _partial_folders(runs) == []                  # a finished run leaves nothing behind

    saved = _interrupt_after(monkeypatch, 2)
    assert main([*args, "--records", str(runs / "resumed.parquet")]) == 130   # the CLI's Ctrl-C
    assert "run the same command with --resume" in capsys.readouterr().err
    assert saved == [0, 1] and len(_partial_folders(runs)) == 1
    kept = sorted(p.name for p in _partial_folders(runs)[0].glob("batch-*"))
    assert kept == ["batch-000000.r0.pt", "batch-000001.r0.pt"]
    monkeypatch.undo()
    monkeypatch.setenv("RA_RUNS", str(runs / "runs"))
    capsys.readouterr()

    assert main([*args, "--records", str(runs / "resumed.parquet"), "--resume"]) == 0
    out = capsys.readouterr()
    assert "Resuming from 2 finished batches" in out.err
    assert _without_clock(json.loads(out.out)) == _without_clock(whole)
    a, b = RecordTable.load(runs / "whole.parquet"), RecordTable.load(runs / "resumed.parquet")
    assert np.array_equal(a.index, b.index) and a.inputs == b.inputs
    for key in a.pred:
        assert np.array_equal(a.pred[key], b.pred[key]) and np.array_equal(a.prob[key], b.prob[key])
    for key in a.quality:
        assert np.array_equal(a.quality[key], b.quality[key], equal_nan=True)
    assert _partial_folders(runs) == []


def test_quality_killed_and_resumed_writes_the_same_table(tiny_zoo, runs, monkeypatch, capsys):
    args = ["quality", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
            "--metrics", "psnr,ssim,gmsd", "--first", "30", "--batch-size", "8",
            "--no-progress", "--json", "--no-save"]
    assert main(args) == 0
    whole = json.loads(capsys.readouterr().out)
    _interrupt_after(monkeypatch, 3)
    assert main(args) == 130
    monkeypatch.undo()
    monkeypatch.setenv("RA_RUNS", str(runs / "runs"))
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    out = capsys.readouterr()
    assert "Resuming from 3 finished batches" in out.err
    assert _without_clock(json.loads(out.out)) == _without_clock(whole)


def test_bd_killed_and_resumed_writes_the_same_table(tiny_zoo, runs, monkeypatch, capsys):
    args = ["bd", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
            "--source", "clf-a", "--target", "clf-b", "--all-images", "--sample", "24",
            "--batch-size", "6", "--no-progress", "--json", "--no-save"]
    assert main(args) == 0
    whole = json.loads(capsys.readouterr().out)
    _interrupt_after(monkeypatch, 2)
    assert main(args) == 130
    monkeypatch.undo()
    monkeypatch.setenv("RA_RUNS", str(runs / "runs"))
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    out = capsys.readouterr()
    assert "Resuming from 2 finished batches" in out.err
    resumed = json.loads(out.out)
    assert len(resumed["records"]) == 24
    assert _without_clock(resumed) == _without_clock(whole)


def test_resume_of_another_run_starts_from_the_first_image(tiny_zoo, runs, capsys):
    """--resume with other settings (here the seed) finds no partial results of its own."""
    base = ["quality", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
            "--metrics", "psnr", "--first", "16", "--batch-size", "8", "--no-progress",
            "--no-save", "--json"]
    assert main([*base, "--resume"]) == 0
    assert "No partial results of this run" in capsys.readouterr().err


def test_a_partial_result_round_trips_arrays_tuples_and_floats(tmp_path):
    store = partial_module.PartialStore("x", {"a": 1}, base=tmp_path)
    parts = [[(3, {("pred", "clean", "c"): np.arange(4, dtype=np.int16),
                   "label": np.array([1, 2], dtype=np.int64)})], [], {"bd": [0.5, float("nan")]}]
    store.save(3, parts)
    again = partial_module.PartialStore("x", {"a": 1}, resume=True, base=tmp_path)
    (number, part), = again.done[3][0]
    assert number == 3 and part[("pred", "clean", "c")].dtype == np.int16
    assert part[("pred", "clean", "c")].tolist() == [0, 1, 2, 3]
    assert again.done[3][1] == [] and again.done[3][2]["bd"][0] == 0.5
    other = partial_module.PartialStore("x", {"a": 2}, resume=True, base=tmp_path)
    assert other.done == {} and other.folder != again.folder


def test_torchrun_ranks_keep_each_others_batches_and_the_last_to_finish_removes_the_folder(
        tmp_path):
    """Ranks start unsynchronised: rank 0 starting afresh after rank 1 saved a batch leaves
    that batch (removing the folder would pull it from under rank 1, whose next write then
    fails while rank 0 waits for it in a collective); the folder goes once neither rank has
    batches left."""
    one = partial_module.PartialStore("x", {"a": 1}, base=tmp_path, rank=1)
    one.save(1, ["rank 1"])
    zero = partial_module.PartialStore("x", {"a": 1}, base=tmp_path, rank=0)
    zero.save(0, ["rank 0"])
    assert sorted(p.name for p in zero.folder.iterdir()) == [
        "batch-000000.r0.pt", "batch-000001.r1.pt", "identity.json"]
    again = partial_module.PartialStore("x", {"a": 1}, resume=True, base=tmp_path, rank=1)
    assert again.done == {1: ["rank 1"]}
    zero.finish()
    assert [p.name for p in one.folder.glob("batch-*")] == ["batch-000001.r1.pt"]
    one.finish()
    assert not one.folder.exists()
