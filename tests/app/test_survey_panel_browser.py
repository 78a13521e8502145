"""A Prolific rater end to end in headless Chromium: the researcher sets the study's panel
settings on the management page; a rater opens the link with PROLIFIC_PID / STUDY_ID /
SESSION_ID, consents, answers by keyboard and is sent to the completion URL with the code
(Prolific's address is intercepted: this machine has no internet); the ids are in the export;
a rater who declines consent is sent to the return URL and nothing about them is stored."""

import csv
import io

import pytest

from tests.app.browser_support import CHROMIUM, start_app, stop_app, wait_interactive
from tests.app.test_survey_browser import TOKEN, admin, key_to_next_trial, settled

DONE = "https://app.prolific.com/submissions/complete"
IDS = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "64aa00bb11cc22dd33ee44ff",
       "SESSION_ID": "s3ss10n42"}

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def app(tiny_zoo, tmp_path_factory):
    """The app as README starts it, with one 2AFC study of two trials and no panel yet."""
    from analysis.survey.db import make_engine, session_factory
    from analysis.survey.design import create_study, design_2afc
    from tests.conftest import SYNTH

    db = f"sqlite:///{tmp_path_factory.mktemp('survey-panel') / 'survey.db'}"
    Session = session_factory(make_engine(db))
    with Session() as s:
        create_study(s, "prolific", "2afc", "sr", design_2afc(["sr-plain", "sr-ra"], [0, 1, 2],
                                                              2, 0.0, 0), {"dataset": SYNTH})
    url, proc, log = start_app("survey-panel.log", SURVEY_DB_URL=db, RA_DATASET=SYNTH,
                               RA_CHECKPOINTS=str(tiny_zoo), SURVEY_ADMIN_TOKEN=TOKEN,
                               RA_PRELOAD="0")
    yield url, Session
    stop_app(proc, log)


def intercept(context, seen: list):
    """Answer every request to Prolific with a stub page, recording its address."""
    def handle(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Prolific stub</h1>")
    context.route("https://app.prolific.com/**", handle)


def test_a_prolific_rater_is_sent_back_with_the_code_and_a_decliner_to_the_return_url(app, browser):
    from analysis.survey.store import answer_rows, export_csv, get_study

    url, Session = app
    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    admin(page, url, "survey_admin")
    page.get_by_text("Recruitment panel").click()
    for label, value in (("Completion URL", DONE), ("Completion code", "C1X2Y3Z4"),
                         ("Return URL", DONE + "?cc=NOCONSENT")):
        page.get_by_label(label, exact=False).fill(value)       # a form: no rerun per field
    page.get_by_role("button", name="Save panel settings").click()
    page.get_by_text("Panel settings saved.").wait_for(timeout=60000)

    link = f"{url}/survey?study=prolific&" + "&".join(f"{k}={v}" for k, v in IDS.items())
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    seen = []
    intercept(ctx, seen)
    rater = ctx.new_page()
    rater.goto(link)
    wait_interactive(rater, "Survey")
    rater.get_by_text("Your panel id (PROLIFIC_PID, STUDY_ID, SESSION_ID)").wait_for()
    rater.get_by_role("button", name="I agree, start").click()
    rater.get_by_text("0 of 2 answered").wait_for(timeout=60000)
    settled(rater)
    assert IDS["PROLIFIC_PID"] not in rater.url                # the ids leave the address bar
    key_to_next_trial(rater, "ArrowLeft")
    rater.keyboard.press("2")
    rater.wait_for_url(f"{DONE}?cc=C1X2Y3Z4", timeout=60000)   # the completion redirect
    assert seen == [f"{DONE}?cc=C1X2Y3Z4"]

    with Session() as s:
        study = get_study(s, "prolific")
        assert [r["answer"] for r in answer_rows(s, study)] == ["A", "B"]
        exported = list(csv.DictReader(io.StringIO(export_csv(s, study, mark=False))))
    assert [{k: r[k] for k in IDS} for r in exported] == [IDS, IDS]

    # a second participant declines: sent to the return URL, nothing stored
    ctx2 = browser.new_context(viewport={"width": 1300, "height": 1000})
    seen2 = []
    intercept(ctx2, seen2)
    other = ctx2.new_page()
    other.goto(link.replace(IDS["PROLIFIC_PID"], "6a6a6a6a6a6a6a6a6a6a6a6a"))
    wait_interactive(other, "Survey")
    assert IDS["PROLIFIC_PID"] not in other.content()          # another rater's id: never shown
    other.get_by_role("button", name="I do not agree").click()
    other.wait_for_url(f"{DONE}?cc=NOCONSENT", timeout=60000)
    assert seen2 == [f"{DONE}?cc=NOCONSENT"]
    with Session() as s:
        from analysis.survey.store import study_progress
        assert study_progress(s, get_study(s, "prolific"))["raters"] == 1
