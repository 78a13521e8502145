"""The main claims restated across training seeds, from a hand-made seeds result."""

from __future__ import annotations

import json

import pytest

from analysis.analyses.recognizer_seeds import across_seeds
from analysis.config import PROJECT_ROOT
from analysis.reporting.seed_claims import recognizer_seed_claims, seed_claims, seeds_section
from analysis.reporting.tables import write_results


def _d(diff: float, low: float, high: float) -> dict:
    return {"diff": diff, "ci95": [low, high]}


def _row(psnr: float, **vs_plain) -> dict:
    row = {"psnr": {"mean": psnr}}
    if vs_plain:
        row["ra_minus_plain"] = vs_plain
    return row


SEEDS = {
    "task": "sr:scale=4", "source": "r20", "classifiers": ["r20", "vgg", "dn"], "n_images": 10000,
    "per_seed": {
        "0": {"plain": _row(22.20), "ra": _row(22.14, r20=_d(0.039, 0.034, 0.044),
                                             vgg=_d(0.02, 0.01, 0.03), dn=_d(0.0, -0.01, 0.01))},
        "1": {"plain": _row(22.24), "ra": _row(22.19, r20=_d(0.041, 0.035, 0.047),
                                             vgg=_d(0.03, 0.02, 0.04), dn=_d(0.02, 0.01, 0.03)),
              "ra-unsup": _row(22.0, r20=_d(-0.01, -0.02, -0.005), vgg=_d(0, -1, 1),
                               dn=_d(0, -1, 1))},
        "2": {"plain": _row(22.22), "ra": _row(22.15, r20=_d(0.003, -0.002, 0.008),
                                             vgg=_d(-0.02, -0.03, -0.01), dn=_d(0.02, 0.01, 0.03)),
              "ra-unsup": _row(22.1, r20=_d(0.02, 0.01, 0.03), vgg=_d(0, -1, 1),
                               dn=_d(0, -1, 1))},
    },
}


def test_each_method_is_stated_per_seed_with_mean_sd_and_how_many_seeds_hold():
    lines = seed_claims(SEEDS)
    assert lines[0].startswith("- sr:scale=4, across training seeds (10,000 test images): RA - "
                               "plain of the same seed on the source r20: seed 0 +3.9 [+3.4, "
                               "+4.4]; seed 1 +4.1")
    mean = (0.039 + 0.041 + 0.003) / 3
    assert f"mean {100 * mean:+.2f}" in lines[0]
    assert lines[0].endswith("the claim holds in 2, is not shown in 1 of 3 seeds.")
    assert lines[1] == ("  - on the 2 other classifiers (significant at 95 %): seed 0: 1 gains, "
                        "0 losses; seed 1: 2 gains, 0 losses; seed 2: 1 gains, 1 losses.")
    assert lines[2].startswith("  - PSNR - plain of the same seed: -0.060, -0.050, -0.070 dB")
    assert "mean -0.060" in lines[2]
    # unsupervised RA has two seeds: one worse, one better
    assert "unsupervised RA - plain" in lines[3]
    assert lines[3].endswith("the claim holds in 1, unsupervised RA is worse in 1 of 2 seeds.")
    assert len(lines) == 6


@pytest.mark.parametrize("diffs, state", [
    ([(0.02, 0.01, 0.03)] * 3, "holds in all 3 seeds"),
    ([(-0.02, -0.03, -0.01)] * 2, "does not hold in any of the 2 seeds (RA is worse in each)"),
])
def test_the_seed_verdicts_at_the_extremes(diffs, state):
    result = {**SEEDS, "classifiers": ["r20"], "per_seed": {
        str(s): {"plain": _row(22.0), "ra": _row(22.0, r20=_d(*d))} for s, d in enumerate(diffs)}}
    assert seed_claims(result)[0].endswith(f"the claim {state}.")


def test_claims_md_carries_the_seed_section_of_its_folder(tmp_path):
    (tmp_path / "seeds_sr_scale4.json").write_text(json.dumps(SEEDS))
    assert seeds_section(tmp_path, ["sr:scale=4", "jpeg:quality=10"]) == seed_claims(SEEDS)
    assert seeds_section(tmp_path / "none", ["sr:scale=4"]) == []
    shipped = json.loads((PROJECT_ROOT / "results" / "evaluate_sr_scale4.json").read_text())
    write_results([shipped], tmp_path)
    claims = (tmp_path / "claims.md").read_text()
    assert "## Across training seeds" in claims and seed_claims(SEEDS)[0] in claims



def _grid_seed(errors_std, errors_rob) -> dict:
    from analysis.analyses.loss_grid import rank_correlation

    rows = [{"label": label, "name": label, "psnr": 22.0,
             "error": {"std": {"error": a}, "rob": {"error": b}}}
            for label, a, b in zip(("E", "EP (standard)", "P (robust)", "PT (robust)"),
                                   errors_std, errors_rob)]
    return {"rows": rows, "rank_correlation": rank_correlation(errors_std, errors_rob)}


def test_the_loss_grid_inversion_is_stated_per_seed():
    from analysis.analyses.loss_grid_seeds import summarise
    from analysis.reporting.seed_claims import loss_grid_seed_claims

    per_seed = {0: _grid_seed([0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]),     # inverted
                1: _grid_seed([0.1, 0.2, 0.3, 0.4], [0.1, 0.3, 0.2, 0.4])}     # agrees
    result = {"task": "sr:scale=4", "n_images": 10000,
              "evaluators": {"standard": "std", "robust": "rob"},
              "per_seed": {str(s): v for s, v in per_seed.items()},
              "summary": summarise(per_seed, ("std", "rob"))}
    lines = loss_grid_seed_claims(result)
    assert lines[0] == ("- sr:scale=4, Uelwer et al.'s Figure 1 across training seeds (4 models, "
                        "10,000 test images): Spearman rho of the errors on std vs rob, seed 0 "
                        "-1.00 (p = 0); seed 1 +0.80 (p = 0.2); mean -0.10 (SD 1.27) — the "
                        "inversion holds in 1 of 2 seeds (rho < 0 with p < 0.05).")
    # seed means: std 0.1-0.4; rob ranks 2.5, 4, 1, 2.5, so rho = -1.5 / sqrt(5 * 4.5) = -0.32
    assert lines[1] == ("  - on the seed-mean errors: rho -0.32 (p = 0.68); two seeds order the "
                        "models alike (mean Spearman rho between seeds): std +1.00, rob -0.80.")


def _mce_row(clf, kind, mce):
    return {"classifier": clf, "input": kind, "mce": mce, "cells": {"sr": {"accuracy": 1 - mce}}}


def test_the_recognizer_side_is_stated_per_seed_against_ra_and_qualnet_against_the_others(
        tmp_path):
    rows = [_mce_row("van", "none", 1.0), _mce_row("van", "ra", 0.41),
            _mce_row("aug", "none", 0.32), _mce_row("aug-seed1", "none", 0.44),
            _mce_row("qualnet", "none", 0.33), _mce_row("qualnet-seed1", "none", 0.30)]
    groups = {"van": {0: "van"}, "aug": {0: "aug", 1: "aug-seed1"},
              "qualnet": {0: "qualnet", 1: "qualnet-seed1"}}
    result = {"n_images": 10000, "vanilla": "van", "mce_columns": ["sr"],
              **across_seeds({"rows": rows, "vanilla": "van", "degradations": ["sr"],
                              "mce_columns": ["sr"]}, groups)}
    lines = recognizer_seed_claims(result)
    assert lines[0].startswith("- The recognizer side across training seeds (10,000 test images "
                               "per degradation, seeds 0, 1; mCE over sr")
    assert ("aug without processing minus van behind the RA processor, mCE: seed 0 -0.090; seed "
            "1 +0.030; mean -0.030 (SD 0.085) — fixing the recognizer wins in 1 of 2 seeds."
            in lines[1])
    assert "wins in 2 of 2 seeds" in lines[2]                      # qualnet: -0.08, -0.11
    (qualnet,) = [ln for ln in lines if "QualNet has" in ln]        # qualnet - aug: QualNet first
    assert "qualnet minus aug, mCE without processing: seed 0 +0.010; seed 1 -0.140" in qualnet
    assert "QualNet has the lower mCE in 1 of 2 seeds" in qualnet
    assert lines[-1] == ("  - the lowest mCE: seed 0 aug (no processing) 0.320; seed 1 qualnet (no "
                         "processing) 0.300.")
    (tmp_path / "recognizer_seeds.json").write_text(json.dumps(result))
    assert seeds_section(tmp_path, []) == lines
