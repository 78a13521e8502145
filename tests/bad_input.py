"""Shared by the bad-input tests (one file per surface: tests/cli/test_bad_options.py,
tests/zoo/test_bad_checkpoints.py, tests/explore/test_bad_uploads.py,
tests/metrics/test_bad_metric_input.py, tests/training/test_bad_state_files.py): every bad input
gets one sentence, never a traceback, and nothing saved changes (SHA-256 of every file in the
folders concerned, before and after)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from analysis.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "checkpoints"
SYN = "synthetic:n=64"
NO_CUDA = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"


def snapshot(*folders) -> dict:
    """{path: SHA-256} of every file under ``folders`` (what 'nothing saved changed' compares)."""
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_main(argv, capsys) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:   # argparse errors exit
        code = exc.code
    return code, capsys.readouterr().err


def tensor_bytes(path) -> dict:
    """{name: raw bytes} of a safetensors file (its header's metadata order is not fixed)."""
    from safetensors.torch import load_file

    return {k: v.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
            for k, v in load_file(str(path)).items()}


def assert_one_sentence(code, err, match, status=2):
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert code == status, (code, err)
    assert len(lines) == 1, err
    assert match.lower() in lines[0].lower(), lines[0]


def write_at(rel, data: bytes):
    """A damage: write ``data`` to ``folder / rel``."""
    return lambda folder: (folder / rel).write_bytes(data)


def truncate_at(rel):
    """A damage: cut ``folder / rel`` to half its length."""
    def apply(folder):
        data = (folder / rel).read_bytes()
        (folder / rel).write_bytes(data[: len(data) // 2])
    return apply
