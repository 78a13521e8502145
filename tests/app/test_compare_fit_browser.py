"""Issue 40, item 4: Compare's panels fit their columns at any image size. The app started as
README says (``bash scripts/main.sh``) on the embedded default (28 px) and on a 224-px RGB
ImageFolder with a tiny zoo trained by the test; in Chromium at the README screenshot's
1440 x 900, every image of the panel grid lies inside its column's box (so no two panels
overlap), and the 224-px panels say how they are shown. Screenshots go to test-artifacts/."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analysis.cli.main import main
from analysis.config import PROJECT_ROOT
from tests.app.browser_support import ARTIFACTS, needs_chromium, start_app, stop_app, wait_interactive

pytestmark = needs_chromium
CLASSES = ("ant", "bee", "cow")
VIEWPORT = {"width": 1440, "height": 900}       # the README screenshot's
# [column box, image box] of every image in a column of the main area, in page px
_BOXES = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stColumn"]')]
    .flatMap(c => [...c.querySelectorAll('[data-testid="stImage"] img')].map(i => {
        const r = c.getBoundingClientRect(), q = i.getBoundingClientRect();
        return {column: [r.left, r.right], image: [q.left, q.right, q.width], natural: i.naturalWidth};
    }))"""


def _image_folder(root: Path, size: int) -> Path:
    """3 classes of smooth class-tinted RGB images (train 4, val 2 per class), ``size`` px."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 60, size)
    for split, n in (("train", 4), ("val", 2)):
        for k, c in enumerate(CLASSES):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = (ramp[:, None, None] + ramp[None, :, None] + 60 * k
                          + rng.integers(0, 40, (size, size, 3)))
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / c / f"{i}.png")
    return root


@pytest.fixture(scope="module", params=[28, 224])
def app(request, tmp_path_factory):
    """(url, image size): the embedded default (28 px), or a 224-px ImageFolder with a tiny
    classifier and a plain and an RA SR processor trained through the CLI (RA_* variables
    point the app at them; results/ is a copy)."""
    env = {}
    if request.param == 224:
        base = tmp_path_factory.mktemp("fit224")
        zoo, runs = base / "zoo", base / "runs"
        env = {"RA_DATASET": f"imagefolder:{_image_folder(base / 'imgs', 224)}",
               "RA_CHECKPOINTS": str(zoo), "RA_RUNS": str(runs), "RA_RESULTS": str(base / "results")}
        shutil.copytree(PROJECT_ROOT / "results", base / "results")
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            small = ["--epochs", "1", "--max-steps", "1", "--batch-size", "4", "--val-first", "4",
                     "--no-progress", "--state-dir", str(runs)]
            assert main(["train-classifier", "--arch", "resnet20", "--arch-kw", "width=4",
                         "--out", str(zoo / "r20"), *small]) == 0
            for method in ("plain", "ra"):
                extra = ["--classifier", str(zoo / "r20"), "--lambda", "0.1"] if method == "ra" else []
                assert main(["train-processor", "--task", "sr", "--method", method, "--arch-kw",
                             "channels=4,blocks=1", "--out", str(zoo / f"sr-{method}"),
                             *extra, *small]) == 0
        finally:
            for k, v in old.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    url, proc, log = start_app(f"compare_fit_{request.param}.log", **env)
    yield url, request.param
    stop_app(proc, log)


def _assert_inside_columns(page) -> list[dict]:
    """Every image of a column of the main area lies inside that column's box; the first
    row's four panels side by side. Returns the boxes."""
    boxes = page.evaluate(_BOXES)
    assert len(boxes) >= 4                      # clean target, LQ input and two outputs
    for box in boxes:
        (c0, c1), (i0, i1, _) = box["column"], box["image"]
        assert c0 - 0.5 <= i0 and i1 <= c1 + 0.5, box
    return boxes


def test_compare_panels_lie_inside_their_columns(app, browser):
    url, size = app
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{url}/")
    wait_interactive(page, "Compare outputs")
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(ARTIFACTS / f"compare_fit_{size}px.png"))
    boxes = _assert_inside_columns(page)
    measured = {"1440": boxes}
    first = [b["image"] for b in boxes[:4]]
    assert all(a[1] <= b[0] for a, b in zip(first, first[1:])), first   # side by side
    widths = {round(b["image"][2]) for b in boxes}
    natural = {b["natural"] for b in boxes}
    if size == 28:   # the embedded default as before: 6x nearest neighbour, 168 px
        assert widths == natural == {168}
    else:            # ImageNet's size in a 233 px column: pixel for pixel, said in the sidebar
        assert widths == natural == {224}
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Enlargement: none; 224 px images shown pixel for pixel" in " ".join(sidebar.split())
    # the synced zoom (a region enlarged to fill the panel) and the difference views fit too
    page.get_by_text("Synced zoom on a region", exact=True).click()
    page.get_by_text("the region on the full image").wait_for(timeout=120000)
    wait_interactive(page, "Compare outputs")
    page.get_by_text("Difference views", exact=True).click()
    page.get_by_role("heading", name="Difference views").wait_for(timeout=120000)
    wait_interactive(page, "Compare outputs")
    assert page.locator('[data-testid="stException"]').count() == 0
    panels = len(boxes)
    boxes = _assert_inside_columns(page)
    # the panels, the outlined region, |output - target| and FLIP of each output, output - plain
    assert len(boxes) >= panels + 1 + 2 * (panels - 1) + 1
    measured["1440 zoom + differences"] = boxes
    page.screenshot(path=str(ARTIFACTS / f"compare_fit_{size}px_zoom.png"))
    # a window narrower than the column budget: the browser shrinks the panels into their columns
    page.set_viewport_size({"width": 1280, "height": 900})
    wait_interactive(page, "Compare outputs")
    measured["1280 zoom + differences"] = _assert_inside_columns(page)
    page.screenshot(path=str(ARTIFACTS / f"compare_fit_{size}px_1280.png"))
    (ARTIFACTS / f"compare_fit_{size}px.json").write_text(json.dumps(measured, indent=1))
    page.close()
