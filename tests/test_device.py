"""analysis.device: the malloc setting that keeps freed memory for the next forward pass."""

import subprocess
import sys

import pytest

PROGRAM = """
import resource, sys, torch
from analysis.device import retain_freed_memory
if sys.argv[1] == "1":
    assert retain_freed_memory() == (sys.argv[2] == "1")
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


def faults(retain: bool, switch: str = "1") -> int:
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",      # no MALLOC_* from outside
           "RA_RETAIN_FREED_MEMORY": switch}
    out = subprocess.run([sys.executable, "-c", PROGRAM, "1" if retain else "0", switch], env=env,
                         capture_output=True, text=True, check=True, cwd=".")
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    kept, default = faults(True), faults(False)
    assert kept < 0.05 * default, (kept, default)   # by default about 1,000 a forward here


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_turned_off_it_leaves_malloc_as_it_is():
    assert faults(True, switch="0") > 20 * max(1, faults(True))
