"""The visibility-threshold study: design, the staircase's strength replayed from the stored
answers, answers stored exactly once, thresholds per rater and image beside BD."""

import csv
import io

import numpy as np
import pytest

from analysis.survey import staircase, visibility
from analysis.survey.design import create_study
from analysis.survey.store import (
    answer_rows,
    export_csv,
    get_rater,
    next_trial,
    record_answer,
    show,
    visibility_strength,
)

CONFIG = {"methods": ["sr-plain", "sr-ra"], "visibility": {"m": 2, "start": 0.5, "step": 0.1}}


def make(Session, m=2, per_image=6, images=(3, 7), practice=0):
    trials = visibility.design_visibility("sr-plain", "sr-ra", list(images), per_image, m, 0)
    prac = visibility.design_practice("sr-plain", "sr-ra", list(images), practice, m, 0)
    cfg = {**CONFIG, "visibility": {**CONFIG["visibility"], "m": m}}
    with Session() as s:
        return create_study(s, "vis", "visibility", "sr", trials, cfg, prac).id, cfg


def test_design_interleaves_images_and_draws_the_blend_slot():
    trials = visibility.design_visibility("p", "r", [1, 2, 3], 10, 3, seed=0)
    assert len(trials) == 30
    assert {t["image_index"] for t in trials[:6]} != {trials[0]["image_index"]}   # interleaved
    slots = [t["payload"]["slot"] for t in trials]
    assert set(slots) == {"A", "B", "C"} and all(t["expected"] == t["payload"]["slot"]
                                                  for t in trials)
    assert visibility.design_visibility("p", "r", [1, 2, 3], 10, 3, seed=0) == trials
    with pytest.raises(ValueError, match="2AFC or 3AFC"):
        visibility.design_visibility("p", "r", [1], 5, 4, seed=0)


def test_the_strength_follows_the_rater_s_answers_on_the_same_image(AnyDB):
    Session = AnyDB
    study_id, cfg = make(Session)
    from analysis.survey.db import Study

    with Session() as s:
        study = s.get(Study, study_id)
        rater = get_rater(s, study, "r1")
        seen, shown_at = {}, {}
        right = True
        for _ in range(12):
            trial = next_trial(s, rater)
            a = visibility_strength(s, rater, trial, cfg)
            image = trial.image_index
            expected = seen.get(image, [])
            assert a == pytest.approx(visibility.replay(expected, cfg).a)
            shown_at[trial.id] = a
            answer = trial.expected if right else ("B" if trial.expected == "A" else "A")
            token = show(s, rater, trial)
            assert record_answer(s, rater, trial, answer, "visibility", token=token)
            assert not record_answer(s, rater, trial, answer, "visibility", token=token)
            seen.setdefault(image, []).append(right)
            right = not right if len(seen[image]) % 3 == 0 else right
        assert next_trial(s, rater) is None
        rows = answer_rows(s, study)
        exported = list(csv.DictReader(io.StringIO(export_csv(s, study, mark=False))))
    assert len(rows) == 12                                   # each answer exactly once
    assert {r["trial_id"]: r["strength"] for r in rows} == pytest.approx(shown_at)
    assert [float(r["strength"]) for r in exported] == pytest.approx(
        [shown_at[int(r["trial_id"])] for r in exported])
    assert [r["correct"] for r in exported] == [str(r["correct"]) for r in rows]
    # the next trial of an image lower after a correct answer, higher (weighted) after a wrong one
    assert visibility.replay([True], cfg).a == pytest.approx(0.4)
    assert visibility.replay([False], cfg).a == pytest.approx(0.5 + 0.1 * 0.75 / 0.25)


def test_a_2afc_trial_refuses_a_third_answer(AnyDB):
    study_id, cfg = make(AnyDB)
    from analysis.survey.db import Study

    with AnyDB() as s:
        study = s.get(Study, study_id)
        rater = get_rater(s, study, "r1")
        trial = next_trial(s, rater)
        with pytest.raises(ValueError, match="not one of this trial's images"):
            record_answer(s, rater, trial, "C", "visibility")
        with pytest.raises(ValueError, match="not one of"):
            record_answer(s, rater, trial, "tie", "visibility")


def test_practice_trials_show_the_full_change_and_do_not_move_the_staircase(AnyDB):
    study_id, cfg = make(AnyDB, practice=2)
    from analysis.survey.db import Study

    with AnyDB() as s:
        study = s.get(Study, study_id)
        rater = get_rater(s, study, "r1")
        for _ in range(2):
            trial = next_trial(s, rater)
            assert trial.is_practice and visibility_strength(s, rater, trial, cfg) == 1.0
            record_answer(s, rater, trial, "A", "visibility")
        trial = next_trial(s, rater)
        assert not trial.is_practice and visibility_strength(s, rater, trial, cfg) == 0.5


def test_simulated_raters_through_the_store_give_thresholds_beside_bd(tmp_path):
    """Raters answering by a known psychometric function (3AFC, threshold a* = 0.3): each
    rater's estimate lies within its CI of the truth, converted to L2 by ||x_RA - x_plain||."""
    from analysis.survey.db import Study, make_engine, session_factory

    Session = session_factory(make_engine(f"sqlite:///{tmp_path / 's.db'}"))
    study_id, cfg = make(Session, m=3, per_image=60, images=(5,))
    target = staircase.target_of(3)
    alpha = 0.3 / (-np.log(1 - (target - 1 / 3) / (1 - 1 / 3 - staircase.LAPSE))) ** (1 / 3)
    rng = np.random.default_rng(1)
    with Session() as s:
        study = s.get(Study, study_id)
        for code in ("r1", "r2"):
            rater = get_rater(s, study, code)
            while (trial := next_trial(s, rater)) is not None:
                a = visibility_strength(s, rater, trial, cfg)
                correct = rng.random() < staircase.p_correct(a, alpha, 3, 3)
                wrong = [k for k in "ABC" if k != trial.expected]
                record_answer(s, rater, trial, trial.expected if correct else wrong[0],
                              "visibility")
        rows = answer_rows(s, study)
    table = visibility.thresholds(rows, cfg, {5: 2.0}, n_boot=60)
    assert [(r["rater"], r["image_index"], r["trials"]) for r in table] == [("r1", 5, 60),
                                                                           ("r2", 5, 60)]
    for r in table:
        lo, hi = r["a_ci95"]
        assert lo <= 0.3 <= hi
        assert r["l2_threshold"] == pytest.approx(2.0 * r["a_star"])
        assert r["l2_ci95"] == pytest.approx([2.0 * lo, 2.0 * hi])
    both = visibility.beside_bd(table, {5: {"resnet": 0.5, "vgg": None}})
    assert [r["BD < threshold (resnet)"] for r in both] == [0.5 < r["l2_threshold"]
                                                            for r in table]
    assert all(r["BD < threshold (vgg)"] is None and r["BD resnet"] == 0.5 for r in both)
