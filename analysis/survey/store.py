"""The rater flow's reads and writes: raters, the next trial, answers (exactly once), export."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .db import Answer, Rater, Study, Trial, utcnow
from .design import ANSWERS


def get_study(session, name: str) -> Study | None:
    return session.scalar(select(Study).where(Study.name == name))


def get_rater(session, study: Study, code: str) -> Rater:
    """The rater with this pseudonymous code, created on first sight (race-safe)."""
    rater = session.scalar(select(Rater).where(Rater.study_id == study.id, Rater.code == code))
    if rater is not None:
        return rater
    try:
        rater = Rater(study_id=study.id, code=code)
        session.add(rater)
        session.commit()
        return rater
    except IntegrityError:
        session.rollback()
        return session.scalar(select(Rater).where(Rater.study_id == study.id, Rater.code == code))


def give_consent(session, rater: Rater) -> None:
    if rater.consented is None:
        rater.consented = utcnow()
        session.commit()


def next_trial(session, rater: Rater) -> Trial | None:
    """The first trial (by position) this rater has not answered, or None when done."""
    answered = select(Answer.trial_id).where(Answer.rater_id == rater.id)
    return session.scalar(select(Trial).where(Trial.study_id == rater.study_id,
                                              Trial.id.not_in(answered))
                          .order_by(Trial.position).limit(1))


def progress(session, rater: Rater) -> tuple[int, int]:
    """(answered, total) for this rater."""
    total = session.scalar(select(func.count()).select_from(Trial)
                           .where(Trial.study_id == rater.study_id))
    done = session.scalar(select(func.count()).select_from(Answer)
                          .where(Answer.rater_id == rater.id))
    return done, total


def record_answer(session, rater: Rater, trial: Trial, answer: str, kind: str) -> bool:
    """Store the answer; False (and nothing written) if this rater answered this trial already."""
    if answer not in ANSWERS[kind]:
        raise ValueError(f"Answer {answer!r} is not one of {', '.join(ANSWERS[kind])}.")
    if trial.study_id != rater.study_id:
        raise ValueError("The trial belongs to another study.")
    try:
        session.add(Answer(study_id=rater.study_id, rater_id=rater.id, trial_id=trial.id,
                           answer=answer))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def answer_rows(session, study: Study) -> list[dict]:
    """Raw rows: one per answer, with the trial's design and the rater's code."""
    q = (select(Answer, Trial, Rater).join(Trial, Answer.trial_id == Trial.id)
         .join(Rater, Answer.rater_id == Rater.id).where(Answer.study_id == study.id)
         .order_by(Answer.id))
    rows = []
    for answer, trial, rater in session.execute(q):
        rows.append({"answer_id": answer.id, "rater": rater.code, "trial_id": trial.id,
                     "position": trial.position, "image_index": trial.image_index,
                     "left": trial.left, "right": trial.right, "swapped": trial.swapped,
                     "is_catch": trial.is_catch, "expected": trial.expected,
                     "payload": trial.payload, "answer": answer.answer,
                     "created": answer.created.isoformat()})
    return rows


def export_csv(session, study: Study) -> str:
    rows = answer_rows(session, study)
    buf = io.StringIO()
    fields = ["answer_id", "rater", "trial_id", "position", "image_index", "left", "right",
              "swapped", "is_catch", "expected", "answer", "created"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
