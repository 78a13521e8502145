"""The corruption benchmark's claims: each recognizer-side classifier's mCE against the vanilla
one and the QualNet line (Tables 1 and 3), RA's count of types ahead and its gain per severity
and its transfer (Tables 12-14), each stated either way with its numbers; claims.md carries the
section."""

import json

from analysis.reporting.corruption_claims import corruption_claims, grid_claims, processor_claims
from tests.reporting.test_corruption_cell_figures import _cell, _result


def _row(clf, mce, ci, clean=0.9):
    return {"classifier": clf, "input": "none", "clean": {"accuracy": clean, "ece": 0.02},
            "mean_error": {"value": 0.5, "ci95": [0.45, 0.55]},
            "mce": {"value": mce, "ci95": ci}, "cells": {}}


def _grid(rows):
    return {"kind": "corruption-grid", "n_images": 1000, "types": ["snow", "fog"],
            "levels": [1, 5], "mce_types": ["snow", "fog"], "vanilla": "r20", "rows": rows}


def test_each_classifier_against_the_vanilla_one_and_the_qualnet_line():
    lines = grid_claims(_grid([_row("r20", 1.0, [1.0, 1.0], clean=0.93),
                               _row("r20-augment", 0.7, [0.65, 0.75]),
                               _row("r20-qualnet", 0.6, [0.55, 0.64]),
                               _row("r20-train-on-lq", 1.02, [0.98, 1.06], clean=0.4)]))
    assert lines[0].startswith("- Corruption benchmark (2 types x severities 1, 5, 1,000 test")
    assert "r20-augment: normalised mCE 0.700 [0.650, 0.750] — fewer errors than the vanilla " \
           "classifier holds; clean accuracy 90.0 % (-3.0 points)" in lines[1]
    assert "is not shown (the 95 % CI includes 1)" in lines[3] and "(-53.0 points)" in lines[3]
    assert lines[4].endswith("r20-qualnet 0.6000 [0.5500, 0.6400], next r20-augment 0.7000 "
                             "[0.6500, 0.7500] — the claim holds, and its CI lies below every "
                             "other's.")
    overlap = grid_claims(_grid([_row("r20", 1.0, [1.0, 1.0]), _row("a", 0.62, [0.6, 0.66]),
                                 _row("r20-qualnet", 0.6, [0.55, 0.64])]))
    assert "holds by the point estimates; the CIs overlap" in overlap[-1]
    worse = grid_claims(_grid([_row("r20", 1.0, [1.0, 1.0]), _row("a", 0.5, [0.45, 0.55]),
                               _row("r20-qualnet", 1.2, [1.1, 1.3])]))
    assert "does not hold: a has the lowest (0.500)" in worse[-1]
    # QualNet's ablation is neither QualNet nor its competitor in that line
    ablated = grid_claims(_grid([_row("r20", 1.0, [1.0, 1.0]), _row("a", 0.7, [0.65, 0.75]),
                                 _row("r20-qualnet", 0.6, [0.55, 0.64]),
                                 _row("r20-qualnet-trained-decoder", 0.5, [0.45, 0.55])]))
    assert "r20-qualnet 0.6000" in ablated[-1] and "next a 0.7000" in ablated[-1]
    assert "does not hold (more errors)" in worse[2]


def test_ra_ahead_on_every_type_and_the_gain_per_severity():
    cells = [_cell("snow", 1, {"plain": 0.6, "ra": 0.65, "ra-unsup": 0.63}),
             _cell("snow", 5, {"plain": 0.4, "ra": 0.5, "ra-unsup": 0.42}),
             _cell("fog", 5, {"plain": 0.5, "ra": 0.5})]
    result = _result(cells)
    result["summary"] = {"ra": {"a": {"above": 1, "includes_zero": 1, "below": 0, "types": 2},
                                "b": {"above": 2, "includes_zero": 0, "below": 0, "types": 2}}}
    lines = processor_claims(result)
    assert "above 0 for 1 of 2 types, includes 0 for 1, below 0 for 0" in lines[0]
    assert lines[0].endswith("is not shown (1 type(s) whose CI includes 0).")
    assert lines[1] == ("  - snow (Table 13 analog), RA - plain on a by severity (1: +5.0, 5: "
                        "+10.0 points) — the gain grows with severity holds (point estimates).")
    assert lines[2] == ("  - snow (Table 13 analog), unsupervised RA - plain on a by severity "
                        "(1: +3.0, 5: +2.0 points) — the gain grows with severity does not hold "
                        "(point estimates).")
    assert lines[3].endswith("b 2 of 2 above 0, 0 include 0, 0 below — the claim that the gain "
                             "transfers to every other classifier on every type holds (1 of 1 "
                             "classifiers above 0 on every type).")
    result["summary"]["ra"]["b"].update(above=1, includes_zero=1)
    assert processor_claims(result)[3].endswith(
        "is not shown (0 of 1 classifiers above 0 on every type, the other CIs include 0).")
    result["summary"]["ra"]["b"].update(includes_zero=0, below=1)
    assert "does not hold (b below 0 on some type; 0 of 1 classifiers" in processor_claims(result)[3]


def test_claims_md_carries_the_corruption_section_of_its_folder(tmp_path):
    from analysis.config import PROJECT_ROOT
    from analysis.reporting.tables import write_results

    assert corruption_claims(tmp_path) == []
    (tmp_path / "corruption_grid.json").write_text(json.dumps(_grid(
        [_row("r20", 1.0, [1.0, 1.0]), _row("r20-qualnet", 0.6, [0.55, 0.64])])))
    results = [json.loads((PROJECT_ROOT / "results" / "evaluate_sr_scale4.json").read_text())]
    write_results(results, tmp_path)
    claims = (tmp_path / "claims.md").read_text()
    assert "## Corruption benchmark" in claims and "r20-qualnet: normalised mCE 0.600" in claims
