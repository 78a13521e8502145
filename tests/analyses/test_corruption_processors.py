"""The corruption processors' tables (Tables 12-14 analogs): cells found per type and severity,
each method paired with its cell's plain processor on every classifier, the tally, the CLI verb
on a tiny zoo (writes, resumes) and its refusal without processors."""

import json
import shutil

import pytest

from analysis.analyses.corruption_processors import (
    COLLECTION,
    cell_models,
    corruption_processor_table,
    format_corruption_processors,
)
from analysis.cli.main import main
from analysis.data.tasks import create_task, task_slug
from analysis.errors import RAExplorerError
from analysis.pipeline.records import RecordTable
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from tests.conftest import SYNTH, TINY_PROCESSOR

FOG5, FOG1, SNOW5 = (create_task(s).spec for s in (
    "corrupt:type=fog,level=5", "corrupt:type=fog,level=1", "corrupt:type=snow,level=5"))


@pytest.fixture(scope="module")
def zoo(tiny_zoo, tmp_path_factory):
    """The tiny zoo's classifiers, with plain and RA processors of fog 5 and 1 in the
    collection and an RA processor of snow 5 without a plain one."""
    from analysis.training.processors import train_processor

    folder = tmp_path_factory.mktemp("corruption-zoo")
    for name in ("clf-a", "clf-b"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(tiny_zoo / f"{name}{suffix}", folder / f"{name}{suffix}")
    state = tmp_path_factory.mktemp("state")
    common = {"dataset": SYNTH, "epochs": 1, "batch_size": 16, "val_limit": 16, "max_steps": 2,
              "state_dir": str(state), "progress": False, "arch_kwargs": TINY_PROCESSOR,
              "arch": "srresnet"}
    cells = folder / COLLECTION
    for spec, tag in ((FOG5, "fog-5"), (FOG1, "fog-1")):
        train_processor(spec, "plain", out=str(cells / f"{tag}-plain"), **common)
        train_processor(spec, "ra", out=str(cells / f"{tag}-ra"),
                        recognizer=str(folder / "clf-a"), lam=0.1, **common)
    train_processor(SNOW5, "ra", out=str(cells / "snow-5-ra"), recognizer=str(folder / "clf-a"),
                    lam=0.1, **common)
    return folder


def test_cells_need_a_plain_processor_and_come_in_benchmark_order(zoo):
    cells = cell_models(SYNTH, zoo)
    assert list(cells) == [FOG1, FOG5]                          # snow 5 has no plain one
    assert {m: c["name"] for m, c in cells[FOG5].items()} == {"plain": "fog-5-plain",
                                                               "ra": "fog-5-ra"}
    assert list(cell_models(SYNTH, zoo, levels=[5])) == [FOG5]
    with pytest.raises(RAExplorerError, match="build-zoo --only"):
        cell_models(SYNTH, zoo, types=["snow"])


def test_each_method_is_paired_with_its_cells_plain_processor(zoo, tmp_path):
    result = corruption_processor_table(SYNTH, zoo, limit=12, device="cpu", progress=False,
                                        records_dir=tmp_path)
    assert result["classifiers"] == ["clf-a", "clf-b"] and result["source"] == "clf-a"
    fog5 = result["cells"][FOG5]
    assert fog5["type"] == "fog" and fog5["level"] == 5 and fog5["n_images"] == 12
    plain, ra = fog5["rows"]["plain"], fog5["rows"]["ra"]
    for clf in ("clf-a", "clf-b"):
        d = ra["ra_minus_plain"][clf]
        assert d["diff"] == pytest.approx(ra["accuracy"][clf]["accuracy"]
                                          - plain["accuracy"][clf]["accuracy"])
        assert d["ci95"][0] <= d["diff"] <= d["ci95"][1]
    tally = result["summary"]["ra"]
    assert set(tally) == {"clf-a", "clf-b"} and all(t["types"] == 1 for t in tally.values())
    assert all(t["above"] + t["includes_zero"] + t["below"] == 1 for t in tally.values())
    text = format_corruption_processors(result)
    assert "Table 12 analog" in text and "Table 14 analog" in text and "Table 13 analog" in text
    assert "| fog | 1 | ra |" in text
    tables = {p.stem: RecordTable.load(p) for p in tmp_path.glob("records_*.parquet")}
    assert len(tables) == 2                # the clean images once, in the first cell (fog 1)
    assert [name for name, t in tables.items() if CLEAN in t.inputs] == [
        f"records_{task_slug(FOG1)}"]
    clean = tables[f"records_{task_slug(FOG1)}"].correct(CLEAN, "clf-b")
    assert result["clean"]["clf-b"]["accuracy"] == clean.mean()
    none = tables[f"records_{task_slug(FOG5)}"].correct(NO_PROCESSING, "clf-a")
    assert fog5["no_processing"]["clf-a"]["correct"] == none.sum()
    assert "Clean images: clf-a " in text


def test_the_verb_writes_and_resumes(zoo, tmp_path, capsys):
    argv = ["corruption-processors", "--dataset", SYNTH, "--checkpoints", str(zoo),
            "--levels", "5", "--first", "10", "--out", str(tmp_path), "--no-progress",
            "--device", "cpu"]
    assert main(argv) == 0
    result = json.loads((tmp_path / "corruption_processors.json").read_text())
    assert list(result["cells"]) == [FOG5] and result["n_images"] == 10
    assert result["provenance"]["checkpoints"].keys() >= {"fog-5-plain", "fog-5-ra", "clf-a"}
    capsys.readouterr()
    assert main(argv) == 0
    assert "reused from" in capsys.readouterr().err
    # the time is every cell's measuring time (fog 1 and 5 here), also when they are reused
    from analysis.pipeline.records import RecordTable

    both = [a for a in argv if a not in ("--levels", "5")]
    assert main(both) == 0 and main(both) == 0
    tables = sorted((tmp_path / "corruption_processors").glob("records_*.parquet"))
    assert len(tables) == 2
    again = json.loads((tmp_path / "corruption_processors.json").read_text())
    measured = sum(RecordTable.load(t).provenance["wall_seconds"] for t in tables)
    assert measured > 0 and again["provenance"]["wall_seconds"] == pytest.approx(measured,
                                                                                  abs=1e-3)
    # the record names the run that measured each cell; its own run is the latest of them
    cells = again["provenance"]["cells"]
    starts = {spec: RecordTable.load(tmp_path / "corruption_processors" /
                                     f"records_{task_slug(spec)}.parquet").provenance["started"]
              for spec in cells}
    assert {spec: c["started"] for spec, c in cells.items()} == starts
    assert again["provenance"]["started"] == max(starts.values())
    assert main(["corruption-processors", "--dataset", SYNTH, "--checkpoints", str(zoo),
                 "--types", "snw", "--no-save"]) != 0
    assert "Did you mean 'snow'" in capsys.readouterr().err
