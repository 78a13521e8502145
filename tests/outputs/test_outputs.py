"""Where result files go: results/ only for the full protocol, scoped by dataset; every result
file carries its provenance."""
import hashlib
import json
from pathlib import Path

import pytest

from analysis.cli.main import build_parser, main
from analysis.cli.options import departures
from analysis.config import PROJECT_ROOT
from analysis.data.folders import dataset_slug, results_dir
from analysis.outputs.run_folders import destination
from analysis.zoo.checkpoints import sha256_file
from tests.conftest import SYNTH

PROVENANCE_FIELDS = {"command", "dataset", "split", "n_images", "seeds", "checkpoints", "git",
                     "torch", "device", "threads", "started", "wall_seconds"}


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_departures_name_the_options_that_leave_the_protocol():
    parser = build_parser()
    assert departures(parser.parse_args(["quality", "--task", "sr"])) == []
    assert departures(parser.parse_args(["quality", "--task", "sr", "--first", "2000"])) == []
    assert departures(parser.parse_args(["quality", "--task", "sr", "--first", "50",
                                         "--metrics", "psnr"])) == ["--first 50", "--metrics psnr"]
    assert departures(parser.parse_args(["bd", "--task", "sr", "--target", "x",
                                         "--all-images"])) == ["--all-images"]
    assert departures(parser.parse_args(["tsne", "--task", "sr", "--sample", "100"])) == [
        "--sample 100"]
    assert departures(parser.parse_args(["loss-grid", "--classifiers", "a,b"])) == [
        "--classifiers a,b"]
    # options that only name what is measured (file name) or how fast are not departures
    assert departures(parser.parse_args(["quality", "--task", "sr", "--batch-size", "7"])) == []


def test_destination_full_partial_and_out(tmp_path, monkeypatch):
    monkeypatch.setenv("RA_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("RA_RUNS", str(tmp_path / "runs"))
    full = destination("quality", "fashion-mnist", [])
    assert full.full_protocol and full.folder == tmp_path / "results"
    other = destination("quality", "cifar10", [])
    assert other.folder == tmp_path / "results" / "datasets" / "cifar10"
    partial = destination("quality", "fashion-mnist", ["--limit 5"])
    assert not partial.full_protocol and partial.folder.parent == tmp_path / "runs" / "quality"
    assert partial.folder.is_dir() and "--limit 5" in partial.why
    again = destination("quality", "fashion-mnist", ["--limit 5"])
    assert again.folder != partial.folder          # a second run never reuses a folder
    named = destination("quality", "fashion-mnist", ["--limit 5"], out=tmp_path / "mine")
    assert named.folder == tmp_path / "mine"


LIMITED_RUNS = [
    ["quality", "--task", "sr", "--first", "3", "--metrics", "psnr"],
    ["tsne", "--task", "sr", "--sample", "30", "--backend", "sklearn"],
    ["bd", "--task", "sr", "--source", "resnet20", "--target", "densenet-bc",
     "--sample", "20", "--all-images", "--tol", "0.05"],
    ["robustness", "--classifier", "resnet20-robust", "--first", "4", "--pgd-steps", "2"],
    ["reproduce", "--sample", "2"],
]


@pytest.mark.parametrize("argv", LIMITED_RUNS, ids=[a[0] for a in LIMITED_RUNS])
def test_limited_runs_leave_the_shipped_results_byte_identical(argv, capsys):
    """quality, tsne, bd, robustness and reproduce with a sample of the test split
    write to runs/<verb>/<stamp>/ (here $RA_RUNS, set by conftest), never to results/."""
    shipped = PROJECT_ROOT / "results"
    before = tree_digest(shipped)
    runs = Path(__import__("os").environ["RA_RUNS"])
    assert main([*argv, "--no-progress"]) == 0, argv
    err = capsys.readouterr().err
    assert "Not the full protocol" in err and "is untouched" in err, err
    assert any((runs / argv[0]).iterdir()), argv
    assert tree_digest(shipped) == before


def test_a_full_protocol_run_on_another_dataset_lands_in_its_own_folder(tiny_zoo, tmp_path,
                                                                         monkeypatch, capsys):
    monkeypatch.setenv("RA_RESULTS", str(tmp_path / "results"))
    assert main(["quality", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--metrics", "psnr", "--no-progress"]) == 0       # --metrics: departs
    assert "Not the full protocol (--metrics psnr)" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
    assert main(["quality", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--no-progress"]) == 0
    assert "Full protocol" in capsys.readouterr().err
    folder = results_dir(dataset=SYNTH)
    assert folder == tmp_path / "results" / "datasets" / dataset_slug(SYNTH)
    saved = json.loads((folder / "quality_sr_scale4.json").read_text())
    assert saved["dataset"] == SYNTH
    assert not (tmp_path / "results" / "quality_sr_scale4.json").exists()


@pytest.mark.parametrize("argv, stem", [
    (["quality", "--task", "sr", "--metrics", "psnr"], "quality_sr_scale4"),
    (["tsne", "--task", "sr", "--classifier", "clf-a", "--sample", "20", "--backend", "sklearn"],
     "features_sr_scale4_clf-a"),
    (["bd", "--task", "sr", "--source", "clf-a", "--target", "clf-b", "--all-images",
      "--sample", "6", "--max-dist", "5", "--tol", "0.05"], "boundaries_sr_scale4_clf-a_clf-b"),
    (["robustness", "--classifier", "clf-robust", "--pgd-steps", "2", "--first", "8"],
     "robustness_clf-robust"),
])
def test_every_result_file_carries_provenance_with_the_checkpoint_hashes(
        argv, stem, tiny_zoo, tmp_path, capsys):
    out = tmp_path / "out"
    extra = [] if argv[0] == "robustness" else ["--dataset", SYNTH]
    assert main([*argv, *extra, "--checkpoints", str(tiny_zoo), "--out", str(out),
                 "--no-progress"]) == 0
    record = json.loads((out / f"{stem}.json").read_text())["provenance"]
    assert PROVENANCE_FIELDS <= set(record), PROVENANCE_FIELDS - set(record)
    assert record["checkpoints"], record
    for name, digest in record["checkpoints"].items():
        assert sha256_file(tiny_zoo / f"{name}.safetensors") == digest, name
    assert record["command"].startswith(f"python -m analysis {argv[0]} "), record["command"]
    assert f"--out {out}" in record["command"]


def test_git_state_counts_code_changes_not_rewritten_results(tmp_path, monkeypatch):
    import subprocess

    from analysis.outputs import provenance

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "r.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(provenance, "SOURCE_CHECKOUT", tmp_path)
    assert provenance.git_state()["dirty"] is False
    (tmp_path / "results" / "r.json").write_text('{"n": 1}\n')     # a run rewrote a result
    assert provenance.git_state()["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")                   # the code changed
    state = provenance.git_state()
    assert state["dirty"] is True and len(state["commit"]) == 40
    monkeypatch.setattr(provenance, "SOURCE_CHECKOUT", None)       # an installed copy
    assert provenance.git_state() == {"commit": None, "dirty": None}


def shipped_records():
    """(file, provenance record) of every shipped result: each JSON file's record, or each
    entry's where a file holds one per entry (the selections), each record table's, and for
    a per-canvas or per-image table the record of the result file it belongs to."""
    from analysis.pipeline.records import RecordTable

    for path in sorted((PROJECT_ROOT / "results").rglob("*.json")):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and "provenance" in doc:
            yield path.name, doc["provenance"]
        elif isinstance(doc, dict):
            for key, entry in doc.items():
                yield f"{path.name}[{key}]", (entry or {}).get("provenance")
        else:
            yield path.name, None
    from analysis.analyses.metric_agreement import images_name

    named = {}   # per-item tables a result file names (detection canvases, the agreement's
    for path in sorted((PROJECT_ROOT / "results").rglob("*.json")):   # images): its provenance
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and doc.get("per_canvas_file"):
            named[path.parent / doc["per_canvas_file"]] = doc.get("provenance")
        if isinstance(doc, dict) and path.name.startswith("agreement_") and "agreement" in doc:
            named[path.parent / images_name(doc["task"])] = doc.get("provenance")
    for path in sorted((PROJECT_ROOT / "results").rglob("*.parquet")):
        if path in named:
            yield path.name, named[path]
        else:
            yield path.name, RecordTable.load(path).provenance


def test_every_shipped_result_carries_provenance_and_its_checkpoints_are_the_shipped_ones():
    import json

    weights = {}
    for p in (PROJECT_ROOT / "checkpoints").rglob("*.safetensors"):
        weights.setdefault(p.stem, []).append(p)
    # a float16 cast check cites the float32 weights it checked, which the card of each
    # checkpoint it converted keeps as storage.float32_sha256
    converted = {}
    # a checkpoint whose weights are kept outside the repository is its card's hash
    outside = {}
    for p in (PROJECT_ROOT / "checkpoints").rglob("*.json"):
        card = json.loads(p.read_text())
        storage = card.get("storage") or {}
        if storage.get("float32_sha256"):
            converted.setdefault(p.stem, set()).add(storage["float32_sha256"])
        if (card.get("weights") or {}).get("store") == "outside":
            outside.setdefault(p.stem, set()).add(card["weights"]["sha256"])
    seen = 0
    for name, record in shipped_records():
        seen += 1
        assert record, f"{name} has no provenance"
        assert {"command", "dataset", "n_images", "checkpoints", "git"} <= set(record), name
        # (one early table quotes the program name: 'python -m analysis' evaluate ...)
        assert record["command"].replace("'python -m analysis'", "python -m analysis").startswith(
            "python -m analysis "), (name, record["command"])
        assert record["git"].get("commit") or record["git"].get("recorded_in"), name   # or reconstructed
        for model, digest in record["checkpoints"].items():
            assert model in weights or model in outside, f"{name}: no checkpoint {model!r} is shipped"
            shipped = {sha256_file(p) for p in weights.get(model, [])} | outside.get(model, set())
            if name.startswith("float16_cast_check_"):
                shipped |= converted.get(model, set())
            assert digest in shipped, f"{name}: {model} is not the shipped checkpoint of that name"
    assert seen >= 40
