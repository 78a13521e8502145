"""Memory bounded by the batch, not the dataset (issue 39, point 1): the peak resident memory
of an ``evaluate`` process on 1,000 images is within 10 % of its peak on 100 images of the same
generated image folder, at the same batch size."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import TINY_CLASSIFIER, TINY_PROCESSOR

CLASSES = ("a", "b", "c", "d", "e")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _folder(root, train=4, test=200, size=32):
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        for k, c in enumerate(CLASSES):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 60, (size, size, 3)) + 40 * k
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / c / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def thousand(tmp_path_factory):
    """An image folder of 1,000 test images (5 classes, 32 px) and a zoo on it: a classifier,
    a plain and an RA SR processor trained for a step."""
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    base = tmp_path_factory.mktemp("thousand")
    spec = f"imagefolder:{_folder(base / 'imgs')}"
    zoo = base / "zoo"
    common = {"dataset": spec, "epochs": 1, "batch_size": 4, "state_dir": str(base / "runs"),
              "progress": False, "val_limit": 4, "max_steps": 1}
    train_classifier("resnet20", out=str(zoo / "clf"), arch_kwargs=TINY_CLASSIFIER, **common)
    train_processor("sr", "plain", out=str(zoo / "sr-plain"), arch_kwargs=TINY_PROCESSOR, **common)
    train_processor("sr", "ra", out=str(zoo / "sr-ra"), recognizer=str(zoo / "clf"), lam=0.1,
                    arch_kwargs=TINY_PROCESSOR, **common)
    return spec, zoo, base


def _peak_rss(args: list[str], out) -> int:
    """Peak resident set size (bytes) of ``python -m analysis ARGS`` run as a child process."""
    env = {**os.environ, "PYTHONPATH": ROOT, "RA_EXECUTION": "eager", "OMP_NUM_THREADS": "1"}
    with open(out, "w") as sink:
        child = subprocess.Popen([sys.executable, "-m", "analysis", *args], cwd=ROOT, env=env,
                                 stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, open(out).read()[-2000:]
    return usage.ru_maxrss * 1024          # kilobytes on Linux


def test_evaluate_peak_memory_does_not_grow_from_100_to_1000_images(thousand):
    spec, zoo, base = thousand
    common = ["evaluate", "--task", "sr", "--dataset", spec, "--checkpoints", str(zoo),
              "--batch-size", "50", "--no-progress", "--json"]
    hundred = _peak_rss([*common, "--sample", "100", "--records", str(base / "100.parquet")],
                        base / "100.txt")
    thousand_peak = _peak_rss([*common, "--records", str(base / "1000.parquet")],
                              base / "1000.txt")
    from analysis.pipeline.records import RecordTable

    assert len(RecordTable.load(base / "1000.parquet")) == 1000
    assert len(RecordTable.load(base / "100.parquet")) == 100
    print(f"evaluate peak RSS: {hundred / 2**20:.0f} MiB on 100 images, "
          f"{thousand_peak / 2**20:.0f} MiB on 1,000")
    assert thousand_peak <= 1.10 * hundred, (hundred / 2**20, thousand_peak / 2**20)
