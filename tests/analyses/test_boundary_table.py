import json
import math
import os
import re
import sys
from pathlib import Path

from analysis.analyses.boundary_table import boundary_report, format_boundary_report, pair_table
from analysis.cli.main import main
from tests.conftest import SYNTH
from tests.process_groups import run_session

ROOT = Path(__file__).resolve().parents[2]


def test_pair_table_selection_and_ibd():
    records = [
        {"index": 0, "label": 1, "pred": {"a": 2, "b": 2}, "dims": 4,
         "bd": {"a": {"random": 1.0, "ra": 0.5}, "b": {"random": 3.0, "ra": 0.75}}},
        {"index": 1, "label": 2, "pred": {"a": 2, "b": 2}, "dims": 4,      # correct: left out
         "bd": {"a": {"random": 9.0, "ra": 9.0}, "b": {"random": 9.0, "ra": 9.0}}},
        {"index": 2, "label": 0, "pred": {"a": 1, "b": 1}, "dims": 4,
         "bd": {"a": {"random": math.nan, "ra": 1.0}, "b": {"random": 2.0, "ra": 2.0}}},
    ]
    t = pair_table(records, "a", "b")
    assert t["selected"] == 2
    rnd, ra = t["directions"]["random"], t["directions"]["ra"]
    assert rnd["bd_source"]["censored"] == 1 and rnd["bd_source"]["mean"] == 1.0
    assert rnd["ibd"]["n"] == 1 and rnd["ibd"]["mean"] == 2.0     # censored pair has no IBD
    assert ra["ibd"]["mean"] == (0.25 + 1.0) / 2
    assert ra["bd_source"]["mean_rms"] == ra["bd_source"]["mean"] / 2
    assert pair_table(records, "a", "b", all_images=True)["selected"] == 3
    # the report prints values and CIs rounded to 3 decimals, censored counts, the schedule
    report = {"task": "sr:scale=4", "dataset": "d", "limit": 3, "plain": "p", "ra": "r",
              "units": "u", "clip": False, "tol": 0.001, "all_images": True,
              "schedule": "uniform", "steps": 30, "max_dist": 30.0,
              "pairs": [pair_table(records, "a", "b", all_images=True)]}
    text = format_boundary_report(report)
    assert "Search: uniform scan of 30 steps to 30.0, then bisection to 0.001" in text
    assert "| a | b | 3 | random | 5.000 [1.000, 9.000] | 4.667 [2.000, 9.000] |" in text
    assert re.search(r"\| \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] \|", text)
    assert not re.search(r"\d\.\d{4,}", text)


def test_boundary_report_on_the_tiny_zoo(tiny_zoo):
    report = boundary_report("sr", "clf-a", "clf-b", folder=tiny_zoo, dataset=SYNTH,
                             all_images=True, limit=12, max_dist=10.0, tol=1e-2, steps=10,
                             attack_steps=10, progress=False)
    assert report["clip"] is False and "[0,1]-pixel" in report["units"]
    assert len(report["records"]) == 12
    text = format_boundary_report(report)
    assert "| clf-a | clf-b | 12 | random |" in text and "| clf-a | clf-b | 12 | ra |" in text
    # the search is recorded and named; numbers are rounded, CIs in brackets
    assert report["schedule"] == "geometric" and report["growth"] == 0.25
    assert "Search: geometric scan (gap after t: max(0.02, 0.25 t)) to 10.0" in text
    # the nearest boundary (on by default) and BD in the source's own perceptual units
    assert report["nearest"]["attack"] == "ddn" and report["nearest"]["steps"] == 10
    assert report["perceptual"] == "lpips-clf-a"
    for r in report["records"]:
        for c in ("clf-a", "clf-b"):
            assert set(r["perceptual"][c]) == {"random", "ra", "nearest"}
            assert r["nearest"][c] > 0 or math.isnan(r["nearest"][c])
    pair = report["pairs"][0]
    assert pair["nearest"]["nb_source"]["n"] + pair["nearest"]["nb_source"]["censored"] == 12
    assert "Nearest boundary NB (L2, [0,1]-pixel units): Foolbox DDN, 10 steps" in text
    assert "BD in perceptual units: lpips-clf-a" in text
    assert "| clf-a | clf-b | nearest |" in text


def test_boundaries_cli_matrix_and_saved_copy(tiny_zoo, tmp_path, capsys):
    assert main(["bd", "--task", "sr", "--matrix", "--dataset", SYNTH, "--checkpoints",
                 str(tiny_zoo), "--sample", "6", "--all-images", "--max-dist", "5", "--tol", "0.05",
                 "--scan-steps", "5", "--schedule", "uniform", "--out", str(tmp_path), "--json",
                 "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["pairs"]) == 6  # 3 classifiers, ordered pairs
    assert doc["schedule"] == "uniform" and doc["steps"] == 5
    assert "Search: uniform scan of 5 steps to 5.0" in (
        tmp_path / "boundaries_sr_scale4_matrix.md").read_text()
    assert (tmp_path / "boundaries_sr_scale4_matrix.md").exists()


def test_missing_processor_is_one_sentence(tiny_zoo, capsys):
    assert main(["bd", "--task", "denoise", "--source", "clf-a", "--target", "clf-b",
                 "--dataset", SYNTH, "--checkpoints", str(tiny_zoo), "--no-save"]) == 2
    assert "denoise-plain" in capsys.readouterr().err


def _run(args, nproc, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "analysis", *args]
    result = run_session(cmd, 300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_two_processes_give_the_same_table_as_one(tiny_zoo, tmp_path):
    args = ["bd", "--task", "sr", "--source", "clf-a", "--target", "clf-b",
            "--dataset", SYNTH, "--checkpoints", str(tiny_zoo), "--all-images", "--sample", "10",
            "--max-dist", "8", "--tol", "0.01", "--scan-steps", "8", "--device", "cpu", "--json",
            "--no-save", "--no-progress"]
    one, two = _run(args, 1, tmp_path), _run(args, 2, tmp_path)
    assert one["world_size"] == 1 and two["world_size"] == 2
    assert json.dumps(one["pairs"]) == json.dumps(two["pairs"])
    # --limit 10: the seeded class-stratified sample of the test split, in index order
    from analysis.data.datasets import load_dataset
    from analysis.data.sampling import Sample, limited_indices

    sample = limited_indices(load_dataset(SYNTH, "test"), Sample(10)).tolist()
    assert [r["index"] for r in two["records"]] == sample and sample != list(range(10))
