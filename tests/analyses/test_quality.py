import json

from analysis.analyses.quality import format_quality, quality_table
from analysis.cli.main import main
from tests.conftest import SYNTH


def test_quality_table_rows_metrics_and_cis(tiny_zoo):
    result = quality_table("sr", dataset=SYNTH, folder=tiny_zoo, metrics=["psnr", "uqi", "lpips-clf-a"],
                           progress=False)
    assert [r["name"] for r in result["rows"]] == ["no processing", "sr-plain", "sr-ra"]
    assert [m["name"] for m in result["metrics"]] == ["psnr", "uqi", "lpips-clf-a"]
    for row in result["rows"]:
        for v in row["values"].values():
            assert v["ci95"][0] <= v["mean"] <= v["ci95"][1]
    assert "| sr-ra |" in format_quality(result)


def test_quality_psnr_matches_evaluate(tiny_zoo):
    from analysis.analyses.evaluate import evaluate

    q = quality_table("sr", dataset=SYNTH, folder=tiny_zoo, metrics=["psnr", "ssim"], progress=False)
    e = evaluate("sr", dataset=SYNTH, folder=tiny_zoo, progress=False)
    for qrow, erow in zip(q["rows"], e["rows"][1:]):
        assert abs(qrow["values"]["psnr"]["mean"] - erow["psnr"]["mean"]) < 1e-4
        assert abs(qrow["values"]["ssim"]["mean"] - erow["ssim"]["mean"]) < 1e-4


def test_default_metrics_include_the_zoo_variants(tiny_zoo):
    from analysis.analyses.quality import default_metrics

    names = default_metrics(tiny_zoo, SYNTH)
    assert {"psnr", "ssim", "uqi", "lpips-clf-a", "rlpips-clf-robust"} <= set(names)


def test_quality_cli_writes_a_copy_in_results(tiny_zoo, tmp_path, capsys):
    assert main(["quality", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--metrics", "psnr,gmsd", "--first", "8", "--out", str(tmp_path), "--json",
                 "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_images"] == 8
    saved = json.loads((tmp_path / "quality_sr_scale4.json").read_text())
    assert saved == doc
    assert (tmp_path / "quality_sr_scale4.md").read_text().startswith("Quality on task sr:scale=4")
    # a task whose file name holds a dot (sigma 0.1) keeps its whole name
    assert main(["quality", "--task", "denoise", "--dataset", SYNTH, "--checkpoints",
                 str(tiny_zoo), "--metrics", "psnr", "--first", "8", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert {p.name for p in tmp_path.glob("quality_denoise*")} == {
        "quality_denoise_sigma0.1.json", "quality_denoise_sigma0.1.md"}


def test_unknown_metric_name_in_the_cli(tiny_zoo, capsys):
    assert main(["quality", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
                 "--metrics", "psnrr", "--no-save"]) == 2
    assert "Did you mean 'psnr'" in capsys.readouterr().err


def test_metrics_listing_cli(tiny_zoo, capsys):
    assert main(["list", "metrics", "--checkpoints", str(tiny_zoo), "--json"]) == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)}
    assert "rlpips-clf-robust" in names and "uqi" in names
