"""Driving the app in a real browser: start it as README says, Debian's Chromium through
Playwright, wait until a page is complete. Shared by the browser tests (fixtures in conftest)."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# every browser test module: pytestmark = needs_chromium
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(log_name: str, warmed: bool = False, **env_overrides):
    """bash scripts/main.sh, exactly the README's main command, on a free port; ``warmed``:
    also wait until the launcher's warm-up behind the server has ended (timings of a warm
    app). With a new survey database, wait until the warm-up has made the demo study. The log
    is test-artifacts/``log_name`` with the pytest-xdist worker's id in its name
    (:func:`worker_log`)."""
    log_name = worker_log(log_name)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "RA_PREFETCH"},   # the suite's switch
           "STREAMLIT_SERVER_PORT": str(port), **env_overrides}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    proc = subprocess.Popen(["bash", "scripts/main.sh"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"The app did not start within 180 s; see test-artifacts/{log_name}.")
    if env.get("RA_PRELOAD", "1") not in ("0", "first"):
        if warmed:
            wait_for_log(ARTIFACTS / log_name, proc, WARMED_LINES)
        elif "SURVEY_DB_URL" in env_overrides:
            wait_for_log(ARTIFACTS / log_name, proc, DEMO_LINES)
    return url, proc, log


WARMED_LINES = ("RA Explorer: warm-up ended",)
DEMO_LINES = ("RA Explorer: made the survey demo study", "RA Explorer: survey studies found",
              "RA Explorer: no survey demo study", "RA Explorer: warm-up stopped", *WARMED_LINES)


def wait_for_log(log_path: Path, proc, lines: tuple[str, ...], timeout: float = 600) -> None:
    """Wait until the app's log has one of ``lines`` (what the launcher's warm-up behind the
    server prints: the demo study made, the warm-up ended)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(line in log_path.read_text() for line in lines):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"The app's log had none of {lines} within {timeout:.0f} s; see {log_path}.")


def stop_app(proc, log):
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)
    log.close()


MAP_IMAGES = ".ra-map img"   # Boundaries' clickable maps (app/components/map_image.py)
GRID_IMAGES = ".ra-grid img"  # thumbnail grids (app/components/thumbnail_grid.py)
SETTLE_MS = 700  # the page must stay unchanged this long before it counts as settled


# Records the time of the last change to what the main area shows (its elements, text and
# image sources) with a MutationObserver: cheap for the browser, which shares this machine's
# two cores with the server (reading the page's text on every poll takes a share of a core),
# and no change is missed between polls.
_OBSERVE = """() => {
    if (window.__obs) return;
    window.__obs = new MutationObserver(records => {
        const main = document.querySelector('[data-testid="stMain"]');
        if (main && records.some(r => main.contains(r.target))) window.__mut = performance.now();
    });
    window.__obs.observe(document.body, {subtree: true, childList: true, characterData: true,
                                         attributes: true, attributeFilter: ['src']});
}"""


def mark_start(page):
    """Start the clock inside the page (for navigation that does not reload the document)."""
    page.evaluate(_OBSERVE)
    page.evaluate("() => { window.__t0 = performance.now(); window.__last = undefined; "
                  "window.__mut = undefined; }")


def wait_interactive(page, title: str, timeout_ms: int = 120000) -> float:
    """Wait until the page is complete; return seconds from the start to its last change.

    Complete: the heading is shown, the script run has finished (Streamlit marks the app
    element with data-test-script-state="notRunning"), no element is a skeleton placeholder
    (Streamlit shows one while an element's code loads lazily: plotly's 4.7 MB chunk takes
    1.5 s to parse in this headless Chromium, and its charts appear only after it), every
    plotly chart is drawn (has its SVG), every map and thumbnail-grid image is shown, and
    none of these, nor the main area's elements, text and image sources (watched by a
    MutationObserver), has changed for SETTLE_MS. The time returned ends at that last change,
    so the settling wait is not counted. The start is ``mark_start`` or, after ``page.goto``,
    the navigation itself.
    """
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=timeout_ms)
    page.evaluate(_OBSERVE)
    page.wait_for_function(
        """(settle) => {
            const now = performance.now();
            const app = document.querySelector('[data-testid="stApp"]');
            const state = app ? app.getAttribute('data-test-script-state') : 'none';
            const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            const drawn = charts.filter(c => c.querySelector('.main-svg')).length;
            // an element whose code is still loading (plotly's chunk, the data grid) is a
            // skeleton placeholder: the page is not complete while one is shown
            const waiting = document.querySelectorAll('[data-testid="stSkeleton"]').length;
            // every map and grid image decoded and laid out
            const maps = [...document.querySelectorAll('${IMAGES}')];
            const shown = maps.filter(m => m.complete && m.naturalWidth > 0
                                           && m.getBoundingClientRect().height > 10).length;
            const key = [state, charts.length, drawn, waiting, maps.length, shown].join('/');
            if (window.__key !== key || window.__last === undefined) {
                window.__key = key; window.__last = now;
            }
            const last = Math.max(window.__last, window.__mut || 0);
            return state === 'notRunning' && drawn === charts.length && waiting === 0
                && shown === maps.length && now - last >= settle;
        }""".replace("${IMAGES}", MAP_IMAGES + ", " + GRID_IMAGES), arg=SETTLE_MS, polling=50,
        timeout=timeout_ms)
    return page.evaluate(
        "() => (Math.max(window.__last, window.__mut || 0) - (window.__t0 || 0)) / 1000")


def machine_reference() -> dict:
    """What the timings were measured on: the CPU's model name, its cores, and a 2048 x 2048
    float32 matrix product on torch's threads (GFLOP/s), so that times from different
    machines can be read side by side."""
    import torch

    from benchmarks.bench_inference import sgemm_gflops

    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")),
                 "unknown")
    return {"cpu": model, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "sgemm_gflops": round(sgemm_gflops(), 1)}


def canvas_mapping(canvas):
    """(to_screen, to_data) of the t-SNE canvas: t-SNE coordinates <-> page px, as its JS maps
    them (from the canvas's ``data-domain`` and its bounding box)."""
    import json

    area = canvas.bounding_box()
    x0, x1, y0, y1, pad, width, height = json.loads(canvas.get_attribute("data-domain"))

    def to_screen(x, y):
        return (area["x"] + (pad + (x - x0) / (x1 - x0) * (width - 2 * pad)) * area["width"] / width,
                area["y"] + (height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad))
                * area["height"] / height)

    def to_data(px, py):
        cx, cy = (px - area["x"]) * width / area["width"], (py - area["y"]) * height / area["height"]
        return (x0 + (cx - pad) / (width - 2 * pad) * (x1 - x0),
                y0 + (height - pad - cy) / (height - 2 * pad) * (y1 - y0))

    return to_screen, to_data


def isolated_point(canvas, points, start: int = 0, clearance: float = 10.0) -> dict:
    """The first of ``points`` (report points, drawing order) from ``start`` with no other
    drawn within ``clearance`` page px: hovering or clicking it can only mean that point."""
    import math

    to_screen, _ = canvas_mapping(canvas)
    spots = [to_screen(p["x"], p["y"]) for p in points]
    for k in range(start, len(points)):
        if all(j == k or math.dist(spots[k], spots[j]) > clearance for j in range(len(points))):
            return points[k]
    raise AssertionError("no point of the scatter stands apart from the others")


def hover_tooltip_image(page, canvas, points):
    """Hover the t-SNE ``canvas`` over the first point of ``points`` that stands apart; (that
    point, the source the tooltip names, the pixels of the image file the page fetched)."""
    import io

    import numpy as np
    from PIL import Image

    target = isolated_point(canvas, points)
    to_screen, _ = canvas_mapping(canvas)
    page.mouse.move(*to_screen(target["x"], target["y"]))
    tip = page.locator(".st-key-features_tsne .tip")
    tip.wait_for(state="visible", timeout=10000)
    assert tip.locator("img").count() == 1
    text = tip.inner_text()
    assert int(text.split("test image")[1].split()[0].replace(",", "")) == target["index"]
    source = text.split("source")[1].split()[0]
    data = page.evaluate("async (img) => { const r = await fetch(img.src); if (!r.ok) "
                         "throw new Error(img.src + ': ' + r.status); return Array.from("
                         "new Uint8Array(await r.arrayBuffer())); }",
                         tip.locator("img").element_handle())
    return target, source, np.asarray(Image.open(io.BytesIO(bytes(data))))


def drag_path(page, corners, steps=8) -> None:
    """Press the mouse at the first of ``corners`` (page px) and move through the others back
    to the first; the caller releases (the widget change, timed apart)."""
    page.mouse.move(*corners[0])
    page.mouse.down()
    for corner in corners[1:] + corners[:1]:
        page.mouse.move(*corner, steps=steps)


def worker_log(name: str) -> str:
    """``name`` with this pytest-xdist worker's id before its suffix (``app-gw0.log``), so that
    workers running tests of one module side by side write logs of their own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{worker}{dot}{suffix}" if worker else name
