"""The background job runner of the pages' prefetches: newest job wins, steps in order."""

import threading

from app.components.background import LatestJob
from app.components.boundary_cache import upcoming


def test_a_job_runs_its_steps_in_order_and_can_be_waited_for():
    runner, done = LatestJob("test-order"), []
    generation = runner.submit([lambda k=k: done.append(k) for k in range(5)])
    assert runner.wait(generation, timeout=10)
    assert done == [0, 1, 2, 3, 4]


def test_a_newer_job_stops_the_running_one_after_its_current_step():
    runner, done = LatestJob("test-replace"), []
    started, release = threading.Event(), threading.Event()

    def blocking():
        started.set()
        release.wait(10)
        done.append("first-0")

    first = runner.submit([blocking, lambda: done.append("first-1")])
    assert started.wait(10)
    second = runner.submit([lambda: done.append("second")])
    release.set()
    assert runner.wait(second, timeout=10) and runner.wait(first, timeout=0)
    assert done == ["first-0", "second"]      # the first job's second step never ran


def test_a_failing_step_ends_its_job_and_the_runner_goes_on():
    runner, done = LatestJob("test-fail"), []

    def boom():
        raise RuntimeError("no")

    assert runner.wait(runner.submit([boom, lambda: done.append("after")]), timeout=10)
    assert runner.wait(runner.submit([lambda: done.append("next job")]), timeout=10)
    assert done == ["next job"]


def test_upcoming_takes_the_next_images_of_the_pickers_list():
    assert upcoming([8, 11, 17, 21], 11) == [17, 21]
    assert upcoming([8, 11, 17, 21], 21) == []
    assert upcoming([8, 11, 17, 21], 5) == [8, 11]       # not in the list: its first ones
    assert upcoming(range(10_000), 9_998) == [9_999]     # "by index"
