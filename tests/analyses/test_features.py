import json

import numpy as np
import pytest
import torch

from analysis.analyses.features import (
    HQ,
    LQ,
    convergence_measures,
    default_sources,
    embed,
    feature_report,
    stratified_indices,
)
from analysis.cli.main import main
from tests.conftest import SYNTH


def test_stratified_indices_balance_classes():
    labels = torch.tensor([0, 1, 2] * 20)
    idx = stratified_indices(labels, 10, 3)
    assert len(idx) == 10 and idx.tolist() == sorted(idx.tolist())
    counts = torch.bincount(labels[idx], minlength=3).tolist()
    assert counts == [4, 3, 3]


def test_measures_on_features_with_a_known_answer():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 30)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    hq = centres[labels] + rng.normal(0, 0.5, (90, 2))
    same = hq.copy()
    shuffled = hq[rng.permutation(90)]           # features of other images: labels lost
    halfway = hq + 0.5 * (centres[(labels + 1) % 3] - centres[labels])
    m = convergence_measures({HQ: hq, "same": same, "shuffled": shuffled, "halfway": halfway},
                             labels)
    gap = m["centroid_gap"]
    assert abs(gap - np.mean([10, 10, np.sqrt(200)])) < 0.5
    s = m["sources"]
    assert s["same"]["hq_distance"] == 0 and s["same"]["knn_agreement"] == 1.0
    assert s["shuffled"]["knn_agreement"] < 0.6 and s["shuffled"]["silhouette"] < 0.1
    assert s[HQ]["silhouette"] > 0.8
    # halfway: each point moved half a centroid gap (10 or 14.1) towards the next class
    expected = np.mean(0.5 * np.linalg.norm(centres[(labels + 1) % 3] - centres[labels], axis=1)) / gap
    assert abs(s["halfway"]["hq_distance"] - expected) < 1e-6


@pytest.mark.parametrize("backend", ["opentsne", "sklearn"])
def test_embedding_is_seeded_and_reproducible(backend):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 60)).astype(np.float32)
    a = embed(x, seed=3, backend=backend, perplexity=10)
    b = embed(x, seed=3, backend=backend, perplexity=10)
    assert a.shape == (120, 2) and np.array_equal(a, b)


def test_feature_report_on_the_tiny_zoo(tiny_zoo):
    report = feature_report("sr", "clf-a", n=30, folder=tiny_zoo, dataset=SYNTH)
    assert report["sources"] == [HQ, LQ, "sr-plain", "sr-ra"]
    assert len(report["points"]) == 4 * 30
    assert report["measures"]["sources"][HQ]["hq_distance"] == 0


def test_features_cli(tiny_zoo, tmp_path, capsys):
    assert main(["tsne", "--task", "sr", "--classifier", "clf-b", "--sample", "20", "--dataset",
                 SYNTH, "--checkpoints", str(tiny_zoo), "--out", str(tmp_path)]) == 0
    assert "| sr-ra |" in capsys.readouterr().out
    saved = json.loads((tmp_path / "features_sr_scale4_clf-b.json").read_text())
    assert saved["n_images"] == 20
    # a chosen subset of processors; an unknown name is one sentence, not a traceback
    assert main(["tsne", "--task", "sr", "--classifier", "clf-b", "--sample", "20", "--dataset",
                 SYNTH, "--checkpoints", str(tiny_zoo), "--out", str(tmp_path),
                 "--processors", "sr-ra"]) == 0
    saved = json.loads((tmp_path / "features_sr_scale4_clf-b.json").read_text())
    assert saved["sources"] == [HQ, LQ, "sr-ra"]
    capsys.readouterr()
    assert main(["tsne", "--task", "sr", "--checkpoints", str(tiny_zoo), "--dataset", SYNTH,
                 "--classifier", "clf-b", "--out", str(tmp_path), "--processors", "sr-nope"]) != 0
    assert "No processor sr-nope" in capsys.readouterr().err
    # a task whose file name holds a dot (sigma 0.1) keeps its whole name
    assert main(["tsne", "--task", "denoise", "--checkpoints", str(tiny_zoo), "--dataset",
                 SYNTH, "--classifier", "clf-b", "--sample", "20", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "features_denoise_sigma0.1_clf-b.json").exists()
    assert (tmp_path / "features_denoise_sigma0.1_clf-b.md").exists()


def test_silhouette_is_nan_when_every_class_has_one_image():
    feats = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    m = convergence_measures({HQ: feats, "lq": feats + 0.1}, np.arange(5))
    assert np.isnan(m["sources"]["lq"]["silhouette"]) and m["sources"]["lq"]["knn_agreement"] >= 0


def test_the_view_opens_on_hq_lq_plain_and_ra_or_on_everything_without_them():
    report = {"sources": [HQ, LQ, "sr-plain", "sr-ra", "sr-ra-unsup", "sr-perceptual"]}
    assert default_sources(report) == [HQ, LQ, "sr-plain", "sr-ra"]
    own = {"sources": ["clean", "blurred", "mine"]}          # names without the suffixes
    assert default_sources(own) == ["clean", "blurred", "mine"]
