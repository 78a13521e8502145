"""Background jobs: progress, result, cancel at the next report, failures in one sentence."""

import threading

from analysis.errors import RAExplorerError
from analysis.explore.jobs import Job


def counting(n, on_progress, gate=None):
    for i in range(n):
        if gate is not None:
            gate.wait(5)
        on_progress(i + 1, n)
    return sum(range(n))


def test_a_job_reports_its_progress_and_returns_the_result():
    job = Job("count", counting, 5)
    state = job.wait(10)
    assert state.status == "done" and job.result == 10
    assert (state.done, state.total, state.fraction) == (5, 5, 1.0)
    assert state.seconds_left == 0.0 and state.seconds >= 0


def test_cancel_stops_at_the_next_report_and_keeps_nothing():
    gate = threading.Event()
    job = Job("count", counting, 1000, gate=gate)
    assert job.running and job.state.fraction == 0.0 and job.state.seconds_left is None
    job.cancel()
    gate.set()
    state = job.wait(10)
    assert state.status == "cancelled" and job.result is None
    assert state.done == 0           # the first report after the cancel raised


def test_a_failure_is_one_sentence_and_the_job_ends():
    def bad(on_progress):
        raise RAExplorerError("The checkpoint x is not there; train it first.")

    def broken(on_progress):
        on_progress(1, 2)
        raise ValueError("shapes\n  do not   match")

    state = Job("bad", bad).wait(10)
    assert (state.status, state.error) == ("failed", "The checkpoint x is not there; train it first.")
    state = Job("broken", broken).wait(10)
    assert state.status == "failed" and state.error == "ValueError: shapes do not match"
    assert state.fraction == 0.5
