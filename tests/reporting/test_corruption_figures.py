"""The ``corruption-grid`` and ``reliability`` figure kinds: their CSVs hold the numbers of the
files they read, and a missing file is one sentence naming the command that makes it."""

import csv
import json
import shutil

import numpy as np
import pytest

from analysis.config import PROJECT_ROOT
from analysis.errors import RAExplorerError
from analysis.pipeline.records import RecordTable
from analysis.reporting.paper import FigureOptions, build_figure, save_figure
from analysis.stats import expected_calibration_error
from tests.analyses.test_corruption_grid import _grid


def test_corruption_grid_heatmaps_hold_the_grid_numbers(tmp_path):
    result = _grid()
    result["provenance"] = {"checkpoints": {}}
    (tmp_path / "corruption_grid.json").write_text(json.dumps(result))
    fig = build_figure("corruption-grid", FigureOptions(results=tmp_path, dataset="synthetic"))
    assert len(fig.figure.axes) == 3            # two rows (panels) and the colour bar
    assert len(fig.rows) == 2 * len(result["cells"])
    by_key = {(r["input"], r["type"], r["level"]): r for r in fig.rows}
    cell = result["rows"][1]["cells"]["corrupt:level=5,type=snow"]
    row = by_key[("proc", "snow", 5)]
    assert row["accuracy_pct"] == pytest.approx(100 * cell["accuracy"])
    assert row["ci95_low_pct"] == pytest.approx(100 * cell["ci95"][0])
    assert row["trained_on"] == "denoise:sigma=0.1"
    only = build_figure("corruption-grid", FigureOptions(results=tmp_path, dataset="synthetic",
                                                         processors=["proc"]))
    assert {r["input"] for r in only.rows} == {"proc"}
    paths = save_figure(fig, tmp_path / "out" / fig.name, ["png"], 60)
    assert any(p.suffix == ".csv" for p in paths)


def test_reliability_csv_is_the_record_tables_calibration(tmp_path):
    name = "records_denoise_sigma0.1.parquet"
    shutil.copy(PROJECT_ROOT / "results" / name, tmp_path / name)
    table = RecordTable.load(tmp_path / name)
    fig = build_figure("reliability", FigureOptions(results=tmp_path, task="denoise"))
    clf = table.classifiers[0]
    inputs = [r["input"] for r in fig.rows[::15]]
    assert inputs[:2] == ["clean", "no processing"] and len(fig.rows) == 15 * len(inputs)
    for inp in inputs:
        rows = [r for r in fig.rows if r["input"] == inp]
        assert sum(r["count"] for r in rows) == len(table)
        ece = expected_calibration_error(table.prob[(inp, clf)].astype(np.float64),
                                         table.correct(inp, clf))
        assert rows[0]["ece"] == pytest.approx(ece)
    saved = save_figure(fig, tmp_path / "rel", ["png"], 60)
    written = list(csv.DictReader(next(p for p in saved if p.suffix == ".csv").open()))
    assert len(written) == len(fig.rows)


def test_missing_files_name_their_command(tmp_path):
    with pytest.raises(RAExplorerError, match="python -m analysis corruption-grid"):
        build_figure("corruption-grid", FigureOptions(results=tmp_path))
    with pytest.raises(RAExplorerError, match="reproduce --tasks denoise:sigma=0.1"):
        build_figure("reliability", FigureOptions(results=tmp_path, task="denoise"))
