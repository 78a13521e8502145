"""AppTest: every page runs without exception, shows its key elements and re-renders on change."""

import re
import shlex
import shutil
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.cli.main import build_parser
from tests.app.html_tables import page_tables
from tests.conftest import SYNTH

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture(scope="module")
def results(tiny_zoo, tmp_path_factory):
    from analysis.analyses.boundary_table import boundary_report, save_boundary_report
    from analysis.analyses.features import feature_report, save_feature_report
    from analysis.analyses.quality import quality_table, save_quality
    from analysis.data.folders import dataset_slug
    from analysis.reporting.reproduce import regenerate

    base = tmp_path_factory.mktemp("results")          # $RA_RESULTS
    out = base / "datasets" / dataset_slug(SYNTH)      # where the app reads a non-default dataset
    regenerate(dataset=SYNTH, folder=tiny_zoo, out_dir=out, progress=False)
    for path in out.glob("quality_denoise_*"):   # a results folder lacking one quality table
        path.unlink()
    save_quality(quality_table("sr", dataset=SYNTH, folder=tiny_zoo, metrics=["psnr", "ssim"],
                               progress=False), out)
    save_boundary_report(boundary_report("sr", "clf-a", "clf-b", folder=tiny_zoo, dataset=SYNTH,
                                         all_images=True, limit=8, max_dist=6, tol=0.05, steps=6,
                                         progress=False), out)
    # for clf-b, not the first classifier: the page must open on the one with a report
    save_feature_report(feature_report("sr", "clf-b", n=20, folder=tiny_zoo, dataset=SYNTH), out)
    return base


@pytest.fixture
def env(monkeypatch, tiny_zoo, results):
    monkeypatch.setenv("RA_CHECKPOINTS", str(tiny_zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(results))


def images(at):
    """(caption, url) of every image on the page."""
    out = []
    for e in at.main:
        if type(e).__name__ == "Image":
            out += [(img.caption, img.url) for img in e.proto.imgs]
    return out


def page_components(at) -> list:
    """The page's v2 components (the maps, the thumbnail grid, the t-SNE)."""
    return list(at.get("bidi_component"))


def grid_captions(at) -> list[str]:
    """The captions of the thumbnail grid on the page (app/components/thumbnail_grid.py), in
    order; every thumbnail a PNG."""
    import json

    grids = [e for e in page_components(at) if e.proto.component_name.endswith("thumbnail_grid")]
    assert len(grids) == 1
    items = json.loads(grids[0].proto.json)["items"]
    assert all(item["src"].startswith("data:image/png;base64,") for item in items)
    return [item["caption"] for item in items]


def run(page=None):
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_compare_page_shows_every_panel_and_reacts(env):
    at = run()
    assert at.title[0].value == "Compare outputs"
    shown = images(at)
    assert {"clean target", "LQ input", "sr-plain", "sr-ra"} <= {c for c, _ in shown}
    assert all(url.endswith(".png") for _, url in shown)  # lossless, never re-encoded as JPEG
    md = " ".join(m.value for m in at.markdown)
    assert "%" in md
    at.number_input(key="compare_index").set_value(5).run()
    assert not at.exception
    assert "Test image 5" in " ".join(s.value for s in at.subheader)
    at.toggle(key="compare_diff").set_value(True).run()
    assert not at.exception
    captions = [c for c, _ in images(at)]
    # the absolute and the FLIP map per panel, one colour bar per kind
    assert sum(c.startswith("sr-ra (mean ") for c in captions) == 2
    assert sum("one colour scale for every panel" in m.value for m in at.markdown) == 2
    at.radio(key="compare_mode").set_value("by filter").run()
    assert not at.exception
    caption = next(c.value for c in at.caption if "test images:" in c.value)
    assert re.match(r"[\d,]+ of [\d,]+ test images: the classifier is right on sr-ra and wrong "
                    r"on sr-plain", caption) and "records_sr_scale4.parquet" in caption
    at.selectbox(key="compare_filter").set_value("all images").run()
    assert not at.exception
    assert len(at.selectbox(key="compare_pick").options) == 40   # SYNTH's whole test split
    # the first matches, lowest index first
    assert [int(o) for o in at.selectbox(key="compare_pick").options] == list(range(40))


def test_compare_opens_on_the_ra_source_and_keeps_processors_per_task(env, tiny_zoo, tmp_path,
                                                                      monkeypatch):
    import shutil

    from analysis.training.processors import train_processor
    from tests.conftest import TINY_PROCESSOR

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    train_processor("denoise", "plain", out=str(zoo / "denoise-plain"), dataset=SYNTH, epochs=1,
                    batch_size=32, val_limit=8, max_steps=2, state_dir=str(tmp_path),
                    progress=False, arch_kwargs=TINY_PROCESSOR)
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    at = run()
    assert at.selectbox(key="compare_classifier").value == "clf-a"   # sr-ra's source
    key_sr = "compare_processors|sr:scale=4|"
    assert at.multiselect(key=key_sr).value == ["sr-plain", "sr-ra"]
    at.multiselect(key=key_sr).set_value(["sr-ra"]).run()
    task = at.selectbox(key="compare_task")
    at.selectbox(key="compare_task").set_value(
        next(t for t in task.options if t.startswith("denoise"))).run()
    assert not at.exception
    assert {c for c, _ in images(at)} >= {"clean target", "denoise-plain"}
    at.selectbox(key="compare_task").set_value("sr:scale=4").run()
    assert not at.exception
    assert at.multiselect(key=key_sr).value == ["sr-ra"]           # kept across the task change
    assert "sr-plain" not in {c for c, _ in images(at)}


def test_compare_shows_a_corruption_task_like_the_others(env, tiny_zoo, tmp_path, monkeypatch):
    """A processor trained on a corruption task puts the task in Compare's list; its page shows
    the clean target, the corrupted input and the processor's output."""
    import shutil

    from analysis.training.processors import train_processor
    from tests.conftest import TINY_PROCESSOR

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    train_processor("corrupt:type=snow,level=5", "plain", out=str(zoo / "snow-plain"),
                    dataset=SYNTH, epochs=1, batch_size=32, val_limit=8, max_steps=2,
                    state_dir=str(tmp_path), progress=False, arch_kwargs=TINY_PROCESSOR)
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    at = run()
    assert "corrupt:level=5,type=snow" in at.selectbox(key="compare_task").options
    at.selectbox(key="compare_task").set_value("corrupt:level=5,type=snow").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = [c for c, _ in images(at)]
    assert {"clean target", "snow-plain"} <= set(shown) and len(shown) >= 3, shown


def test_a_randomized_collections_task_is_offered_with_its_processors(env, tiny_zoo, tmp_path,
                                                                      monkeypatch):
    """Processors in ``randomized/`` bring their task into the pages' lists; Compare (and the
    other pages' workspaces) show them for that task, and the zoo's tasks keep their own."""
    import shutil

    from analysis.training.processors import train_processor
    from tests.conftest import TINY_PROCESSOR

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    train_processor("sr-random", "plain", out=str(zoo / "randomized" / "sr-random-plain"),
                    dataset=SYNTH, epochs=1, batch_size=32, val_limit=8, max_steps=2,
                    state_dir=str(tmp_path), progress=False, arch_kwargs=TINY_PROCESSOR)
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    at = run()
    assert "sr-random:scale=4" in at.selectbox(key="compare_task").options
    at.selectbox(key="compare_task").set_value("sr-random:scale=4").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = [c for c, _ in images(at)]
    assert {"clean target", "sr-random-plain"} <= set(shown), shown
    at.selectbox(key="compare_task").set_value("sr:scale=4").run()
    assert "sr-random-plain" not in {c for c, _ in images(at)}


def test_the_corruption_collections_cells_are_offered_and_built_on_demand(env, tiny_zoo,
                                                                        tmp_path, monkeypatch):
    """A processor in ``corruptions/`` brings its cell into the pages' lists (Compare shows
    it); the launcher's warm-up leaves the cells' workspaces to the first page that asks."""
    import shutil

    from analysis.explore.workspace import available_tasks
    from analysis.training.processors import train_processor
    from app.launch import warm_steps
    from tests.conftest import TINY_PROCESSOR

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    train_processor("corrupt:type=snow,level=5", "plain",
                    out=str(zoo / "corruptions" / "corrupt-snow-5-plain"), dataset=SYNTH,
                    epochs=1, batch_size=32, val_limit=8, max_steps=2, state_dir=str(tmp_path),
                    progress=False, arch_kwargs=TINY_PROCESSOR)
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    cell = "corrupt:level=5,type=snow"
    assert available_tasks(SYNTH, str(zoo))[-1] == cell
    at = run()
    assert cell in at.selectbox(key="compare_task").options
    at.selectbox(key="compare_task").set_value(cell).run()
    assert not at.exception, [e.message for e in at.exception]
    assert {"clean target", "corrupt-snow-5-plain"} <= {c for c, _ in images(at)}

    # Metrics computes the cell's processors too, not the clean and corrupted inputs alone
    at = run("views/metrics.py")
    at.selectbox(key="metrics_task").set_value(cell).run()
    at.slider(key="metrics_limit").set_value(100).run()
    at.button(key="metrics_compute").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["metrics_job_corrupt_level5_typesnow"].wait(300).status == "done"
    at.run()
    rows = at.session_state["evaluation_corrupt_level5_typesnow"]["rows"]
    assert "corrupt-snow-5-plain" in {r["name"] for r in rows}
    # and the commands it suggests name the cell, which a bare 'corrupt' would not
    assert any("train-processor --task corrupt:level=5,type=snow" in i.value for i in at.info)

    warmed = []
    for key, step in warm_steps():
        step()
        if isinstance(key, tuple) and key[0] == "workspace":
            warmed.append(key[1])
    assert "sr:scale=4" in warmed and cell not in warmed


def test_compare_metrics_follow_the_zoomed_region(env):
    at = run()
    whole = next(c.value for c in at.caption if c.value.startswith("psnr"))
    at.toggle(key="compare_zoom").set_value(True).run()
    assert not at.exception
    region = next(c.value for c in at.caption if c.value.startswith("psnr"))
    assert region.endswith("px region") and region != whole
    assert "(uncalibrated)" in whole                               # lpips-clf-a is a backbone distance


def test_compare_enlargement_never_exceeds_the_column(env):
    """The enlargement goes up to the largest that fits a panel's column (8x at 28 px) and
    starts at 6x (the browser test measures the panels' boxes)."""
    from analysis.explore.encoders import COLUMN_PX

    at = run()
    slider = at.slider(key="compare_scale")
    assert (slider.min, slider.max, slider.value) == (1, COLUMN_PX // 28, 6)
    slider.set_value(COLUMN_PX // 28).run()
    assert not at.exception and {"clean target", "sr-ra"} <= {c for c, _ in images(at)}


def test_gallery_counts_and_pages_its_thumbnails(env, results):
    import numpy as np

    from analysis.pipeline.records import RecordTable

    at = run("views/gallery.py")
    assert at.title[0].value == "Gallery"
    table = RecordTable.load(next((results / "datasets").glob("*/records_sr_scale4.parquet")))
    expected = int((table.correct("sr-ra", "clf-a") & ~table.correct("sr-plain", "clf-a")).sum())
    text = " ".join(m.value for m in at.markdown)
    assert f"{expected:,} of {len(table):,} test images" in text
    at.selectbox(key="gallery_filter").set_value("all images").run()
    at.selectbox(key="gallery_sort").set_value("index").run()
    assert not at.exception
    shown = grid_captions(at)
    assert len(shown) == 24 and shown[0].startswith(f"#{int(np.sort(table.index)[-1])} ")
    at.number_input(key="gallery_page").set_value(2).run()
    assert len(grid_captions(at)) == 40 - 24
    # a click on a thumbnail opens Compare on it: tests/app/test_explorer_browser.py


def test_metrics_page_heatmaps_and_quality(env):
    at = run("views/metrics.py")
    assert at.title[0].value == "Metrics"
    assert len(at.get("plotly_chart")) >= 2
    assert len(at.dataframe) == 1
    at.selectbox(key="metrics_task").set_value("denoise:sigma=0.1").run()
    assert not at.exception
    assert any("quality table" in i.value for i in at.info)


def test_boundaries_page_maps_and_table(env):
    at = run("views/boundaries.py")
    assert at.title[0].value == "Decision boundaries"
    # two maps as images in the page's own click component, no chart library until asked
    assert len(page_components(at)) == 2 and not at.get("plotly_chart")
    # static HTML tables: the agreement (beside the maps), the point's predictions, BDs,
    # Table 17 (no Arrow table, whose decoder a new browser would load first)
    frames = page_tables(at)
    assert len(frames) == 6 and not at.table and not at.dataframe
    preds = frames[1]
    assert list(preds.index) == ["clf-a", "clf-b"] and "top-3" in preds.columns
    assert set(frames[0].columns) == {"clf-a", "clf-b"}
    assert set(frames[2]["direction"]) == {"ra", "random"}
    table = frames[3]
    assert "BD(Rs) mean [95% CI]" in table.columns   # rounded text, not lists of floats
    assert all(v == "-" or re.fullmatch(r"\d+\.\d{3}( \[\d+\.\d{3}, \d+\.\d{3}\])?", v)
               for v in table["BD(Rs) mean [95% CI]"])
    # the result's nearest boundary (NB per classifier) and BD in perceptual units
    nearest, perceptual = frames[4], frames[5]
    assert list(nearest.index) == ["clf-a", "clf-b"] and list(nearest["role"]) == ["Rs", "Rt"]
    assert "BD/NB ra median [95% CI]" in nearest.columns
    assert list(perceptual.index) == ["random", "ra", "nearest"]
    assert any("nearest boundary NB" in c.value and "upper bound" in c.value for c in at.caption)
    at.toggle(key="bd_show_hist").set_value(True).run()        # the ECDF on demand
    assert len(at.get("plotly_chart")) == 1
    at.radio(key="bd_picker").set_value("by index").run()
    at.number_input(key="bd_index").set_value(3).run()
    assert not at.exception
    # the sliders move the shown point: the image's caption follows
    at.slider(key="bd_u").set_value(at.slider(key="bd_u").max).run()
    assert not at.exception
    u = at.slider(key="bd_u").value
    assert u > 0 and any(img[0] == f"x + {u:.3f} d_RA + 0.000 d_r" for img in images(at))


def test_the_exact_walk_is_a_background_job_with_cancel_and_walk_again(env, monkeypatch):
    import analysis.explore.plane as plane_module

    at = run("views/boundaries.py")
    at.toggle(key="bd_exact").set_value(True).run()
    job = at.session_state["bd_exact_job"]
    assert job.running and not at.exception           # the page ran to its end meanwhile
    assert any(t.value == "Table 17 analog" for t in at.subheader)
    job.cancel()                                      # the real walk: minutes on the tiny zoo
    assert job.wait(120).status == "cancelled"
    at.run()
    assert any("The region walk was cancelled after" in i.value for i in at.info)
    assert "bd_exact_job" not in at.session_state      # nothing left running
    # on request it walks again; a finished walk's rows are kept and shown as a table
    rows = [{"classifier": c, "direction": d, "bd": 0.5, "censored": False, "max_dist": 30.0,
             "method": "exact", "fallback": None, "regions": 7, "residual": 1e-9}
            for c in ("clf-a", "clf-b") for d in ("ra", "random")]

    def fake(plane, models, on_progress):
        on_progress(7, 10)
        return rows

    monkeypatch.setattr(plane_module, "exact_image_distances", fake)
    at.button(key="bd_exact_again").click().run()
    assert at.session_state["bd_exact_job"].wait(60).status == "done"
    at.run()
    table = page_tables(at)[3]
    assert list(table.columns) == ["direction", "method", "BD", "regions", "residual"]
    assert set(table["BD"]) == {"0.500000"} and set(table["regions"]) == {"7"}
    at.run()                                          # kept: no new job for the same image
    assert "bd_exact_job" not in at.session_state and len(page_tables(at)) == 7


def test_compare_shows_detection_canvases_with_each_detectors_boxes(monkeypatch, tmp_path):
    """On the embedded default with the zoo's detectors: Compare's "detection canvases" shows
    one panel per input with the chosen detector's boxes, counted in each caption; on a
    detection dataset in force it opens there at once (no classifier is asked for)."""
    monkeypatch.delenv("RA_CHECKPOINTS", raising=False)
    monkeypatch.delenv("RA_DATASET", raising=False)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    at = run()                                         # Compare, the first page
    at.sidebar.radio(key="compare_images").set_value("detection canvases").run()
    assert not at.exception
    at.multiselect(key="compare_canvas_procs|sr:scale=4").set_value(["sr-plain", "sr-ra"]).run()
    shown = images(at)
    assert [c.split(":")[0] for c, _ in shown] == ["clean", "no processing", "sr-plain", "sr-ra"]
    assert all(re.search(r": \d of \d items found; \d+ boxes ≥ 0\.50$", c) for c, _ in shown)
    at.selectbox(key="compare_detector").set_value("retinanet").run()
    at.slider(key="compare_score_min").set_value(0.95).run()
    assert all(c.endswith("boxes ≥ 0.95") for c, _ in images(at)) and not at.exception
    monkeypatch.setenv("RA_DATASET", "canvas:base=fashion-mnist")
    at = run()
    assert not at.exception and not at.sidebar.get("radio")
    assert len(images(at)) >= 2 and not any("classifier" in i.value for i in at.info)


def test_compare_offers_canvases_only_where_a_detector_was_trained_on_the_datasets_canvases(
        monkeypatch, tmp_path):
    """The zoo's detectors were trained on Fashion-MNIST canvases: with another dataset in
    force Compare shows no Images choice, since no detector fits that dataset's canvases."""
    monkeypatch.delenv("RA_CHECKPOINTS", raising=False)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    monkeypatch.setenv("RA_DATASET", "synthetic:n=64")
    at = run()
    assert not at.exception
    assert not [r for r in at.sidebar.get("radio") if r.key == "compare_images"]


def test_gallery_on_detection_canvases_filters_the_per_canvas_records(monkeypatch, tmp_path):
    """With detection-transfer's per-canvas records in the results folder, Gallery's canvas
    mode counts the canvases a filter keeps and shows them as A | B thumbnails with the items
    each lets the detector find; without the records it says how to make them."""
    from analysis.analyses.detection_transfer import detection_transfer, save_detection_transfer

    monkeypatch.delenv("RA_CHECKPOINTS", raising=False)
    monkeypatch.delenv("RA_DATASET", raising=False)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    at = run("views/gallery.py")
    at.sidebar.radio(key="gallery_images").set_value("detection canvases").run()
    assert not at.exception
    assert any("detection-transfer --task sr" in i.value for i in at.info)
    result = detection_transfer("sr", "canvas:base=fashion-mnist",
                                processors=["sr-plain-canvas", "sr-ra-det-fcos"],
                                detectors=["fcos", "retinanet"], limit=6, n_boot=5,
                                progress=False)
    save_detection_transfer(result, tmp_path)
    at.run()
    assert at.selectbox(key="gallery_canvas_a").value == "sr-ra-det-fcos"
    assert at.selectbox(key="gallery_canvas_b").value == "sr-plain-canvas"
    at.selectbox(key="gallery_canvas_filter").set_value("all canvases").run()
    at.selectbox(key="gallery_canvas_sort").set_value("index").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "6 of 6 test canvases: every test canvas." in text
    records = result["per_canvas"]
    expected = [f"#{i} · A {records['found|sr-ra-det-fcos|fcos'][i]} / B "
                f"{records['found|sr-plain-canvas|fcos'][i]} of {records['truth'][i]}"
                for i in range(5, -1, -1)]
    assert grid_captions(at) == expected


def counting_refinements(cache, monkeypatch) -> list:
    """Record (image index, classifier, resolution, thread name) for each map that a call of
    the Boundaries cache's ``refine_maps`` takes further (a complete map costs nothing)."""
    drawn, lock = [], threading.Lock()
    real = cache.refine_maps

    def counting(plane, models, states, **kw):
        with lock:
            drawn.extend((plane.index, n, states[n].resolution, threading.current_thread().name)
                         for n in models if not states[n].complete)
        return real(plane, models, states, **kw)

    monkeypatch.setattr(cache, "refine_maps", counting)
    return drawn


def test_the_launchers_warm_up_draws_exactly_the_boundaries_pages_opening_maps(
        env, tiny_zoo, monkeypatch):
    import app.components.boundary_cache as cache
    from app.components.common import workspace

    cache.map_state.clear()
    cache.cached_distances.clear()
    drawn = counting_refinements(cache, monkeypatch)
    ws = workspace("sr:scale=4", SYNTH, str(tiny_zoo), ())
    view = ws.default_view()
    assert cache.warm_default_view(ws) == 2 and len(drawn) == 2
    assert {d[0] for d in drawn} == {view.index} and {d[2] for d in drawn} == {128}
    at = run("views/boundaries.py")
    shown = ([w.value for w in at.selectbox if w.key == "bd_pick"]
             or [w.value for w in at.number_input if w.key == "bd_index"])
    assert shown == [view.index]
    assert len(drawn) == 2, drawn[2:]          # the page's opening view drew no map again
    assert any(c.value.startswith("Maps complete") for c in at.caption)
    others = [n for n in ws.classifiers if n not in view.classifiers]
    assert others and cache.warm_default_view(ws, others=True) == len(others)   # the launcher's
    assert len(drawn) == 2 + len(others)        # the other classifiers, once each
    at.multiselect(key="bd_classifiers").select(others[0]).run()
    assert not at.exception and len(drawn) == 2 + len(others)   # adding one draws nothing
    at.select_slider(key="bd_resolution").set_value(64).run()
    assert len(drawn) == 2 + len(others) + 3    # another view is drawn, not taken from the cache


def test_the_launchers_warm_up_runs_behind_the_server_and_fills_the_pages_caches(
        env, monkeypatch):
    """The warm-up job (started once the server serves; here at once) builds the workspace
    and draws Boundaries' opening maps in its own thread: the pages then build and draw
    nothing."""
    import analysis.explore.workspace as workspace_module
    import app.components.boundary_cache as cache
    import app.launch as launch
    from app.components.background import WARM_UP
    from app.components.common import workspace

    workspace.clear()
    cache.map_state.clear()
    cache.cached_distances.clear()
    drawn = counting_refinements(cache, monkeypatch)
    built, real_init = [], workspace_module.Workspace.__init__

    def counting(self, *args, **kwargs):
        built.append(threading.current_thread().name)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(workspace_module.Workspace, "__init__", counting)
    monkeypatch.setattr(launch, "wait_for_server", lambda: True)
    launch.warm_up_behind_server(survey_demo=False)
    assert WARM_UP.wait(WARM_UP.generation, timeout=600)
    assert built and set(built) == {"ra-warm-up"}
    assert drawn and {d[3] for d in drawn} == {"ra-warm-up"}
    before = (len(built), len(drawn))
    at = run("views/boundaries.py")
    assert not at.exception and (len(built), len(drawn)) == before


def test_the_launcher_starts_the_server_before_importing_torch(tmp_path):
    """Nothing heavy runs before ``streamlit run``: torch is not imported when the server
    starts (the warm-up waits for it), so the health check answers in seconds."""
    import subprocess
    import sys

    probe = ("import sys, streamlit.web.cli as cli, app.launch as launch\n"
             "cli.main = lambda: print('torch' in sys.modules, 'piq' in sys.modules) or 0\n"
             "launch.main([])\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=Path(MAIN).parents[1], timeout=300,
                          env={**__import__("os").environ, "RA_SURVEY_DEMO": "0"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"], done.stdout


def test_the_boundaries_page_shows_the_level_reached_within_its_budget(env, monkeypatch):
    """A budget spent after the first level: the page shows the coarse maps, says the
    budget and the level reached, and "Refine further" takes them on from there."""
    import analysis.explore.plane as plane_module
    import app.components.boundary_cache as cache

    cache.map_state.clear()
    cache.cached_distances.clear()

    class Late:        # every deadline has passed
        @staticmethod
        def monotonic():
            return float("inf")

    monkeypatch.setattr(plane_module, "time", Late)
    at = run("views/boundaries.py")
    assert not at.exception
    note = next(c.value for c in at.caption if c.value.startswith("Time budget of 5 s"))
    assert "level 1 of at most" in note
    assert len(page_components(at)) == 2                       # the coarse maps, clickable
    monkeypatch.setattr(plane_module, "time", time)
    at.select_slider(key="bd_budget").set_value(300.0)    # time enough on a loaded machine
    at.button(key="bd_refine").click().run()
    assert not at.exception
    assert any(c.value.startswith("Maps complete") for c in at.caption)
    assert not [b for b in at.button if b.key == "bd_refine"]


def test_the_boundaries_page_prefetches_the_next_images_of_its_picker(env, monkeypatch):
    """While a visitor looks at one image, the next two of the picker are drawn in the
    background with the page's own cache keys: moving on draws no map in the page's run."""
    import app.components.boundary_cache as cache

    monkeypatch.setenv("RA_PREFETCH", "1")
    cache.map_state.clear()
    cache.cached_distances.clear()
    drawn = counting_refinements(cache, monkeypatch)
    at = run("views/boundaries.py")
    at.radio(key="bd_picker").set_value("by index").run()   # every test image: 0, 1, 2, ...
    at.number_input(key="bd_index").set_value(3).run()
    assert cache.PREFETCH.wait(cache.PREFETCH.generation, timeout=120)
    chosen = tuple(at.multiselect(key="bd_classifiers").value)
    ahead = [(i, n) for i, n, _, who in drawn if who == "ra-boundaries-prefetch"]
    assert {(4, n) for n in chosen} | {(5, n) for n in chosen} <= set(ahead)
    before = len(drawn)
    at.number_input(key="bd_index").set_value(4).run()
    assert not at.exception
    in_page = [d for d in drawn[before:] if d[3] != "ra-boundaries-prefetch"]
    assert in_page == []                        # image 4's maps came from the prefetch
    assert cache.PREFETCH.wait(cache.PREFETCH.generation, timeout=120)
    assert {(6, n) for n in chosen} <= {(i, n) for i, n, _, who in drawn[before:]}


def test_features_page_scatter_and_measures(env):
    at = run("views/features.py")
    # the page's own canvas scatter (no chart library), box selection by default
    assert len(page_components(at)) == 1
    assert not at.get("vega_lite_chart") and not at.get("plotly_chart")
    measures = page_tables(at)
    assert len(measures) == 1 and not at.table and "hq_distance" in measures[0].columns
    assert any("Drag a box" in c.value for c in at.caption)
    at.toggle(key="features_lasso").set_value(True).run()
    assert not at.exception and len(page_components(at)) == 1
    assert any("Drag a lasso" in c.value for c in at.caption)
    at.toggle(key="features_lasso").set_value(False).run()
    assert at.selectbox(key="features_classifier").value == "clf-b"
    at.selectbox(key="features_classifier").set_value("clf-a").run()
    assert not at.exception
    assert any("tsne --task sr --classifier clf-a" in i.value for i in at.info)


def test_pages_explain_missing_pieces(monkeypatch, tmp_path):
    monkeypatch.setenv("RA_CHECKPOINTS", str(tmp_path / "empty"))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path / "none"))
    for page in (None, "views/metrics.py", "views/boundaries.py", "views/features.py"):
        at = run(page)
        # another dataset than the embedded default: the training commands, with the dataset
        # and the checkpoint folder in force (build-zoo plans the embedded zoo only), each
        # with only the options its verb takes (train-classifier names its file by --out)
        hints = [i.value for i in at.info if "Not there yet" in i.value]
        assert hints and all("build-zoo" not in h for h in hints), hints
        assert any("train-classifier" in h and f"--dataset {SYNTH}" in h
                   and f"--out {tmp_path / 'empty'}/resnet20" in h for h in hints), hints
        for hint in hints:
            for command in hint.split("`")[1::2]:
                build_parser().parse_args(shlex.split(command)[3:])
    monkeypatch.delenv("RA_DATASET")                     # the embedded default: build-zoo
    assert any("build-zoo" in i.value for i in run("views/metrics.py").info)


def test_compare_page_names_a_broken_card_instead_of_failing(monkeypatch, tiny_zoo, tmp_path):
    """A card with an unknown arch_kwargs key (issue 17: once a raw TypeError) is skipped with
    its sentence; the rest of the zoo is still shown."""
    import json
    import shutil

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, folder)
    for suffix in (".json", ".safetensors"):
        shutil.copy(folder / f"clf-b{suffix}", folder / f"clf-bad{suffix}")
    card = json.loads((folder / "clf-bad.json").read_text())
    card["arch_kwargs"]["bogus"] = 1
    (folder / "clf-bad.json").write_text(json.dumps(card))
    monkeypatch.setenv("RA_CHECKPOINTS", str(folder))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(tmp_path / "results"))
    at = run()
    warnings = " ".join(w.value for w in at.warning)
    assert "clf-bad.json" in warnings and "takes no option 'bogus'" in warnings
    assert "TypeError" not in warnings
    assert {"clean target", "sr-plain", "sr-ra"} <= {c for c, _ in images(at)}


def test_compare_page_adds_the_loss_grid_on_request(monkeypatch, tiny_zoo, results, tmp_path):
    import shutil

    from analysis.training.processors import train_processor

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    train_processor("sr", "perceptual", dataset=SYNTH, out=str(zoo / "loss-grid" / "sr-ep-grid"),
                    recognizer=str(zoo / "clf-b"), lam=1.0, layers=["block1", "block3"],
                    perceptual={"layer_weights": [0.2, 0.02], "feature_norm": "channel-mean"},
                    arch_kwargs={"channels": 8, "blocks": 1}, max_steps=2, batch_size=16,
                    val_limit=20, state_dir=str(tmp_path), progress=False)
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(results))
    at = run()
    assert "sr-ep-grid" not in at.multiselect(key="compare_processors|sr:scale=4|").options
    at.checkbox(key="compare_loss_grid").check().run()
    assert not at.exception
    select = at.multiselect(key="compare_processors|sr:scale=4|loss-grid")
    assert "sr-ep-grid" in select.options
    select.select("sr-ep-grid").run()
    assert not at.exception
    assert "sr-ep-grid" in {c for c, _ in images(at)}

    # the Metrics page shows the loss grid's tables once they are measured
    from analysis.analyses.loss_grid import loss_grid_report, save_loss_grid
    from analysis.data.folders import dataset_slug

    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    monkeypatch.setenv("RA_RESULTS", str(copy))
    save_loss_grid(loss_grid_report("sr", dataset=SYNTH, folder=zoo, metrics=["psnr", "ssim"],
                                    evaluators=("clf-a", "clf-robust"), quality_limit=10,
                                    progress=False),
                   copy / "datasets" / dataset_slug(SYNTH))
    at = run("views/metrics.py")
    assert any("Loss grid" in h.value for h in at.subheader)
    frames = [d.value for d in at.dataframe]
    assert any("checkpoint" in f.columns and "sr-ep-grid" in set(f["checkpoint"]) and
               "error on clf-robust (%)" in f.columns for f in frames)
    assert any("Spearman rho" in c.value for c in at.caption)


def test_the_launchers_preload_leaves_the_workspace_the_pages_use(env, tiny_zoo, monkeypatch):
    """The preload must fill the very cache entry that get_workspace reads (same arguments),
    or every page's first view builds the workspace again."""
    import analysis.explore.workspace as workspace_module
    from analysis.explore.workspace import available_tasks
    from app.components.common import get_workspace, workspace
    from app.launch import preload

    workspace.clear()
    built = []
    real_init = workspace_module.Workspace.__init__

    def counting(self, *args, **kwargs):
        built.append(args[:1])
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(workspace_module.Workspace, "__init__", counting)
    preload()
    tasks = available_tasks(SYNTH, str(tiny_zoo))
    assert sorted(b[0] for b in built) == sorted(tasks)         # one per task
    at = run()                                   # the default page (Compare) opens
    assert not at.exception
    assert len(built) == len(tasks), "the page built its own workspace, not the preload's"
    at.selectbox(key="compare_task").set_value(tasks[-1]).run()   # and so does a task change
    assert not at.exception and len(built) == len(tasks)
    assert get_workspace(tasks[0]) is not None and len(built) == len(tasks)


def test_metrics_offers_recognizer_side_classifiers_and_shows_their_table(
        tiny_zoo, results, tmp_path, monkeypatch):
    from analysis.analyses.recognizer_side import measure_recognizers, save_recognizer_table
    from analysis.data.folders import dataset_slug
    from analysis.training.recognizer_side import train_recognizer
    from tests.conftest import TINY_CLASSIFIER

    zoo = tmp_path / "zoo"
    shutil.copytree(tiny_zoo, zoo)
    train_recognizer("augment", "resnet20", {"degradation": "mix"}, dataset=SYNTH,
                     out=str(zoo / "recognizers" / "aug"), epochs=1, batch_size=32,
                     arch_kwargs=TINY_CLASSIFIER, max_steps=2, val_limit=20,
                     state_dir=str(tmp_path), progress=False)
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    save_recognizer_table(measure_recognizers(SYNTH, zoo, vanilla="clf-a",
                                              degradations=("sr", "compound"), limit=20,
                                              progress=False),
                          copy / "datasets" / dataset_slug(SYNTH))
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(copy))
    at = run("views/metrics.py")
    picker = at.multiselect(key="metrics_classifiers")
    assert "aug" in picker.options and "aug" not in picker.value   # offered, not by default
    table = next(t.value for t in at.table)                         # the comparison table
    assert ("aug", "no processing") in set(table.index) and "mCE" in table.columns
    picker.select("aug").run()
    at.slider(key="metrics_limit").set_value(100).run()
    assert at.slider(key="metrics_limit").max == 2000                # a sensible cap
    at.button(key="metrics_compute").click().run()
    assert not at.exception
    job = at.session_state["metrics_job_sr_scale4"]          # a background job, then its result
    assert job.wait(300).status == "done"
    at.run()
    assert "metrics_job_sr_scale4" not in at.session_state
    assert "aug" in at.session_state["evaluation_sr_scale4"]["classifiers"]
    captions = [c.value for c in at.caption]
    # the caption speaks of what is shown (the computation), not of the saved file
    assert any(c.startswith("Shown: computed here on the first") for c in captions)
    assert not any(c.startswith("From ") and "evaluate_sr_scale4" in c for c in captions)
    at.button(key="metrics_saved").click().run()                     # back to the saved file
    assert "evaluation_sr_scale4" not in at.session_state
    # the next computation's estimate, from the last one's time per image
    assert any(c.value.startswith("About ") and "for 100 images" in c.value for c in at.caption)


def test_the_preload_draws_the_hover_images_the_features_page_opens_on(env, monkeypatch):
    import app.components.tsne_cache as tsne_cache
    from app.launch import preload

    tsne_cache._images.clear()
    calls = []
    real = tsne_cache.point_images

    def counting(ws, report, sources, *store):
        calls.append((report["classifier"], tuple(sources)))
        return real(ws, report, sources, *store)

    monkeypatch.setattr(tsne_cache, "point_images", counting)
    preload()
    assert len(calls) == 1 and calls[0][0] == "clf-b"      # the classifier with a report
    at = run("views/features.py")
    assert len(page_components(at)) == 1
    assert len(calls) == 1, "the page drew its hover images again: not the preload's entry"
    at.multiselect(key="features_sources").unselect("sr-ra").run()   # another view: drawn
    assert not at.exception and len(calls) == 2


def test_pages_leave_the_shared_result_files_unchanged(env, results):
    """load_result hands every session the same parsed object: no page may modify it."""
    import json

    from app.components.common import load_result

    load_result.clear()
    at = run()
    for page in ("views/gallery.py", "views/metrics.py", "views/boundaries.py",
                 "views/features.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, page
    at.toggle(key="features_lasso").set_value(True).run()
    at.toggle(key="features_qualnet").set_value(True).run()
    assert not at.exception
    files = [p for p in results.rglob("*.json")]
    read = 0
    for path in files:
        shared = load_result(str(path), path.stat().st_mtime)
        read += 1
        assert shared == json.loads(path.read_text()), path.name
    assert read >= 4


def test_pages_say_a_result_was_measured_with_other_weights(monkeypatch, tiny_zoo, results,
                                                             tmp_path, capsys):
    """import-weights onto an existing name refuses without --force (one sentence, the files
    byte-identical); with --force it overwrites clf-b, and Metrics, Features and Boundaries
    (Table 17) each say that the result they show was measured with the old weights."""
    import torch

    from analysis.zoo.checkpoints import load_checkpoint
    from tests.bad_input import assert_one_sentence, run_main, snapshot

    zoo, res = tmp_path / "zoo", tmp_path / "results"
    shutil.copytree(tiny_zoo, zoo)
    shutil.copytree(results, res)
    model, card = load_checkpoint(zoo / "clf-b")
    state = {k: v + 0.01 if v.is_floating_point() else v
             for k, v in model.state_dict().items() if k not in ("mean", "std")}
    torch.save(state, tmp_path / "other.pth")
    argv = ["import-weights", "--arch", "vgg11-bn", "--weights", tmp_path / "other.pth",
            "--out", zoo / "clf-b", "--dataset", SYNTH, "--arch-kw", "width_mult=0.125"]
    before = snapshot(zoo)
    code, err = run_main(argv, capsys)
    assert_one_sentence(code, err, f"{zoo / 'clf-b.json'} already exists; pass --force to "
                                   "overwrite the checkpoint clf-b")
    assert snapshot(zoo) == before
    code, err = run_main([*argv, "--force"], capsys)
    assert code == 0, err
    assert snapshot(zoo) != before
    monkeypatch.setenv("RA_CHECKPOINTS", str(zoo))
    monkeypatch.setenv("RA_DATASET", SYNTH)
    monkeypatch.setenv("RA_RESULTS", str(res))

    def notices(at) -> list[str]:
        return [w.value for w in at.warning if "measured with other weights of clf-b" in w.value]

    at = run("views/metrics.py")                # the evaluation (every classifier)
    assert any(n.startswith("`evaluate_sr_scale4.json` was measured with other weights of "
                            "clf-b: re-run 'python -m analysis reproduce") for n in notices(at))
    at = run("views/features.py")               # opens on clf-b's report
    assert at.selectbox(key="features_classifier").value == "clf-b"
    assert any(n.startswith("`features_sr_scale4_clf-b.json` was measured with other weights "
                            "of clf-b: re-run 'python -m analysis tsne --task sr --classifier "
                            "clf-b") for n in notices(at)), notices(at)
    at = run("views/boundaries.py")             # Table 17 of clf-a / clf-b
    assert any(n.startswith("`boundaries_sr_scale4_clf-a_clf-b.json` was measured with other "
                            "weights of clf-b: re-run 'python -m analysis bd --task sr --source "
                            "clf-a --target clf-b") for n in notices(at)), notices(at)
