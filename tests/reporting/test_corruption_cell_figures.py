"""The ``corruption-gain`` and ``severity-curves`` figure kinds: their CSVs hold the numbers of
``corruption_processors.json``; a file without the cells a kind needs, or none, is one sentence."""

import json

import pytest

from analysis.errors import RAExplorerError
from analysis.reporting.paper import FigureOptions, build_figure, save_figure

CLFS = ["a", "b"]


def _acc(p):
    return {k: {"accuracy": p + 0.01 * n, "ci95": [p - 0.02, p + 0.02], "correct": 0}
            for n, k in enumerate(CLFS)}


def _diff(d):
    return {k: {"diff": d, "ci95": [d - 0.01, d + 0.01], "discordant": [0, 0]} for k in CLFS}


def _cell(kind, level, accs: dict):
    rows = {}
    for method, p in accs.items():
        rows[method] = {"name": f"{kind}-{level}-{method}", "accuracy": _acc(p),
                        "psnr": {"mean": 20.0, "ci95": [19.9, 20.1]},
                        "ssim": {"mean": 0.8, "ci95": [0.79, 0.81]}}
        if method != "plain":
            rows[method]["ra_minus_plain"] = _diff(p - accs["plain"])
    return {"type": kind, "level": level, "n_images": 100, "rows": rows,
            "no_processing": {k: {"accuracy": 0.3 - 0.02 * level, "ci95": [0.2, 0.4]}
                              for k in CLFS}}


def _result(cells):
    return {"kind": "corruption-processors", "dataset": "synthetic", "split": "test",
            "n_images": 100, "seed": 0, "classifiers": CLFS, "source": "a",
            "clean": {k: {"accuracy": 0.9, "ci95": [0.88, 0.92]} for k in CLFS},
            "cells": {f"corrupt:level={c['level']},type={c['type']}": c for c in cells},
            "summary": {}, "provenance": {"checkpoints": {}}}


@pytest.fixture
def results(tmp_path):
    cells = [_cell("snow", 1, {"plain": 0.6, "ra": 0.65, "ra-unsup": 0.62}),
             _cell("snow", 5, {"plain": 0.4, "ra": 0.5, "ra-unsup": 0.45}),
             _cell("fog", 5, {"plain": 0.5, "ra": 0.49})]
    (tmp_path / "corruption_processors.json").write_text(json.dumps(_result(cells)))
    return tmp_path


def test_gain_heatmap_holds_ra_minus_plain_per_type_and_classifier(results, tmp_path):
    fig = build_figure("corruption-gain", FigureOptions(results=results, dataset="synthetic"))
    by = {(r["type"], r["classifier"]): r for r in fig.rows}
    assert set(by) == {("snow", "a"), ("snow", "b"), ("fog", "a"), ("fog", "b")}
    assert by[("snow", "a")]["ra_minus_plain_points"] == pytest.approx(10.0)
    assert by[("fog", "b")]["ci95_low_points"] == pytest.approx(-2.0)
    assert by[("snow", "a")]["source"] and not by[("snow", "b")]["source"]
    assert by[("snow", "b")]["ra_accuracy_pct"] == pytest.approx(51.0)
    paths = save_figure(fig, tmp_path / "out" / fig.name, ["png"], 60)
    assert any(p.suffix == ".csv" for p in paths)


def test_severity_curves_hold_each_methods_accuracy_on_the_source(results):
    fig = build_figure("severity-curves", FigureOptions(results=results, dataset="synthetic"))
    assert {r["type"] for r in fig.rows} == {"snow"}            # fog has one severity
    by = {(r["method"], r["level"]): r for r in fig.rows}
    assert set(by) == {(m, lv) for m in ("plain", "ra", "ra-unsup") for lv in (1, 5)}
    assert by[("ra", 5)]["accuracy_pct"] == pytest.approx(50.0)
    assert by[("ra", 5)]["ci95_high_pct"] == pytest.approx(52.0)
    assert all(r["classifier"] == "a" for r in fig.rows)


def test_files_without_the_needed_cells_say_so(tmp_path):
    with pytest.raises(RAExplorerError, match="python -m analysis corruption-processors"):
        build_figure("corruption-gain", FigureOptions(results=tmp_path))
    (tmp_path / "corruption_processors.json").write_text(json.dumps(_result(
        [_cell("fog", 1, {"plain": 0.5})])))
    for kind, words in (("corruption-gain", "no severity-5 cell"),
                        ("severity-curves", "several severities")):
        with pytest.raises(RAExplorerError, match=words):
            build_figure(kind, FigureOptions(results=tmp_path, dataset="synthetic"))
