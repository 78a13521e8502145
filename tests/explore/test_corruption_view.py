"""The Metrics page's corruption-grid view: the summary frame and one row's type x severity
matrix come from the result's numbers (accuracy with its CI, ECE, gain over the mCE reference)."""

import math

import pytest

from analysis.explore.corruption_view import VALUES, cell_matrix, summary_frame, vanilla_row
from analysis.reporting.figures import corruption_heatmap
from tests.analyses.test_corruption_grid import _grid


@pytest.fixture(scope="module")
def grid():
    return _grid(n_boot=50)


def test_the_summary_frame_holds_each_rows_mce_and_mean_ece(grid):
    frame = summary_frame(grid)
    assert list(frame["row"]) == ["clf, no processing",
                                  "clf, proc (trained on denoise:sigma=0.1, not on these "
                                  "corruptions)"]
    proc = grid["rows"][1]
    line = frame.iloc[1]
    assert line["mCE"] == proc["mce"]["value"] and line["mCE low"] == proc["mce"]["ci95"][0]
    assert line["mean error %"] == pytest.approx(100 * (0.1 + 0.3 + 0.4 + 0.6) / 4)
    assert line["mean ECE"] == pytest.approx(
        sum(c["ece"] for c in proc["cells"].values()) / len(proc["cells"]))
    assert frame.iloc[0]["mCE"] == 1.0


def test_one_rows_matrix_by_type_and_severity(grid):
    types, levels, z, text = cell_matrix(grid, 1, "accuracy")
    assert types == ["snow", "fog", "speckle_noise"] and levels == [1, 5]
    assert z[0] == [90.0, 70.0] and z[1] == [60.0, 40.0]
    assert math.isnan(z[2][0]) and text[2][0] == "" and z[2][1] == 100.0   # no level-1 cell
    cell = grid["rows"][1]["cells"]["corrupt:level=5,type=snow"]
    assert text[0][1] == f"70.0 ±{50 * (cell['ci95'][1] - cell['ci95'][0]):.1f}"
    _, _, gain, gain_text = cell_matrix(grid, 1, VALUES[1])
    # no processing right on 8/4 (snow 1/5), 6/2 (fog), 5 (speckle 5); proc on 9/7, 6/4, 10
    assert gain[0] == pytest.approx([10.0, 30.0]) and gain[1] == pytest.approx([0.0, 20.0])
    assert gain_text[2][1] == "+50.0"
    _, _, ece, _ = cell_matrix(grid, 0, "ECE")
    assert ece[0][0] == vanilla_row(grid)["cells"]["corrupt:level=1,type=snow"]["ece"]
    with pytest.raises(ValueError):
        cell_matrix(grid, 0, "psnr")


def test_the_heatmap_draws_the_matrix(grid):
    fig = corruption_heatmap(grid, 1, VALUES[1])
    heat = fig.data[0]
    assert list(heat.y) == ["snow", "fog", "speckle_noise"]
    assert list(heat.x) == ["severity 1", "severity 5"] and heat.zmid == 0
    assert "gain over the vanilla classifier" in fig.layout.title.text


def test_the_cells_frame_holds_each_methods_difference_to_plain():
    from analysis.explore.corruption_view import gain_frame, judge
    from tests.reporting.test_corruption_cell_figures import _cell, _result

    result = _result([_cell("snow", 5, {"plain": 0.4, "ra": 0.5, "ra-unsup": 0.45}),
                      _cell("fog", 5, {"plain": 0.5, "ra": 0.49})])
    assert judge(result) == "a"
    frame = gain_frame(result)
    assert list(zip(frame["type"], frame["method"])) == [("snow", "ra"), ("snow", "ra-unsup"),
                                                         ("fog", "ra")]
    snow = frame.iloc[0]
    assert snow["- plain (points)"] == pytest.approx(10.0) and snow["low"] == pytest.approx(9.0)
    assert snow["plain %"] == pytest.approx(40.0) and snow["method %"] == pytest.approx(50.0)
    assert snow["no processing %"] == pytest.approx(20.0)
    other = gain_frame(result, "b")
    assert other.iloc[0]["method %"] == pytest.approx(51.0)
