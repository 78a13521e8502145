"""Metrics' "Recompute now" in a real browser (the app started as README says): a background job
with a progress bar and Cancel that leaves the page usable, and, with a checkpoint folder holding
a processor whose weights are NaN, one sentence naming the file, no traceback."""

import torch

from analysis.config import PROJECT_ROOT
from analysis.zoo.checkpoints import load_checkpoint, save_checkpoint
from tests.app.browser_support import (
    ARTIFACTS,
    needs_chromium,
    start_app,
    stop_app,
    wait_interactive,
)

pytestmark = needs_chromium


def nan_zoo(folder):
    """resnet20 and sr-plain as shipped, and an sr-ra whose first tensor is NaN (its card
    holds the digest of those weights: only the values are wrong)."""
    folder.mkdir()
    for name in ("resnet20", "sr-plain"):
        for suffix in (".json", ".safetensors"):
            (folder / f"{name}{suffix}").write_bytes(
                (PROJECT_ROOT / "checkpoints" / f"{name}{suffix}").read_bytes())
    model, card = load_checkpoint(PROJECT_ROOT / "checkpoints" / "sr-ra")
    with torch.no_grad():
        next(iter(model.parameters())).fill_(float("nan"))
    kept = {k: v for k, v in card.items() if k not in ("weights", "path", "created", "version")}
    save_checkpoint(model, kept, folder / "sr-ra")
    return folder


def test_recompute_with_nan_weights_says_one_sentence(browser, tmp_path):
    zoo = nan_zoo(tmp_path / "zoo")
    url, proc, log = start_app("metrics_nan.log", RA_CHECKPOINTS=str(zoo),
                               RA_RESULTS=str(tmp_path / "results"), RA_PRELOAD="0")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/metrics")
        wait_interactive(page, "Metrics")
        page.get_by_role("button", name="Recompute now").click()
        alert = page.get_by_text("was not computed:", exact=False)
        alert.wait_for(timeout=120000)
        wait_interactive(page, "Metrics")
        page.screenshot(path=str(ARTIFACTS / "metrics_nan_recompute.png"), full_page=True)
        text = alert.inner_text()
        assert text.startswith("The evaluation was not computed: sr-ra.safetensors holds NaN "
                               "values"), text
        assert "retrain the model" in text and text.count(". ") == 0, text
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("Traceback").count() == 0
        assert page.get_by_text("CheckpointError").count() == 0
    finally:
        stop_app(proc, log)


def test_recompute_runs_in_the_background_and_cancel_keeps_nothing(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url + "/metrics")
    wait_interactive(page, "Metrics")
    shown = page.locator(".js-plotly-plot").count()      # the saved matrix's charts
    page.get_by_role("button", name="Recompute now").click()
    bar = page.get_by_text("Evaluating:", exact=False).first
    bar.wait_for(timeout=30000)
    # the bar moves (twice a second) while the rest of the page stays there and usable
    page.wait_for_function("() => /Evaluating: [1-9][\\d,]* \\/ 500 images/.test("
                           "document.body.innerText)", timeout=120000)
    assert page.get_by_role("button", name="Recompute now").is_disabled()
    assert page.locator(".js-plotly-plot").count() == shown
    page.screenshot(path=str(ARTIFACTS / "metrics_background_job.png"), full_page=True)
    page.get_by_role("button", name="Cancel").click()
    note = page.get_by_text("The evaluation was cancelled after", exact=False)
    note.wait_for(timeout=60000)
    wait_interactive(page, "Metrics")
    assert page.get_by_text("Shown: computed here", exact=False).count() == 0   # nothing kept
    assert page.get_by_role("button", name="Recompute now").is_enabled()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
