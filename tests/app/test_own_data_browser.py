"""Issue 18, end to end: a CIFAR-format folder (checksum check bypassed the documented way,
``cifar10:verify=false``) and a 3-class ImageFolder (32 px, train/ + val/), tiny models trained
through the CLI, every analysis verb, every app page and every Compare mode in Chromium: no
traceback, the numbers computed on the named dataset, the embedded default's results
byte-identical afterwards."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analysis.cli.main import main
from analysis.config import PROJECT_ROOT
from analysis.data.folders import dataset_slug
from tests.app.browser_support import (
    ARTIFACTS,
    drag_path,
    hover_tooltip_image,
    needs_chromium,
    start_app,
    stop_app,
    wait_interactive,
)
from tests.data.test_data import _cifar_folder

pytestmark = needs_chromium
CLASSES = ("ant", "bee", "cow")
PAGES = [("", "Compare outputs"), ("gallery", "Gallery"), ("metrics", "Metrics"),
         ("boundaries", "Decision boundaries"),
         ("features", "Feature space")]
COMPARE_MODES = ["by index", "by class", "at random", "by filter"]


def _image_folder(root: Path, size: int = 32) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (("train", 10), ("val", 4)):
        for k, c in enumerate(CLASSES):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 90, (size, size, 3)) + 80 * k
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / c / f"{i}.png")
    return root


def _top_level_digests(folder: Path) -> dict[str, str]:
    """The embedded default's files: everything in results/ outside results/datasets/."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "datasets"}


@pytest.fixture(scope="module", params=["cifar10", "imagefolder"])
def own(request, tmp_path_factory):
    """A dataset, a zoo trained on it through the CLI, and a copy of the shipped results/ that
    $RA_RESULTS points at (so the test can watch it without touching the checkout)."""
    base = tmp_path_factory.mktemp(request.param)
    env = {}
    if request.param == "cifar10":
        spec, env["RA_DATA_ROOT"] = "cifar10:verify=false", _cifar_folder(base, per_batch=30)
    else:
        spec = f"imagefolder:{_image_folder(base / 'imgs')}"
    results = base / "results"
    shutil.copytree(PROJECT_ROOT / "results", results)
    env.update({"RA_RESULTS": str(results), "RA_DATASET": spec,
                "RA_CHECKPOINTS": str(base / "zoo"), "RA_RUNS": str(base / "runs")})
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    zoo = base / "zoo"
    small = ["--epochs", "1", "--max-steps", "2", "--batch-size", "8", "--val-first", "8",
             "--no-progress", "--state-dir", str(base / "runs")]
    assert main(["train-classifier", "--arch", "resnet20", "--arch-kw", "width=4",
                 "--out", str(zoo / "r20own"), *small]) == 0
    assert main(["train-classifier", "--arch", "vgg11-bn", "--arch-kw", "width_mult=0.125",
                 "--out", str(zoo / "vggown"), *small]) == 0
    for method in ("plain", "ra"):
        extra = ["--classifier", str(zoo / "r20own"), "--lambda", "0.1"] if method == "ra" else []
        assert main(["train-processor", "--task", "sr", "--method", method, "--arch-kw",
                     "channels=8,blocks=1", "--out", str(zoo / f"sr-{method}"),
                     *extra, *small]) == 0
    yield {"spec": spec, "zoo": zoo, "results": results, "env": env,
           "before": _top_level_digests(results)}
    for k, v in old.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_every_verb_computes_on_the_named_dataset(own, capsys):
    spec = own["spec"]
    assert main(["evaluate", "--task", "sr", "--json", "--no-progress"]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert evaluation["dataset"] != "fashion-mnist" and evaluation["classifiers"] == ["r20own", "vggown"]
    verbs = [["quality", "--task", "sr"],
             ["bd", "--task", "sr", "--target", "vggown", "--all-images",
              "--schedule", "uniform", "--scan-steps", "4", "--max-dist", "4", "--tol", "0.1"],
             ["tsne", "--task", "sr", "--sample", "12", "--backend", "sklearn"],
             ["reproduce"],
             ["figure", "examples", "--task", "sr", "--indices", "0,1", "--out",
              str(own["results"].parent / "fig.png")]]
    for argv in verbs:
        quiet = [] if argv[0] == "figure" else ["--no-progress"]
        assert main([*argv, *quiet]) == 0, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err, err
    folder = own["results"] / "datasets" / dataset_slug(json.loads(
        (own["zoo"] / "r20own.json").read_text())["dataset"])
    for name in ("quality_sr_scale4.json", "evaluate_sr_scale4.json", "table1.md"):
        assert (folder / name).exists(), sorted(p.name for p in folder.iterdir())
    assert json.loads((folder / "quality_sr_scale4.json").read_text())["dataset"] != "fashion-mnist"
    assert "fashion-mnist" not in (folder / "claims.md").read_text().splitlines()[0]
    assert _top_level_digests(own["results"]) == own["before"]
    assert spec  # the spec in force was the user's


def test_every_page_and_compare_mode_opens_without_a_traceback(own, browser):
    url, proc, log = start_app(f"app_{dataset_slug(own['spec'])[:20]}.log", **own["env"])
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, title in PAGES:
            page.goto(f"{url}/{path}")
            wait_interactive(page, title)
            assert page.locator('[data-testid="stException"]').count() == 0, path
            if path == "gallery":   # the true count over the user's test split
                from analysis.data.datasets import load_dataset

                n = len(load_dataset(own["spec"], "test"))
                page.get_by_text(f" of {n:,} test images:", exact=False).wait_for()
        page.goto(url + "/")
        wait_interactive(page, "Compare outputs")
        for mode in COMPARE_MODES:
            page.get_by_text(mode, exact=True).click()
            wait_interactive(page, "Compare outputs")
            assert page.locator('[data-testid="stException"]').count() == 0, mode
        page.screenshot(path=str(ARTIFACTS / f"own_{dataset_slug(own['spec'])[:24]}_compare.png"),
                        full_page=True)
        body = page.inner_text("body")
        assert "Fashion" not in body and "Ankle boot" not in body   # the user's classes
        _features_hover_and_lasso(page, url, own)
    finally:
        stop_app(proc, log)
    assert _top_level_digests(own["results"]) == own["before"]


def _features_hover_and_lasso(page, url, own):
    """Features on the user's data: hovering a point shows that point's own pixels (RGB, the
    user's size), and a lasso around the whole scatter lists every drawn image."""
    from analysis.analyses.features import default_sources, feature_report, save_feature_report
    from analysis.explore.tsne_chart import SOURCE_INPUTS
    from analysis.explore.workspace import Workspace

    slug = dataset_slug(json.loads((own["zoo"] / "r20own.json").read_text())["dataset"])
    # the page reads full-protocol reports from results/ (the CLI's quick --n run went to runs/)
    report = feature_report("sr", "r20own", n=12, folder=own["zoo"], dataset=own["spec"],
                            backend="sklearn")
    save_feature_report(report, own["results"] / "datasets" / slug)
    page.goto(url + "/features")
    wait_interactive(page, "Feature space")
    canvas = page.locator(".st-key-features_tsne canvas")
    drawn = set(default_sources(report))
    points = [p for s in report["sources"] if s in drawn for p in report["points"]
              if p["source"] == s]                                     # drawing order
    target, source, shown = hover_tooltip_image(page, canvas, points)
    index = target["index"]
    ws = Workspace("sr", dataset=own["spec"], folder=own["zoo"])
    want = ws.thumbnails([index], [SOURCE_INPUTS.get(source, source)])[index]
    assert shown.shape == want.shape == (32, 32, 3)
    assert np.array_equal(shown, np.clip(np.round(want * 255), 0, 255).astype(np.uint8))
    # the lasso: a rectangle just inside the canvas holds every drawn point
    page.get_by_text("Lasso selection", exact=True).click()
    wait_interactive(page, "Feature space")
    page.get_by_text("Drag a lasso", exact=False).wait_for(timeout=60000)  # lasso mode drawn
    canvas.wait_for(state="visible", timeout=60000)   # the component redraws its canvas
    box = canvas.bounding_box()
    x0, y0 = box["x"] + 2, box["y"] + 2
    x1, y1 = box["x"] + box["width"] - 2, box["y"] + box["height"] - 2
    drag_path(page, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], steps=4)
    page.mouse.up()
    wait_interactive(page, "Feature space")
    every = list(dict.fromkeys(p["index"] for s in report["sources"] if s in drawn
                               for p in report["points"] if p["source"] == s))
    heading = page.get_by_role("heading", name="selected images", exact=False)
    assert heading.inner_text().startswith(f"{len(every)} selected images")
    heading.scroll_into_view_if_needed()
    page.locator(".ra-grid figcaption").first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    captions = page.locator(".ra-grid figcaption").all_inner_texts()
    assert [int(t.split()[0].lstrip("#")) for t in captions] == every[:24]
    names = set(report["class_names"])            # the user's classes (ant / bee / cow, a-j)
    assert all(t.split("· ")[1].strip() in names for t in captions) and "Coat" not in names
    page.screenshot(path=str(ARTIFACTS / f"own_{slug[:24]}_features.png"))
