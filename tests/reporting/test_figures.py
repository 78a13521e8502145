"""The app's plotly figures over results (analysis/reporting/figures.py)."""

import math

import numpy as np

from analysis.reporting.figures import bd_ecdf


def _report(n=40, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        bd = {}
        for name, scale in (("rs", 1.0), ("rt", 3.0)):
            bd[name] = {"random": float(rng.lognormal(0, 1) * scale),
                        "ra": float(rng.lognormal(-1, 1) * scale)}
        if i < 3:
            bd["rt"]["random"] = math.nan          # censored: never crossed
        records.append({"index": i, "bd": bd})
    return {"task": "sr:scale=4", "records": records,
            "pairs": [{"source": "rs", "target": "rt", "selected": n}]}


def test_the_bd_ecdf_is_monotone_on_a_log_axis_with_censoring_counted():
    fig = bd_ecdf(_report())
    assert len(fig.data) == 6                          # 3 panels x (random, RA)
    for axis in ("xaxis", "xaxis2", "xaxis3"):
        assert fig.layout[axis].type == "log"
    for trace in fig.data:
        x, y = np.asarray(trace.x, float), np.asarray(trace.y, float)
        assert trace.line.shape == "hv"                # a step function, not bars
        assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) > 0)
        assert 0 < y[0] and y[-1] <= 1
    ends = {(t.xaxis, t.legendgroup): float(t.y[-1]) for t in fig.data}
    assert ends[("x2", "random")] == (40 - 3) / 40     # BD(rt) random: 3 censored
    assert ends[("x", "random")] == 1.0 and ends[("x3", "random")] == (40 - 3) / 40
