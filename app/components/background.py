"""Work done for the pages outside a script run (warm-ups, prefetches): at the lowest CPU
priority, with Streamlit's "no script run context" warnings silenced."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_QUIET = ("streamlit.runtime.scriptrunner_utils.script_run_context",
          "streamlit.runtime.caching.cache_data_api")


def lowest_priority() -> None:
    """Put the calling thread (and the OpenMP workers it starts later, which inherit its nice
    value) at nice 19, so that a page's own run wins the CPU; a no-op where Linux's
    per-thread priorities are not available."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def quiet_cache_logs() -> None:
    """Silence the warnings Streamlit logs when a cached function runs outside a script run."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)


class Activity:
    """How many page runs (and fragment reruns) are in progress, across every session; a
    background job waits for none before each piece of work, so that it never shares the
    CPU (or the GIL) with a run a visitor is waiting for."""

    def __init__(self):
        self._running = 0
        self._last_end = float("-inf")     # time.monotonic() when the last run ended
        self._local = threading.local()    # .depth: the runs the calling thread is inside
        self.cv = threading.Condition()

    @contextmanager
    def run(self):
        """Count the enclosed block (a page's script, a fragment's body) as a run."""
        with self.cv:
            self._running += 1
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            with self.cv:
                self._running -= 1
                self._last_end = time.monotonic()
                self.cv.notify_all()

    @contextmanager
    def waiting(self):
        """The enclosed block waits for background work: inside a run, the run does not count
        while it waits (the background would otherwise wait for it); elsewhere, no change."""
        inside = getattr(self._local, "depth", 0) > 0
        if inside:
            with self.cv:
                self._running -= 1
                self.cv.notify_all()
        try:
            yield
        finally:
            if inside:
                with self.cv:
                    self._running += 1

    def wait_idle(self, unless=lambda: False, timeout: float | None = None,
                  quiet_s: float = 0.0) -> bool:
        """Block until no run is in progress and none has ended for ``quiet_s`` seconds, or
        ``unless()`` holds (checked under this object's condition, which whoever changes it
        must notify); whether that happened within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cv:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if not self.cv.wait_for(lambda: self._running == 0 or unless(), left):
                    return False
                if unless():
                    return True
                quiet_left = quiet_s - (time.monotonic() - self._last_end)
                if quiet_left <= 0:
                    return True
                if deadline is not None and deadline - time.monotonic() <= 0:
                    return False
                self.cv.wait(quiet_left if deadline is None
                             else min(quiet_left, max(0.0, deadline - time.monotonic())))


ACTIVITY = Activity()


class LatestJob:
    """One daemon thread that runs the newest submitted job, step by step, at the lowest
    priority (``lowest=False``: the process's own, for work a first visitor may wait for),
    each step started only while no page run is in progress (:data:`ACTIVITY`).

    A job is a list of (key, zero-argument callable) steps; a newer submission replaces a job
    still waiting and stops the running one after its current step (a visitor who moved on
    no longer needs it). A step that raises ends its job. A long step calls
    :meth:`pause_point` between its pieces; a page about to wait for the result the running
    step computes (its cache entry's lock) calls :meth:`hurry` with that key first, and the
    step then runs on without pausing (else the two would wait for each other).

    ``quiet_s``: a step (and a step's piece, at :meth:`pause_point`) also waits until no run
    has ended for that long. A page submits its prefetch at the end of its run, while the
    browser is still drawing the page and fetching its images from the server; started at
    once, Boundaries' prefetch slowed that by about 0.4 s in a new browser and 0.15 s in a
    returning one (``python -m benchmarks.bench_first_view --b RA_PREFETCH=0``)."""

    def __init__(self, name: str, quiet_s: float = 0.0, lowest: bool = True):
        self._name = name
        self._lowest = lowest
        self._quiet_s = quiet_s
        self._job: list | None = None
        self._generation = 0
        self._done_generation = 0
        self._current = None
        self._hurried = False
        self._cv = ACTIVITY.cv
        self._thread: threading.Thread | None = None

    def submit(self, steps) -> int:
        """Queue ``steps`` [(key, callable), ...] in place of any earlier job; its generation.
        An iterator is drawn from one step at a time, each after the one before it ran."""
        with self._cv:
            self._generation += 1
            self._job = steps if isinstance(steps, Iterator) else list(steps)
            self._cv.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            return self._generation

    @property
    def generation(self) -> int:
        """The newest job's generation number."""
        return self._generation

    def wait(self, generation: int, timeout: float | None = None) -> bool:
        """Whether job ``generation`` (or a newer one) ended within ``timeout`` seconds."""
        with self._cv:
            return self._cv.wait_for(lambda: self._done_generation >= generation, timeout)

    def hurry(self, key) -> None:
        """Let the running step finish without pausing, if it is the one computing ``key``."""
        with self._cv:
            if self._current is not None and self._current == key:
                self._hurried = True
                self._cv.notify_all()

    def pause_point(self) -> None:
        """Inside a step: wait while a page runs, unless the step was hurried."""
        ACTIVITY.wait_idle(unless=lambda: self._hurried, quiet_s=self._quiet_s)

    def _run(self) -> None:
        if self._lowest:
            lowest_priority()
        quiet_cache_logs()
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._job is not None)
                steps, generation, self._job = self._job, self._generation, None
            for key, step in steps:
                # the idle check and the claim of the step under one hold of the lock (the
                # condition's lock is re-entrant): a page run that starts after it finds the
                # step claimed and can hurry it; one that started between the two would find
                # nothing to hurry and wait for a paused step for ever (its pool worker
                # blocks on the cache entry's lock with no way out)
                with self._cv:
                    ACTIVITY.wait_idle(quiet_s=self._quiet_s)
                    if self._generation != generation:
                        break
                    self._current, self._hurried = key, False
                try:
                    step()
                except Exception:  # noqa: BLE001 — a prefetch must never break a page
                    break
                finally:
                    with self._cv:
                        self._current, self._hurried = None, False
            with self._cv:
                self._done_generation = max(self._done_generation, generation)
                self._cv.notify_all()


# held while the launcher's warm-up imports the libraries; app/main.py waits for it
LIBRARIES = threading.Lock()
# clear while the launcher's warm-up has the survey's demo study still to make: a rater link
# (app/main.py) and the Survey pages wait for it (set: nothing to wait for)
DEMO_DONE = threading.Event()
DEMO_DONE.set()


def wait_for_demo(timeout: float = 300.0) -> None:
    """Wait (at most ``timeout`` seconds) until the launcher's warm-up has made the survey's
    demo study or given up on it; at once when there is none to wait for."""
    if not DEMO_DONE.is_set():
        with ACTIVITY.waiting():
            DEMO_DONE.wait(timeout)
# the launcher's warm-up (app/launch.py): imports, workspaces and the opening views drawn behind
# the server, at the process's own priority (a first visitor may be waiting for a step)
WARM_UP = LatestJob("ra-warm-up", quiet_s=1.0, lowest=False)
