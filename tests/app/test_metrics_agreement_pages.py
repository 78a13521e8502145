"""AppTest: the Metrics page's agreement table (sortable dataframe) and its metric-against-margin
scatter, from an agreement result on the tiny zoo; the view functions behind them."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.explore.agreement_view import (
    agreement_frame,
    clicked_index,
    scatter_frame,
    visibility_frame,
)
from tests.conftest import SYNTH

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture(scope="module")
def agreement(tiny_zoo):
    from analysis.analyses.metric_agreement import metric_agreement

    return metric_agreement("sr", dataset=SYNTH, folder=tiny_zoo, metrics=["psnr", "fd-clf-a"],
                            classifiers=["clf-a", "clf-b"], limit=16, n_boot=20, batch_size=8,
                            device="cpu", progress=False)


@pytest.fixture
def env(monkeypatch, tiny_zoo, agreement, tmp_path):
    from analysis.analyses.metric_agreement import save_agreement
    from analysis.data.folders import dataset_slug

    out = tmp_path / "datasets" / dataset_slug(SYNTH)
    save_agreement(agreement, out)
    monkeypatch.setenv("RA_CHECKPOINTS", str(tiny_zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    return out


def run_metrics():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    at.switch_page("views/metrics.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_frame_and_the_scatter_points_come_from_the_result(agreement):
    frame = agreement_frame(agreement, ["sr-ra"], ["pooled"])
    assert set(frame["metric"]) == {"psnr", "fd-clf-a", "confidence-clf-a", "confidence-clf-b"}
    assert (frame["input"] == "sr-ra").all() and (frame["classifier"] == "pooled").all()
    psnr = frame[frame["metric"] == "psnr"].iloc[0]
    row = next(r for r in agreement["agreement"] if (r["metric"], r["input"], r["classifier"])
               == ("psnr", "sr-ra", "pooled"))
    assert psnr["rho(margin)"] == row["spearman_margin"]["value"]
    assert psnr["rho(margin) low"] == row["spearman_margin"]["ci95"][0]
    assert psnr["MIQA SRCC"] == 0.24 and not psnr["lower is better"]
    points = scatter_frame(agreement.images, "psnr", "sr-plain", "clf-b")
    assert len(points) == 16 and list(points.columns) == ["index", "label", "psnr", "margin",
                                                          "p_y", "correct"]
    assert (points["margin"] > 0).tolist() == points["correct"].tolist()    # no ties here
    conf = scatter_frame(agreement.images, "confidence-clf-a", "sr-ra", "clf-a")
    assert (conf["confidence-clf-a"] >= conf["p_y"] - 1e-6).all()   # max softmax >= p_y
    assert clicked_index([{"customdata": 7}]) == 7 and clicked_index([{"customdata": [3]}]) == 3
    assert clicked_index([]) is None
    vis = visibility_frame(agreement)
    row = next(r for r in agreement["visibility"] if r["metric"] == "psnr")
    shown = vis[vis["metric"] == "psnr"].iloc[0]
    assert shown["processor"] == row["input"] == "sr-ra"
    assert shown["index"] == row["index"]["value"] and shown["delta"] == row["delta"]["value"]
    assert shown["floor from"] == "sampling"      # no seed replicates in the tiny zoo


def test_metrics_page_shows_the_agreement_table_and_the_scatter(env):
    at = run_metrics()
    assert any("track recognition" in h.value for h in at.subheader)
    table = next(d.value for d in at.dataframe if "rho(margin)" in d.value.columns)
    assert set(table["input"]) == {"sr-plain", "sr-ra"} and set(table["classifier"]) == {"pooled"}
    assert {"rho(p_y) low", "AUROC(correct) high", "MIQA SRCC"} <= set(table.columns)
    vis = next(d.value for d in at.dataframe if "floor from" in d.value.columns)
    assert set(vis["processor"]) == {"sr-ra"} and len(vis) == 4      # psnr, fd and 2 confidences
    assert any("sampling noise of the plain mean only" in c.value for c in at.caption)
    charts = [c for c in at.get("plotly_chart") if "margin of clf-a" in c.proto.spec]
    assert len(charts) == 1
    # another classifier's rows, another input, another metric and margin: the page follows
    at.selectbox(key="metrics_agreement_classifier").set_value("clf-b").run()
    at.multiselect(key="metrics_agreement_inputs").set_value(["no processing"]).run()
    table = next(d.value for d in at.dataframe if "rho(margin)" in d.value.columns)
    assert set(table["classifier"]) == {"clf-b"} and set(table["input"]) == {"no processing"}
    at.selectbox(key="metrics_scatter_metric").set_value("fd-clf-a").run()
    at.selectbox(key="metrics_scatter_classifier").set_value("clf-b").run()
    assert not at.exception
    assert any("fd-clf-a against the margin of clf-b on sr-ra" in c.proto.spec
               for c in at.get("plotly_chart"))


def test_without_the_per_image_table_the_page_says_how_to_make_it(env):
    (env / "agreement_sr_scale4_images.parquet").unlink()
    at = run_metrics()
    assert any("rho(margin)" in d.value.columns for d in at.dataframe)     # the table stays
    assert any("No per-image agreement table" in i.value for i in at.info)
