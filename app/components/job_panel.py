"""The panel of a background job (:class:`analysis.explore.jobs.Job`): its progress bar with the
time left and a Cancel button, redrawn twice a second by a fragment while the job runs, so the
rest of the page stays usable; when the job ends, the whole page reruns once to show the result.
"""

from __future__ import annotations

import streamlit as st

from analysis.explore.jobs import Job, JobState

REFRESH_S = 0.5          # the panel's redraw period while its job runs


def progress_text(label: str, state: JobState, unit: str, estimate: bool = True) -> str:
    """``label: done / total unit in N s, about M s left`` (or ``starting``; without the time
    left unless ``estimate``: for a total that is only a cap)."""
    if not state.total:
        return f"{label}: starting ({state.seconds:.0f} s)"
    left = state.seconds_left if estimate else None
    return (f"{label}: {state.done:,.0f} / {state.total:,.0f} {unit} in {state.seconds:.0f} s"
            + (f", about {left:.0f} s left" if left is not None else ""))


def start_job(key: str, label: str, fn, *args, tag=None, **kwargs) -> Job:
    """Start ``fn`` (it must take ``on_progress``) as the job of ``key`` in this session;
    ``tag`` (kept as ``job.tag``) says what it computes, for the page that takes its result."""
    job = Job(label, fn, *args, **kwargs)
    job.tag = tag
    st.session_state[key] = job
    return job


def take_ended(key: str) -> Job | None:
    """The job of ``key`` if it has ended (done, failed or cancelled), forgotten from the
    session: the caller keeps what it needs; None while it runs or when there is none. Call it
    before drawing the button that starts the job (which is disabled while one runs)."""
    job: Job | None = st.session_state.get(key)
    if job is None or job.running:
        return None
    del st.session_state[key]
    return job


def job_panel(key: str, unit: str = "images", estimate: bool = True) -> None:
    """Draw the running job of ``key``: its bar (with the time left if ``estimate``) and
    Cancel, redrawn by a fragment; when the job ends, the page reruns (nothing is drawn when
    there is no running job)."""
    job: Job | None = st.session_state.get(key)
    if job is None or not job.running:
        return

    @st.fragment(run_every=REFRESH_S)
    def panel():
        state = job.state
        if state.status != "running":          # ended since the last redraw: show it
            st.rerun(scope="app")
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.progress(state.fraction, text=progress_text(job.label, state, unit, estimate))
        if c2.button("Cancel", key=f"{key}_cancel"):
            job.cancel()
            c1.caption("Cancelling at the next step …")

    panel()


def ended_note(job: Job, what: str) -> None:
    """One line for a job that did not finish: cancelled (nothing kept) or failed (its
    sentence); nothing for a finished one."""
    state = job.state
    if state.status == "cancelled":
        st.info(f"{what} was cancelled after {state.seconds:.0f} s; nothing was kept.")
    elif state.status == "failed":
        st.warning(f"{what} was not computed: {state.error}")
