"""Boundaries in Chromium, on the app started as README says: a click on a map puts a ring on
every map at the clicked grid point and brings the image at that point into view; the "ECDF"
toggle draws an ECDF (monotone steps on a log x axis). Screenshots go to
test-artifacts/boundaries_*.png."""

import numpy as np

from analysis.analyses.boundary_defaults import MAP_RESOLUTION
from tests.app.browser_support import (
    ARTIFACTS,
    MAP_IMAGES,
    needs_chromium,
    wait_interactive,
)

pytestmark = needs_chromium



def test_a_click_marks_the_grid_point_and_shows_its_image(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{app_url}/boundaries")
    wait_interactive(page, "Decision boundaries")
    res = MAP_RESOLUTION                              # the page opens on it
    first = page.locator(MAP_IMAGES).first
    box = first.bounding_box()
    fx, fy = 0.23, 0.71                               # a point away from the two fixed markers
    first.click(position={"x": fx * box["width"], "y": fy * box["height"]})
    page.wait_for_function("() => { const m = document.querySelector('.ra-map .ra-marker');"
                           " return m && m.style.display === 'block'; }", timeout=60000)
    wait_interactive(page, "Decision boundaries")
    # the image at that point scrolls into view (smoothly, once it has loaded)
    page.wait_for_function("() => { const i = document.querySelector('.st-key-bd_point img');"
                           " if (!i || !i.complete) return false;"
                           " const r = i.getBoundingClientRect();"
                           " return r.top >= 0 && r.bottom <= window.innerHeight; }",
                           timeout=15000)
    rings = page.locator(".ra-map .ra-marker")
    assert rings.count() == page.locator(MAP_IMAGES).count() >= 2       # on every map
    # the ring's centre relative to its map, both read in one frame (the page may still scroll)
    ring = page.evaluate("""() => {
        const map = document.querySelector('.ra-map');
        const m = map.querySelector('img').getBoundingClientRect();
        const r = map.querySelector('.ra-marker').getBoundingClientRect();
        return {x: (r.x + r.width / 2 - m.x) / m.width, y: (r.y + r.height / 2 - m.y) / m.height,
                width: m.width, height: m.height}; }""")
    j, i = int(fx * res), int(fy * res)               # the grid point under the click
    want = ((j + 0.5) / res, (i + 0.5) / res)
    offset = np.hypot((ring["x"] - want[0]) * ring["width"], (ring["y"] - want[1]) * ring["height"])
    assert offset < 1.5, (ring, want)
    page.wait_for_timeout(300)                        # the scroll's last frames
    # the image at that point and its predictions are on screen
    point = page.locator(".st-key-bd_point img").first.bounding_box()
    assert 0 <= point["y"] and point["y"] + point["height"] <= 900, point
    page.screenshot(path=str(ARTIFACTS / "boundaries_clicked.png"))
    # the sliders move the ring too (a fragment rerun: the maps are not redrawn)
    relative = """() => {
        const r = document.querySelector('.ra-map .ra-marker').getBoundingClientRect();
        const m = document.querySelector('.ra-map img').getBoundingClientRect();
        return r.x + r.width / 2 - m.x; }"""
    before = page.evaluate(relative)
    slider = page.locator(".st-key-bd_point").get_by_role("slider").first   # u along d_RA
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.wait_for_function(f"(b) => Math.abs(({relative})() - b) > 2", arg=before, timeout=60000)
    assert page.evaluate(relative) > before                     # u grows to the right
    page.close()


def test_the_ecdf_toggle_draws_a_monotone_ecdf_on_a_log_axis(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{app_url}/boundaries")
    wait_interactive(page, "Decision boundaries")
    toggle = page.get_by_text("Show the BD distributions (ECDF)")
    toggle.scroll_into_view_if_needed()
    toggle.click()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=120000)
    wait_interactive(page, "Decision boundaries")
    drawn = page.evaluate("""() => {
        const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        return {types: ['xaxis', 'xaxis2', 'xaxis3'].map(a => gd._fullLayout[a].type),
                traces: gd._fullData.map(t => ({x: Array.from(t.x), y: Array.from(t.y),
                                                shape: t.line.shape}))}; }""")
    assert drawn["types"] == ["log", "log", "log"]
    assert len(drawn["traces"]) == 6
    for t in drawn["traces"]:
        assert t["shape"] == "hv"
        assert np.all(np.diff(t["x"]) >= 0) and np.all(np.diff(t["y"]) > 0)
        assert 0 < t["y"][0] and t["y"][-1] <= 1
    page.locator('[data-testid="stPlotlyChart"]').first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "boundaries_ecdf.png"))
    page.close()
