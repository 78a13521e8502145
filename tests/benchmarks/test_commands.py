"""The benchmark commands BENCHMARKS.md quotes run from the repository root as written."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_md_quotes_module_commands_only():
    text = (ROOT / "BENCHMARKS.md").read_text()
    commands = re.findall(r"`python (-m benchmarks\.\w+|benchmarks/\S+)", text)
    assert commands and all(c.startswith("-m benchmarks.") for c in commands)


@pytest.mark.parametrize("module,args,expect", [
    ("benchmarks.bench_metrics", ["--n", "2", "--size", "24", "--channels", "1", "--repeats", "3"],
     r"ssim\s+skimage ssim\s+[\d.]+\s+[\d.]+\s+[\d.]+"),
    ("benchmarks.bench_metric_variants", ["--repeats", "2"],
     r"ssim\s+256x1x28px\s+stacked\s+\d+\s+one at a time"),
    ("benchmarks.bench_tsne", ["--n", "300", "--backends", "sklearn", "--jobs", "1"], r"sklearn"),
    ("benchmarks.bench_runner", ["--images", "10", "--batch-size", "10", "--repeats", "1"],
     r"median ratio raw / runner: wall [\d.]+, CPU [\d.]+"),
    ("benchmarks.bench_inference", ["--images", "8", "--batch-size", "8", "--repeats", "1",
                                    "--models", "resnet20", "--sgemm-repeats", "1",
                                    "--evaluate", "8"],
     r"total\s+[\d.]+ \(\s*[\d.]+%\)\s+[\d.]+ \(\s*[\d.]+%\)(.*\n)*median: eager [\d.]+ s, plan "
     r"[\d.]+ s: [\d.]+x faster .*record tables identical: yes"),
    ("benchmarks.bench_boundary", ["--images", "2", "--max-dist", "2", "--full-scan-images", "1",
                                   "--classifiers", "resnet20", "--maps", "1", "--extents", "3",
                                   "--resolution", "16", "--map-variants", "8,4+n"],
     r"1\. BD search over 4 pairs.*\n   geometric: [\d.]+ passes per BD(.*\n)*2\. full 0\.005 linear "
     r"scan on 1 images(.*\n)*3\. adaptive 16x16, coarse 4 \+ neighbours"),
    ("benchmarks.bench_side_by_side", ["--images", "1", "--classifiers", "resnet20,vgg11-bn",
                                       "--resolution", "16", "--forwards", "3"],
     r"median ratio before / after: [\d.]+x over 1 images; maps and BDs identical: yes(.*\n)*"
     r"2\. channels-last maps.*\(([\d.]+)x\); 0 of 512 map pixels differ(.*\n)*"
     r"   ratio default / retain: [\d.]+x"),
])
def test_benchmark_runs_as_documented(module, args, expect):
    run = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(expect, run.stdout), run.stdout
