"""Independent CPU jobs (one classifier's decision map, one classifier's boundary distances)
run side by side, one per core, each with a single intra-op thread.

Why: the explorer's forward passes are small (a level of an adaptive map is tens to hundreds
of 28 x 28 images; a boundary search is a batch of two), and a small convolution split over
two OpenMP threads waits at a barrier after each layer. ``python -m
benchmarks.bench_side_by_side`` on the 2-core machine of BENCHMARKS.md ("Side by side and
malloc"): four classifiers' 128 x 128 maps and BDs of an image, 1.77-3.69 s one after another
on two intra-op threads (eager maps), 0.98-2.00 s side by side (channels-last maps), a median
of 1.83x over six images, maps and BDs identical.

The workers' thread count is set with OpenMP's own ``omp_set_num_threads``, which holds for
the calling thread only; ``torch.set_num_threads`` would also change the count that every
thread started later (Streamlit starts one per script run) begins with. Where torch's
OpenMP runtime cannot be found (or setting it leaves a worker with more than one thread), on
CUDA, with one core, inside a worker, or with ``RA_SIDE_BY_SIDE=0``, the jobs simply run one
after another in the caller's thread. MKL's own count is not changed: a matrix product in a
worker (a classifier's last layer) may use MKL's threads. With many cores each job still
gets one; the page draws at most six maps. Results come back in the jobs'
order; a job's exception is raised in the caller.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _openmp():
    """torch's OpenMP runtime (libgomp shipped in torch/lib, or the one already loaded), or
    None."""
    for name in (os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp.so.1"),
                 "libgomp.so.1", "libiomp5.so"):
        try:
            lib = ctypes.CDLL(name)
            lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            return lib
        except (OSError, AttributeError):
            continue
    return None


def workers() -> int:
    """How many jobs run at once: torch's intra-op thread count (the cores it was given);
    1 means one after another."""
    if os.environ.get("RA_SIDE_BY_SIDE", "1") == "0":
        return 1
    return max(1, torch.get_num_threads())


def _single_threaded(omp) -> None:
    torch.get_num_threads()       # torch's lazy per-thread set-up first: it would undo the next
    omp.omp_set_num_threads(1)


_unavailable = False                  # no OpenMP runtime found, or its setting had no effect


def _executor() -> ThreadPoolExecutor | None:
    global _pool, _unavailable
    with _lock:
        if _pool is None and not _unavailable:
            omp = _openmp()
            if omp is None or workers() < 2:
                _unavailable = omp is None
                return None
            pool = ThreadPoolExecutor(workers(), thread_name_prefix="ra-side-by-side",
                                      initializer=_single_threaded, initargs=(omp,))
            # the runtime found must be torch's own: its workers then run one thread each
            if pool.submit(torch.get_num_threads).result() != 1:
                pool.shutdown()
                _unavailable = True
                return None
            _pool = pool
        return _pool


def run_side_by_side(jobs: Sequence[Callable[[], T]], device: torch.device | str = "cpu"
                     ) -> list[T]:
    """Run the zero-argument callables ``jobs`` (CPU forward passes that do not depend on one
    another) on the side-by-side workers; their results in order."""
    inside = threading.current_thread().name.startswith("ra-side-by-side")   # no nesting
    pool = (None if torch.device(device).type != "cpu" or len(jobs) < 2 or inside
            else _executor())
    if pool is None:
        return [job() for job in jobs]
    futures = [pool.submit(job) for job in jobs]
    return [f.result() for f in futures]
