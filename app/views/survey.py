"""Survey: the rater flow (consent, practice with feedback, one trial per screen, progress,
completion code). Opened by a rater link it is the only page of the app (see main.py).
Without a link (from the app's navigation) it shows the open studies, their rater links and
a preview of one trial."""

import json
import time
from types import SimpleNamespace

import streamlit as st
from sqlalchemy import select

from analysis.errors import RAExplorerError
from analysis.survey.db import Trial
from analysis.survey.display import calibration_html, parse, policy_of, record
from analysis.survey.panel import completion_target, ids_from_params, return_target, settings_of
from analysis.survey.store import (
    CLOSED_SENTENCE,
    finish,
    get_study,
    list_studies,
    next_trial,
    practice_count,
    progress,
    rater_by_token,
    record_answer,
    set_display,
    show,
    shown_pair,
    start_rater,
    status,
    trial_count,
    visibility_strength,
)
from app.components.background import wait_for_demo
from app.components.common import get_workspace
from app.components.survey_state import (
    leave_rater_mode_button,
    link_block,
    plain,
    plural,
    rater_cookie,
    rater_mode,
    sessions,
    set_rater_cookie,
)
from app.components.survey_trial import LABELS, trial_screen

wait_for_demo()   # the launcher may still be making the demo study

SCREEN_FIELDS = ("id", "image_index", "payload", "is_practice", "expected", "swapped")
SECONDS_PER_SCREEN = 5      # the consent text's length estimate
STUDY_COOKIE = "study:"    # the rater cookie before consent: "study:NAME"
UNKNOWN = "There is no survey at this address; please check the link you were given."
REDIRECT_MS = 2000          # the end screen shows the code this long before it redirects
Session = sessions()
st.title("Survey")


def researcher_view():
    with Session() as s:
        studies = [x for x in list_studies(s) if status(x) == "open"]
        if not studies:
            st.info("No open study. Create one on the Survey studies page (admin token), or "
                    "run `python -m analysis survey demo` for the demo study.")
            return
        st.write("Raters open a study's link; it shows this page alone, without the app's "
                 "navigation. Studies are made, closed and exported on the **Survey studies** "
                 "page, read on **Survey results**.")
        for study in studies:
            plain(f"{study.name} ({study.kind}, task {study.task})")
            link_block(study.name)
        study = studies[0]
        first = s.scalar(select(Trial).where(Trial.study_id == study.id,
                                             Trial.is_practice.is_not(True))
                         .order_by(Trial.position).limit(1))
        ws = get_workspace(study.task, study.config.get("dataset"))
        if first is not None and ws is not None:
            st.caption("Preview of a trial of the first study (answers are given through the "
                       "rater link only):")
            trial_screen(ws, study.kind, first)


def send_to(url: str, label: str, delay_ms: int = REDIRECT_MS) -> None:
    """A button to ``url`` and, after ``delay_ms``, the browser sent there (as a panel expects)."""
    st.link_button(label, url, type="primary")
    target = json.dumps(url).replace("<", "\\u003c")
    st.html(f"<script>setTimeout(() => window.location.assign({target}), {int(delay_ms)});"
            "</script>", unsafe_allow_javascript=True)


def decline(study, ids: dict) -> None:
    """A rater who declined: nothing is stored; back to the panel when the study names a
    return address."""
    st.info("You chose not to take part; nothing about you was stored. Thank you.")
    url = return_target(settings_of(study.config), ids)
    if url:
        send_to(url, "Return to the panel")
    else:
        st.write("You may close this page.")
    st.stop()


def consent(s, study):
    if status(study) != "open":
        st.info(CLOSED_SENTENCE)
        st.stop()
    try:
        ids = ids_from_params(st.query_params)
    except RAExplorerError as exc:
        st.error(str(exc))
        st.stop()
    if st.session_state.get("survey_declined"):
        decline(study, ids)
    st.subheader("Before you start")
    n_practice, n_trials = practice_count(s, study), trial_count(s, study)
    length = plural(n_trials, "screen")
    if n_practice:
        length += f" after {plural(n_practice, 'practice screen')} (with feedback, not counted)"
    minutes = max(1, round((n_trials + n_practice) * SECONDS_PER_SCREEN / 60))
    st.write(f"You will see small images and answer one question per screen, with the mouse "
             f"or the keyboard: {length}, about {plural(minutes, 'minute')} at "
             f"{SECONDS_PER_SCREEN} s a screen. Your answers and response times are stored "
             "under a pseudonymous code; the address of this page lets you continue later. "
             "No other data is collected; you can stop at any time.")
    if ids:
        st.write("Your panel id (" + ", ".join(ids) + ") is stored with your answers, so that "
                 "the panel can confirm your participation; no other rater sees it.")
    code = st.text_input("Participant code (optional; leave empty for a random one)",
                         value=st.query_params.get("rater", ""), key="survey_code")
    agree, no = st.columns([1, 1])
    if no.button("I do not agree", key="survey_decline"):
        st.session_state["survey_declined"] = True
        decline(study, ids)
    if agree.button("I agree, start", key="survey_consent", type="primary"):
        try:
            rater = start_rater(s, study, code or None, panel_ids=ids)
        except RAExplorerError as exc:
            st.error(str(exc))
            st.stop()
        st.query_params.clear()
        st.query_params["study"] = study.name
        st.query_params["r"] = rater.token
        st.session_state["rater_token"] = rater.token
        st.rerun()
    st.stop()


def submit(token: str, trial_id: int, shown_token: str, answer: str):
    """The answer button's callback: runs before the page script, bound to its own trial."""
    t_answer = time.monotonic()
    t_shown = st.session_state.setdefault("survey_shown", {}).get(shown_token)
    rt_ms = (t_answer - t_shown) * 1000 if t_shown is not None else None
    with Session() as s:
        rater = rater_by_token(s, token)
        trial = s.get(Trial, trial_id)
        if rater is None or trial is None:
            return
        study = rater_study(s, rater)
        try:
            stored = record_answer(s, rater, trial, answer, study.kind, token=shown_token,
                                   rt_ms=rt_ms)
        except RAExplorerError as exc:
            st.session_state["survey_message"] = str(exc)
            return
        if trial.is_practice and stored:
            right = answer == trial.expected
            st.session_state["survey_feedback"] = (   # the expected answer as its button says
                right, "Correct." if right else
                f"Not quite: the expected answer was “{LABELS[study.kind][trial.expected]}”.")


def rater_study(s, rater):
    from analysis.survey.db import Study

    return s.get(Study, rater.study_id)


def display_check(s, study, rater) -> None:
    """Before the first trial: measure the display (the page reloads with the measurements in
    its link), store them, and refuse the rater when the study says so."""
    policy = policy_of(study.config)
    if policy == "ignore" and rater.display is None:
        return
    params = st.query_params
    if rater.display is None:
        raw = params.get("display")
        if not raw:
            st.subheader("Checking your display …")
            st.caption("One moment: this page measures how your screen shows the images.")
            st.html(calibration_html(), unsafe_allow_javascript=True)
            st.stop()
        try:
            set_display(s, rater, record(parse(raw), policy))
        except RAExplorerError as exc:
            st.error(str(exc))
            st.stop()
    if "display" in params:
        del params["display"]
    if rater.display.get("outcome") == "refused":
        st.warning("Your screen or browser enlarges the images by a fraction (display scaling or "
                   "zoom other than 100 %, 200 %, ...), so they would not look as designed; "
                   "this study cannot be done on it. Set the zoom to 100 % (Ctrl+0) or use "
                   "another screen and open the link again. Thank you.")
        if st.button("I changed the zoom or screen: check again", key="survey_recheck"):
            rater.display = None
            s.commit()
            st.rerun()
        url = return_target(settings_of(study.config), rater.panel_ids)
        if url:
            send_to(url, "Return to the panel", delay_ms=6000)
        st.stop()


RATER_CSS = """<style>
[data-testid="stHeader"] { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 1.5rem; padding-bottom: 1rem; }
h1 { font-size: 1.75rem !important; padding: 0 0 0.25rem 0 !important; }
[data-testid="stAlert"] > div { padding: 0.4rem 0.8rem; }
/* "Leave rater mode" is drawn first (before any st.stop) and shown last */
[data-testid="stLayoutWrapper"]:has(> .st-key-leave_rater) { order: 99; margin-top: 2rem; }
</style>"""


def rater_flow():
    st.html(RATER_CSS)
    leave_slot = st.container(key="leave_rater")      # filled once the link is known
    params = st.query_params
    with Session() as s:
        token = params.get("r") or st.session_state.get("rater_token")
        cookie = rater_cookie()
        rater = rater_by_token(s, token)
        if rater is None and not token:          # the URL lost its token: this browser's cookie
            mine = rater_by_token(s, cookie)
            if mine is not None and params.get("study") in (None, rater_study(s, mine).name):
                rater = mine
        # a browser that opened a study's link but has not started: that study
        name = params.get("study") or (cookie.removeprefix(STUDY_COOKIE)
                                       if cookie.startswith(STUDY_COOKIE) else None)
        study = rater_study(s, rater) if rater is not None else get_study(s, name)
        if study is None or (rater is None and token):    # a mistyped link sets no cookie
            with leave_slot:
                leave_rater_mode_button(held=bool(cookie))
            st.info(UNKNOWN)
            st.stop()
        with leave_slot:
            leave_rater_mode_button()
        if rater is None:
            set_rater_cookie(STUDY_COOKIE + study.name)
            consent(s, study)
        set_rater_cookie(rater.token)
        if params.get("r") != rater.token:
            params["study"], params["r"] = study.name, rater.token
        if status(study) == "archived":
            st.info(CLOSED_SENTENCE)
            st.stop()
        display_check(s, study, rater)
        if msg := st.session_state.pop("survey_message", None):
            st.warning(msg)
        trial = next_trial(s, rater)
        if trial is None:
            code = finish(s, rater)
            settings = settings_of(study.config)
            st.success("All done — thank you!")
            st.write("Your completion code:")
            # a heading, not st.code: the code block's highlighter loads lazily (seconds)
            st.subheader(settings.get("completion_code") or code, anchor=False)
            if url := completion_target(settings, rater.panel_ids):
                st.write("You are sent back to the panel to record your completion; if "
                         "nothing happens, use the button.")
                send_to(url, "Finish on the panel")
            st.stop()
        if feedback := st.session_state.pop("survey_feedback", None):
            (st.success if feedback[0] else st.warning)(f"Practice: {feedback[1]}")
        if trial.is_practice:
            n_practice = practice_count(s, study)
            st.progress(trial.position / max(n_practice, 1),
                        text=f"Practice {trial.position + 1} of {n_practice} (not counted)")
        else:
            done, total = progress(s, rater)
            st.progress(done / total if total else 1.0, text=f"{done} of {total} answered")
        ws = get_workspace(study.task, study.config.get("dataset"))
        if ws is None:
            st.stop()
        shown_token = show(s, rater, trial)

        def on_answer(answer, _t=rater.token, _id=trial.id, _s=shown_token):
            submit(_t, _id, _s, answer)

        a = (visibility_strength(s, rater, trial, study.config)
             if study.kind == "visibility" else 1.0)
        left, right = shown_pair(s, rater, trial)       # an active trial's pair for this rater
        screen = SimpleNamespace(**{c: getattr(trial, c) for c in SCREEN_FIELDS},
                                 left=left, right=right)
        trial_screen(ws, study.kind, screen, on_answer, strength=a)
        # the response time starts once the screen has been sent (first showing per session)
        st.session_state.setdefault("survey_shown", {}).setdefault(shown_token, time.monotonic())


if rater_mode():
    rater_flow()
else:
    researcher_view()
