"""Long computations of the app run as background jobs: a thread that reports its progress and
stops at the next progress report after a cancel.

A job runs ``fn(*args, on_progress=report, **kwargs)``; ``fn`` calls ``report(done, total)``
as it goes (the analyses' ``on_progress`` / ``on_step`` callbacks). The page that started it
shows :attr:`Job.state` while it runs and takes :attr:`Job.result` when it has finished;
:meth:`Job.cancel` makes the next report raise :class:`Cancelled`, so the computation stops
between two batches (or region steps) and nothing half-done is kept. Streamlit is not
imported here: the app's panel (``app/components/job_panel.py``) draws a job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RAExplorerError


class Cancelled(Exception):
    """Raised inside a job's computation at the first progress report after a cancel."""


@dataclass(frozen=True)
class JobState:
    """A snapshot of a job: ``status`` one of running / done / failed / cancelled; ``done`` of
    ``total`` units of work (0 of 0 before the first report); ``seconds`` since the start (to the
    end once ended); ``error`` the failure's sentence (failed only)."""

    status: str
    done: float
    total: float
    seconds: float
    error: str | None = None

    @property
    def fraction(self) -> float:
        """Work done in [0, 1] (0 before the first report)."""
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Time left at the rate so far (None before any work is done)."""
        if not self.done or not self.total:
            return None
        return self.seconds / self.done * max(self.total - self.done, 0.0)


class Job:
    """One computation on a daemon thread (module docstring). ``label`` names it for people."""

    def __init__(self, label: str, fn: Callable, *args, **kwargs):
        self.label = label
        self.tag = None          # what the job computes, for whoever takes its result
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._done, self._total = 0.0, 0.0
        self._status, self._error, self._result = "running", None, None
        self._start = time.monotonic()
        self._end: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"job: {label}", daemon=True)
        self._thread.start()

    def _report(self, done: float, total: float) -> None:
        if self._cancel.is_set():
            raise Cancelled
        with self._lock:
            self._done, self._total = float(done), float(total)

    def _run(self) -> None:
        try:
            result = self._fn(*self._args, on_progress=self._report, **self._kwargs)
        except Cancelled:
            self._finish("cancelled")
        except RAExplorerError as exc:          # bad input or a missing file: its sentence
            self._finish("failed", str(exc))
        except Exception as exc:                # anything else: its type and message, one line
            self._finish("failed", f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        else:
            self._result = result
            self._finish("done")

    def _finish(self, status: str, error: str | None = None) -> None:
        with self._lock:
            self._status, self._error, self._end = status, error, time.monotonic()

    @property
    def state(self) -> JobState:
        with self._lock:
            end = self._end if self._end is not None else time.monotonic()
            return JobState(self._status, self._done, self._total, end - self._start,
                            self._error)

    @property
    def running(self) -> bool:
        return self.state.status == "running"

    @property
    def result(self):
        """The computation's return value once done (None before, and when it did not finish)."""
        return self._result

    def cancel(self) -> None:
        """Stop at the computation's next progress report (a no-op once it has ended)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> JobState:
        """Block until the job has ended (or ``timeout`` s), then its state."""
        self._thread.join(timeout)
        return self.state
