"""The rater flow's reads and writes: raters, the next trial, answers (exactly once), export,
and a study's life cycle (open -> closed -> archived; delete only after an export).

Identity: a rater is created only on consent, gets an unguessable token (the
secret in their link; only it resumes a session) and may give a pseudonymous code
(unique per study; typing someone's code never resumes their session).

An answer is written once: each trial put on a rater's screen gets a per-trial
token (table ``shown``), the answer carries it, and the (rater, trial) unique
constraint refuses a second write, so a retried or doubled submit of the same
screen is recorded exactly once and a stale one never lands on another trial.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..errors import RAExplorerError
from . import balance, handout, panel, validate
from .db import STATUSES, Answer, Rater, Shown, Study, Trial, utcnow
from .design import ANSWERS, DEGRADED, REFERENCE
from .visibility import SLOTS, annotate, strength

CLOSED_SENTENCE = "This survey is closed and takes no new answers; thank you for your interest."


def get_study(session, name) -> Study | None:
    """The study of that name, or None (also for a name no study could have)."""
    try:
        name = validate.study_name(name)
    except Exception:  # noqa: BLE001 - an impossible name is simply not there
        return None
    return session.scalar(select(Study).where(Study.name == name))


def status(study: Study) -> str:
    return study.status or "open"


def list_studies(session, archived: bool = False) -> list[Study]:
    q = select(Study).order_by(Study.id)
    studies = list(session.scalars(q))
    return [s for s in studies if archived or status(s) != "archived"]


# ---------------------------------------------------------------- raters
def get_rater(session, study: Study, code: str) -> Rater:
    """The rater with this code, created (and consented) on first sight (race-safe).

    For scripts and tests; the app creates raters with :func:`start_rater` on consent.
    """
    code = validate.rater_code(code)
    rater = session.scalar(select(Rater).where(Rater.study_id == study.id, Rater.code == code))
    if rater is not None:
        return rater
    try:
        with balance.locked(session, study):
            rater = Rater(study_id=study.id, code=code, consented=utcnow(),
                          token=secrets.token_urlsafe(24),
                          condition=balance.assign(session, study))
            session.add(rater)
            session.commit()
        return rater
    except IntegrityError:
        session.rollback()
        return session.scalar(select(Rater).where(Rater.study_id == study.id, Rater.code == code))


def start_rater(session, study: Study, code: str | None = None,
                panel_ids: dict | None = None, now: datetime | None = None) -> Rater:
    """A new rater who has just consented: a fresh token; ``code`` (validated) or a random one;
    ``panel_ids``: a recruitment panel's ids from the link (checked, see
    :func:`analysis.survey.panel.ids_from_params`), stored with the rater. The rater's
    counterbalancing condition is assigned here (:func:`analysis.survey.balance.assign`;
    ``now``: the clock, for scripts and tests).

    Refused with a sentence when the study takes no new raters or the code is taken.
    """
    if status(study) != "open":
        raise RAExplorerError(CLOSED_SENTENCE)
    code = validate.rater_code(code) if code else f"r-{secrets.token_hex(4)}"
    ids = panel.ids_from_params(panel_ids or {}) or None
    with balance.locked(session, study):
        rater = Rater(study_id=study.id, code=code, consented=now or utcnow(),
                      token=secrets.token_urlsafe(24), panel_ids=ids,
                      condition=balance.assign(session, study, now))
        session.add(rater)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise RAExplorerError("This participant code is already taken in this study; "
                                  "continue with the link you were given, or choose another "
                                  "code.") from None
    return rater


def rater_by_token(session, token) -> Rater | None:
    """The rater whose link carries ``token``, or None (also for anything not a token)."""
    if not validate.is_token(token):
        return None
    return session.scalar(select(Rater).where(Rater.token == token))


def set_display(session, rater: Rater, record: dict) -> None:
    """Store the display check's record (:func:`analysis.survey.display.record`) once."""
    if rater.display is None:
        rater.display = dict(record)
        session.commit()


def give_consent(session, rater: Rater) -> None:
    if rater.consented is None:
        rater.consented = utcnow()
        session.commit()


# ---------------------------------------------------------------- trials
def _mine(q, condition: int | None):
    """Trials shown in ``condition``: those of every rater and the condition's own copies."""
    return q.where(Trial.condition.is_(None) | (Trial.condition == (condition or 0)))


def next_trial(session, rater: Rater) -> Trial | None:
    """The first trial (by position: practice first) of the rater's condition this rater has
    not answered, or None."""
    answered = select(Answer.trial_id).where(Answer.rater_id == rater.id)
    return session.scalar(_mine(select(Trial).where(Trial.study_id == rater.study_id,
                                                    Trial.id.not_in(answered)), rater.condition)
                          .order_by(Trial.position).limit(1))


def _counted(q):
    return q.where((Trial.is_practice.is_(None)) | (Trial.is_practice.is_(False)))


def progress(session, rater: Rater) -> tuple[int, int]:
    """(answered, total) of this rater's counted (not practice) trials."""
    total = session.scalar(_mine(_counted(select(func.count()).select_from(Trial)
                                          .where(Trial.study_id == rater.study_id)),
                                 rater.condition))
    done = session.scalar(_counted(select(func.count()).select_from(Answer)
                                   .join(Trial, Answer.trial_id == Trial.id)
                                   .where(Answer.rater_id == rater.id)))
    return done, total


def trial_count(session, study: Study) -> int:
    """The study's counted trials per rater (catch trials included, practice left out; every
    condition has as many)."""
    return session.scalar(_mine(_counted(select(func.count()).select_from(Trial)
                                         .where(Trial.study_id == study.id)), 0))


def practice_count(session, study: Study) -> int:
    return session.scalar(select(func.count()).select_from(Trial)
                          .where(Trial.study_id == study.id, Trial.is_practice.is_(True)))


def show(session, rater: Rater, trial: Trial) -> str:
    """The per-trial token of this rater's screen for ``trial`` (made on first showing)."""
    q = select(Shown.token).where(Shown.rater_id == rater.id, Shown.trial_id == trial.id)
    token = session.scalar(q)
    if token is not None:
        return token
    try:
        session.add(Shown(rater_id=rater.id, trial_id=trial.id, token=secrets.token_urlsafe(16)))
        session.commit()
    except IntegrityError:        # the same screen shown twice at once (two tabs)
        session.rollback()
    if handout.is_active(trial):  # an active trial's pair is chosen on its first showing
        row = session.scalar(select(Shown).where(Shown.rater_id == rater.id,
                                                 Shown.trial_id == trial.id))
        if row.pair is None:
            handout.assign(session, session.get(Study, trial.study_id), row)
    return session.scalar(q)


def shown_pair(session, rater: Rater, trial: Trial) -> tuple[str, str]:
    """(left, right) of ``trial`` as this rater sees it: an active trial's pair chosen for
    them (:mod:`analysis.survey.handout`; call :func:`show` first), else the trial's own."""
    pair = session.scalar(select(Shown.pair).where(Shown.rater_id == rater.id,
                                                   Shown.trial_id == trial.id))
    return (pair["left"], pair["right"]) if pair else (trial.left, trial.right)


def record_answer(session, rater: Rater, trial: Trial, answer: str, kind: str,
                  token: str | None = None, rt_ms: float | None = None) -> bool:
    """Store the answer; False (and nothing written) if this rater answered this trial already.

    ``token``: the per-trial token the screen was shown with (see :func:`show`); when
    given it must be this rater's token for this trial. ``rt_ms``: milliseconds from
    the trial shown to the answer.
    """
    if answer not in ANSWERS[kind]:
        raise ValueError(f"Answer {answer!r} is not one of {', '.join(ANSWERS[kind])}.")
    if trial.study_id != rater.study_id:
        raise ValueError("The trial belongs to another study.")
    if kind == "visibility" and answer not in SLOTS[:int((trial.payload or {}).get("m", 2))]:
        raise ValueError(f"Answer {answer!r} is not one of this trial's images.")
    if token is not None:
        expected = session.scalar(select(Shown.token).where(Shown.rater_id == rater.id,
                                                            Shown.trial_id == trial.id))
        if expected is None or not secrets.compare_digest(str(token), expected):
            raise RAExplorerError("This answer does not belong to a screen shown to this rater; "
                                  "reload the page.")
    if rt_ms is not None and not (0 <= rt_ms < 864e5):
        rt_ms = None
    try:
        session.add(Answer(study_id=rater.study_id, rater_id=rater.id, trial_id=trial.id,
                           answer=answer, token=token, rt_ms=rt_ms))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def visibility_strength(session, rater: Rater, trial: Trial, config: dict) -> float:
    """The blend strength a a visibility trial is shown at for this rater: the staircase of
    the trial's image replayed from this rater's earlier (counted) answers on that image
    (:func:`analysis.survey.visibility.strength`)."""
    earlier = session.execute(
        select(Answer.answer, Trial.expected).join(Trial, Answer.trial_id == Trial.id)
        .where(Answer.rater_id == rater.id, Trial.image_index == trial.image_index,
               Trial.position < trial.position, Trial.id != trial.id,
               (Trial.is_practice.is_(None)) | (Trial.is_practice.is_(False)))
        .order_by(Trial.position)).all()
    return strength(trial.payload, [a == e for a, e in earlier], config)


def finish(session, rater: Rater) -> str:
    """The rater's completion code (made once, when they first reach the end)."""
    if rater.completion_code is None:
        code = secrets.token_hex(4).upper()
        rater.completion_code = f"{code[:4]}-{code[4:]}"
        rater.finished = utcnow()
        session.commit()
    return rater.completion_code


# ---------------------------------------------------------------- results
def answer_rows(session, study: Study, practice: bool = False) -> list[dict]:
    """Raw rows: one per answer, with the trial's design and the rater's code. ``order`` is
    the answer's place in that rater's sequence (1, 2, ...); ``left`` / ``right`` / ``swapped``
    of an active trial are the pair handed to that rater. Practice answers only with
    ``practice=True``. A visibility study's rows add ``strength`` (the blend a shown) and
    ``correct``."""
    q = (select(Answer, Trial, Rater, Shown.shown_at, Shown.pair)
         .join(Trial, Answer.trial_id == Trial.id)
         .join(Rater, Answer.rater_id == Rater.id)
         .outerjoin(Shown, (Shown.rater_id == Answer.rater_id) & (Shown.trial_id == Answer.trial_id))
         .where(Answer.study_id == study.id).order_by(Answer.id))
    rows, seen = [], {}
    for answer, trial, rater, shown_at, pair in session.execute(q):
        seen[rater.id] = seen.get(rater.id, 0) + 1
        if trial.is_practice and not practice:
            continue
        pair = pair or {"left": trial.left, "right": trial.right, "swapped": trial.swapped}
        rows.append({"answer_id": answer.id, "rater": rater.code, "trial_id": trial.id,
                     "position": trial.position, "order": seen[rater.id],
                     "image_index": trial.image_index, "left": pair["left"],
                     "right": pair["right"], "swapped": pair["swapped"], "is_catch": trial.is_catch,
                     "is_practice": bool(trial.is_practice), "expected": trial.expected,
                     "payload": trial.payload, "answer": answer.answer, "rt_ms": answer.rt_ms,
                     "panel": dict(rater.panel_ids or {}), "condition": rater.condition or 0,
                     "display": dict(rater.display or {}),
                     "display_outcome": (rater.display or {}).get("outcome"),
                     "device_px_per_px": (rater.display or {}).get("device_px_per_px"),
                     "shown": shown_at.isoformat() if shown_at else None,
                     "created": answer.created.isoformat()})
    if study.kind == "visibility":       # the blend strength each trial was shown at
        annotate(rows, study.config)
    return rows


EXPORT_FIELDS = ["answer_id", "rater", "condition", "trial_id", "position", "order",
                 "image_index", "left",
                 "right", "swapped", "is_catch", "is_practice", "expected", "answer", "rt_ms",
                 "shown", "created", "display_outcome", "device_px_per_px"]


# a catch trial's special side, written as a word (no method name starts with "(")
EXPORT_SIDES = {REFERENCE: "(reference)", DEGRADED: "(degraded)"}


def export_csv(session, study: Study, mark: bool = True) -> str:
    """Every answer (practice ones flagged) as CSV, with a column per panel id any rater
    came with (``PROLIFIC_PID``, ...), a catch trial's special side as
    ``(reference)`` / ``(degraded)``, user-supplied cells neutralised against formula
    injection; ``mark`` records the export (a study is deleted only after one)."""
    rows = answer_rows(session, study, practice=True)
    ids = [p for p in panel.PANEL_PARAMS if any(p in r["panel"] for r in rows)]
    buf = io.StringIO()
    extra = ["strength", "correct"] if study.kind == "visibility" else []
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS + extra + ids, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        sides = {k: EXPORT_SIDES.get(r[k], r[k]) for k in ("left", "right")}
        writer.writerow({k: validate.csv_cell(v) for k, v in {**r, **sides, **r["panel"]}.items()})
    if mark:
        mark_exported(session, study)
    return buf.getvalue()


def mark_exported(session, study: Study) -> None:
    study.exported = utcnow()
    session.commit()


def study_progress(session, study: Study) -> dict:
    """Raters who consented / finished, counted answers, and the catch-trial pass rate."""
    raters = session.scalar(select(func.count()).select_from(Rater)
                            .where(Rater.study_id == study.id, Rater.consented.is_not(None)))
    finished = session.scalar(select(func.count()).select_from(Rater)
                              .where(Rater.study_id == study.id, Rater.finished.is_not(None)))
    answers = session.scalar(_counted(select(func.count()).select_from(Answer)
                                      .join(Trial, Answer.trial_id == Trial.id)
                                      .where(Answer.study_id == study.id)))
    catch = session.execute(select(Answer.answer, Trial.expected)
                            .join(Trial, Answer.trial_id == Trial.id)
                            .where(Answer.study_id == study.id, Trial.is_catch.is_(True))).all()
    passed = sum(a == e for a, e in catch)
    trials = trial_count(session, study)
    return {"raters": raters, "finished": finished, "answers": answers, "trials": trials,
            "catch_answers": len(catch), "catch_pass_rate": passed / len(catch) if catch else None}


# ---------------------------------------------------------------- life cycle
def set_panel(session, study: Study, completion_url: str | None = None,
              completion_code: str | None = None, return_url: str | None = None) -> dict:
    """Set (or, with all empty, remove) a study's recruitment-panel settings; checked first
    (:func:`analysis.survey.panel.check_settings`), nothing changed on a bad one."""
    settings = panel.check_settings(completion_url, completion_code, return_url)
    config = {k: v for k, v in dict(study.config or {}).items() if k != "panel"}
    if settings:
        config["panel"] = settings
    study.config = config                    # a new dict: the JSON column sees the change
    session.commit()
    return settings


def set_status(session, study: Study, new: str) -> None:
    """open -> closed (no new raters; answers kept, raters who started may finish) ->
    archived (hidden from the list, takes no answers)."""
    if new not in STATUSES:
        raise RAExplorerError(f"Unknown study status {new!r}; use one of {', '.join(STATUSES)}.")
    study.status = new
    session.commit()


def last_answer_time(session, study: Study) -> datetime | None:
    return session.scalar(select(func.max(Answer.created)).where(Answer.study_id == study.id))


def _aware(t: datetime | None) -> datetime | None:
    from datetime import timezone

    return t.replace(tzinfo=timezone.utc) if t is not None and t.tzinfo is None else t


def delete_study(session, study: Study, confirm: str) -> None:
    """Delete a study with all its trials, raters and answers: only when ``confirm`` is its
    name, typed, and its answers were exported after the last one came in."""
    if confirm != study.name:
        raise RAExplorerError("Type the study's name exactly to confirm the deletion.")
    last, exported = _aware(last_answer_time(session, study)), _aware(study.exported)
    if last is not None and (exported is None or exported < last):
        raise RAExplorerError("Export the study's answers (CSV) first: a study is deleted only "
                              "after an export that holds its last answer.")
    raters = select(Rater.id).where(Rater.study_id == study.id)
    session.execute(delete(Answer).where(Answer.study_id == study.id))
    session.execute(delete(Shown).where(Shown.rater_id.in_(raters)))
    session.execute(delete(Rater).where(Rater.study_id == study.id))
    session.execute(delete(Trial).where(Trial.study_id == study.id))
    session.execute(delete(Study).where(Study.id == study.id))
    session.commit()
