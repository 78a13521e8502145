"""Counterbalancing: the balanced latin square, conditions holding every trial once, and
assignment over finished and active sessions; a load test of 30 raters of whom 10 abandon,
on SQLite and PostgreSQL."""

import itertools
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from analysis.errors import RAExplorerError
from analysis.survey.balance import conditions, counts, expand, williams
from analysis.survey.db import Answer, Rater, Trial, utcnow
from analysis.survey.design import create_study, design_2afc, design_practice
from analysis.survey.store import (
    answer_rows,
    finish,
    get_study,
    next_trial,
    progress,
    record_answer,
    show,
    start_rater,
)

METHODS = ["m1", "m2", "m3"]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_williams_squares_balance_first_places_and_carry_over(n):
    rows = williams(n)
    assert len(rows) == (2 * n if n % 2 and n > 1 else n)
    assert all(sorted(r) == list(range(n)) for r in rows)
    for place in range(n):                                   # each block in each place equally
        assert len(set(Counter(r[place] for r in rows).values())) == 1
    follows = Counter((a, b) for r in rows for a, b in zip(r, r[1:]))
    if n > 1:                                                # each block after each other equally
        assert set(follows) == set(itertools.permutations(range(n), 2))
        assert len(set(follows.values())) == 1


def test_every_condition_holds_every_trial_once_in_its_order_and_sides():
    trials = design_2afc(METHODS, list(range(10)), 12, 0.2, seed=3)
    conds = conditions(blocks=3, sides=True)
    assert len(conds) == 12                                  # 6 orders (odd: mirrored) x 2 sides
    out = expand(trials, conds)
    key = lambda t: (t["image_index"], frozenset((t["left"], t["right"])), t["is_catch"])  # noqa: E731
    for c, cond in enumerate(conds):
        mine = [t for t in out if t["condition"] == c]
        assert Counter(map(key, mine)) == Counter(map(key, trials))
        if cond["flipped"]:
            unflipped = [t for t in out if t["condition"] == conds.index(
                {"order": cond["order"], "flipped": False})]
            for a, b in zip(mine, unflipped):
                assert (a["left"], a["right"]) == (b["right"], b["left"])
                if b["expected"]:
                    assert {a["expected"], b["expected"]} == {"A", "B"}
    firsts = Counter(next(t for t in out if t["condition"] == c)["image_index"]
                     for c in range(len(conds)))
    assert len(firsts) == 3                                  # three blocks start the conditions
    with pytest.raises(RAExplorerError, match="between 1 and 8"):
        conditions(blocks=9)


def make(Session, name="cb", blocks=2, sides=True, minutes=30.0, n=6):
    trials = design_2afc(METHODS, list(range(8)), n, 0.0, seed=1)
    conds = conditions(blocks, sides)
    with Session() as s:
        create_study(s, name, "2afc", "sr", expand(trials, conds),
                     {"counterbalance": {"conditions": conds, "abandon_after_min": minutes}},
                     practice=design_practice("2afc", design_2afc(METHODS, [0], 1, 0.5, 0), 1, 0))
    return len(conds)


def answer_all(s, rater, stop_after=None):
    k = 0
    while (t := next_trial(s, rater)) is not None and (stop_after is None or k < stop_after):
        record_answer(s, rater, t, "A", "2afc", token=show(s, rater, t), rt_ms=500.0)
        k += 1
    if t is None:
        finish(s, rater)


def test_assignment_counts_finished_and_active_sessions_and_reassigns_abandoned(AnyDB):
    k = make(AnyDB)
    t0 = utcnow()
    with AnyDB() as s:
        study = get_study(s, "cb")
        raters = [start_rater(s, study, now=t0) for _ in range(k)]
        assert [r.condition for r in raters] == list(range(k))
        assert progress(s, raters[1]) == (0, 6)              # a condition's own trials
        answer_all(s, raters[0])
        answer_all(s, raters[1], stop_after=2)              # walks away
        # within the timeout every session still counts: the next rater round starts at 0
        assert start_rater(s, study, now=t0 + timedelta(minutes=5)).condition == 0
        later = t0 + timedelta(minutes=31)
        table = {r["condition"]: r for r in counts(s, study, now=later)}
        assert table[0]["finished"] == 1 and table[1]["abandoned"] == 1
        # after it, the abandoned session's condition is handed out again
        assert start_rater(s, study, now=later).condition == 1


def load(Session, n_start=30, n_abandon=10):
    """30 raters start at once; 10 walk away after two answers; once the timeout has passed,
    10 new raters start at once. All but the 10 finish."""
    k = make(Session, "load-cb")
    t0 = utcnow()
    errors = []

    def run(rounds, now, barrier):
        def one(abandon):
            try:
                barrier.wait()
                with Session() as s:
                    rater = start_rater(s, get_study(s, "load-cb"), now=now)
                    answer_all(s, rater, stop_after=2 if abandon else None)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))
        threads = [threading.Thread(target=one, args=(a,)) for a in rounds]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)

    quitters = [k % 3 == 1 for k in range(n_start)]          # every third rater abandons
    run(quitters, t0, threading.Barrier(n_start))
    run([False] * n_abandon, t0 + timedelta(minutes=31), threading.Barrier(n_abandon))
    assert not errors, errors[:3]
    with Session() as s:
        study = get_study(s, "load-cb")
        table = counts(s, study, now=t0 + timedelta(minutes=62))
        finished = [r["finished"] for r in table]
        # every answer is on a trial of its rater's condition (or a practice trial), once
        pairs = s.execute(select(Answer.rater_id, Answer.trial_id, Trial.condition,
                                 Rater.condition).join(Trial, Answer.trial_id == Trial.id)
                          .join(Rater, Answer.rater_id == Rater.id)
                          .where(Answer.study_id == study.id)).all()
        rows = answer_rows(s, study, practice=True)
    assert len(pairs) == len({(a, b) for a, b, _, _ in pairs}) == len(rows)
    assert all(tc is None or tc == rc for _, _, tc, rc in pairs)
    assert len(rows) == 30 * (6 + 1) + 10 * 2               # finished: 6 + practice; quitters: 2
    return {"conditions": k, "finished_per_condition": finished,
            "abandoned": sum(r["abandoned"] for r in table)}


def test_load_30_raters_10_abandon_completed_conditions_differ_by_at_most_one(AnyDB):
    result = load(AnyDB)
    print(result)
    assert sum(result["finished_per_condition"]) == 30 and result["abandoned"] == 10
    assert max(result["finished_per_condition"]) - min(result["finished_per_condition"]) <= 1
