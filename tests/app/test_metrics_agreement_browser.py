"""The Metrics page's agreement section in a real browser (the app started as README says) on
the shipped zoo: the sortable table and the metric-against-margin scatter are drawn, and a click
on a point opens that test image in Compare."""

import shutil

from analysis.config import PROJECT_ROOT
from tests.app.browser_support import ARTIFACTS, needs_chromium, start_app, stop_app, wait_interactive

pytestmark = needs_chromium


def test_a_click_on_a_scatter_point_opens_its_image_in_compare(browser, tmp_path):
    from analysis.analyses.metric_agreement import metric_agreement, save_agreement

    results = tmp_path / "results"
    results.mkdir()
    for name in ("evaluate_sr_scale4.json", "quality_sr_scale4.json"):
        shutil.copy(PROJECT_ROOT / "results" / name, results / name)
    result = metric_agreement("sr", metrics=["psnr", "ssim"], limit=12, n_boot=50,
                              batch_size=12, device="cpu", progress=False)
    save_agreement(result, results)
    images = result.images
    clf = result["classifiers"][0]
    right = images[images[f"correct|sr-ra|{clf}"]]          # the scatter's first trace, in order
    k = next(j for j, i in enumerate(right["index"]) if i != 0)   # Compare opens on 0 anyway
    expected = int(right["index"].iloc[k])

    url, proc, log = start_app("metrics_agreement.log", RA_RESULTS=str(results), RA_PRELOAD="0")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/metrics")
        wait_interactive(page, "Metrics")
        heading = page.get_by_role("heading", name="Which metrics track recognition, per image")
        heading.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "metrics_agreement_table.png"))
        chart = page.locator('[data-testid="stPlotlyChart"]').filter(
            has_text=f"psnr against the margin of {clf}")
        chart.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "metrics_agreement_scatter.png"))
        assert chart.locator(".scatterlayer .trace").count() == 2        # right and wrong
        assert chart.locator(".scatterlayer .point").count() == len(images)
        # plotly hit-tests clicks on its drag layer, which lies over the points
        chart.locator(".scatterlayer .trace").first.locator(".point").nth(k).click(force=True)
        page.get_by_role("heading", name="Compare outputs").wait_for(timeout=120000)
        wait_interactive(page, "Compare outputs")
        page.screenshot(path=str(ARTIFACTS / "metrics_agreement_opened.png"))
        assert page.get_by_text(f"Test image {expected} ", exact=False).count() >= 1
    finally:
        stop_app(proc, log)
