"""The app started exactly as README says, with no admin token anywhere (no SURVEY_ADMIN_TOKEN,
no TOML settings): every page opens without an exception box and the admin pages say how to
set a token; a mistyped rater link leaves the researcher's browser as it was, a valid one shows
the rater flow alone, its admin pages stay reachable, and "Leave rater mode" brings the
navigation back. Screenshots go to test-artifacts/default_*.png."""

import pytest

from tests.app.browser_support import (
    ARTIFACTS,
    needs_chromium,
    start_app,
    stop_app,
    wait_interactive,
)

PAGES = [("", "Compare outputs"), ("gallery", "Gallery"), ("metrics", "Metrics"),
         ("boundaries", "Decision boundaries"), ("features", "Feature space"),
         ("survey", "Survey"), ("survey_admin", "Survey studies"),
         ("survey_results", "Survey results")]
NAV = '[data-testid="stSidebarNav"]'

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """bash scripts/main.sh on the embedded default, without any admin token (an empty
    $SURVEY_ADMIN_TOKEN counts as none; $RA_EXPLORER_CONFIG names a file that is not there)."""
    tmp = tmp_path_factory.mktemp("default-start")
    url, proc, log = start_app("default-start.log", SURVEY_ADMIN_TOKEN="",
                               RA_EXPLORER_CONFIG=str(tmp / "no-settings.toml"),
                               SURVEY_DB_URL=f"sqlite:///{tmp / 'survey.db'}")
    yield url
    stop_app(proc, log)


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0, \
        page.locator('[data-testid="stException"]').first.inner_text()


def test_a_visitor_arriving_at_once_sees_the_start_up_not_a_blank_page(app_url, browser):
    """The module's first visit comes as soon as the health check answers, while the warm-up
    behind the server still imports the libraries: the page says it is starting up (or, on a
    machine that imported them already, shows itself), then opens."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{app_url}/boundaries")
    page.wait_for_function("""() => /Starting up: loading torch/.test(document.body.innerText)
        || !!document.querySelector('h1')""", timeout=10000)
    page.screenshot(path=str(ARTIFACTS / "default_at_once.png"))
    wait_interactive(page, "Decision boundaries")
    assert page.get_by_text("Starting up", exact=False).count() == 0
    no_exception(page)
    page.close()


def test_every_page_opens_without_a_token(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    for path, title in PAGES:
        page.goto(f"{app_url}/{path}")
        wait_interactive(page, title)
        no_exception(page)
        if path.startswith("survey_"):
            page.get_by_text("no admin token is set").wait_for(timeout=30000)
            assert page.get_by_text("SURVEY_ADMIN_TOKEN=").count() == 1
            page.screenshot(path=str(ARTIFACTS / f"default_{path}.png"), full_page=True)
    page.close()


def test_a_mistyped_rater_link_does_not_lock_the_researcher_out(app_url, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.goto(f"{app_url}/survey?study=typo")
    wait_interactive(page, "Survey")
    page.get_by_text("There is no survey at this address").wait_for(timeout=30000)
    page.screenshot(path=str(ARTIFACTS / "default_rater_typo.png"), full_page=True)
    # the browser is not held (no cookie): no "Leave rater mode", a plain way to the pages
    assert page.get_by_role("button", name="Leave rater mode").count() == 0
    page.get_by_role("button", name="Open the app's pages").click()
    page.locator(NAV).wait_for(timeout=60000)
    page.goto(f"{app_url}/")                       # the same browser: the full app is back
    wait_interactive(page, "Compare outputs")
    assert page.locator(NAV).count() == 1
    assert page.locator(NAV).get_by_role("link", name="Survey studies").count() == 1
    no_exception(page)

    # a valid link (the demo study of the first start): the rater flow alone, on any address
    page.goto(f"{app_url}/survey?study=demo")
    wait_interactive(page, "Survey")
    page.get_by_role("button", name="I agree, start").wait_for(timeout=30000)
    assert page.locator(NAV).count() == 0
    page.goto(f"{app_url}/metrics")
    wait_interactive(page, "Survey")
    assert page.locator(NAV).count() == 0
    assert page.get_by_role("heading", name="Metrics").count() == 0
    # ... except the admin pages, which say where the navigation went
    page.goto(f"{app_url}/survey_admin")
    wait_interactive(page, "Survey studies")
    page.get_by_text("This browser is in rater mode").wait_for(timeout=30000)
    no_exception(page)
    # the way back: the button at the foot of the rater flow
    page.goto(f"{app_url}/")
    wait_interactive(page, "Survey")
    leave = page.get_by_role("button", name="Leave rater mode")
    assert leave.count() == 1
    page.screenshot(path=str(ARTIFACTS / "default_rater_valid.png"), full_page=True)
    leave.click()
    page.locator(NAV).wait_for(timeout=60000)
    page.goto(f"{app_url}/")                       # a new page load: the cookie is gone
    wait_interactive(page, "Compare outputs")
    assert page.locator(NAV).count() == 1
    no_exception(page)
    ctx.close()
