"""AppTest of the survey pages: consent, answering, resuming by token, rater-only routing,
the token-guarded results and management pages, and plain-text output of user strings."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import SYNTH

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
BEACON = "![x](http://127.0.0.1:9/beacon.png)"


@pytest.fixture
def survey_env(monkeypatch, tiny_zoo, tmp_path):
    from analysis.explore.workspace import Workspace
    from analysis.survey.admin import THROTTLE
    from analysis.survey.content import study_from_zoo
    from analysis.survey.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    monkeypatch.setenv("SURVEY_DB_URL", url)
    monkeypatch.setenv("RA_CHECKPOINTS", str(tiny_zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("SURVEY_ADMIN_TOKEN", "s3cret-ö✓")
    THROTTLE._state.clear()
    Session = session_factory(make_engine(url))
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    with Session() as s:
        study_from_zoo(s, ws, "pilot", "2afc", ["sr-plain", "sr-ra"], n_images=5, n_trials=6,
                       catch_rate=0.25, seed=0, n_practice=1)
    return Session


def page(path=None, **params):
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if path:
        at.switch_page(path)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def rows(Session, practice=False):
    from analysis.survey.store import answer_rows, get_study

    with Session() as s:
        return answer_rows(s, get_study(s, "pilot"), practice=practice)


def raters(Session):
    from sqlalchemy import func, select

    from analysis.survey.db import Rater

    with Session() as s:
        return s.scalar(select(func.count()).select_from(Rater))


def answer(at):
    return [b for b in at.button if b.key.startswith("answer_")]


def test_consent_practice_answer_reload_resume(survey_env):
    at = page(study="pilot")
    assert any("Before you start" in h.value for h in at.subheader)
    assert raters(survey_env) == 0                            # no rater before consent
    at.button(key="survey_consent").click().run()
    token = at.query_params["r"]
    assert len(token) >= 32 and raters(survey_env) == 1
    assert "Practice 1 of 1 (not counted)" in at.get("progress")[0].proto.text
    [b for b in answer(at) if b.key.endswith("_tie")][0].click().run()
    assert any(w.value.startswith("Practice: Not quite") for w in at.warning)
    assert "0 of 8 answered" in at.get("progress")[0].proto.text
    answer(at)[0].click().run()
    assert not at.exception
    assert "1 of 8 answered" in at.get("progress")[0].proto.text
    again = page(study="pilot", r=token)                      # a reload resumes by the token
    assert "1 of 8 answered" in again.get("progress")[0].proto.text
    got = rows(survey_env)
    assert len(got) == 1 and got[0]["position"] == 1 and got[0]["rt_ms"] is not None
    assert [r["is_practice"] for r in rows(survey_env, practice=True)] == [True, False]


def test_visits_without_consent_make_no_rater_and_a_forged_code_does_not_resume(survey_env):
    for _ in range(10):
        page(study="pilot")
    assert raters(survey_env) == 0
    at = page(study="pilot", rater="alice")
    assert at.text_input(key="survey_code").value == "alice"
    at.button(key="survey_consent").click().run()
    alice = at.query_params["r"]
    forged = page(study="pilot", rater="alice")               # someone types alice's code
    forged.button(key="survey_consent").click().run()
    assert [e.value for e in forged.error] == [
        "This participant code is already taken in this study; continue with the link you "
        "were given, or choose another code."]
    assert forged.query_params.get("r") in (None, "") and not answer(forged)
    guessed = page(study="pilot", r=alice[:-2] + "xx")        # a guessed token
    assert [i.value for i in guessed.info] == [
        "There is no survey at this address; please check the link you were given."]


def test_a_10000_character_code_gets_a_sentence(survey_env):
    at = page(study="pilot")
    at.text_input(key="survey_code").input("x" * 10_000).run()
    at.button(key="survey_consent").click().run()
    assert [e.value for e in at.error] == [
        "The participant code has 10,000 characters; at most 64 are allowed."]
    assert raters(survey_env) == 0


@pytest.mark.parametrize("params", [{"study": "nope"}, {"study": "x" * 5000},
                                    {"study": "pilot\x00"}])
def test_an_unknown_study_gets_a_plain_sentence_never_a_command(survey_env, params):
    at = page(**params)
    assert [i.value for i in at.info] == [
        "There is no survey at this address; please check the link you were given."]
    assert not any("python -m" in m.value for m in at.markdown)


def test_a_closed_study_takes_no_new_raters(survey_env):
    from analysis.survey.store import get_study, set_status

    with survey_env() as s:
        set_status(s, get_study(s, "pilot"), "closed")
    at = page(study="pilot")
    assert [i.value for i in at.info] == [
        "This survey is closed and takes no new answers; thank you for your interest."]


def test_a_rater_link_shows_no_other_page(survey_env):
    at = page(study="pilot")
    with pytest.raises(ValueError, match="Could not find a navigation page"):   # survey only
        at.switch_page("views/compare.py").run()
    at = page("views/survey.py", study="pilot")
    assert at.title[0].value == "Survey"


def test_results_refuse_a_wrong_token_and_open_with_a_non_ascii_one(survey_env):
    at = page("views/survey_results.py")
    at.text_input(key="admin_token").input("wrong").run()
    assert [e.value for e in at.error] == ["Wrong token."]
    assert len(at.dataframe) == 0
    at.text_input(key="admin_token").input("s3cret-ö✓").run()
    assert not at.error and not at.exception
    assert any("No answers yet" in i.value for i in at.info)


def test_wrong_tokens_are_throttled_with_a_stated_wait(survey_env):
    at = page("views/survey_results.py")
    for k in range(3):
        at.text_input(key="admin_token").input(f"wrong{k}").run()
    assert at.error[0].value.startswith("Wrong token. Too many wrong tries from this address: "
                                        "wait 1 s")


def test_user_strings_on_the_results_page_are_plain_text(survey_env):
    from analysis.survey.store import get_study, next_trial, record_answer, show, start_rater

    with survey_env() as s:
        st = get_study(s, "pilot")
        r = start_rater(s, st, BEACON)
        while (t := next_trial(s, r)) is not None:
            record_answer(s, r, t, "tie", "2afc", token=show(s, r, t), rt_ms=800.0)  # fails catch
    at = page("views/survey_results.py")
    at.text_input(key="admin_token").input("s3cret-ö✓").run()
    assert not at.exception
    markdown = " ".join(m.value for m in at.markdown)
    assert "beacon" not in markdown                          # never rendered as Markdown
    assert any(t.value == "Excluded: " + BEACON for t in at.text)   # a plain-text line
    table = at.dataframe[0].value
    assert table["rater"].tolist() == [BEACON] and table["median_rt_ms"].tolist() == [800]


def test_management_page_creates_closes_exports_and_deletes(survey_env):
    from analysis.survey.store import get_study, status

    at = page("views/survey_admin.py")
    at.text_input(key="admin_token_studies").input("s3cret-ö✓").run()
    assert at.dataframe[0].value["study"].tolist() == ["pilot"]
    at.text_input(key="new_name").input("made-here").run()
    at.button(key="new_preview").click().run()
    assert not at.exception and any("first trial as raters see it" in c.value for c in at.caption)
    at.button(key="new_create").click().run()
    assert not at.exception
    assert any("Study created" in s.value for s in at.success)
    with survey_env() as s:
        assert get_study(s, "made-here") is not None
    at.selectbox(key="manage_study").select("pilot").run()
    at.button(key="study_close").click().run()
    with survey_env() as s:
        assert status(get_study(s, "pilot")) == "closed"
    at.text_input(key="study_confirm").input("pilot").run()
    at.button(key="study_delete").click().run()
    with survey_env() as s:                                  # no answers yet: no export needed
        assert get_study(s, "pilot") is None


def test_a_counterbalanced_study_is_made_on_the_form_and_its_conditions_are_listed(survey_env):
    from analysis.survey.store import get_study, start_rater

    at = page("views/survey_admin.py")
    at.text_input(key="admin_token_studies").input("s3cret-ö✓").run()
    at.text_input(key="new_name").input("balanced").run()
    at.number_input(key="new_blocks").set_value(2).run()
    at.checkbox(key="new_sides").check().run()
    at.number_input(key="new_abandon").set_value(10.0).run()
    at.button(key="new_create").click().run()
    assert not at.exception and any("Study created" in s.value for s in at.success)
    with survey_env() as s:
        study = get_study(s, "balanced")
        assert [start_rater(s, study).condition for _ in range(5)] == [0, 1, 2, 3, 0]
    at.run()
    table = at.dataframe[1].value                            # below the studies table
    assert table["blocks"].tolist() == ["1 2", "2 1", "1 2", "2 1"]
    assert table["flipped"].tolist() == [False, False, True, True]
    assert table["active"].tolist() == [2, 1, 1, 1]
    assert any("4 conditions" in c.value and "idle for 10 min" in c.value for c in at.caption)


def test_results_leave_out_display_flagged_sessions_with_the_rule_printed(survey_env):
    import json

    from analysis.survey.display import parse, record
    from analysis.survey.store import get_study, next_trial, record_answer, set_display, show, start_rater

    base = {"dpr": 1, "visual_scale": 1, "outer_inner": 1, "viewport_w": 900, "viewport_h": 700,
            "rendered_w": 32}
    with survey_env() as s:
        st = get_study(s, "pilot")
        for code, dpr in (("sharp", 1), ("scaled", 1.25)):
            r = start_rater(s, st, code)
            set_display(s, r, record(parse(json.dumps({**base, "dpr": dpr})), "flag"))
            while (t := next_trial(s, r)) is not None:
                record_answer(s, r, t, t.expected or "A", "2afc", token=show(s, r, t),
                              rt_ms=900.0)
    at = page("views/survey_results.py")
    at.text_input(key="admin_token").input("s3cret-ö✓").run()
    assert not at.exception
    assert any(t.value.startswith("Display rule: a session is flagged when one image pixel")
               and t.value.endswith("left out: scaled.") for t in at.text)
    assert at.dataframe[0].value["rater"].tolist() == ["sharp"]
    at.checkbox(key="results_display").uncheck().run()
    assert sorted(at.dataframe[0].value["rater"]) == ["scaled", "sharp"]
    assert any("1 flagged session(s) kept" in t.value for t in at.text)


def test_the_form_plans_the_sample_and_results_show_achieved_power(survey_env):
    from analysis.survey.planning import judgments_needed
    from analysis.survey.store import get_study, next_trial, record_answer, show, start_rater

    at = page("views/survey_admin.py")
    at.text_input(key="admin_token_studies").input("s3cret-ö✓").run()
    at.slider(key="plan_p").set_value(0.7).run()
    assert not at.exception
    n = judgments_needed(0.7, 0.8, 0.05)
    assert any(f"needs **{n:,} judgments per pair**" in m.value for m in at.markdown)
    with survey_env() as s:
        r = start_rater(s, get_study(s, "pilot"), "x")
        while (t := next_trial(s, r)) is not None:
            record_answer(s, r, t, t.expected or "A", "2afc", token=show(s, r, t), rt_ms=900.0)
    at = page("views/survey_results.py")
    at.text_input(key="admin_token").input("s3cret-ö✓").run()
    assert not at.exception
    power = next(d.value for d in at.dataframe if "needed for 80 %" in d.value.columns)
    jod = next(d.value for d in at.dataframe if "JOD" in d.value.columns)
    assert sorted(jod["method"]) == ["sr-plain", "sr-ra"]
    pairwise = next(d.value for d in at.dataframe if "p (Holm)" in d.value.columns)
    assert len(pairwise) == 1
    assert power["judgments"].tolist() == [6] and power["needed for 80 %"].tolist() == [
        judgments_needed(0.6)]
