"""The ``agreement`` and ``agreement-scatter`` figure kinds from an agreement result on the tiny
zoo: what they plot is the result's numbers and the per-image table's values."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import RAExplorerError
from analysis.reporting.paper import FigureOptions, build_figure, save_figure
from tests.conftest import SYNTH


@pytest.fixture(scope="module")
def results(tiny_zoo, tmp_path_factory):
    from analysis.analyses.metric_agreement import metric_agreement, save_agreement

    folder = tmp_path_factory.mktemp("results")
    result = metric_agreement("sr", dataset=SYNTH, folder=tiny_zoo, metrics=["psnr", "ssim"],
                              classifiers=["clf-a", "clf-b"], limit=12, n_boot=20,
                              batch_size=6, device="cpu", progress=False)
    save_agreement(result, folder)
    return folder, result


def options(results, tiny_zoo, **kw) -> FigureOptions:
    return FigureOptions(dataset=SYNTH, results=results[0], checkpoints=tiny_zoo, **kw)


def test_agreement_plots_rho_with_the_margin_per_metric_and_input(results, tiny_zoo, tmp_path):
    fig = build_figure("agreement", options(results, tiny_zoo))
    rows = {(r["metric"], r["input"]): r for r in results[1]["agreement"]
            if r["classifier"] == "pooled"}
    assert {p["input"] for p in fig.rows} == {"sr-plain", "sr-ra"}
    for p in fig.rows:
        assert p["classifier"] == "pooled"
        assert p["spearman_margin"] == pytest.approx(
            rows[(p["metric"], p["input"])]["spearman_margin"]["value"], nan_ok=True)
    written = save_figure(fig, tmp_path / "agreement", ["png"], 100)
    assert {p.suffix for p in written} == {".png", ".csv"}
    one = build_figure("agreement", options(results, tiny_zoo, classifier="clf-b",
                                            processors=["no processing"], metrics=["psnr"]))
    assert [(p["metric"], p["input"], p["classifier"]) for p in one.rows] == [
        ("psnr", "no processing", "clf-b")]


def test_agreement_scatter_plots_the_per_image_values(results, tiny_zoo):
    fig = build_figure("agreement-scatter", options(results, tiny_zoo, classifier="clf-b",
                                                    metrics=["ssim"], processors=["sr-ra"]))
    images = pd.read_parquet(results[0] / "agreement_sr_scale4_images.parquet")
    assert [p["index"] for p in fig.rows] == images["index"].tolist()
    assert [p["value"] for p in fig.rows] == pytest.approx(images["metric|sr-ra|ssim"].tolist())
    assert [p["margin"] for p in fig.rows] == pytest.approx(images["margin|sr-ra|clf-b"].tolist())


def test_bad_choices_are_one_sentence(results, tiny_zoo, tmp_path):
    with pytest.raises(RAExplorerError, match="metric"):
        build_figure("agreement-scatter", options(results, tiny_zoo, metrics=["nope"]))
    with pytest.raises(RAExplorerError, match="classifier"):
        build_figure("agreement", options(results, tiny_zoo, classifier="nope"))
    with pytest.raises(RAExplorerError, match="python -m analysis agreement --task sr"):
        build_figure("agreement", FigureOptions(dataset=SYNTH, results=tmp_path,
                                                checkpoints=tiny_zoo))
