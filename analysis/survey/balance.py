"""Counterbalancing: conditions of a study and their assignment to raters.

A study's regular and catch trials are cut into ``blocks`` consecutive blocks; the
conditions order the blocks by the rows of a balanced latin square (Williams' design:
every block comes first equally often and follows every other block equally often;
an odd number of blocks takes the square and its mirror, 2 x blocks rows), and with
``sides`` each order is shown once as designed and once with every left/right swapped.
So a study has ``len(williams(blocks)) * (2 if sides else 1)`` conditions; each holds
every trial (every method pair as often) once, in its own order and sides. Practice
trials are the same for all.

Assignment (:func:`assign`) gives a new rater the condition with the fewest sessions
that count: finished ones and ones still active (an answer, or the consent, within the
last ``abandon_after_min`` minutes). A session idle for longer is abandoned: it no longer
counts, so its condition is handed out again; 0 minutes: every started session counts.
The choice is made under a lock (a row lock on the study in PostgreSQL, a process lock
for SQLite's single app process), so raters starting at once never crowd one condition.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from ..errors import RAExplorerError
from .db import Answer, Rater, Study, utcnow

MAX_BLOCKS = 8
DEFAULT_ABANDON_MIN = 30.0
_LOCK = threading.Lock()


def williams(n: int) -> list[list[int]]:
    """The rows of a Williams balanced latin square of ``n`` treatments (n rows for an even n,
    2n for an odd one): each row a permutation of range(n); every treatment is first equally
    often and directly follows every other one equally often."""
    if n < 1:
        raise ValueError("A latin square needs at least one treatment.")
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 and n > 1 else rows


def conditions(blocks: int = 1, sides: bool = False) -> list[dict]:
    """The conditions: ``{"order": block order, "flipped": bool}`` each."""
    if not 1 <= blocks <= MAX_BLOCKS:
        raise RAExplorerError(f"The number of trial-order blocks must be between 1 and "
                              f"{MAX_BLOCKS}.")
    return [{"order": row, "flipped": flip} for flip in ((False, True) if sides else (False,))
            for row in williams(blocks)]


def flip(trial: dict) -> dict:
    """The trial with its two sides swapped (a catch trial's expected side and a label trial's
    payload follow)."""
    out = {**trial, "left": trial["right"], "right": trial["left"], "swapped": not trial["swapped"]}
    if trial.get("expected") in ("A", "B"):
        out["expected"] = "B" if trial["expected"] == "A" else "A"
    payload = dict(trial.get("payload") or {})
    if "A" in payload and "B" in payload:
        payload["A"], payload["B"] = payload["B"], payload["A"]
    out["payload"] = payload
    return out


def expand(trials: list[dict], conds: list[dict]) -> list[dict]:
    """Every condition's copy of ``trials`` (cut into as many blocks as an order has), in the
    condition's block order and sides, tagged ``condition``; one condition: the trials
    themselves, untagged."""
    if len(conds) <= 1:
        return list(trials)
    n_blocks = len(conds[0]["order"])
    cuts = [round(k * len(trials) / n_blocks) for k in range(n_blocks + 1)]
    blocks = [trials[cuts[k]:cuts[k + 1]] for k in range(n_blocks)]
    out = []
    for c, cond in enumerate(conds):
        for b in cond["order"]:
            out += [{**(flip(t) if cond["flipped"] else t), "condition": c} for t in blocks[b]]
    return out


def design_of(config: dict | None) -> dict:
    """A study's counterbalancing: ``{"conditions": [...], "abandon_after_min": float}``."""
    d = dict((config or {}).get("counterbalance") or {})
    return {"conditions": d.get("conditions") or [{"order": [0], "flipped": False}],
            "abandon_after_min": float(d.get("abandon_after_min", DEFAULT_ABANDON_MIN))}


def _aware(t: datetime | None) -> datetime | None:

    return t.replace(tzinfo=timezone.utc) if t is not None and t.tzinfo is None else t


def sessions(session, study: Study, now: datetime | None = None) -> list[dict]:
    """Every rater's session: ``{"rater_id", "condition", "state"}`` with state finished /
    active / abandoned (idle longer than the study's timeout)."""
    now = _aware(now or utcnow())
    minutes = design_of(study.config)["abandon_after_min"]
    last = (select(Answer.rater_id, func.max(Answer.created).label("t"))
            .where(Answer.study_id == study.id).group_by(Answer.rater_id).subquery())
    q = (select(Rater.id, Rater.condition, Rater.finished, Rater.consented, last.c.t)
         .outerjoin(last, last.c.rater_id == Rater.id).where(Rater.study_id == study.id))
    out = []
    for rid, cond, finished, consented, t in session.execute(q):
        seen = max((x for x in (_aware(consented), _aware(t)) if x is not None), default=now)
        state = ("finished" if finished is not None else
                 "active" if minutes <= 0 or now - seen < timedelta(minutes=minutes)
                 else "abandoned")
        out.append({"rater_id": rid, "condition": cond or 0, "state": state})
    return out


def counts(session, study: Study, now: datetime | None = None) -> list[dict]:
    """Per condition: its order and sides, and its finished / active / abandoned sessions."""
    conds = design_of(study.config)["conditions"]
    rows = [{"condition": c, "blocks": " ".join(str(b + 1) for b in cond["order"]),
             "flipped": cond["flipped"], "finished": 0, "active": 0, "abandoned": 0}
            for c, cond in enumerate(conds)]
    for s in sessions(session, study, now):
        if 0 <= s["condition"] < len(rows):
            rows[s["condition"]][s["state"]] += 1
    return rows


def assign(session, study: Study, now: datetime | None = None) -> int:
    """The condition for a new rater (call with the lock held, see :func:`locked`): the one
    with the fewest finished or active sessions (ties: the lowest)."""
    rows = counts(session, study, now)
    return min(range(len(rows)), key=lambda c: (rows[c]["finished"] + rows[c]["active"], c))


class locked:
    """``with locked(session, study):`` serialises condition assignment for the study."""

    def __init__(self, session, study: Study):
        self.session, self.study = session, study

    def __enter__(self):
        _LOCK.acquire()
        try:
            if self.session.get_bind().dialect.name != "sqlite":
                self.session.execute(select(Study.id).where(Study.id == self.study.id)
                                     .with_for_update())
        except Exception:
            _LOCK.release()
            raise
        return self

    def __exit__(self, *exc):
        _LOCK.release()
        return False
