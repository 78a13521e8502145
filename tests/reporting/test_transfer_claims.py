"""The transfer claims: each verdict follows the sign of its CI, each table's rows land in the
right table, and claims.md carries them when the result files are in its folder."""

import json

from analysis.reporting.transfer_claims import (
    architecture_claims,
    category_claims,
    detection_claims,
    transfer_claims,
    verdict,
)


def _cell(diff, low, high, clf):
    return {"ra_minus_plain": {"diff": diff, "ci95": [low, high]}, "classifier": clf}


CATEGORY = {"task": "sr:scale=4", "cells": {
    "a": {"a": _cell(0.02, 0.01, 0.03, "r-a"), "b": _cell(0.011, 0.005, 0.017, "r-b")},
    "b": {"a": _cell(0.004, -0.002, 0.01, "r-a"), "b": _cell(0.04, 0.03, 0.05, "r-b")}}}


def _map(value, low, high):
    return {"map": {"value": value, "low": low, "high": high}}


DETECTION = {
    "task": "sr:scale=4", "detectors": {"fcos": {}, "retinanet": {}},
    "rows": [
        {"name": "clean", "method": None},
        {"name": "p-canvas", "method": "plain", "baseline": None, "vs_baseline": None},
        {"name": "ra-fcos", "method": "ra", "source": "fcos", "source_kind": "detector",
         "view": "machine", "baseline": "p-canvas",
         "vs_baseline": {"fcos": _map(0.02, 0.01, 0.03), "retinanet": _map(-0.01, -0.02, -0.005)}},
        {"name": "sr-ra", "method": "ra", "source": "resnet20", "source_kind": "classifier",
         "view": "machine", "baseline": "sr-plain",
         "vs_baseline": {"fcos": _map(0.001, -0.004, 0.006), "retinanet": _map(0.0, -0.01, 0.01)}},
        {"name": "sr-ra-unsup", "method": "ra-unsup", "source": "resnet20",
         "source_kind": "classifier", "view": "machine", "baseline": "sr-plain",
         "vs_baseline": {"fcos": _map(0.01, 0.002, 0.02)}},
        {"name": "sr-ra-transformer (human view)", "method": "ra-transformer", "view": "human",
         "source": "resnet20", "baseline": "sr-plain",
         "vs_baseline": {"fcos": _map(0.01, 0.002, 0.02)}},
    ],
    "classification": {"plain": "p-canvas", "rows": [
        {"name": "p-canvas", "source": None, "vs_plain": None},
        {"name": "ra-fcos", "source": "fcos",
         "vs_plain": {"c1": {"diff": 0.01, "ci95": [0.005, 0.015]},
                      "c2": {"diff": -0.01, "ci95": [-0.02, -0.001]}}}]},
}


def _d(diff, low, high):
    return {"diff": diff, "ci95": [low, high]}


ARCHITECTURE = {"task": "sr:scale=4", "classifiers": ["r20", "other"], "source": "r20",
                "architectures": {
                    "srresnet": {"rows": {"plain": {}, "ra": {"ra_minus_plain": {
                        "r20": _d(0.03, 0.02, 0.04), "other": _d(0.01, 0.005, 0.015)}}}},
                    "rdn": {"rows": {"plain": {}, "ra": {"ra_minus_plain": {
                        "r20": _d(0.01, -0.01, 0.03), "other": _d(-0.02, -0.03, -0.01)}},
                        "ra-transformer": {"ra_minus_plain": {
                            "r20": _d(0.02, 0.01, 0.03), "other": _d(-0.6, -0.7, -0.5)}}}}}}


def test_architecture_claims_count_the_architectures_a_variant_helps():
    lines = architecture_claims(ARCHITECTURE)
    assert len(lines) == 4                          # RA and RA with transformer, two lines each
    assert "RA - plain of the same architecture on r20: srresnet +3.0 [+2.0, +4.0]; rdn +1.0 " \
           "[-1.0, +3.0] points — the claim holds in 1 of 2 architectures." in lines[0]
    assert lines[1].endswith("significant gains in 1 and losses in 1 of 2 (architecture, "
                             "classifier) pairs.")
    assert "RA with transformer" in lines[2] and lines[2].endswith("the claim holds.")
    assert "gains in 0 and losses in 1 of 1" in lines[3]


def test_the_verdict_follows_the_sign_of_the_interval():
    assert verdict(0.1, 0.2) == "holds"
    assert verdict(-0.2, -0.1) == "does not hold (RA is worse)"
    assert verdict(-0.1, 0.2) == "is not shown (the 95 % CI includes 0)"


def test_category_claims_state_each_unseen_direction_and_how_many_hold():
    first, second = category_claims(CATEGORY)
    assert "trained on a, evaluated on b with r-b: +1.1 [+0.5, +1.7]" in first
    assert "trained on b, evaluated on a with r-a: +0.4 [-0.2, +1.0]" in first
    assert first.endswith("the claim holds in 1 of 2 directions.")
    assert second == "  - on the processors' own half: a: +2.0 [+1.0, +3.0], b: +4.0 [+3.0, +5.0] points."


def test_detection_claims_put_each_row_in_its_table():
    lines = detection_claims(DETECTION)
    assert lines[0] == ("- sr:scale=4, Table 2 analog (RA through the detector, on it): ra-fcos - "
                        "p-canvas on fcos, mAP@[.5:.95] +2.0 [+1.0, +3.0] points — the claim holds.")
    assert "Table 4 analog (RA through fcos, on another detector): ra-fcos - p-canvas on " \
           "retinanet" in lines[1] and lines[1].endswith("does not hold (RA is worse).")
    assert "Table 8 analog (classification RA -> detection): sr-ra - sr-plain on fcos" in lines[2]
    assert lines[2].endswith("is not shown (the 95 % CI includes 0).")
    assert "Table 10 analog" in lines[4] and "sr-ra-unsup" in lines[4]
    assert not any("human view" in line for line in lines)          # P(x) is not a claim row
    assert lines[-1].endswith("significant gains on 1 of 2, losses on 1.")
    assert "Table 9 analog" in lines[-1] and len(lines) == 6


def test_claims_md_carries_the_transfer_claims_of_its_folder(tmp_path):
    (tmp_path / "category_transfer_sr_scale4.json").write_text(json.dumps(CATEGORY))
    (tmp_path / "detection_transfer_sr_scale4.json").write_text(json.dumps(DETECTION))
    (tmp_path / "architecture_transfer_sr_scale4.json").write_text(json.dumps(ARCHITECTURE))
    lines = transfer_claims(tmp_path, ["sr:scale=4", "denoise:sigma=0.1"])
    assert lines == (category_claims(CATEGORY) + detection_claims(DETECTION)
                     + architecture_claims(ARCHITECTURE))
    assert transfer_claims(tmp_path / "none", ["sr:scale=4"]) == []
