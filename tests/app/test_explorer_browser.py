"""The explorer in Chromium, on the embedded default started as README says: gallery counts and
clicks, Compare's kept state and wipe, the Boundaries instrument (click, sliders, pixels), the
t-SNE lasso. Interaction times (widget change to the end of the run) go to
test-artifacts/explorer_times.json; BENCHMARKS.md quotes them. The first views are timed once the
launcher's warm-up behind the server has ended (a visitor arriving during it:
benchmarks/bench_first_view.py)."""

import io
import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analysis.analyses.features import default_sources
from tests.app.browser_support import (
    ARTIFACTS,
    GRID_IMAGES,
    MAP_IMAGES,
    WARMED_LINES,
    canvas_mapping,
    drag_path,
    hover_tooltip_image,
    isolated_point,
    machine_reference,
    mark_start,
    needs_chromium,
    wait_for_log,
    wait_interactive,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = needs_chromium
TIMES: dict[str, list[float]] = {}
PREFETCH_VIEWING_MS = 12000   # how long the test looks at an image before moving on


@pytest.fixture(scope="module")
def app_url(default_app):
    url, proc, log_path = default_app
    wait_for_log(log_path, proc, WARMED_LINES)                    # first views of a warm app
    yield url
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {k: {"n": len(v), "median_s": statistics.median(v), "max_s": max(v)}
               for k, v in TIMES.items()}
    every = sorted(t for k, v in TIMES.items() if not k.startswith("first view") for t in v)
    if every:
        summary["all interactions"] = {"n": len(every), "p95_s": every[
            min(len(every) - 1, int(0.95 * len(every)))], "max_s": every[-1]}
    summary["machine"] = machine_reference()       # after the timings, so as not to slow them
    (ARTIFACTS / "explorer_times.json").write_text(json.dumps(summary, indent=2) + "\n")


def timed(page, title: str, what: str, action) -> float:
    """Run ``action`` (a widget change), wait until the page is complete, record the time.

    The clock starts just before ``action``, so ``action`` is the widget change itself (the
    click on an option, the mouse release of a drag); what leads up to it without changing a
    widget (opening a dropdown, the drag's moves) is done before the call."""
    mark_start(page)
    action()
    seconds = wait_interactive(page, title)
    TIMES.setdefault(what, []).append(seconds)
    assert page.locator('[data-testid="stException"]').count() == 0
    return seconds


def timed_choice(page, title: str, what: str, label: str, option: str) -> float:
    """Open the dropdown ``label``, then time the click on ``option`` (the widget change)."""
    box = page.get_by_label(label, exact=True).first
    box.scroll_into_view_if_needed()   # a dropdown below the fold takes its first click as a scroll
    box.click()
    return timed(page, title, what,
                 lambda: page.get_by_role("option", name=option, exact=True).click())


def open_page(page, url: str, title: str, what: str) -> float:
    page.goto(url)
    seconds = wait_interactive(page, title)
    TIMES.setdefault(what, []).append(seconds)
    return seconds


def open_views(page, url: str, title: str, name: str) -> None:
    """Open ``url`` twice in ``page`` (a new browser context) and time both first views: a
    new visitor's (empty HTTP cache: Streamlit's JavaScript chunks are fetched and compiled)
    and a returning visitor's (the chunks cached, as Streamlit serves them immutable for a
    year; a new session on the server all the same)."""
    open_page(page, url, title, f"first view: {name} (new browser)")
    open_page(page, url, title, f"first view: {name} (returning browser)")


def shown_png(page, caption_part: str) -> np.ndarray:
    """The pixels of the image whose caption contains ``caption_part``."""
    figure = page.locator('[data-testid="stImage"]', has_text=caption_part).first
    src = figure.locator("img").get_attribute("src")
    data = page.evaluate("async (u) => { const r = await fetch(u); const b = new Uint8Array("
                         "await r.arrayBuffer()); return Array.from(b); }", src)
    return np.asarray(Image.open(io.BytesIO(bytes(data))))


def test_gallery_count_matches_the_record_table_and_opens_compare(app_url, browser):
    from analysis.pipeline.records import RecordTable

    table = RecordTable.load(ROOT / "results" / "records_sr_scale4.parquet")
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    open_views(page, app_url + "/gallery", "Gallery", "gallery")
    expected = int((table.correct("sr-ra", "resnet20")
                    & ~table.correct("sr-plain", "resnet20")).sum())
    page.get_by_text(f"{expected:,} of 10,000 test images", exact=False).wait_for()
    for name in ("methods disagree", "all wrong", "A and B disagree", "A right, B wrong"):
        timed_choice(page, "Gallery", "gallery filter over 10,000 images", "Filter", name)
    timed_choice(page, "Gallery", "gallery sort", "Sort by", "confidence A - B")
    page.screenshot(path=str(ARTIFACTS / "explorer_gallery.png"), full_page=True)
    first = page.locator(".ra-grid figure").first
    index = int(first.locator("figcaption").inner_text().split()[0].lstrip("#"))
    assert page.locator(GRID_IMAGES).count() == 24
    first.get_by_role("button", name="Open in Compare").click()
    page.get_by_role("heading", name=f"Test image {index}", exact=False).wait_for(timeout=60000)
    page.screenshot(path=str(ARTIFACTS / "explorer_gallery_opened.png"), full_page=True)


def test_compare_keeps_processors_across_tasks_and_the_wipe_moves(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    open_views(page, app_url + "/", "Compare outputs", "compare")
    assert page.get_by_label("Classifier", exact=True).first.input_value() == "resnet20"
    # drop sr-perceptual from the processors, switch task and back: the choice is kept
    timed(page, "Compare outputs", "compare processor removed",
          lambda: page.get_by_role("button", name="Remove sr-perceptual").click())
    assert page.locator('[data-testid="stImage"]', has_text="sr-perceptual").count() == 0
    timed_choice(page, "Compare outputs", "compare task change", "Task", "denoise:sigma=0.1")
    assert page.locator('[data-testid="stImage"]', has_text="denoise-plain").count() >= 1
    timed_choice(page, "Compare outputs", "compare task change", "Task", "sr:scale=4")
    assert page.locator('[data-testid="stImage"]', has_text="sr-ra").count() >= 1
    assert page.locator('[data-testid="stImage"]', has_text="sr-perceptual").count() == 0
    box = page.get_by_label("Test image index")
    timed(page, "Compare outputs", "compare index change",
          lambda: (box.fill("11"), box.press("Enter")))
    # the RA-with-transformer panel shows both views and says which one was classified
    assert page.get_by_text("machine view T(P(x)) — the classifier saw this one").count() == 1
    timed(page, "Compare outputs", "compare toggle",
          lambda: page.get_by_text("Difference views").click())
    page.get_by_text("FLIP perceptual difference", exact=False).first.wait_for()
    timed(page, "Compare outputs", "compare toggle",
          lambda: page.get_by_text("Wipe between two panels").click())
    frame = page.frame_locator('iframe[title="st.iframe"]').first
    slider = frame.locator("#wipe")
    slider.wait_for()
    assert frame.locator("body").get_attribute("data-wipe") == "50"
    slider.fill("20")
    frame.locator("body[data-wipe='20']").wait_for()
    clip = frame.locator("#b").evaluate("e => e.style.clipPath")
    assert "20%" in clip
    frame.locator("#zin").click()
    frame.locator("body[data-zoom='1.50']").wait_for()
    page.screenshot(path=str(ARTIFACTS / "explorer_compare_wipe.png"), full_page=True)


def shown_point(page) -> tuple[float, float]:
    text = page.get_by_text(" d_RA + ", exact=False).first.inner_text()
    u, v = text.replace("x + ", "").replace(" d_r", "").split(" d_RA + ")
    return float(u), float(v)


def check_predictions(page, ws, plane, u, v, classifiers):
    """The top-1 of every classifier in the page's table is the workspace's at (u, v)."""
    from analysis.explore.plane import point_predictions

    _, tops = point_predictions(plane, u, v, ws.models(classifiers), ws.info.class_names)
    table = page.locator(".st-key-bd_point_preds").inner_text()
    for name, top in tops.items():
        assert f"{top[0][0]} {100 * top[0][1]:.1f} %" in table, (name, top, table)


def test_boundaries_click_and_slider_show_the_plane_point(app_url, browser):
    from analysis.explore.workspace import Workspace

    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    open_views(page, app_url + "/boundaries", "Decision boundaries",
               "boundaries (2 maps, 128 x 128)")
    chosen = ["resnet20", "densenet-bc"]
    for name in ("resnet32", "vgg11-bn"):       # four classifiers (maps warmed at start-up)
        page.locator(".st-key-bd_classifiers input").first.click()

        def add(n=name):      # the list stays open (hiding the page from roles) until Escape
            page.get_by_role("option", name=n, exact=True).click()
            page.keyboard.press("Escape")

        timed(page, "Decision boundaries", "boundaries: add a classifier", add)
        chosen.append(name)
    maps = page.locator(MAP_IMAGES)
    assert maps.count() == 4 and page.locator('[data-testid="stPlotlyChart"]').count() == 0
    first = int(page.locator(".st-key-bd_pick input").first.input_value())

    # a visitor looks at the maps for a while: meanwhile the page draws the next two images of
    # the picker in the background (four classifiers: about 3.5 s of forwards an image here)
    page.wait_for_timeout(PREFETCH_VIEWING_MS)
    page.locator(".st-key-bd_pick input").first.click()    # the next image of the Table 17
    page.keyboard.press("ArrowDown")                          # selection
    timed(page, "Decision boundaries", "boundaries: next image, four maps (prefetched)",
          lambda: page.keyboard.press("Enter"))
    assert int(page.locator(".st-key-bd_pick input").first.input_value()) != first
    assert shown_point(page) == (0.0, 0.0)
    index = int(page.locator(".st-key-bd_pick input").first.input_value())   # the second one
    ws = Workspace("sr")
    plane = ws.plane(index)
    # click a map: the shown point moves there
    box = page.locator(MAP_IMAGES).first.bounding_box()
    timed(page, "Decision boundaries", "boundaries: click a map point",
          lambda: page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.25 * box["height"]))
    u, v = shown_point(page)
    assert u > 0 and v > 0
    page.screenshot(path=str(ARTIFACTS / "explorer_boundaries_click.png"), full_page=True)
    # the image equals x + u d_RA + v d_r (clipped to [0, 1] for display, 8-bit, x8 nearest)
    expected = np.round(plane.point(u, v).clamp(0, 1)[0].numpy() * 255).astype(np.uint8)
    assert np.array_equal(shown_png(page, " d_RA + ")[::8, ::8], expected)
    check_predictions(page, ws, plane, u, v, chosen)
    # the slider along d_RA moves the point; the predictions follow it
    slider = page.locator('[data-testid="stSlider"]', has_text="u along d_RA").get_by_role("slider")
    for key in ("End", "Home", "End"):
        slider.focus()
        timed(page, "Decision boundaries", "boundaries: slider move",
              lambda k=key: page.keyboard.press(k))
        nu, nv = shown_point(page)
        assert nv == v and (nu > u if key == "End" else nu < 0)
        check_predictions(page, ws, plane, nu, nv, chosen)
    page.screenshot(path=str(ARTIFACTS / "explorer_boundaries_slider.png"), full_page=True)
    # an image nobody drew before (by index: image 0 is neither the opening view nor the
    # picker's next ones): four maps and their BDs drawn in the run
    timed(page, "Decision boundaries", "boundaries: an image by index, four cold maps",
          lambda: page.get_by_text("by index", exact=True).click())
    assert page.get_by_label("Test image", exact=True).first.input_value() == "0"
    assert page.locator(MAP_IMAGES).count() == 4


def drag_box(page, box, frac=(0.40, 0.40, 0.60, 0.60)):
    """Drag the mouse over ``box`` (a bounding box) from one fraction of it to another, up to
    the release (the caller releases: the selection is made then)."""
    x0, y0 = box["x"] + frac[0] * box["width"], box["y"] + frac[1] * box["height"]
    x1, y1 = box["x"] + frac[2] * box["width"], box["y"] + frac[3] * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    return x0, y0, x1, y1


def shown_indices(page) -> list[int]:
    return [int(t.split()[0].lstrip("#")) for t in
            page.locator(".ra-grid figcaption").all_inner_texts()]


def test_tsne_hover_shows_the_points_image_a_box_and_a_click_list_exactly_those_images(
        app_url, browser):
    from analysis.explore.tsne_chart import SOURCE_INPUTS
    from analysis.explore.workspace import Workspace

    report = json.loads((ROOT / "results" / "features_sr_scale4_resnet20.json").read_text())
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    open_views(page, app_url + "/features", "Feature space", "features")
    canvas = page.locator(".st-key-features_tsne canvas")
    area = canvas.bounding_box()
    drawn = [s for s in report["sources"] if s in set(default_sources(report))]
    points = [p for s in drawn for p in report["points"] if p["source"] == s]  # drawing order
    # hover a point: the tooltip names it and shows its image (a static file)
    target, source, shown = hover_tooltip_image(page, canvas, points)
    index = target["index"]
    assert source == target["source"]
    ws = Workspace("sr")
    name = SOURCE_INPUTS.get(source, source)
    want = np.clip(np.round(ws.thumbnails([index], [name])[index] * 255), 0, 255)
    assert np.array_equal(shown, want.astype(np.uint8))       # that source's own pixels
    page.screenshot(path=str(ARTIFACTS / "explorer_features_hover.png"))

    drag_box(page, area)     # timed from the release, when the selection is made
    timed(page, "Feature space", "features: box selection", page.mouse.up)
    heading = page.get_by_role("heading", name="selected images", exact=False)
    heading.wait_for(timeout=60000)
    polygon = json.loads(canvas.get_attribute("data-polygon"))
    to_screen, to_data = canvas_mapping(canvas)
    assert len(polygon) == 4                    # the box the mouse dragged, in t-SNE units
    for frac, corner in zip(((0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)), polygon):
        want = to_data(area["x"] + frac[0] * area["width"], area["y"] + frac[1] * area["height"])
        assert math.dist(want, corner) <= 1e-6 * (abs(want[0]) + abs(want[1]) + 1)
    xs, ys = sorted(c[0] for c in polygon), sorted(c[1] for c in polygon)
    expected = list(dict.fromkeys(p["index"] for p in points
                                  if xs[0] < p["x"] < xs[-1] and ys[0] < p["y"] < ys[-1]))
    assert expected and heading.inner_text().startswith(f"{len(expected)} selected images")
    assert shown_indices(page) == expected[:24]
    page.screenshot(path=str(ARTIFACTS / "explorer_features_selection.png"), full_page=True)

    # a click on a point that stands apart: that image alone
    target = isolated_point(canvas, points, start=len(points) // 3)
    timed(page, "Feature space", "features: point clicked",
          lambda: page.mouse.click(*to_screen(target["x"], target["y"])))
    page.get_by_role("heading", name="1 selected images").wait_for(timeout=60000)
    assert canvas.get_attribute("data-pick") == str(target["index"])
    assert shown_indices(page) == [target["index"]]


def inside_polygon(polygon, x, y) -> bool:
    """Even-odd ray casting (the test's own, not the app's matplotlib)."""
    hit = False
    for (xi, yi), (xj, yj) in zip(polygon, polygon[-1:] + polygon[:-1]):
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            hit = not hit
    return hit


def test_a_lasso_over_the_tsne_lists_exactly_the_images_inside_it(app_url, browser):
    report = json.loads((ROOT / "results" / "features_sr_scale4_resnet20.json").read_text())
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    open_page(page, app_url + "/features", "Feature space", "first view: features (new browser)")
    timed(page, "Feature space", "features: lasso mode toggled on",
          lambda: page.get_by_text("Lasso selection", exact=True).click())
    page.get_by_text("Drag a lasso", exact=False).wait_for(timeout=60000)  # lasso mode drawn
    canvas = page.locator(".st-key-features_tsne canvas")
    canvas.wait_for(state="visible", timeout=60000)   # the component redraws its canvas
    area = canvas.bounding_box()
    x0, x1, y0, y1, pad, width, height = json.loads(canvas.get_attribute("data-domain"))
    _, to_data = canvas_mapping(canvas)

    drawn = [s for s in report["sources"] if s in set(default_sources(report))]
    points = [p for s in drawn for p in report["points"] if p["source"] == s]  # drawing order
    # hover: the tooltip names a point drawn within 7 canvas px of the mouse
    target = points[len(points) // 2]
    hx = area["x"] + (pad + (target["x"] - x0) / (x1 - x0) * (width - 2 * pad)) * area["width"] / width
    hy = area["y"] + (height - pad - (target["y"] - y0) / (y1 - y0) * (height - 2 * pad)) * (
        area["height"] / height)
    page.mouse.move(hx, hy)
    tip = page.locator(".st-key-features_tsne .tip")
    tip.wait_for(state="visible", timeout=10000)
    named = int(tip.inner_text().split("test image")[1].split()[0])
    near = {p["index"] for p in points
            if ((p["x"] - target["x"]) / (x1 - x0) * (width - 2 * pad)) ** 2
            + ((p["y"] - target["y"]) / (y1 - y0) * (height - 2 * pad)) ** 2 <= 14 ** 2}
    assert named in near and tip.locator("img").count() == 1
    # a free-hand lasso: a pentagon around the middle of the canvas
    cx, cy = area["x"] + 0.5 * area["width"], area["y"] + 0.5 * area["height"]
    rx, ry = 0.22 * area["width"], 0.25 * area["height"]
    corners = [(cx + rx * math.sin(2 * math.pi * k / 5), cy - ry * math.cos(2 * math.pi * k / 5))
               for k in range(5)]

    drag_path(page, corners)
    # timed from the release, when the selection is made (the drag is the user's own time)
    timed(page, "Feature space", "features: lasso selection", page.mouse.up)
    heading = page.get_by_role("heading", name="selected images", exact=False)
    heading.wait_for(timeout=60000)
    polygon = json.loads(canvas.get_attribute("data-polygon"))
    # the polygon the app received is the mouse path, in t-SNE coordinates ...
    for corner in corners:
        want = to_data(*corner)
        assert min(math.dist(want, v) for v in polygon) <= 1e-6 * (x1 - x0 + y1 - y0)
    # ... and the listed images are exactly the drawn points inside it, in drawing order
    expected = list(dict.fromkeys(p["index"] for p in points
                                  if inside_polygon(polygon, p["x"], p["y"])))
    assert expected and heading.inner_text().startswith(f"{len(expected)} selected images")
    assert shown_indices(page) == expected[:24]
    page.screenshot(path=str(ARTIFACTS / "explorer_features_lasso.png"), full_page=True)
    # a double-click clears it
    timed(page, "Feature space", "features: lasso cleared",
          lambda: page.mouse.dblclick(area["x"] + 3, area["y"] + 3))
    assert heading.count() == 0 and json.loads(canvas.get_attribute("data-polygon")) is None
    # the thumbnail grid as a visitor sees it, after the same lasso again (untimed; an element
    # screenshot scrolls the page, so it comes last)
    drag_path(page, corners)
    page.mouse.up()
    heading.wait_for(timeout=60000)
    wait_interactive(page, "Feature space")
    page.locator(".ra-grid").first.screenshot(path=str(ARTIFACTS / "explorer_features_grid.png"))
    # a thumbnail's "Open" shows that test image in Compare
    first = page.locator(".ra-grid figure").first
    index = int(first.locator("figcaption").inner_text().split()[0].lstrip("#"))
    first.get_by_role("button", name="Open").click()
    page.get_by_role("heading", name=f"Test image {index}", exact=False).wait_for(timeout=60000)
