import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from analysis.survey.db import Answer, Rater, Trial, make_engine, session_factory
from analysis.survey.design import (
    REFERENCE,
    count_catch,
    create_study,
    design_2afc,
    design_label,
    split_total,
)
from analysis.survey.store import (
    answer_rows,
    export_csv,
    get_rater,
    get_study,
    next_trial,
    progress,
    record_answer,
    show,
)

METHODS = ["sr-plain", "sr-ra", "sr-robust-perceptual"]


@pytest.fixture
def Session(tmp_path):
    return session_factory(make_engine(f"sqlite:///{tmp_path / 'survey.db'}"))


def test_2afc_design_is_balanced_randomised_and_has_catch_trials():
    trials = design_2afc(METHODS, list(range(40)), n_trials=90, catch_rate=0.1, seed=0)
    regular = [t for t in trials if not t["is_catch"]]
    catch = [t for t in trials if t["is_catch"]]
    assert len(regular) == 90 and len(catch) == count_catch(90, 0.1) == 10
    assert abs(len(catch) / len(trials) - 0.1) < 0.01
    pairs = Counter(tuple(sorted((t["left"], t["right"]))) for t in regular)
    assert set(pairs.values()) == {30}                        # every pair equally often
    swapped = sum(t["swapped"] for t in regular)
    assert 30 < swapped < 60                                  # left/right drawn per trial
    for t in catch:                                           # the reference side is expected
        assert (t["left"] == REFERENCE) == (t["expected"] == "A")
    assert design_2afc(METHODS, list(range(40)), 90, 0.1, seed=0) == trials
    assert design_2afc(METHODS, list(range(40)), 90, 0.1, seed=1) != trials


def test_a_total_of_trials_per_rater_includes_the_catch_trials():
    assert split_total(6, 0.1) == (5, 1) and split_total(30, 0.1) == (27, 3)
    assert split_total(1, 0.5) == (1, 0) and split_total(10, 0.0) == (10, 0)
    for total in (1, 2, 6, 7, 30, 61):
        for rate in (0.0, 0.1, 0.25, 0.5):
            regular, catch = split_total(total, rate)
            trials = design_2afc(METHODS, list(range(20)), regular, rate, seed=0, n_catch=catch)
            assert len(trials) == total and sum(t["is_catch"] for t in trials) == catch


def test_noref_catch_expects_the_undegraded_side():
    trials = design_2afc(METHODS, list(range(10)), 30, 0.2, seed=3, reference=False)
    for t in (t for t in trials if t["is_catch"]):
        good = "B" if t["left"] == "@degraded" else "A"
        assert t["expected"] == good


def test_label_design_stores_which_method_is_on_which_side():
    items = [{"image_index": i, "label": i % 10, "label_plain": (i + 1) % 10,
              "label_ra": i % 10} for i in range(30)]
    trials = design_label(items, [f"c{k}" for k in range(10)], n_trials=20, catch_rate=0.2,
                          seed=0)
    regular = [t for t in trials if not t["is_catch"]]
    for t in regular:
        assert {t["payload"]["A"], t["payload"]["B"]} == {"plain", "ra"}
        assert (t["payload"]["A"] == "ra") == t["swapped"]
    catch = [t for t in trials if t["is_catch"]]
    assert len(catch) == 5
    for t in catch:
        true_name = f"c{t['payload']['true']}"
        assert (t["left"] if t["expected"] == "A" else t["right"]) == true_name


def make_study(Session, n=12, name="s"):
    with Session() as s:
        trials = design_2afc(METHODS[:2], list(range(6)), n, 0.0, seed=0)
        create_study(s, name, "2afc", "sr:scale=4", trials, {"methods": METHODS[:2]})


def test_answers_are_unique_and_the_flow_resumes(Session):
    make_study(Session)
    with Session() as s:
        study = get_study(s, "s")
        rater = get_rater(s, study, "rater-1")
        first = next_trial(s, rater)
        assert first.position == 0
        assert record_answer(s, rater, first, "A", "2afc") is True
        assert record_answer(s, rater, first, "B", "2afc") is False    # second click: refused
        assert progress(s, rater) == (1, 12)
    with Session() as s:                                               # a reload: new session
        study = get_study(s, "s")
        rater = get_rater(s, study, "rater-1")
        assert next_trial(s, rater).position == 1
        rows = answer_rows(s, study)
        assert [r["answer"] for r in rows] == ["A"]
        exported = export_csv(s, study)
        assert "rater-1" in exported
    with Session() as s:                                # a catch trial's side is a word
        create_study(s, "c", "2afc", "sr:scale=4",
                     design_2afc(METHODS[:2], list(range(6)), 4, 0.0, seed=0, n_catch=2),
                     {"methods": METHODS[:2]})
        study = get_study(s, "c")
        rater = get_rater(s, study, "rater-c")
        catch = s.scalars(select(Trial).where(Trial.study_id == study.id,
                                              Trial.is_catch.is_(True))).first()
        record_answer(s, rater, catch, "A", "2afc")
        exported = export_csv(s, study)
        assert "(reference)" in exported and "@reference" not in exported
    with pytest.raises(ValueError, match="not one of"):
        with Session() as s:
            study = get_study(s, "s")
            rater = get_rater(s, study, "r2")
            record_answer(s, rater, next_trial(s, rater), "maybe", "2afc")


def test_duplicate_study_names_are_refused(Session):
    make_study(Session)
    with pytest.raises(ValueError, match="exists already"):
        make_study(Session)


def load_test(Session, raters=20, n=30):
    """Every rater answers every trial with a response time, and submits again: a second
    time in sequence (every trial), racing itself from two threads (every 3rd trial), and a
    stale screen's answer after moving on (every 5th trial). Every answer must be stored
    exactly once, the first one winning."""
    make_study(Session, n=n, name="load")
    errors, doubles = [], []
    barrier = threading.Barrier(raters)

    def rater_thread(k):
        try:
            barrier.wait()
            with Session() as s:
                study = get_study(s, "load")
                rater = get_rater(s, study, f"r{k}")
                previous = None
                while (trial := next_trial(s, rater)) is not None:
                    token = show(s, rater, trial)
                    want = "AB"[trial.position % 2]
                    if trial.position % 3 == 0:                    # racing double submit
                        def submit(ans, token=token, trial=trial):
                            with Session() as s2:
                                r2, t2 = s2.get(Rater, rater.id), s2.get(Trial, trial.id)
                                record_answer(s2, r2, t2, ans, "2afc", token=token, rt_ms=700.0)
                        s.commit()                     # this session's connection back
                        first = threading.Thread(target=submit, args=(want,))
                        first.start()
                        first.join()
                        racer = threading.Thread(target=submit, args=("tie",))
                        racer.start()
                        submit("tie")
                        racer.join()
                        doubles.append(2)
                    else:
                        record_answer(s, rater, trial, want, "2afc", token=token, rt_ms=650.0)
                    record_answer(s, rater, trial, "tie", "2afc", token=token, rt_ms=10.0)
                    doubles.append(1)
                    if previous is not None and trial.position % 5 == 0:   # a stale screen
                        record_answer(s, rater, previous[0], "tie", "2afc", token=previous[1])
                        doubles.append(1)
                    previous = (trial, token)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=rater_thread, args=(k,)) for k in range(raters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    with Session() as s:
        study = get_study(s, "load")
        total = s.scalar(select(func.count()).select_from(Answer).where(Answer.study_id == study.id))
        assert total == raters * n
        rows = answer_rows(s, study)
        assert len({(r["rater"], r["trial_id"]) for r in rows}) == raters * n
        assert all(r["answer"] == "AB"[r["position"] % 2] for r in rows)   # the first one won
        assert all(r["rt_ms"] in (650.0, 700.0) for r in rows)              # its time, too
    return {"raters": raters, "trials": n, "rows": total, "double_submissions": sum(doubles)}


def test_load_20_concurrent_raters_sqlite(Session):
    counts = load_test(Session)
    assert counts["double_submissions"] > counts["rows"]
    print(counts)


def test_load_20_concurrent_raters_postgresql():
    import os

    url = os.environ.get("SURVEY_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server: set SURVEY_TEST_PG_URL (.ci/run starts one)")
    from sqlalchemy import text

    engine = make_engine(url)
    with engine.begin() as conn:   # a clean slate for this test
        for table in ("answers", "shown", "raters", "trials", "studies"):
            conn.execute(text(f"DELETE FROM {table}"))
    print(load_test(session_factory(engine)))
