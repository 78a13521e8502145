"""Side-by-side jobs: results in order, errors raised, each worker single-threaded, and the
thread count of the caller and of threads started later left as it was."""

import threading

import pytest
import torch

import analysis.side_by_side as sbs


def test_results_come_back_in_order_from_single_threaded_workers():
    import os

    if (os.cpu_count() or 1) >= 2:     # a parallel test worker may hold one thread of torch
        torch.set_num_threads(2)
    if sbs.workers() < 2 or sbs._openmp() is None:
        pytest.skip("one core, or no OpenMP runtime: the jobs run one after another")
    before = torch.get_num_threads()
    seen = sbs.run_side_by_side([lambda k=k: (k, torch.get_num_threads(),
                                              threading.current_thread().name)
                                 for k in range(6)])
    assert [k for k, _, _ in seen] == list(range(6))
    assert {n for _, n, _ in seen} == {1}
    assert all(name.startswith("ra-side-by-side") for _, _, name in seen)
    assert torch.get_num_threads() == before
    later = {}
    thread = threading.Thread(target=lambda: later.update(n=torch.get_num_threads()))
    thread.start()
    thread.join()
    assert later["n"] == before          # a thread started later begins with the usual count


def test_a_jobs_error_is_raised_in_the_caller():
    def fails():
        raise ValueError("job failed")

    with pytest.raises(ValueError, match="job failed"):
        sbs.run_side_by_side([lambda: 1, fails])


def test_turned_off_or_on_cuda_the_jobs_run_in_the_callers_thread(monkeypatch):
    here = threading.get_ident()
    assert sbs.run_side_by_side([threading.get_ident] * 2, device="cuda") == [here, here]
    monkeypatch.setattr(sbs, "_pool", None)
    monkeypatch.setenv("RA_SIDE_BY_SIDE", "0")
    assert sbs.run_side_by_side([threading.get_ident] * 2) == [here, here]
