"""Running a command that starts processes of its own (torchrun and its ranks) so that a hang
ends the test: the command runs in a session of its own, and on timeout the whole session is
killed, ranks included (``subprocess.run`` kills torchrun alone, and its ranks keep the output
pipes open, so the test would wait for them forever)."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest


def run_session(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, **kwargs)`` in a new session; after
    ``timeout`` seconds every process of the session is killed and the test fails with the
    output so far."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, **kwargs)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{' '.join(cmd[:6])} ... did not end within {timeout:.0f} s; its stderr "
                    f"ends: {err[-3000:]}")
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)
