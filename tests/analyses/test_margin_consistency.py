"""Decision-margin consistency between classifiers: the signed-confidence margin, Pearson r per
pair and input, the mean over pairs and its paired difference to the plain processor, each
against a hand computation on a small table; BD pairs; the whole result from files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.analyses.margin_consistency import (
    bd_consistency,
    consistency_tables,
    format_margins,
    margin_consistency,
    record_margins,
    save_margins,
    signed_confidence,
)
from analysis.errors import RAExplorerError
from analysis.pipeline.records import RecordTable

LABEL = np.array([0, 1, 2, 0, 1])
# top-1 class and its probability per (input, classifier): chosen so that the signed margins
# are the numbers written beside them
PRED = {("sr-plain", "a"): [0, 1, 2, 0, 1], ("sr-plain", "b"): [0, 1, 2, 2, 1],
        ("sr-plain", "c"): [1, 1, 2, 0, 0],
        ("sr-ra", "a"): [0, 1, 2, 0, 1], ("sr-ra", "b"): [0, 1, 2, 0, 1],
        ("sr-ra", "c"): [0, 1, 2, 0, 2]}
PROB = {("sr-plain", "a"): [0.5, 0.625, 0.75, 0.875, 1.0],    # +0.5 +0.625 +0.75 +0.875 +1
        ("sr-plain", "b"): [0.5, 0.75, 0.625, 0.5, 1.0],       # +0.5 +0.75 +0.625 -0.5 +1
        ("sr-plain", "c"): [0.5, 0.5, 0.5, 0.5, 0.5],          # -0.5 +0.5 +0.5 +0.5 -0.5
        ("sr-ra", "a"): [0.5, 0.625, 0.75, 0.875, 1.0],
        ("sr-ra", "b"): [0.5, 0.75, 0.625, 0.875, 1.0],
        ("sr-ra", "c"): [0.5, 0.625, 0.75, 0.875, 0.5]}        # last: -0.5


def hand_pearson(x, y) -> float:
    """Pearson's r written out: sum of products of deviations over the root of the product of
    the sums of squares."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def table() -> RecordTable:
    pred = {k: np.array(v, dtype=np.int16) for k, v in PRED.items()}
    prob = {k: np.array(v, dtype=np.float16) for k, v in PROB.items()}
    return RecordTable("sr:scale=4", "synthetic", "test", ["sr-plain", "sr-ra"], ["a", "b", "c"],
                       np.arange(5), LABEL, pred, prob, {},
                       {"checkpoints": {"sr-plain": "0" * 64}})


def test_signed_confidence_by_hand():
    assert signed_confidence(np.array([0, 2, 1]), np.array([0.9, 0.6, 0.5]),
                             np.array([0, 1, 1])).tolist() == [0.9, -0.6, 0.5]
    margins = record_margins(table())
    assert margins[("sr-plain", "b")].tolist() == [0.5, 0.75, 0.625, -0.5, 1.0]
    assert margins[("sr-plain", "c")].tolist() == [-0.5, 0.5, 0.5, 0.5, -0.5]


def test_pair_r_mean_over_pairs_and_difference_to_plain_equal_a_hand_computation():
    margins = record_margins(table())
    out = consistency_tables(margins, ["sr-plain", "sr-ra"], ["a", "b", "c"], "sr-plain",
                             n_boot=200)
    signed = {k: [p if q == label else -p for p, q, label in zip(PROB[k], PRED[k], LABEL)]
              for k in PRED}
    hand = {(i, a, b): hand_pearson(signed[(i, a)], signed[(i, b)])
            for i in ("sr-plain", "sr-ra") for a, b in (("a", "b"), ("a", "c"), ("b", "c"))}
    assert {(r["input"], r["a"], r["b"]) for r in out["pairs"]} == set(hand)
    for r in out["pairs"]:
        assert r["n"] == 5
        assert r["pearson"]["value"] == pytest.approx(hand[(r["input"], r["a"], r["b"])],
                                                      abs=1e-12)
    plain, ra = out["inputs"]
    mean_plain = sum(v for k, v in hand.items() if k[0] == "sr-plain") / 3
    mean_ra = sum(v for k, v in hand.items() if k[0] == "sr-ra") / 3
    assert plain["input"] == "sr-plain" and "minus_reference" not in plain
    assert plain["mean_pearson"]["value"] == pytest.approx(mean_plain, abs=1e-12)
    assert ra["mean_pearson"]["value"] == pytest.approx(mean_ra, abs=1e-12)
    assert ra["minus_reference"]["value"] == pytest.approx(mean_ra - mean_plain, abs=1e-12)
    low, high = ra["minus_reference"]["ci95"]
    assert low <= high


def test_the_same_seed_gives_the_same_intervals_and_another_seed_others():
    margins = record_margins(table())
    one = consistency_tables(margins, ["sr-plain"], ["a", "b", "c"], None, n_boot=100, seed=1)
    again = consistency_tables(margins, ["sr-plain"], ["a", "b", "c"], None, n_boot=100, seed=1)
    other = consistency_tables(margins, ["sr-plain"], ["a", "b", "c"], None, n_boot=100, seed=2)
    assert one == again
    assert one["inputs"][0]["mean_pearson"]["ci95"] != other["inputs"][0]["mean_pearson"]["ci95"]


def boundary_report() -> dict:
    bd = [(0.1, 0.2, 1.0, 1.5), (0.3, 0.2, 2.0, 1.0), (0.5, 0.7, None, 0.5),
          (0.2, 0.1, 1.5, 2.5), (0.4, 0.6, 0.5, None)]
    return {"plain": "sr-plain", "classifiers": ["a", "b"], "records": [
        {"index": i, "bd": {"a": {"ra": ra_a, "random": rnd_a}, "b": {"ra": ra_b, "random": rnd_b}}}
        for i, (ra_a, ra_b, rnd_a, rnd_b) in enumerate(bd)]}


def test_bd_pairs_leave_out_censored_images():
    rows = {r["direction"]: r for r in bd_consistency(boundary_report(), n_boot=50)}
    assert rows["ra"]["n"] == 5
    assert rows["ra"]["pearson"]["value"] == pytest.approx(
        hand_pearson([0.1, 0.3, 0.5, 0.2, 0.4], [0.2, 0.2, 0.7, 0.1, 0.6]), abs=1e-12)
    assert rows["random"]["n"] == 3           # images 2 and 4 are censored for one classifier
    assert rows["random"]["pearson"]["value"] == pytest.approx(
        hand_pearson([1.0, 2.0, 1.5], [1.5, 1.0, 2.5]), abs=1e-12)


def test_the_result_from_files_and_its_markdown(tmp_path):
    table().save(tmp_path / "records_sr_scale4.parquet")
    (tmp_path / "boundaries_sr_scale4_a_b.json").write_text(json.dumps(boundary_report()))
    pd.DataFrame({"index": np.arange(5), "margin|sr-plain|a": [1.0, 2.0, 3.0, 4.0, 5.0],
                  "margin|sr-plain|b": [1.0, 3.0, 2.0, 5.0, 4.0]}).to_parquet(
        tmp_path / "agreement_sr_scale4_images.parquet")
    result = margin_consistency("sr", results=tmp_path, n_boot=50)
    assert result["task"] == "sr:scale=4" and result["plain_reference"] == "sr-plain"
    assert set(result["sources"]) == {"signed-confidence", "logit", "bd"}
    assert result["sources"]["signed-confidence"]["n_images"] == 5
    logit, = result["sources"]["logit"]["pairs"]
    assert logit["pearson"]["value"] == pytest.approx(hand_pearson([1, 2, 3, 4, 5],
                                                                   [1, 3, 2, 5, 4]))
    assert result["sources"]["bd"][0]["at"] == "sr-plain"
    assert result["provenance"]["checkpoints"] == {"sr-plain": "0" * 64}
    text = format_margins(result)
    assert "| sr-ra |" in text and "| a / b |" in text and "| random | a / b | 3 |" in text
    written = save_margins(result, tmp_path / "out")
    assert [p.name for p in written] == ["margins_sr_scale4.json", "margins_sr_scale4.md"]
    assert json.loads(written[0].read_text())["sources"]["logit"]["n_images"] == 5


def test_classifiers_restrict_every_source_to_their_pairs(tmp_path):
    table().save(tmp_path / "records_sr_scale4.parquet")
    (tmp_path / "boundaries_sr_scale4_a_b.json").write_text(json.dumps(boundary_report()))
    result = margin_consistency("sr", results=tmp_path, n_boot=20, classifiers=["a", "c"])
    assert {(r["a"], r["b"]) for r in result["sources"]["signed-confidence"]["pairs"]} == {
        ("a", "c")}
    assert "bd" not in result["sources"]                 # its pair a / b is not asked for
    with pytest.raises(RAExplorerError, match="no classifier 'z'"):
        margin_consistency("sr", results=tmp_path, n_boot=20, classifiers=["a", "z"])


def test_a_missing_record_table_is_one_sentence(tmp_path):
    with pytest.raises(RAExplorerError, match="No record table of sr:scale=4"):
        margin_consistency("sr", results=tmp_path, n_boot=10)


def test_a_group_is_summarised_over_its_own_pairs_from_the_same_resamples(tmp_path,
                                                                           monkeypatch):
    margins = record_margins(table())
    inputs = ["sr-plain", "sr-ra"]
    out = consistency_tables(margins, inputs, ["a", "b", "c"], "sr-plain", n_boot=100,
                             groups={"zoo": ["a", "c", "z"], "all": ["a", "b", "c"]})
    assert list(out["groups"]) == ["zoo"]            # a group of every classifier says nothing new
    zoo = out["groups"]["zoo"]
    assert zoo["classifiers"] == ["a", "c"]
    alone = consistency_tables(margins, inputs, ["a", "c"], "sr-plain", n_boot=100)
    assert zoo["inputs"] == alone["inputs"]          # the pair a / c alone, the same resamples
    assert zoo["inputs"] != out["inputs"]
    # from files: the group is the checkpoint folder's own classifiers, in the markdown too
    import analysis.analyses.margin_consistency as module

    asked = []

    def cards(folder, kind, dataset):
        asked.append((folder, kind, dataset))
        return [{"name": "a"}, {"name": "b"}]

    monkeypatch.setattr(module, "find_checkpoints", cards)
    table().save(tmp_path / "records_sr_scale4.parquet")
    result = margin_consistency("sr", results=tmp_path, n_boot=20, checkpoints="my-zoo")
    assert asked == [("my-zoo", "classifier", table().dataset)]
    group = result["sources"]["signed-confidence"]["groups"]["zoo"]
    assert group["classifiers"] == ["a", "b"] and len(group["inputs"]) == len(inputs)
    assert "The zoo classifiers alone (a, b: 1 pairs):" in format_margins(result)
