"""The background job runner of the pages' prefetches: newest job wins, steps in order, no
work while a page runs (unless a page waits for that very work)."""

import threading

from app.components.background import ACTIVITY, LatestJob
from app.components.boundary_cache import upcoming


def steps(fns):
    return [(k, fn) for k, fn in enumerate(fns)]


def test_a_job_runs_its_steps_in_order_and_can_be_waited_for():
    runner, done = LatestJob("test-order"), []
    generation = runner.submit(steps([lambda k=k: done.append(k) for k in range(5)]))
    assert runner.wait(generation, timeout=10)
    assert done == [0, 1, 2, 3, 4]


def test_a_newer_job_stops_the_running_one_after_its_current_step():
    runner, done = LatestJob("test-replace"), []
    started, release = threading.Event(), threading.Event()

    def blocking():
        started.set()
        release.wait(10)
        done.append("first-0")

    first = runner.submit(steps([blocking, lambda: done.append("first-1")]))
    assert started.wait(10)
    second = runner.submit(steps([lambda: done.append("second")]))
    release.set()
    assert runner.wait(second, timeout=10) and runner.wait(first, timeout=0)
    assert done == ["first-0", "second"]      # the first job's second step never ran


def test_with_a_quiet_period_no_step_starts_until_that_long_after_the_last_run():
    import time

    runner, done = LatestJob("test-quiet", quiet_s=0.4), []
    with ACTIVITY.run():
        generation = runner.submit(steps([lambda: done.append(time.monotonic())]))
        time.sleep(0.1)
    ended = time.monotonic()
    assert runner.wait(generation, timeout=10)
    assert done[0] - ended >= 0.4 - 0.02                # not at the run's end: 0.4 s later
    assert ACTIVITY.wait_idle(quiet_s=0.0, timeout=0)   # nothing running: idle at once
    assert not ACTIVITY.wait_idle(quiet_s=5.0, timeout=0.2)   # not quiet for 5 s yet


def test_a_failing_step_ends_its_job_and_the_runner_goes_on():
    runner, done = LatestJob("test-fail"), []

    def boom():
        raise RuntimeError("no")

    assert runner.wait(runner.submit(steps([boom, lambda: done.append("after")])), timeout=10)
    assert runner.wait(runner.submit(steps([lambda: done.append("next job")])), timeout=10)
    assert done == ["next job"]


def test_no_step_starts_while_a_page_runs():
    runner, done = LatestJob("test-idle"), []
    with ACTIVITY.run():
        generation = runner.submit(steps([lambda: done.append(1)]))
        assert not runner.wait(generation, timeout=0.5) and done == []
    assert runner.wait(generation, timeout=10) and done == [1]


def test_a_step_pauses_while_a_page_runs_unless_that_page_hurries_it():
    runner, done = LatestJob("test-hurry"), []
    inside, page_started = threading.Event(), threading.Event()

    def long_step():
        inside.set()
        page_started.wait(10)
        runner.pause_point()          # the page runs now: wait, unless hurried
        done.append("finished")

    generation = runner.submit([("map-7", long_step)])
    assert inside.wait(10)
    with ACTIVITY.run():
        page_started.set()
        assert not runner.wait(generation, timeout=0.5)      # paused for the page
        runner.hurry("map-3")                                # another key: still paused
        assert not runner.wait(generation, timeout=0.3)
        runner.hurry("map-7")                                # the page waits for this one
        assert runner.wait(generation, timeout=10) and done == ["finished"]


def test_upcoming_takes_the_next_images_of_the_pickers_list():
    assert upcoming([8, 11, 17, 21], 11) == [17, 21]
    assert upcoming([8, 11, 17, 21], 21) == []
    assert upcoming([8, 11, 17, 21], 5) == [8, 11]       # not in the list: its first ones
    assert upcoming(range(10_000), 9_998) == [9_999]     # "by index"


def test_a_page_run_starting_as_a_step_is_claimed_can_always_hurry_it(monkeypatch):
    """The race of a page run that starts between the runner's idle check and its claim of
    the step: the page would find nothing to hurry and wait on a step paused for it."""
    import time

    runner, key = LatestJob("test-claim"), ("map", 3, "clf")
    finished, page_done, hurried_in_time = threading.Event(), threading.Event(), []
    started = []
    real_wait_idle = ACTIVITY.wait_idle

    def page():
        with ACTIVITY.run():            # the page's run begins right after the idle check
            runner.hurry(key)            # it is about to wait for this very map
            hurried_in_time.append(finished.wait(5))
        page_done.set()

    def wait_idle_then_a_page_starts(*args, **kwargs):
        result = real_wait_idle(*args, **kwargs)
        if threading.current_thread().name == "test-claim" and not started:
            started.append(True)         # once: at the runner's check before the step
            threading.Thread(target=page, daemon=True).start()
            time.sleep(0.2)              # let the page reach ACTIVITY.run() (or enter it)
        return result

    def long_step():
        runner.pause_point()             # a page runs: waits unless that page hurried it
        finished.set()

    monkeypatch.setattr(ACTIVITY, "wait_idle", wait_idle_then_a_page_starts)
    generation = runner.submit([(key, long_step)])
    assert page_done.wait(10) and hurried_in_time == [True]
    assert runner.wait(generation, timeout=10)


def test_an_iterator_job_is_drawn_from_one_step_at_a_time_after_the_step_before_it():
    runner, done = LatestJob("test-iterator", lowest=False), []

    def produced():
        yield "a", lambda: done.append("a")
        assert done == ["a"]                  # the step before ran first
        yield "b", lambda: done.append("b")

    assert runner.wait(runner.submit(produced()), timeout=10)
    assert done == ["a", "b"]


def test_a_run_waiting_for_background_work_lets_that_work_start():
    runner, done = LatestJob("test-waiting"), threading.Event()
    with ACTIVITY.run():
        generation = runner.submit(steps([done.set]))
        assert not runner.wait(generation, timeout=0.3)      # the run holds it back
        with ACTIVITY.waiting():
            assert done.wait(10)                             # until it waits for it
    assert runner.wait(generation, timeout=10)
    with ACTIVITY.waiting():                                 # outside a run: no change
        assert ACTIVITY.wait_idle(timeout=1)
