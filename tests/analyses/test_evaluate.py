import pytest

from analysis.analyses.evaluate import CLEAN, NO_PROCESSING, evaluate, format_report, tasks_in_zoo
from analysis.errors import RAExplorerError
from tests.conftest import SYNTH


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
    assert a.pop("provenance")["n_images"] == 10 and b.pop("provenance")["started"]
    assert a == b and a["n_images"] == 10


def test_no_processing_row_matches_a_hand_computed_value(tiny_zoo):
    import torch

    from analysis.data.datasets import load_dataset
    from analysis.data.tasks import create_task
    from analysis.zoo.checkpoints import load_checkpoint

    result = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, progress=False)
    test = load_dataset(SYNTH, "test")
    x, y, idx = test.get_batch(torch.arange(len(test)))
    task = create_task("sr")
    up = task.upsample(task.degrade_eval(x, idx), (28, 28))
    model, _ = load_checkpoint(tiny_zoo / "clf-b")
    with torch.no_grad():
        conf, pred = model(up).softmax(1).max(1)
    expected = int((pred == y).sum())
    assert result["rows"][1]["accuracy"]["clf-b"]["correct"] == expected
    # ECE of the float16 top-1 probabilities the record table keeps
    from analysis.stats import expected_calibration_error

    ece = expected_calibration_error(conf.half().float().numpy(), (pred == y).numpy())
    assert result["rows"][1]["accuracy"]["clf-b"]["ece"] == pytest.approx(ece, abs=1e-9)
    assert 0 <= ece <= 1
    mse = (up - x).pow(2).flatten(1).mean(1)
    assert abs(result["rows"][1]["psnr"]["mean"] - float((10 * torch.log10(1 / mse)).mean())) < 1e-3


def test_a_corruption_task_evaluates_like_the_others(tiny_zoo):
    result = evaluate("corrupt:type=fog,level=3", dataset=SYNTH, folder=tiny_zoo, limit=12,
                      progress=False)
    assert result["task"] == "corrupt:level=3,type=fog" and result["n_images"] == 12
    assert [r["name"] for r in result["rows"]] == [CLEAN, NO_PROCESSING]
    fogged = result["rows"][1]
    assert 0 < fogged["psnr"]["mean"] < 40
    assert all(0 <= c["ece"] <= 1 for c in fogged["accuracy"].values())


def test_tasks_in_zoo_and_missing_classifiers(tiny_zoo, tmp_path):
    assert tasks_in_zoo(SYNTH, tiny_zoo) == ["sr:scale=4"]
    with pytest.raises(RAExplorerError, match="train-classifier"):
        evaluate("sr", dataset=SYNTH, folder=tmp_path, progress=False)


def test_paired_difference_against_the_plain_processor(tiny_zoo):
    result = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, progress=False)
    assert result["plain"] == "sr-plain"
    rows = {r["name"]: r for r in result["rows"]}
    assert rows["sr-plain"]["vs_plain"] is None and rows["clean"]["vs_plain"] is None
    for clf, diff in rows["sr-ra"]["vs_plain"].items():
        expected = rows["sr-ra"]["accuracy"][clf]["accuracy"] - rows["sr-plain"]["accuracy"][clf]["accuracy"]
        assert abs(diff["diff"] - expected) < 1e-9
        assert diff["ci95"][0] <= diff["diff"] <= diff["ci95"][1]


def test_paired_difference_formula():
    import torch

    from analysis.analyses.evaluate import paired_difference

    a = torch.tensor([1, 1, 1, 0, 0, 1, 1, 0], dtype=torch.bool)
    b = torch.tensor([1, 0, 0, 0, 1, 1, 0, 0], dtype=torch.bool)
    out = paired_difference(a, b)       # n10 = 3, n01 = 1
    assert out["discordant"] == [3, 1] and out["diff"] == 0.25
    se = (3 + 1 - 2 ** 2 / 8) ** 0.5 / 8
    assert abs(out["ci95"][1] - (0.25 + 1.959963984540054 * se)) < 1e-12


@pytest.mark.parametrize("policy", ["auto", "fold-bn-cl,force", "channels-last,force,-batch",
                                    "auto,+compile,force"])
def test_the_record_table_is_the_same_with_the_execution_plan_on_and_off(tiny_zoo, policy):
    import numpy as np
    import torch

    from analysis.analyses.evaluate import accuracy_report, measure_task
    from analysis.pipeline.backends import BACKENDS

    why = BACKENDS["compile"].unavailable(torch.device("cpu"))
    if "compile" in policy and why:
        pytest.skip(why)
    off, clf_cards, proc_cards = measure_task("sr", dataset=SYNTH, folder=tiny_zoo,
                                              batch_size=16, progress=False, execution="eager")
    on, _, _ = measure_task("sr", dataset=SYNTH, folder=tiny_zoo, batch_size=16, progress=False,
                            execution=policy)
    assert off.provenance["execution"]["clf-a"]["backend"] == "eager"
    assert set(on.provenance["execution"]) == {"clf-a", "clf-b", "clf-robust"}
    if "force" in policy:
        assert all(p["backend"] != "eager" for p in on.provenance["execution"].values())
    assert on.pred.keys() == off.pred.keys() and on.quality.keys() == off.quality.keys()
    for key in off.pred:      # the stored columns, bit for bit
        assert np.array_equal(on.pred[key], off.pred[key]), key
        assert on.prob[key].tobytes() == off.prob[key].tobytes(), key
    for key in off.quality:
        assert on.quality[key].tobytes() == off.quality[key].tobytes(), key
    a, b = accuracy_report(off, proc_cards, clf_cards), accuracy_report(on, proc_cards, clf_cards)
    a.pop("provenance"), b.pop("provenance")
    assert a == b
