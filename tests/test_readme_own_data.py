"""The own-data walkthrough ("Your own data and models", in docs/own-data.md): every command of
its code block, run as written (bash, shell variables pointing at data this test makes), on a
3-class ImageFolder and a CIFAR-format folder; the embedded default's results/ is left
byte-identical."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.config import PROJECT_ROOT
from tests.data.test_data import _cifar_folder


def own_data_pages() -> list:
    """Where the walkthrough may live: docs/own-data.md first, then the other pages."""
    docs = PROJECT_ROOT / "docs"
    first = docs / "own-data.md"
    rest = sorted(p for p in docs.rglob("*.md") if p != first)
    return [p for p in (first, *rest, PROJECT_ROOT / "README.md") if p.exists()]


def readme_commands() -> list[str]:
    """The first bash block of the docs that trains on $IMAGES and imports $WEIGHTS."""
    for page in own_data_pages():
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            if "imagefolder:$IMAGES" in block and "import-weights" in block:
                return [line for line in block.splitlines()
                        if line.strip() and not line.startswith("#")]
    raise AssertionError("no page of docs/ holds the own-data walkthrough's bash block")


def _digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "datasets"}


@pytest.fixture
def shell_env(tmp_path):
    import torchvision

    images = tmp_path / "images"
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 4)):
        for k, c in enumerate(("ant", "bee", "cow")):
            (images / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 90, (32, 32, 3)) + 80 * k
                Image.fromarray(pixels.astype(np.uint8)).save(images / split / c / f"{i}.png")
    weights = tmp_path / "tv18.pth"
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), weights)
    results = tmp_path / "results"
    shutil.copytree(PROJECT_ROOT / "results", results)
    (tmp_path / "cifar").mkdir()
    env = {**os.environ, "IMAGES": str(images), "ZOO": str(tmp_path / "zoo"),
           "CIFAR": _cifar_folder(tmp_path / "cifar", per_batch=12),
           "WEIGHTS": str(weights), "RA_RESULTS": str(results),
           "RA_RUNS": str(tmp_path / "runs"), "OMP_NUM_THREADS": "2",
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    return env, results


def test_readme_own_data_commands_run_as_written(shell_env):
    env, results = shell_env
    before = _digests(results)
    commands = readme_commands()
    assert len(commands) >= 6 and all(c.startswith("python -m analysis ") for c in commands)
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (command, done.stderr[-2000:])
    own = [p for p in (results / "datasets").iterdir()]
    assert len(own) == 1 and (own[0] / "table1.md").exists()
    assert (results.parent / "zoo" / "examples.pdf").read_bytes()[:5] == b"%PDF-"
    assert _digests(results) == before
