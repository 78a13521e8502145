"""Active pair selection in a running study: the pair of an active 2AFC trial is chosen when
the trial is first shown to a rater, from batches of pairs of largest expected information
gain (:func:`analysis.survey.active.next_batch`) over the study's answers so far.

Hand-outs are numbered across the study (under the study's lock): hand-out k takes pair
k mod B of batch k // B (B the batch size); a batch is computed when its first pair is
handed out, from every answer stored by then (ties left out), and kept in the study's
config, so that many raters work through one batch at once and the next one sees their
answers. The chosen pair, with the left/right draw, is stored with the shown trial
(``Shown.pair``), and the answer rows read it from there.
"""

from __future__ import annotations

import random

from sqlalchemy import func, select

from . import active, balance
from .db import Answer, Shown, Study, Trial

DEFAULT_BATCH = 10
PAIR_DESIGNS = ("uniform", "active")


def settings(config: dict) -> dict:
    """``{"batch", "batches"}`` of an active study (batches: lists of (i, j) method indices)."""
    a = dict((config or {}).get("active") or {})
    return {"batch": int(a.get("batch", DEFAULT_BATCH)),
            "batches": [[tuple(p) for p in b] for b in a.get("batches", [])]}


def is_active(trial: Trial) -> bool:
    return bool((trial.payload or {}).get("active"))


def judgments(session, study: Study, methods: list[str]) -> list[tuple[int, int]]:
    """(winner, loser) method indices of every answered active trial of the study, ties and
    practice left out."""
    index = {m: k for k, m in enumerate(methods)}
    q = (select(Answer.answer, Shown.pair).join(Trial, Answer.trial_id == Trial.id)
         .join(Shown, (Shown.rater_id == Answer.rater_id) & (Shown.trial_id == Answer.trial_id))
         .where(Answer.study_id == study.id, Shown.pair.is_not(None)).order_by(Answer.id))
    out = []
    for answer, pair in session.execute(q):
        left, right = index.get(pair["left"]), index.get(pair["right"])
        if answer in ("A", "B") and left is not None and right is not None:
            out.append((left, right) if answer == "A" else (right, left))
    return out


def choose(session, study: Study) -> dict:
    """The next hand-out's pair ``{"left", "right", "swapped", "handout", "batch"}`` (call
    with the study's lock held); a new batch is computed and stored in the study's config
    when the last one is used up."""
    methods = list(study.config["methods"])
    s = settings(study.config)
    k = session.scalar(select(func.count()).select_from(Shown)
                       .join(Trial, Shown.trial_id == Trial.id)
                       .where(Trial.study_id == study.id, Shown.pair.is_not(None)))
    b = k // s["batch"]
    batches = s["batches"]
    while len(batches) <= b:
        batches.append(active.next_batch(len(methods), judgments(session, study, methods),
                                         s["batch"]))
        study.config = {**study.config, "active": {"batch": s["batch"],
                                                   "batches": [list(map(list, x))
                                                               for x in batches]}}
    batch = batches[b]
    i, j = batch[(k - b * s["batch"]) % len(batch)]
    swapped = random.Random(f"{study.id}:{k}").random() < 0.5
    left, right = (methods[j], methods[i]) if swapped else (methods[i], methods[j])
    return {"left": left, "right": right, "swapped": swapped, "handout": k, "batch": b}


def assign(session, study: Study, shown: Shown) -> None:
    """Give ``shown`` (a new, flushed row of an active trial) its pair, under the study's lock."""
    with balance.locked(session, study):
        session.refresh(shown)
        if shown.pair is None:                     # not given by a second tab meanwhile
            shown.pair = choose(session, study)
        session.commit()
