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
])
def test_benchmark_runs_as_documented(module, args, expect):
    run = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(expect, run.stdout), run.stdout
