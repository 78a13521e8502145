"""The survey's shared app state: the cached database engine, rater-only mode, the admin gate,
and plain-text output of user-supplied strings."""

from __future__ import annotations

import json
import math
from urllib.parse import quote, unquote, urlsplit

import streamlit as st

from analysis.errors import RAExplorerError
from analysis.survey.admin import THROTTLE, admin_token
from analysis.survey.db import database_url, make_engine, session_factory

RATER_COOKIE = "ra_survey_rater"   # set by a valid rater link: this browser sees only the survey
LEFT = "survey_left_rater_mode"     # session flag: this browser's user chose to leave rater mode


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    return make_engine(url)


def sessions():
    """A session factory for the survey database; a database that cannot be opened stops the
    page with its one sentence."""
    try:
        return session_factory(_engine(database_url()))
    except RAExplorerError as exc:
        st.error(str(exc))
        st.stop()


def rater_cookie() -> str:
    """This browser's rater cookie: "" (none), "study:NAME" (opened a valid rater link) or the
    rater's token."""
    value = st.context.cookies.get(RATER_COOKIE)
    return unquote(value) if isinstance(value, str) else ""


def rater_mode() -> bool:
    """A rater link (``?study=`` or ``?r=``) or a browser that opened a valid one (and has not
    left rater mode): the survey only."""
    params = st.query_params
    if "study" in params or "r" in params:
        return True
    return bool(rater_cookie()) and not st.session_state.get(LEFT)


def _cookie_script(assignment: str) -> None:
    st.html("<script>document.cookie = " + json.dumps(assignment)
            + " + '; path=/; SameSite=Strict';</script>", unsafe_allow_javascript=True)


def set_rater_cookie(value: str) -> None:
    """Mark this browser as a rater's (a session cookie: until the browser is closed). Only a
    link to a study that exists sets it, so a mistyped link changes nothing."""
    st.session_state.pop(LEFT, None)
    _cookie_script(f"{RATER_COOKIE}={quote(value)}")


def _leave() -> None:
    st.session_state[LEFT] = True
    st.query_params.clear()


def leave_rater_mode_button(held: bool = True) -> None:
    """The way back for a researcher whose browser opened a rater link: the app's pages and
    navigation return (the rater cookie is removed). ``held=False`` (a mistyped link, which
    sets no cookie, in a browser without one) offers a plain way to the app's pages instead."""
    if held:
        st.caption("Researcher trying a rater link in your own browser? Rater mode hides the "
                   "app's pages in this browser until it is closed; leave it here.")
        st.button("Leave rater mode", key="survey_leave_rater", type="tertiary",
                  icon=":material/logout:", on_click=_leave)
    else:
        st.caption("Researcher? This address shows only the survey; the app's pages are "
                   "one click away.")
        st.button("Open the app's pages", key="survey_leave_rater", type="tertiary",
                  icon=":material/home:", on_click=_leave)


def forget_left_rater_cookie() -> None:
    """After "Leave rater mode": remove the rater cookie from the browser (on every run of
    this session, since the server sees the cookies of the session's start)."""
    if st.session_state.get(LEFT) and rater_cookie():
        _cookie_script(f"{RATER_COOKIE}=; max-age=0")


def rater_link(study_name: str) -> str:
    """The address raters open: this app's base URL + /survey?study=NAME."""
    url = st.context.url or "http://127.0.0.1:8501/"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/survey?study={quote(study_name, safe='')}"


# st.code shows its copy button only while hovered: a rater link's stays visible
COPY_CSS = """<style>
[data-testid="stCode"] > div:has(button[aria-label="Copy to clipboard"]) {
  opacity: 1 !important; visibility: visible !important; }
[data-testid="stCode"] > div:has(button[aria-label="Copy to clipboard"]) * {
  visibility: visible !important; }
</style>"""


def link_block(study_name: str) -> None:
    """A study's rater link in a code block whose copy button is always shown."""
    st.html(COPY_CSS)
    st.code(rater_link(study_name), language=None)


def client_key() -> str:
    """Who is throttled: the client's address (the session when none is known)."""
    ip = st.context.ip_address
    if isinstance(ip, str) and ip:
        return f"ip:{ip}"
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return f"session:{ctx.session_id if ctx else 'none'}"


def admin_gate(key: str = "admin_token") -> None:
    """Stop the page unless this session has given the admin token (throttled per client)."""
    if rater_mode():
        st.info("This browser is in rater mode (it opened a rater link), so the app's "
                "navigation is hidden; this page still works.")
        leave_rater_mode_button()
    if admin_token() is None:
        st.info("This page is closed: no admin token is set. Start the app with one, e.g. "
                "`SURVEY_ADMIN_TOKEN='choose-a-secret' bash scripts/main.sh`, or put "
                "`admin_token = \"...\"` under `[survey]` in ra-explorer.toml "
                "(or the file $RA_EXPLORER_CONFIG names), then restart the app.")
        st.stop()
    if st.session_state.get("survey_admin_ok"):
        return
    token = st.text_input("Admin token", type="password", key=key)
    if not token:
        st.stop()
    ok, wait = THROTTLE.attempt(client_key(), token)
    if not ok:
        if wait > 0:
            st.error(f"Wrong token. Too many wrong tries from this address: wait "
                     f"{math.ceil(wait)} s, then enter the token again.")
        else:
            st.error("Wrong token.")
        st.stop()
    st.session_state["survey_admin_ok"] = True


def plural(n: int, noun: str) -> str:
    """"1 practice trial", "2 practice trials"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def plain(text: str) -> None:
    """A line holding user-supplied strings, shown as plain text (never Markdown or HTML)."""
    st.text(text)
