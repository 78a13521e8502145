"""Work done for the pages outside a script run (warm-ups, prefetches): at the lowest CPU
priority, with Streamlit's "no script run context" warnings silenced."""

from __future__ import annotations

import logging
import os
import threading

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


class LatestJob:
    """One daemon thread that runs the newest submitted job, step by step, at the lowest
    priority. A job is a list of zero-argument callables; a newer submission replaces a job
    still waiting and stops the running one after its current step (a visitor who moved on
    no longer needs it). Steps must not raise; one that does ends its job."""

    def __init__(self, name: str):
        self._name = name
        self._job: list | None = None
        self._generation = 0
        self._done_generation = 0
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, steps: list) -> int:
        """Queue ``steps`` in place of any earlier job; its generation number."""
        with self._cv:
            self._generation += 1
            self._job = list(steps)
            self._cv.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            return self._generation

    def wait(self, generation: int, timeout: float | None = None) -> bool:
        """Whether job ``generation`` (or a newer one) ended within ``timeout`` seconds."""
        with self._cv:
            return self._cv.wait_for(lambda: self._done_generation >= generation, timeout)

    def _run(self) -> None:
        lowest_priority()
        quiet_cache_logs()
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._job is not None)
                steps, generation, self._job = self._job, self._generation, None
            for step in steps:
                with self._cv:
                    if self._generation != generation:
                        break
                try:
                    step()
                except Exception:  # noqa: BLE001 — a prefetch must never break a page
                    break
            with self._cv:
                self._done_generation = max(self._done_generation, generation)
                self._cv.notify_all()
