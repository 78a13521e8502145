import shutil

from analysis.report import check_claims, format_table1, format_table3, format_table16, regenerate

from .conftest import SYNTH


def test_tables_and_claims_from_the_tiny_zoo(tiny_zoo, tmp_path):
    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    # the recipe's naming: <task>-<method>, sr-ra-src-<classifier>
    shutil.copy(folder / "sr-ra.json", folder / "sr-ra-src-clf-b.json")
    shutil.copy(folder / "sr-ra.safetensors", folder / "sr-ra-src-clf-b.safetensors")
    import json
    card = json.loads((folder / "sr-ra-src-clf-b.json").read_text())
    card["source"] = "clf-b"
    (folder / "sr-ra-src-clf-b.json").write_text(json.dumps(card))
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
