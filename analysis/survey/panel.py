"""Recruitment panels (Prolific and the like): the ids a panel puts in the rater link, and the
addresses a rater is sent back to.

A panel opens the study's link with its ids as query parameters (Prolific:
``?study=NAME&PROLIFIC_PID=...&STUDY_ID=...&SESSION_ID=...``). :func:`ids_from_params` keeps
the known ones (:data:`PANEL_PARAMS`), checked, and the app stores them with the rater on
consent (never shown to another rater; exported with every answer). A study's panel settings
(``config["panel"]``) name:

* ``completion_url``: where a rater who finished is sent, e.g.
  ``https://app.prolific.com/submissions/complete``; with a ``completion_code`` the address
  gets ``cc=CODE`` (Prolific's form) unless it holds ``{code}`` itself;
* ``completion_code``: the code the panel expects (shown on the end screen too);
* ``return_url``: where a rater who declines consent or fails the display check is sent.

An address may hold placeholders ``{PROLIFIC_PID}``, ``{STUDY_ID}``, ... (any of
:data:`PANEL_PARAMS`) and ``{code}``, filled in URL-encoded from the rater's stored ids.
"""

from __future__ import annotations

import re
import string
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ..errors import RAExplorerError
from . import validate

# Prolific's three, then the generic ones of other panels (MTurk, CloudResearch, Qualtrics
# panels, SONA): the only query parameters stored with a rater
PANEL_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "workerId", "assignmentId", "hitId",
                "participant_id", "PSID", "RID", "pid")
MAX_ID = 128
MAX_URL = 500
MAX_PANEL_CODE = 64
ID_RE = re.compile(r"^[A-Za-z0-9._~:@-]{1,128}$")
PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete"
SETTINGS = ("completion_url", "completion_code", "return_url")


def ids_from_params(params) -> dict[str, str]:
    """The panel ids among a link's query parameters (a mapping name -> value), each checked:
    a value that is not 1..128 letters, digits or ``. _ ~ : @ -`` is refused with a sentence."""
    out = {}
    for name in PANEL_PARAMS:
        value = params.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not ID_RE.match(value):
            raise RAExplorerError(f"The link's {name} is not a valid panel id; open the study "
                                  "again from the panel's page.")
        out[name] = value
    return out


def _url(value, what: str) -> str:
    value = validate.text(value, what, MAX_URL)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RAExplorerError(f"The {what} {value[:80]!r} is not an http(s) address; give one "
                              f"such as {PROLIFIC_COMPLETE}.")
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError:
        raise RAExplorerError(f"The {what} has an unpaired brace; write placeholders as "
                              "{PROLIFIC_PID} or {code}.") from None
    unknown = sorted(names - {*PANEL_PARAMS, "code"})
    if unknown:
        raise RAExplorerError(f"The {what} has the placeholder {{{unknown[0]}}}; use "
                              f"{{code}} or one of {', '.join('{' + p + '}' for p in PANEL_PARAMS)}.")
    return value


def check_settings(completion_url: str | None = None, completion_code: str | None = None,
                   return_url: str | None = None) -> dict:
    """A study's panel settings, checked (empty ones left out): the dict kept in
    ``config["panel"]``."""
    out = {}
    if completion_url:
        out["completion_url"] = _url(completion_url, "completion URL")
    if completion_code:
        code = validate.text(completion_code, "completion code", MAX_PANEL_CODE)
        if not ID_RE.match(code):
            raise RAExplorerError("The completion code must be letters, digits or . _ ~ : @ - "
                                  "only (as the panel shows it).")
        out["completion_code"] = code
    if return_url:
        out["return_url"] = _url(return_url, "return URL")
    return out


def settings_of(config: dict | None) -> dict:
    """The panel settings of a study's config ({} when it has none)."""
    return dict((config or {}).get("panel") or {})


def _fill(url: str, ids: dict, code: str | None) -> str:
    values = {p: quote(str(ids.get(p, "")), safe="") for p in PANEL_PARAMS}
    values["code"] = quote(code or "", safe="")
    return url.format(**values)


def completion_target(settings: dict, ids: dict | None = None) -> str | None:
    """The address a finished rater is sent to, or None when the study names none."""
    url, code = settings.get("completion_url"), settings.get("completion_code")
    if not url:
        return None
    has_code = "{code}" in url
    url = _fill(url, ids or {}, code)
    if code and not has_code:
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cc"]
        url = urlunsplit(parts._replace(query=urlencode([*query, ("cc", code)])))
    return url


def return_target(settings: dict, ids: dict | None = None) -> str | None:
    """The address a rater who declines consent or fails the display check is sent to."""
    url = settings.get("return_url")
    return _fill(url, ids or {}, settings.get("completion_code")) if url else None
