import pytest

from analysis.errors import RAExplorerError
from analysis.evaluate import CLEAN, NO_PROCESSING, evaluate, format_report, tasks_in_zoo

from .conftest import SYNTH


def test_evaluate_returns_the_accuracy_matrix(tiny_zoo):
    result = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, progress=False)
    assert result["task"] == "sr:scale=4" and result["n_images"] == 40
    assert result["classifiers"] == ["clf-a", "clf-b", "clf-robust"]
    names = [r["name"] for r in result["rows"]]
    assert names == [CLEAN, NO_PROCESSING, "sr-plain", "sr-ra"]  # method order: plain, then ra
    for row in result["rows"]:
        assert set(row["accuracy"]) == set(result["classifiers"])
        for cell in row["accuracy"].values():
            assert 0 <= cell["ci95"][0] <= cell["accuracy"] <= cell["ci95"][1] <= 1
            assert cell["correct"] == round(cell["accuracy"] * 40)
    clean = result["rows"][0]
    assert clean["psnr"] is None
    for row in result["rows"][1:]:
        assert 5 < row["psnr"]["mean"] < 60 and 0 < row["ssim"]["mean"] <= 1
    text = format_report(result)
    assert "sr-ra" in text and "clf-robust" in text and "PSNR" in text


def test_evaluate_is_deterministic_and_limit_works(tiny_zoo):
    a = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, limit=10, progress=False)
    b = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, limit=10, progress=False)
    assert a == b and a["n_images"] == 10


def test_no_processing_row_matches_a_hand_computed_value(tiny_zoo):
    import torch

    from analysis.checkpoints import load_checkpoint
    from analysis.data import load_dataset
    from analysis.tasks import create_task

    result = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, progress=False)
    test = load_dataset(SYNTH, "test")
    x, y, idx = test.get_batch(torch.arange(len(test)))
    task = create_task("sr")
    up = task.upsample(task.degrade_eval(x, idx), (28, 28))
    model, _ = load_checkpoint(tiny_zoo / "clf-b")
    with torch.no_grad():
        expected = int((model(up).argmax(1) == y).sum())
    assert result["rows"][1]["accuracy"]["clf-b"]["correct"] == expected
    mse = (up - x).pow(2).flatten(1).mean(1)
    assert abs(result["rows"][1]["psnr"]["mean"] - float((10 * torch.log10(1 / mse)).mean())) < 1e-3


def test_tasks_in_zoo_and_missing_classifiers(tiny_zoo, tmp_path):
    assert tasks_in_zoo(SYNTH, tiny_zoo) == ["sr:scale=4"]
    with pytest.raises(RAExplorerError, match="train-classifier"):
        evaluate("sr", dataset=SYNTH, folder=tmp_path, progress=False)
