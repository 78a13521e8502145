"""AppTest of the survey pages: consent, answering, resuming, and the token-guarded results."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import SYNTH

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def survey_env(monkeypatch, tiny_zoo, tmp_path):
    from analysis.explore.workspace import Workspace
    from analysis.survey.content import study_from_zoo
    from analysis.survey.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    monkeypatch.setenv("SURVEY_DB_URL", url)
    monkeypatch.setenv("RA_CHECKPOINTS", str(tiny_zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("SURVEY_ADMIN_TOKEN", "s3cret")
    Session = session_factory(make_engine(url))
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    with Session() as s:
        study_from_zoo(s, ws, "pilot", "2afc", ["sr-plain", "sr-ra"], n_images=5, n_trials=6,
                       catch_rate=0.25, seed=0)
    return Session


def page(path, rater=None):
    at = AppTest.from_file(MAIN, default_timeout=120)
    if rater:
        at.query_params["rater"] = rater
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def answers(Session):
    from analysis.survey.store import answer_rows, get_study

    with Session() as s:
        return answer_rows(s, get_study(s, "pilot"))


def test_consent_answer_reload_resume(survey_env):
    at = page("views/survey.py")
    assert any("Before you start" in h.value for h in at.subheader)
    at.button(key="survey_consent").click().run()
    code = at.query_params["rater"]
    assert code
    assert "0 of 8 answered" in at.get("progress")[0].proto.text
    first = [b for b in at.button if b.key.startswith("answer_")][0]
    first.click().run()
    assert not at.exception
    assert "1 of 8 answered" in at.get("progress")[0].proto.text
    # a reload with the same rater id resumes at the next trial
    again = page("views/survey.py", rater=code)
    assert "1 of 8 answered" in again.get("progress")[0].proto.text
    rows = answers(survey_env)
    assert len(rows) == 1 and rows[0]["rater"] == code and rows[0]["position"] == 0


def test_results_refuse_a_wrong_token_and_open_with_the_right_one(survey_env):
    at = page("views/survey_results.py")
    at.text_input(key="admin_token").input("wrong").run()
    assert [e.value for e in at.error] == ["Wrong token."]
    assert len(at.dataframe) == 0
    at.text_input(key="admin_token").input("s3cret").run()
    assert not at.error
    assert any("No answers yet" in i.value for i in at.info)
