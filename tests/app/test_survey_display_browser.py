"""The display check in headless Chromium: a rater at deviceScaleFactor 1.25 is flagged and goes
on (a "flag" study); one at a page zoom of 125 % is refused and sent to the return URL (a
"refuse" study); one at 1.0 passes. The measurements are stored with each rater."""

import pytest

from tests.app.browser_support import CHROMIUM, start_app, stop_app, wait_interactive
from tests.app.test_survey_browser import TOKEN, settled

BACK = "https://app.prolific.com/submissions/complete?cc=NOSCREEN"

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def app(tiny_zoo, tmp_path_factory):
    from analysis.survey.db import make_engine, session_factory
    from analysis.survey.design import create_study, design_2afc
    from analysis.survey.store import get_study, set_panel
    from tests.conftest import SYNTH

    db = f"sqlite:///{tmp_path_factory.mktemp('survey-display') / 'survey.db'}"
    Session = session_factory(make_engine(db))
    with Session() as s:
        for name, policy in (("flagging", "flag"), ("refusing", "refuse")):
            create_study(s, name, "2afc", "sr", design_2afc(["sr-plain", "sr-ra"], [0, 1], 2, 0, 0),
                         {"dataset": SYNTH, "display_check": policy})
        set_panel(s, get_study(s, "refusing"), return_url=BACK)
    url, proc, log = start_app("survey-display.log", SURVEY_DB_URL=db, RA_DATASET=SYNTH,
                               RA_CHECKPOINTS=str(tiny_zoo), SURVEY_ADMIN_TOKEN=TOKEN,
                               RA_PRELOAD="0")
    yield url, Session
    stop_app(proc, log)


def start(browser, url, study, code, scale=1.0, zoom=None):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=scale)
    seen = []
    ctx.route("https://app.prolific.com/**", lambda route: (
        seen.append(route.request.url),
        route.fulfill(status=200, content_type="text/html", body="<h1>stub</h1>")))
    page = ctx.new_page()
    page.goto(f"{url}/survey?study={study}")
    wait_interactive(page, "Survey")
    if zoom:                                    # the page zoomed in (visualViewport.scale)
        ctx.new_cdp_session(page).send("Emulation.setPageScaleFactor", {"pageScaleFactor": zoom})
    page.get_by_label("Participant code", exact=False).fill(code)
    page.get_by_role("button", name="I agree, start").click()
    return page, seen


def stored(Session, code):
    from sqlalchemy import select

    from analysis.survey.db import Rater

    with Session() as s:
        return s.scalar(select(Rater.display).where(Rater.code == code))


def test_scaled_and_zoomed_displays_are_flagged_or_refused_and_100_percent_passes(app, browser):
    url, Session = app
    page, _ = start(browser, url, "flagging", "dsf125", scale=1.25)
    page.get_by_text("0 of 2 answered").wait_for(timeout=60000)     # flagged, goes on
    assert "display=" not in page.url
    d = stored(Session, "dsf125")
    assert d["outcome"] == "flagged" and d["dpr"] == 1.25 and d["device_px_per_px"] == 1.25

    page, seen = start(browser, url, "refusing", "zoom125", zoom=1.25)
    page.get_by_text("this study cannot be done on it").wait_for(timeout=60000)
    d = stored(Session, "zoom125")
    assert d["outcome"] == "refused" and d["visual_scale"] == 1.25 and d["dpr"] == 1
    page.wait_for_url(BACK, timeout=30000)                            # back to the panel
    assert seen == [BACK]

    page, _ = start(browser, url, "refusing", "plain100")
    page.get_by_text("0 of 2 answered").wait_for(timeout=60000)
    settled(page)
    d = stored(Session, "plain100")
    assert d["outcome"] == "ok" and d["device_px_per_px"] == 1.0
    assert d["viewport_w"] == 1200 and d["viewport_h"] == 900
