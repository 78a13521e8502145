"""Per-image agreement: the tables from hand-made per-image values, and one pass on the tiny zoo."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from analysis.analyses.metric_agreement import (
    POOLED,
    agreement_analysis,
    format_agreement,
    logit_summary,
    margin_consistency_rows,
    metric_agreement,
    save_agreement,
)
from tests.conftest import SYNTH

LABEL = np.array([0, 1, 1, 0, 2, 2])
# margins of two classifiers on one input, chosen by hand
MA = np.array([1.0, -0.5, 2.0, 0.0, 3.0, -1.0])
MB = np.array([0.5, -1.0, 1.0, 0.5, 2.0, 0.0])


def test_logit_summary_by_hand():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 3.5]])
    out = logit_summary(logits, torch.tensor([0, 1]))
    assert out["margin"].tolist() == [1.0, -0.5]
    assert out["correct"].tolist() == [True, False]
    soft = logits.softmax(1)
    assert out["prob"] == pytest.approx([float(soft[0, 0]), float(soft[1, 1])])
    assert out["confidence"] == pytest.approx([float(soft[0, 0]), float(soft[1, 2])])


def test_margin_consistency_equals_a_hand_computed_pearson():
    values = {"label": LABEL, ("margin", "x", "a"): MA, ("margin", "x", "b"): MB}
    row, = margin_consistency_rows(values, ["x"], ["a", "b"], n_boot=50)
    da, db = MA - MA.mean(), MB - MB.mean()
    hand = (da * db).sum() / math.sqrt((da ** 2).sum() * (db ** 2).sum())
    assert (row["a"], row["b"]) == ("a", "b")
    assert row["pearson"]["value"] == pytest.approx(hand)
    assert row["pearson"]["ci95"][0] <= hand <= row["pearson"]["ci95"][1]


def _values():
    rng = np.random.default_rng(0)
    n = 60
    quality = {inp: rng.uniform(size=n) for inp in ("no processing", "p-plain", "p-ra")}
    values = {"label": np.zeros(n, int)}
    quality["clean"] = np.ones(n)                             # metrics of clean: never read
    for inp, q in quality.items():
        if inp != "clean":
            values[("metric", inp, "sim")] = q                   # higher better
            values[("metric", inp, "dist")] = 1 - q + 0.01 * rng.normal(size=n)  # lower better
        for c, noise in (("a", 0.2), ("b", 0.5)):
            margin = q - 0.5 + noise * rng.normal(size=n) + (0.3 if inp == "p-ra" else 0)
            values[("margin", inp, c)] = margin
            values[("prob", inp, c)] = 1 / (1 + np.exp(-margin))
            values[("correct", inp, c)] = margin > 0
            values[("confidence", inp, c)] = np.abs(margin)
    return values


def test_agreement_rows_equal_scipy_and_sklearn_and_orient_distances():
    values = _values()
    tables = agreement_analysis(values, {"sim": False, "dist": True}, ["a", "b"],
                                ["clean", "no processing", "p-plain", "p-ra"], "p-plain",
                                n_boot=100)
    rows = {(r["metric"], r["input"], r["classifier"]): r for r in tables["agreement"]}
    assert {m for m, _, _ in rows} == {"sim", "dist", "confidence-a", "confidence-b"}
    assert "clean" not in {i for _, i, _ in rows}
    for inp in ("no processing", "p-plain", "p-ra"):
        x = values[("metric", inp, "sim")]
        r = rows[("sim", inp, "a")]
        assert r["spearman_margin"]["value"] == pytest.approx(
            spearmanr(x, values[("margin", inp, "a")]).statistic)
        assert r["spearman_prob"]["value"] == pytest.approx(
            spearmanr(x, values[("prob", inp, "a")]).statistic)
        assert r["auroc"]["value"] == pytest.approx(
            roc_auc_score(values[("correct", inp, "a")], x))
        pooled = rows[("sim", inp, POOLED)]
        assert pooled["spearman_margin"]["value"] == pytest.approx(spearmanr(
            np.tile(x, 2), np.concatenate([values[("margin", inp, c)] for c in "ab"])).statistic)
        # the distance is negated: it tracks recognition as the similarity does
        dist = rows[("dist", inp, "a")]
        assert dist["spearman_margin"]["value"] > 0.4 and dist["auroc"]["value"] > 0.7
        assert dist["spearman_margin"]["value"] == pytest.approx(
            spearmanr(-values[("metric", inp, "dist")], values[("margin", inp, "a")]).statistic)
    # the less noisy classifier is tracked better
    assert rows[("sim", "p-plain", "a")]["spearman_margin"]["value"] > \
        rows[("sim", "p-plain", "b")]["spearman_margin"]["value"]


def test_visibility_delta_floor_and_index():
    values = _values()
    values[("metric", "p-ra", "sim")] = values[("metric", "p-plain", "sim")] + 0.1
    values[("metric", "p-ra", "dist")] = values[("metric", "p-plain", "dist")] + 0.1
    tables = agreement_analysis(values, {"sim": False, "dist": True}, ["a", "b"],
                                ["clean", "no processing", "p-plain", "p-ra"], "p-plain",
                                n_boot=400)
    vis = {(r["metric"], r["input"]): r for r in tables["visibility"]}
    assert {i for _, i in vis} == {"p-ra"}          # neither no processing nor the reference
    sim, dist = vis[("sim", "p-ra")], vis[("dist", "p-ra")]
    assert sim["delta"]["value"] == pytest.approx(0.1)
    assert dist["delta"]["value"] == pytest.approx(-0.1)    # oriented: a larger distance is worse
    se = values[("metric", "p-plain", "sim")].std(ddof=1) / math.sqrt(60)
    assert sim["floor"] == pytest.approx(se, rel=0.15)       # bootstrap SD of the plain mean
    assert sim["index"]["value"] == pytest.approx(0.1 / sim["floor"])


def test_the_visibility_floor_across_seeds_by_hand():
    """With two replicates of the plain processor, the floor is the RMS of the three pairs'
    mean differences; the replicates get no visibility row of their own."""
    values = _values()
    base = values[("metric", "p-plain", "sim")]
    shifts = {"p-plain-seed1": 0.02, "p-plain-seed2": -0.01}
    inputs = ["clean", "no processing", "p-plain", *shifts, "p-ra"]
    for name, shift in shifts.items():
        values[("metric", name, "sim")] = base + shift
        values[("metric", name, "dist")] = values[("metric", "p-plain", "dist")] - shift
        for key in ("margin", "prob", "correct", "confidence"):
            for c in ("a", "b"):
                values[(key, name, c)] = values[(key, "p-plain", c)]
    values[("metric", "p-ra", "sim")] = base + 0.1
    tables = agreement_analysis(values, {"sim": False, "dist": True}, ["a", "b"], inputs,
                                "p-plain", n_boot=200, replicates=list(shifts))
    vis = {(r["metric"], r["input"]): r for r in tables["visibility"]}
    assert {i for _, i in vis} == {"p-ra"}
    sim = vis[("sim", "p-ra")]
    # pairs (plain, seed1) -0.02, (plain, seed2) +0.01, (seed1, seed2) +0.03
    floor = math.sqrt((0.02 ** 2 + 0.01 ** 2 + 0.03 ** 2) / 3)
    assert sim["floor_source"] == "seeds" and sim["floor"] == pytest.approx(floor)
    assert sim["floor_processors"] == ["p-plain", *shifts]
    assert sim["index"]["value"] == pytest.approx(0.1 / floor)
    # constant shifts: every resample gives the same delta and floor, so the CI is a point
    assert sim["index"]["ci95"] == pytest.approx([0.1 / floor] * 2)
    assert vis[("dist", "p-ra")]["floor"] == pytest.approx(floor, rel=0.05)   # oriented alike
    without = agreement_analysis(values, {"sim": False}, ["a"], inputs, "p-plain", n_boot=50)
    assert {r["floor_source"] for r in without["visibility"]} == {"sampling"}


def test_the_pass_on_the_tiny_zoo_and_its_files(tiny_zoo, tmp_path):
    result = metric_agreement("sr", dataset=SYNTH, folder=tiny_zoo, metrics=["psnr", "fd-clf-a"],
                              classifiers=["clf-a", "clf-b"], limit=24, n_boot=30,
                              batch_size=10, device="cpu", progress=False)
    assert result["n_images"] == 24 and result["plain_reference"] == "sr-plain"
    assert [i["name"] for i in result["inputs"]] == ["clean", "no processing", "sr-plain", "sr-ra"]
    metrics = {(r["metric"], r["input"], r["classifier"]) for r in result["agreement"]}
    assert ("fd-clf-a", "sr-ra", POOLED) in metrics and ("confidence-clf-b", "sr-plain", "clf-a") in metrics
    assert {r["input"] for r in result["visibility"]} == {"sr-ra"}
    assert {r["input"] for r in result["margin_consistency"]} == {"clean", "no processing",
                                                                  "sr-plain", "sr-ra"}
    fd = next(m for m in result["metrics"] if m["name"] == "fd-clf-a")
    assert fd["lower_better"]
    assert "lower bound" in result["definitions"]["visibility"] or "upper bound" in \
        result["definitions"]["visibility"]
    table = format_agreement(result)
    assert "### sr-ra" in table and "RA visibility" in table and "clf-a / clf-b" in table
    paths = save_agreement(result, tmp_path)
    assert [p.name for p in paths] == ["agreement_sr_scale4.json", "agreement_sr_scale4.md",
                                       "agreement_sr_scale4_images.parquet"]
    images = pd.read_parquet(paths[2])
    assert len(images) == 24 and images["index"].is_unique
    assert {"metric|sr-ra|psnr", "margin|clean|clf-b", "correct|sr-plain|clf-a",
            "prob|no processing|clf-a", "confidence|sr-ra|clf-b"} <= set(images.columns)
    assert "metric|clean|psnr" not in images.columns
    # the per-image values are the ones the tables rest on: accuracy from the correct column
    row = next(r for r in result["agreement"] if (r["metric"], r["input"], r["classifier"])
               == ("psnr", "sr-ra", "clf-a"))
    assert row["accuracy"] == pytest.approx(images["correct|sr-ra|clf-a"].mean())


def test_the_default_pass_adds_the_plain_processors_seed_replicates(tiny_zoo, tmp_path):
    """Every processor of the task by default, and the plain one's replicates in ``seeds/`` for
    the across-seed floor (here a copy of sr-plain's weights with another seed: floor 0, so
    the index is undefined rather than made up)."""
    import json
    import shutil

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    (zoo / "seeds").mkdir()
    shutil.copy(zoo / "sr-plain.safetensors", zoo / "seeds" / "sr-plain-seed1.safetensors")
    card = json.loads((zoo / "sr-plain.json").read_text())
    card.update(name="sr-plain-seed1", seed=1, training={**card.get("training", {}), "seed": 1},
                weights={**card["weights"], "file": "sr-plain-seed1.safetensors"})
    (zoo / "seeds" / "sr-plain-seed1.json").write_text(json.dumps(card))
    result = metric_agreement("sr", dataset=SYNTH, folder=zoo, metrics=["psnr"],
                              classifiers=["clf-a"], limit=12, n_boot=20, batch_size=12,
                              device="cpu", progress=False)
    assert [i["name"] for i in result["inputs"]] == ["clean", "no processing", "sr-plain",
                                                     "sr-ra", "sr-plain-seed1"]
    assert result["plain_replicates"] == ["sr-plain-seed1"]
    row = next(r for r in result["visibility"] if r["metric"] == "psnr")
    assert row["input"] == "sr-ra" and row["floor_source"] == "seeds" and row["floor"] == 0
    assert math.isnan(row["index"]["value"])
