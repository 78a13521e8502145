"""Compare in Chromium, on the app started as README says: the view toggles sit above the
panels, the zoom region is outlined on the full image, the signed difference is visible, the
wipe uses the app's button style, and "by filter" offers the lowest indices first.
Screenshots go to test-artifacts/compare_*.png."""

import io

import numpy as np
from PIL import Image

from tests.app.browser_support import (
    ARTIFACTS,
    needs_chromium,
    wait_interactive,
)

pytestmark = needs_chromium



def toggle(page, key: str):
    return page.locator(f".st-key-{key} label").first


def image_pixels(page, img) -> np.ndarray:
    data = page.evaluate("async (img) => Array.from(new Uint8Array(await (await fetch(img.src))"
                         ".arrayBuffer()))", img.element_handle())
    return np.asarray(Image.open(io.BytesIO(bytes(data))).convert("L"), dtype=np.float64)


def test_the_views_are_found_above_the_panels_and_show_something(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{app_url}/")
    wait_interactive(page, "Compare outputs")
    first_panel = page.locator('[data-testid="stImage"]').first.bounding_box()
    for key in ("compare_zoom", "compare_wipe", "compare_diff"):
        box = toggle(page, key).bounding_box()
        assert box["y"] < first_panel["y"] < 900, (key, box, first_panel)
    # the zoom region, outlined on the full image
    toggle(page, "compare_zoom").click()
    page.get_by_text("the region on the full image").wait_for(timeout=60000)
    wait_interactive(page, "Compare outputs")
    page.screenshot(path=str(ARTIFACTS / "compare_zoom.png"))
    # the signed difference, on its own scale: not a flat grey
    toggle(page, "compare_zoom").click()
    toggle(page, "compare_diff").click()
    page.get_by_text("output − plain", exact=False).first.wait_for(timeout=120000)
    wait_interactive(page, "Compare outputs")
    signed = page.locator('[data-testid="stImage"]', has_text="sr-ra − sr-plain (±").first
    signed.scroll_into_view_if_needed()
    pixels = image_pixels(page, signed.locator("img"))
    assert pixels.std() > 10 and (pixels.min() < 40 or pixels.max() > 215), pixels.std()
    page.screenshot(path=str(ARTIFACTS / "compare_signed_difference.png"))
    # the wipe: the app's button shape and primary colour
    toggle(page, "compare_diff").click()
    toggle(page, "compare_wipe").click()
    frame = page.frame_locator("iframe").first
    reset = frame.get_by_role("button", name="Reset")
    reset.wait_for(timeout=60000)
    assert reset.evaluate("b => getComputedStyle(b).borderRadius") == "8px"
    assert "Source Sans" in reset.evaluate("b => getComputedStyle(b).fontFamily")
    page.locator("iframe").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "compare_wipe.png"))
    page.close()


def test_by_filter_offers_the_lowest_indices_first(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{app_url}/")
    wait_interactive(page, "Compare outputs")
    page.locator('[data-testid="stSidebar"]').get_by_text("by filter").click()
    page.get_by_text("the first 200 (lowest indices)", exact=False).wait_for(timeout=120000)
    wait_interactive(page, "Compare outputs")
    caption = page.get_by_text("the first 200 (lowest indices)", exact=False).inner_text()
    page.get_by_label("Image", exact=True).click()
    options = [int(o.replace(",", "")) for o in
               page.get_by_role("option").all_inner_texts()[:20]]
    assert options == sorted(options) and len(options) >= 2, options
    # the lowest match of the filter comes first: the record table says which that is
    from analysis.explore.gallery import FILTERS, Query, select
    from analysis.pipeline.records import RecordTable
    from tests.app.browser_support import ROOT

    table = RecordTable.load(ROOT / "results" / "records_sr_scale4.parquet")
    q = Query("resnet20", "sr-ra", "sr-plain", filter=list(FILTERS)[0], sort="index",
              descending=False)
    want = select(table, q).indices[:20].tolist()
    assert options == want[:len(options)], (options, want, caption)
    page.keyboard.press("Escape")
    page.screenshot(path=str(ARTIFACTS / "compare_by_filter.png"))
    page.close()
