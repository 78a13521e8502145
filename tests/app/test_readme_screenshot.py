"""README's screenshot: the app started exactly as README says (``bash scripts/main.sh``), its
first page (Compare) at 1440 x 900 in Chromium, written to docs/images/app.png, the image
README.md shows. The file is rewritten only when the page looks different, so a run on an
unchanged app leaves the committed PNG as it is."""

import io

import numpy as np
from PIL import Image

from analysis.config import PROJECT_ROOT
from tests.app.browser_support import needs_chromium, wait_interactive

pytestmark = needs_chromium

SCREENSHOT = PROJECT_ROOT / "docs" / "images" / "app.png"
SIZE = (1440, 900)
# mean absolute difference (0-255 grey levels) below which the committed screenshot is kept
UNCHANGED = 1.0


def grey(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)


def test_readme_shows_the_screenshot():
    assert "](docs/images/app.png)" in (PROJECT_ROOT / "README.md").read_text()


def test_readme_screenshot_of_compare(app_url, browser):
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
    page.goto(f"{app_url}/")
    wait_interactive(page, "Compare outputs")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stImage"]').count() >= 4   # clean, LQ and the outputs
    png = page.screenshot()
    page.close()
    shot = grey(png)
    assert shot.shape == (SIZE[1], SIZE[0])
    assert shot.std() > 20, "the screenshot is nearly blank"
    if SCREENSHOT.exists():
        old = grey(SCREENSHOT.read_bytes())
        if old.shape == shot.shape and np.abs(old - shot).mean() < UNCHANGED:
            return
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png)
