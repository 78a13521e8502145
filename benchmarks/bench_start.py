"""Start-up: seconds from ``bash scripts/main.sh`` (README's main command) to the first ``ok``
of the server's health check (``/_stcore/health``, polled every 0.05 s), for each of two
settings (environment variables for the app, ``--a`` / ``--b``: ``KEY=VALUE,...``), starts
alternating. BENCHMARKS.md ("Start-up") quotes it with ``--b RA_PRELOAD=first`` (the warm-up
run before the server instead of behind it).

    python -m benchmarks.bench_start [--starts 3] [--a KEY=VALUE,...] [--b KEY=VALUE,...]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setting(text: str) -> dict:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def one_start(env: dict, timeout: float = 600.0) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen(["bash", "scripts/main.sh"], cwd=ROOT,
                            env={**os.environ, **env, "STREAMLIT_SERVER_PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as answer:
                    if answer.read() == b"ok":
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"no health check within {timeout:.0f} s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--a", default="", help="the first setting's environment, KEY=VALUE,...")
    parser.add_argument("--b", default="RA_PRELOAD=first", help="the second setting's")
    args = parser.parse_args(argv)
    times = {"a": [], "b": []}
    loads = []
    for _ in range(args.starts):
        for name in ("a", "b"):
            times[name].append(one_start(setting(getattr(args, name))))
            loads.append(os.getloadavg()[0])
    print(f"health check after bash scripts/main.sh, {args.starts} starts per setting; load "
          f"average {min(loads):.1f}-{max(loads):.1f}")
    for name in ("a", "b"):
        t = times[name]
        print(f"   {name} ({getattr(args, name) or 'as README says'}): "
              f"{min(t):.2f}-{max(t):.2f} s ({', '.join(f'{x:.2f}' for x in t)})")


if __name__ == "__main__":
    main()
