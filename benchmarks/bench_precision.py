"""Training precision: float32 against bfloat16 autocast on the zoo's SR recipe, on the tables.

Trains the zoo's SR x4 plain and RA processors (from ``checkpoints/bases/sr-base``, SRResNet
32 channels x 6 blocks, batch 64, lr 5e-4, RA through the zoo's resnet20 at lambda 0.001, one
epoch, seed 0) once per precision, each as its own ``python -m analysis train-processor``
process (wall time and peak resident memory as in :mod:`benchmarks.bench_scale`), then
evaluates the four processors with the zoo's resnet20 on the test images (or ``--test-sample``
of them) in one ``python -m analysis evaluate`` process. Prints the machine and a Markdown
table: per precision and method the training seconds, peak RSS, the activation memory per image the
trainer states before its first step, validation PSNR, test PSNR, test accuracy and RA - plain
(paired, 95 % CI); then the bfloat16 / float32 ratios of the training time.

    python -m benchmarks.bench_precision [--sample N] [--test-sample N] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

from analysis.analyses.evaluate import paired_difference
from analysis.pipeline.records import RecordTable
from benchmarks.bench_scale import ROOT, machine, run_step

PRECISIONS = ("float32", "bfloat16")
METHODS = {"plain": [], "ra": ["--classifier", str(ROOT / "checkpoints" / "resnet20"),
                               "--lambda", "0.001"]}
STATED = re.compile(r"about ([\d.]+) (KiB|MiB|GiB) of activations per")
UNITS = {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}


def train_commands(zoo: Path, runs: Path, sample: int | None) -> list[tuple[str, str, list]]:
    """(precision, method, train-processor arguments) of the four runs."""
    out = []
    for precision in PRECISIONS:
        for method, extra in METHODS.items():
            out.append((precision, method, [
                "train-processor", "--task", "sr", "--method", method, *extra,
                "--arch-kw", "channels=32,blocks=6", "--init",
                str(ROOT / "checkpoints" / "bases" / "sr-base"), "--epochs", "1",
                "--batch-size", "64", "--lr", "5e-4", "--seed", "0", "--precision", precision,
                *(["--sample", str(sample)] if sample else []), "--state-dir", str(runs),
                "--no-progress", "--out", str(zoo / f"sr-{method}-{precision}")]))
    return out


def stated_mib(log: Path) -> float | None:
    """The activation memory per image the trainer stated (MiB), from its log."""
    found = STATED.search(log.read_text())
    return float(found.group(1)) * UNITS[found.group(2)] if found else None


def table(result: dict) -> str:
    m = result["machine"]
    lines = [f"Machine: {m['cpu']}, {m['threads']} threads, sgemm {m['sgemm_gflops']:.0f} "
             f"GFLOP/s, load average {m['load_average'][0]:.1f}; torch {m['torch']}.", "",
             "| precision | method | train, s | peak RSS, GiB | activations, MiB/image | "
             "val PSNR | test PSNR | test accuracy (resnet20) | RA - plain, points |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["rows"]:
        diff = r.get("ra_minus_plain")
        lines.append(
            f"| {r['precision']} | {r['method']} | {r['seconds']:.1f} | {r['peak_rss_gib']:.2f} | "
            f"{r['activation_mib']:.3f} | {r['val_psnr']:.3f} | {r['test_psnr']:.3f} | "
            f"{100 * r['test_accuracy']:.2f} | "
            + (f"{100 * diff['diff']:+.2f} [{100 * diff['ci95'][0]:+.2f}, "
               f"{100 * diff['ci95'][1]:+.2f}]" if diff else "—") + " |")
    seconds = {(r["precision"], r["method"]): r["seconds"] for r in result["rows"]}
    lines.append("")
    lines.append("ratio of training time bfloat16 / float32: " + ", ".join(
        f"{m} {seconds[('bfloat16', m)] / seconds[('float32', m)]:.2f}x" for m in METHODS))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sample", type=int, default=None,
                   help="training images (default: every one, the zoo's recipe)")
    p.add_argument("--test-sample", type=int, default=None,
                   help="a seeded class-stratified sample of N test images (default: all)")
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the steps")
    p.add_argument("--work", default=None, help="folder for the models and logs (default: a "
                                                "temporary one)")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        zoo = work / "zoo"
        zoo.mkdir(parents=True, exist_ok=True)
        for ext in ("json", "safetensors"):   # the judging classifier beside the processors
            shutil.copy(ROOT / "checkpoints" / f"resnet20.{ext}", zoo / f"resnet20.{ext}")
        result = {"machine": machine(args.threads), "settings": vars(args), "rows": []}
        for k, (precision, method, cmd) in enumerate(train_commands(zoo, work / "runs",
                                                                    args.sample)):
            log = work / f"train{k}.log"
            row = run_step(f"train {method} {precision}", cmd, log, args.threads)
            if row["exit"] != 0:
                return 1
            card = json.loads((zoo / f"sr-{method}-{precision}.json").read_text())
            row.update(precision=precision, method=method, activation_mib=stated_mib(log),
                       val_psnr=card["metrics"]["val_psnr"],
                       card_precision=card["training"].get("precision"))
            result["rows"].append(row)
        records = work / "records.parquet"
        step = run_step("evaluate", ["evaluate", "--task", "sr", "--checkpoints", str(zoo),
                                     "--classifiers", "resnet20", "--no-progress",
                                     *(["--sample", str(args.test_sample)]
                                       if args.test_sample else []),
                                     "--records", str(records)],
                        work / "evaluate.log", args.threads)
        if step["exit"] != 0:
            return 1
        recorded = RecordTable.load(records)
        for r in result["rows"]:
            name = f"sr-{r['method']}-{r['precision']}"
            r["test_psnr"] = float(recorded.quality[("psnr", name)].mean())
            hits = recorded.correct(name, "resnet20")
            r["test_accuracy"] = float(hits.mean())
            if r["method"] != "plain":
                r["ra_minus_plain"] = paired_difference(
                    hits, recorded.correct(f"sr-plain-{r['precision']}", "resnet20"))
        result["evaluate_seconds"] = step["seconds"]
        result["n_test"] = len(recorded)
    print(table(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
