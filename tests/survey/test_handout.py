"""Active pair selection in a running study: each regular trial's pair is chosen on its first
showing from batches of largest expected information gain, stored with the shown trial (the
same on a second showing), read back by the answer rows; batches are refitted on the answers."""

import itertools

import numpy as np

from analysis.survey import active, handout
from analysis.survey.db import Shown, Study
from analysis.survey.design import create_study, design_2afc
from analysis.survey.store import (
    answer_rows,
    get_rater,
    next_trial,
    record_answer,
    show,
    shown_pair,
)

METHODS = ["m0", "m1", "m2", "m3", "m4"]
THETA = np.array([0.0, 0.5, 1.0, 2.0, 4.0])


def make(Session, n_trials=24, batch=4):
    trials = design_2afc(METHODS, list(range(6)), n_trials, 0.0, seed=0, n_catch=2)
    trials = [{**t, "payload": {"active": True}} if not t["is_catch"] else t for t in trials]
    config = {"methods": METHODS, "pairs": "active", "active": {"batch": batch, "batches": []}}
    with Session() as s:
        return create_study(s, "act", "2afc", "sr", trials, config).id


def test_pairs_are_handed_out_in_batches_of_largest_gain_and_stored_once(AnyDB):
    study_id = make(AnyDB)
    rng = np.random.default_rng(0)
    with AnyDB() as s:
        study = s.get(Study, study_id)
        raters = [get_rater(s, study, f"r{k}") for k in range(3)]
        first = active.next_batch(len(METHODS), [], 4)       # no answer yet: the prior's order
        # three raters see their first trial before anyone answers: one batch between them
        shown = []
        for r in raters:
            t = next_trial(s, r)
            token = show(s, r, t)
            assert show(s, r, t) == token                    # a second showing: same screen
            shown.append((r, t, token, shown_pair(s, r, t)))
        for r, t, token, (left, right) in shown:
            i, j = METHODS.index(left), METHODS.index(right)
            win = rng.random() < 1 / (1 + np.exp(THETA[j] - THETA[i]))
            assert record_answer(s, r, t, "A" if win else "B", "2afc", token=token)
            assert not record_answer(s, r, t, "A", "2afc", token=token)   # exactly once
        for r in raters:                                     # everyone finishes
            while (t := next_trial(s, r)) is not None:
                token = show(s, r, t)
                left, right = shown_pair(s, r, t)
                if t.is_catch:
                    answer = t.expected
                else:
                    i, j = METHODS.index(left), METHODS.index(right)
                    answer = "A" if rng.random() < 1 / (1 + np.exp(THETA[j] - THETA[i])) else "B"
                record_answer(s, r, t, answer, "2afc", token=token)
        s.refresh(study)
        batches = handout.settings(study.config)["batches"]
        rows = answer_rows(s, study)
        handed = s.scalars(s.query(Shown).filter(Shown.pair.is_not(None)).statement).all()
    assert [tuple(p) for p in batches[0]] == [tuple(p) for p in first]
    regular = [r for r in rows if not r["is_catch"]]
    assert len(rows) == 3 * 26 and len(regular) == 3 * 24       # every answer once
    assert len(handed) == len(regular) and len(batches) == -(-len(regular) // 4)
    assert sorted(h.pair["handout"] for h in handed) == list(range(len(regular)))
    ordered = sorted(handed, key=lambda h: h.pair["handout"])
    assert [tuple(sorted(METHODS.index(m) for m in (h.pair["left"], h.pair["right"])))
            for h in ordered[:4]] == [tuple(p) for p in first]   # the first batch, in order
    by_trial = {(h.rater_id, h.trial_id): h.pair for h in handed}
    assert len(by_trial) == len(handed)
    for h in handed:                                          # each from its own batch
        i, j = sorted(METHODS.index(m) for m in (h.pair["left"], h.pair["right"]))
        assert [i, j] in [list(p) for p in batches[h.pair["batch"]]]
    # the rows carry the handed-out pair, not the trial's placeholder
    assert {(r["left"], r["right"]) for r in regular} <= {
        (a, b) for a, b in itertools.permutations(METHODS, 2)}
    # later batches are fitted on the answers: not all the prior's order again
    assert any([tuple(p) for p in b] != [tuple(p) for p in first] for b in batches[1:])


def test_a_uniform_study_keeps_its_designed_pairs(AnyDB):
    trials = design_2afc(METHODS, list(range(6)), 6, 0.0, seed=0)
    with AnyDB() as s:
        study = create_study(s, "uni", "2afc", "sr", trials, {"methods": METHODS})
        r = get_rater(s, study, "r")
        t = next_trial(s, r)
        show(s, r, t)
        assert shown_pair(s, r, t) == (t.left, t.right)
        assert s.query(Shown).one().pair is None
