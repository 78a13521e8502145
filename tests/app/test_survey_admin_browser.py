"""The survey's admin pages in Chromium, on the app started as README says with a token: a study
just created is the one "Manage a study" shows, at once, with its stated trial total (catch
trials included) and a copy button shown without hovering; when every rater is excluded the
results page names the reason where its tables would be empty. Screenshots go to
test-artifacts/survey_admin_*.png."""

import pytest

from tests.app.browser_support import (
    ARTIFACTS,
    needs_chromium,
    start_app,
    stop_app,
    wait_interactive,
)
from tests.app.test_survey_browser import admin, settled

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from analysis.survey.db import make_engine, session_factory
    from tests.app.test_survey_browser import TOKEN

    tmp = tmp_path_factory.mktemp("survey-admin")
    db = f"sqlite:///{tmp / 'survey.db'}"
    url, proc, log = start_app("survey-admin.log", SURVEY_ADMIN_TOKEN=TOKEN, SURVEY_DB_URL=db,
                               RA_EXPLORER_CONFIG=str(tmp / "none.toml"))
    yield url, session_factory(make_engine(db))
    stop_app(proc, log)


def test_a_new_study_is_managed_at_once_with_its_stated_total(app, browser):
    from analysis.survey.store import get_study, trial_count

    url, Session = app
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    admin(page, url, "survey_admin")
    wait_interactive(page, "Survey studies")
    page.get_by_role("textbox", name="Name").fill("fresh")
    page.get_by_role("textbox", name="Name").press("Enter")
    settled(page)
    box = page.get_by_label("Trials per rater (catch trials included)")
    box.fill("6")
    box.press("Enter")
    settled(page)
    page.get_by_text("Each rater answers 6 trials: 5 comparing methods and 1 catch").wait_for()
    page.get_by_role("button", name="Create study").click()
    page.get_by_text("Study created").wait_for(timeout=60000)
    settled(page)
    # no other widget touched: the study is chosen under "Manage a study"
    assert page.locator(".st-key-manage_study input").input_value() == "fresh"
    page.locator('[data-testid="stCode"]', has_text="/survey?study=fresh").first.wait_for()
    copy = page.locator('[data-testid="stCode"] button[aria-label="Copy to clipboard"]').first
    page.mouse.move(0, 0)                                    # nothing hovered
    assert copy.evaluate("b => getComputedStyle(b).visibility") == "visible"
    assert copy.evaluate("b => getComputedStyle(b.parentElement.parentElement.parentElement"
                         ".parentElement).opacity") == "1"
    page.screenshot(path=str(ARTIFACTS / "survey_admin_created_managed.png"), full_page=True)
    with Session() as s:
        assert trial_count(s, get_study(s, "fresh")) == 6   # 5 + 1 catch, as stated
    page.close()


def test_empty_results_name_the_exclusion(app, browser):
    from analysis.survey.store import get_rater, get_study, next_trial, record_answer, show

    url, Session = app
    with Session() as s:                     # one rater, answering every trial in 0.3 s
        study = get_study(s, "demo")
        rater = get_rater(s, study, "quick")
        while (trial := next_trial(s, rater)) is not None:
            record_answer(s, rater, trial, trial.expected or "A", study.kind,
                          token=show(s, rater, trial), rt_ms=300.0)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    admin(page, url, "survey_results")
    wait_interactive(page, "Survey results")
    page.get_by_label("Study", exact=True).click()
    page.get_by_role("option", name="demo").click()
    page.get_by_text("The only rater is excluded by the rule (quick: too fast)").wait_for(
        timeout=60000)
    settled(page)
    # preferences, achieved power, Bradley-Terry, Thurstone scores, pairwise tests, rater
    # outlier scores, metric-human agreement
    assert page.get_by_text("Empty: the only rater is excluded (too fast).").count() == 7
    page.screenshot(path=str(ARTIFACTS / "survey_admin_results_excluded.png"), full_page=True)
    page.close()
