import shutil

from analysis.reporting.reproduce import regenerate
from analysis.reporting.tables import check_claims, format_table1, format_table3, format_table16
from tests.conftest import SYNTH


def test_tables_and_claims_from_the_tiny_zoo(tiny_zoo, tmp_path):
    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    # the recipe's naming: <task>-<method>, sr-ra-src-<classifier>
    shutil.copy(folder / "sr-ra.json", folder / "sr-ra-src-clf-b.json")
    shutil.copy(folder / "sr-ra.safetensors", folder / "sr-ra-src-clf-b.safetensors")
    import json
    card = json.loads((folder / "sr-ra-src-clf-b.json").read_text())
    card["source"] = "clf-b"
    card["name"] = "sr-ra-src-clf-b"
    (folder / "sr-ra-src-clf-b.json").write_text(json.dumps(card))
    # and a lambda sweep through the main source, so that clf-a is the RA source by count
    shutil.copy(folder / "sr-ra.safetensors", folder / "sr-ra-lam0.01.safetensors")
    card = json.loads((folder / "sr-ra.json").read_text())
    card.update(name="sr-ra-lam0.01", **{"lambda": 0.01})
    (folder / "sr-ra-lam0.01.json").write_text(json.dumps(card))
    results, written = regenerate(dataset=SYNTH, folder=folder, out_dir=tmp_path / "res",
                                  progress=False)
    names = {p.name for p in written}
    assert {"table1.md", "table3_transfer.md", "table16_lambda.md", "claims.md",
            "evaluate_sr_scale4.json"} <= names
    sr = next(r for r in results if r["task"] == "sr:scale=4")
    t1 = format_table1(sr)
    assert "| RA (λ=0.1) |" in t1 and "| plain |" in t1 and "| no processing |" in t1
    t3 = format_table3(sr)
    assert "| clf-a |" in t3 and "| clf-b |" in t3 and "plain (no source)" in t3
    t16 = format_table16(sr, source="clf-a")
    assert "| 0 | sr-plain |" in t16 and "| 0.1 | sr-ra |" in t16
    claims = "\n".join(check_claims(results, source="clf-a"))
    assert "RA vs plain on the source clf-a" in claims
    assert "denoise:sigma=0.1: no RA and plain processors to compare yet." in claims


def test_regenerate_reuses_an_evaluation_only_for_the_same_checkpoints(tiny_zoo, tmp_path,
                                                                       monkeypatch):
    import json

    from analysis.reporting import reproduce as report

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    out = tmp_path / "res"
    first, _ = regenerate(dataset=SYNTH, folder=folder, out_dir=out, progress=False)
    calls = []
    real = report.measure_for_results
    monkeypatch.setattr(report, "measure_for_results",
                        lambda t, *a, **kw: calls.append(t) or real(t, *a, **kw))
    again, _ = regenerate(dataset=SYNTH, folder=folder, out_dir=out, progress=False)
    assert calls == [] and again == first        # nothing changed: every task reused
    # measured on other weights of sr-ra (retrained since): that task is measured again
    path = out / "evaluate_sr_scale4.json"
    saved = json.loads(path.read_text())
    saved["models"]["sr-ra"] = "0" * 64
    path.write_text(json.dumps(saved))
    assert report.reusable(out / "evaluate_sr_scale4.json", "sr", SYNTH, folder, None) is None
    assert report.reusable(out / "evaluate_jpeg_quality10.json", "jpeg", SYNTH, folder,
                           None) is not None
    regenerate(dataset=SYNTH, folder=folder, out_dir=out, progress=False)
    assert calls == ["sr:scale=4"]
    regenerate(dataset=SYNTH, folder=folder, out_dir=out, progress=False, fresh=True)
    assert len(calls) == 4                        # --fresh measures every task


def test_results_cli_writes_the_test_figures_into_the_cards(tiny_zoo, tmp_path, capsys):
    import json

    from analysis.cli.main import main

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    args = ["results", "--dataset", SYNTH, "--checkpoints", str(folder), "--out",
            str(tmp_path / "res"), "--no-progress"]
    assert main(args + ["--limit", "8", "--update-cards"]) != 0
    assert "needs the whole test split" in capsys.readouterr().err
    assert main(args + ["--update-cards"]) == 0
    saved = json.loads((tmp_path / "res" / "evaluate_sr_scale4.json").read_text())
    row = next(r for r in saved["rows"] if r["name"] == "sr-ra")
    card = json.loads((folder / "sr-ra.json").read_text())
    assert card["metrics"]["test_accuracy"] == row["accuracy"]["clf-a"]["accuracy"]
    assert card["metrics"]["test_images"] == saved["n_images"]


def test_shipped_tables_are_rewritten_byte_for_byte_from_the_shipped_evaluations(tmp_path):
    """The source now comes from the cards (rows), not the name resnet20: the shipped
    claims.md, Tables 1, 3 and 16 come out identical from results/evaluate_*.json."""
    import json

    from analysis.config import PROJECT_ROOT
    from analysis.reporting.tables import CLAIM_SOURCES, write_results

    shipped = PROJECT_ROOT / "results"
    results = [json.loads((shipped / f"evaluate_{slug}.json").read_text())
               for slug in ("sr_scale4", "denoise_sigma0.1", "jpeg_quality10")]
    sources = [path for pattern in CLAIM_SOURCES for path in shipped.glob(pattern)]
    assert {p.name.split("_")[0] for p in sources} >= {"seeds", "randomized", "architecture"}
    for path in sources:                          # the later claims sections' sources
        (tmp_path / path.name).write_bytes(path.read_bytes())
    write_results(results, tmp_path)
    for name in ("claims.md", "table1.md", "table3_transfer.md", "table16_lambda.md"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name


def _picked(result):
    from analysis.reporting.tables import lambda_rows, transfer_rows

    return ([r["source"] for r in transfer_rows(result)],
            [r["lambda"] for r in lambda_rows(result, "resnet20")])


def test_table3_and_16_rows_come_from_the_cards_not_the_names():
    """A user's zoo names its processors freely: renaming every shipped SR processor picks the
    same rows for the by-source (Table 3) and lambda (Table 16) tables."""
    import copy
    import json
    from pathlib import Path

    from analysis.reporting.tables import transfer_rows

    shipped = json.loads((Path(__file__).parents[2] / "results/evaluate_sr_scale4.json").read_text())
    names = [r["name"] for r in transfer_rows(shipped)]
    assert set(names) == {"sr-ra", "sr-ra-src-resnet32", "sr-ra-src-densenet-bc",
                          "sr-ra-src-mobilenetv2", "sr-ra-src-vgg11-bn"}
    renamed = copy.deepcopy(shipped)
    for i, row in enumerate(renamed["rows"]):
        if row["method"]:
            row["name"] = f"my-model-{i}"
    renamed["plain"] = next(r["name"] for r in renamed["rows"] if r["method"] == "plain")
    assert _picked(renamed) == _picked(shipped)
    assert _picked(shipped)[1] == [0.0, 0.001, 0.01, 0.1]
