"""A visibility-threshold study in headless Chromium: a rater plays a short 3AFC staircase
(practice first) with the keyboard only; every answer is stored once, with the interval the
key names. Screenshot: test-artifacts/survey_visibility.png."""

import pytest

from tests.app.browser_support import ARTIFACTS, wait_interactive
from tests.app.test_survey_browser import (  # noqa: F401 - the fixture
    CHROMIUM,
    app,
    key_to_next_trial,
    progress_text,
    settled,
)

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (apt-get install chromium)")


def test_a_rater_plays_a_3afc_visibility_staircase_by_keyboard(app, browser, tiny_zoo):  # noqa: F811
    from analysis.explore.workspace import Workspace
    from analysis.survey.content import study_from_zoo
    from analysis.survey.store import answer_rows, get_study
    from tests.conftest import SYNTH

    url, Session = app
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    with Session() as s:
        study_from_zoo(s, ws, "seen", "visibility", ["sr-plain", "sr-ra"], n_images=2,
                       afc=3, trials_per_image=3, n_practice=1, seed=0)
    rater = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    rater.goto(f"{url}/survey?study=seen")
    wait_interactive(rater, "Survey")
    rater.get_by_role("button", name="I agree, start").click()
    rater.get_by_text("Practice 1 of 1 (not counted)").wait_for(timeout=60000)
    settled(rater)
    rater.get_by_text("Which image differs from the other two?").wait_for(timeout=30000)
    assert rater.locator(".st-key-trial img").count() == 3
    rater.screenshot(path=str(ARTIFACTS / "survey_visibility.png"), full_page=True)
    keys = ["2", "ArrowLeft", "ArrowDown", "ArrowRight", "1", "2", "3"]
    for key in keys:
        key_to_next_trial(rater, key)
    rater.get_by_text("Your completion code:").wait_for(timeout=60000)
    with Session() as s:
        rows = answer_rows(s, get_study(s, "seen"), practice=True)
    assert [r["answer"] for r in rows] == ["B", "A", "B", "C", "A", "B", "C"]
    assert [r["is_practice"] for r in rows] == [True] + [False] * 6
    assert len({r["trial_id"] for r in rows}) == 7                  # each answer once
    assert all(r["rt_ms"] is not None for r in rows)
