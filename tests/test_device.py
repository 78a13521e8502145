"""analysis.device: the malloc setting that keeps freed memory for the next forward pass."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import resource, sys, torch
from analysis.device import retain_freed_memory
if sys.argv[1] == "1":
    assert retain_freed_memory()
conv = torch.nn.Conv2d(16, 16, 3, padding=1).eval()
x = torch.randn(128, 16, 28, 28)                   # 6.4 MB in, 6.4 MB out, oneDNN's buffers
with torch.no_grad():
    for _ in range(3):
        conv(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(30):
        conv(x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(retain: bool) -> int:
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",     # no MALLOC_* from outside
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROGRAM, "1" if retain else "0"], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    # 30 forwards, each writing a fresh 6.4 MB output (1,568 pages) and oneDNN's buffers: kept
    # memory faults in a few pages at most; on this project's VM glibc's default faulted in
    # about 1,000 pages a forward (BENCHMARKS.md, "Side by side and malloc")
    kept = faults(True)
    assert kept < 300, kept


def test_turned_off_it_does_not_touch_malloc(monkeypatch):
    import ctypes

    from analysis.device import retain_freed_memory

    def no_libc(*args, **kwargs):
        raise AssertionError("mallopt was called")

    monkeypatch.setenv("RA_RETAIN_FREED_MEMORY", "0")
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert retain_freed_memory() is False
