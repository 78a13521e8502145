"""AppTest: the Metrics page's corruption benchmark (the grid's summary and a type x severity
heatmap per row), from a grid measured on the tiny zoo, and the command it names without one."""

import pytest

from analysis.analyses.corruption_grid import measure_grid, save_grid
from analysis.data.folders import dataset_slug
from tests.app.test_metrics_agreement_pages import run_metrics
from tests.conftest import SYNTH


@pytest.fixture(scope="module")
def grid(tiny_zoo):
    return measure_grid(("clf-a", "clf-b"), (), types=("fog", "snow"), levels=(1, 5),
                        dataset=SYNTH, folder=tiny_zoo, limit=12, n_boot=20, device="cpu",
                        progress=False)


@pytest.fixture
def env(monkeypatch, tiny_zoo, tmp_path):
    monkeypatch.setenv("RA_CHECKPOINTS", str(tiny_zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    return tmp_path / "datasets" / dataset_slug(SYNTH)


def heatmap_specs(at):
    return [c.proto.spec for c in at.get("plotly_chart") if "severity 5" in c.proto.spec]


def test_metrics_page_shows_the_grid_summary_and_a_rows_heatmap(env, grid):
    save_grid(grid, env)
    at = run_metrics()
    assert any("Corruption benchmark" in h.value for h in at.subheader)
    summary = next(d.value for d in at.dataframe if "mCE" in d.value.columns)
    assert list(summary["row"]) == ["clf-a, no processing", "clf-b, no processing"]
    assert summary["mCE"].tolist() == [r["mce"]["value"] for r in grid["rows"]]
    specs = heatmap_specs(at)
    assert len(specs) == 1 and "clf-a, no processing: accuracy" in specs[0]
    at.selectbox(key="metrics_corruption_row").set_value(1).run()
    at.selectbox(key="metrics_corruption_value").set_value("ECE").run()
    assert not at.exception
    specs = heatmap_specs(at)
    assert len(specs) == 1 and "clf-b, no processing: ECE" in specs[0]


def test_without_a_grid_the_page_names_the_command(env):
    at = run_metrics()
    assert any("python -m analysis corruption-grid" in str(w.value)
               for w in [*at.info, *at.warning, *at.markdown, *at.caption])


def test_metrics_page_shows_the_corruption_processors_per_classifier(env, tmp_path):
    import json

    from tests.reporting.test_corruption_cell_figures import _cell, _result

    env.mkdir(parents=True, exist_ok=True)
    (env / "corruption_processors.json").write_text(json.dumps(_result(
        [_cell("snow", 1, {"plain": 0.6, "ra": 0.65}),
         _cell("snow", 5, {"plain": 0.4, "ra": 0.5})])))
    at = run_metrics()
    assert any("Processors trained on corruption cells" in h.value for h in at.subheader)
    table = next(d.value for d in at.dataframe if "- plain (points)" in d.value.columns)
    assert list(table["severity"]) == [1, 5] and table["method %"].tolist() == [65.0, 50.0]
    at.selectbox(key="metrics_cells_classifier").set_value("b").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "- plain (points)" in d.value.columns)
    assert table["method %"].tolist() == pytest.approx([66.0, 51.0])
