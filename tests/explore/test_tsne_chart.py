import base64
import io

import numpy as np
import pytest
from PIL import Image

from analysis.analyses.features import HQ, LQ, feature_report
from analysis.errors import RAExplorerError
from analysis.explore.tsne_chart import (
    point_images,
    polygon_images,
    scatter_payload,
    selection_images,
    selection_text,
    shown_sources,
    tsne_frame,
)
from analysis.explore.workspace import Workspace
from tests.conftest import SYNTH


@pytest.fixture(scope="module")
def report(tiny_zoo):
    return feature_report("sr", "clf-a", n=24, folder=tiny_zoo, dataset=SYNTH)


def decode(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_frame_holds_the_chosen_points_only(report):
    frame = tsne_frame(report, classes=[0, 1], sources=[HQ, LQ])
    expected = [p for p in report["points"] if p["source"] in (HQ, LQ) and p["label"] in (0, 1)]
    assert len(frame) == len(expected) > 0
    assert set(frame["source"]) == {HQ, LQ}
    assert set(frame["class"]) <= {report["class_names"][0], report["class_names"][1]}
    # every row is its report point: coordinates by (index, source)
    by_key = {(p["index"], p["source"]): p for p in report["points"]}
    for row in frame.itertuples():
        p = by_key[(row.index, row.source)]
        assert (row.x, row.y) == (p["x"], p["y"])
        assert row.predicted == report["class_names"][p["prediction"]]


def test_contrast_mode_draws_hq_under_the_chosen_source(report):
    other = report["sources"][-1]
    frame = tsne_frame(report, contrast=other)
    assert list(dict.fromkeys(frame["source"])) == [HQ, other]
    assert shown_sources(report, None, other) == [HQ, other]
    with pytest.raises(RAExplorerError, match="no source 'nope'"):
        tsne_frame(report, contrast="nope")


def test_a_box_selects_exactly_the_drawn_points_inside_it(report):
    frame = tsne_frame(report, sources=[HQ, LQ])
    xs, ys = np.quantile(frame["x"], [0.3, 0.7]), np.quantile(frame["y"], [0.2, 0.9])
    # the canvas sends a dragged box as its four corners, from any corner
    box = [[float(xs[1]), float(ys[0])], [float(xs[0]), float(ys[0])],
           [float(xs[0]), float(ys[1])], [float(xs[1]), float(ys[1])]]
    chosen = selection_images(frame, {"polygon": box})
    brute = []
    for p in report["points"]:
        if (p["source"] in (HQ, LQ) and xs[0] < p["x"] < xs[1] and ys[0] < p["y"] < ys[1]
                and p["index"] not in brute):
            brute.append(p["index"])
    assert sorted(chosen) == sorted(brute) and len(chosen) == len(set(chosen)) > 0
    # a source not drawn does not count, even where its points lie inside the box
    only_hq = tsne_frame(report, sources=[HQ])
    assert set(selection_images(only_hq, {"polygon": box})) <= set(chosen)
    # a clicked point is its image, if drawn; nothing selected is nothing
    first = int(frame["index"].iloc[0])
    assert selection_images(frame, {"pick": first}) == [first]
    assert selection_images(frame, {"pick": 10**6}) == []
    assert selection_images(frame, None) == [] and selection_images(frame, {"polygon": None}) == []


def test_point_images_are_each_sources_own_pixels(report, tiny_zoo):
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    images = point_images(ws, report, [HQ, LQ, "sr-ra", "not-a-processor"])
    indices = sorted({p["index"] for p in report["points"]})
    assert {s for _, s in images} == {HQ, LQ, "sr-ra"}
    assert len(images) == 3 * len(indices)
    i = indices[3]
    for source, name in ((HQ, "clean"), (LQ, "no processing"), ("sr-ra", "sr-ra")):
        want = np.clip(np.round(ws.thumbnails([i], [name])[i] * 255), 0, 255).astype(np.uint8)
        assert np.array_equal(decode(images[(i, source)]), want)
    assert not np.array_equal(decode(images[(i, HQ)]), decode(images[(i, "sr-ra")]))


def test_point_images_go_through_the_store(report, tiny_zoo):
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    kept = {}

    def store(png: bytes) -> str:
        kept[f"img/{len(kept)}"] = png
        return f"img/{len(kept) - 1}"

    images = point_images(ws, report, [HQ], store)
    assert set(images.values()) == set(kept)
    i = sorted(images)[0][0]
    want = np.clip(np.round(ws.thumbnails([i], ["clean"])[i] * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(kept[images[(i, HQ)]]))), want)


def _inside(polygon, x, y):
    """Brute force: the winding of the polygon's edges around (x, y), odd = inside."""
    crossings = 0
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            crossings += 1
    return crossings % 2 == 1


def test_a_lasso_selects_exactly_the_drawn_points_inside_its_polygon(report):
    frame = tsne_frame(report)
    xs, ys = frame["x"].to_numpy(), frame["y"].to_numpy()
    cx, cy = float(np.median(xs)), float(np.median(ys))
    r = 0.6 * float(np.std(xs) + np.std(ys))
    # a concave, star-like polygon: convex tests would miss a wrong rule
    polygon = [[cx + (r if k % 2 == 0 else 0.35 * r) * np.cos(np.pi * k / 5),
                cy + (r if k % 2 == 0 else 0.35 * r) * np.sin(np.pi * k / 5)] for k in range(10)]
    got = polygon_images(frame, polygon)
    want = list(dict.fromkeys(int(row.index) for row in frame.itertuples()
                              if _inside(polygon, row.x, row.y)))
    assert got == want and 0 < len(got) < frame["index"].nunique()
    assert polygon_images(frame, None) == [] and polygon_images(frame, polygon[:2]) == []
    with pytest.raises(RAExplorerError, match="finite"):
        polygon_images(frame, [[0, 0], [1, float("nan")], [1, 1]])


def test_scatter_payload_matches_the_frame_and_the_charts_colours(report):
    from analysis.palette import CLASS_COLOURS

    frame = tsne_frame(report, classes=[0, 2])
    data = scatter_payload(frame, report, width=640, height=400)
    assert data["mode"] == "box" and scatter_payload(frame, report, mode="lasso")["mode"] == "lasso"
    with pytest.raises(RAExplorerError, match="Unknown selection mode 'circle'"):
        scatter_payload(frame, report, mode="circle")
    pts = data["points"]
    assert pts["x"] == frame["x"].tolist() and pts["index"] == frame["index"].tolist()
    names = report["class_names"]
    assert pts["colour"] == [CLASS_COLOURS[names.index(c)] for c in frame["class"]]
    assert pts["shape"] == [report["sources"].index(s) for s in frame["source"]]
    assert [c[0] for c in data["class_legend"]] == [names[0], names[2]]
    x0, x1, y0, y1 = data["domain"]          # every point inside, with the margin
    assert x0 < min(pts["x"]) and max(pts["x"]) < x1 and y0 < min(pts["y"]) and max(pts["y"]) < y1
    contrast = next(s for s in report["sources"] if s != HQ)
    two = scatter_payload(tsne_frame(report, contrast=contrast), report, contrast)
    assert set(zip(two["points"]["source"], two["points"]["shape"], two["points"]["alpha"])) == {
        (HQ, 0, 0.95), (contrast, 1, 0.45)}


def test_the_selection_is_named_as_drawn():
    box = [[0.5, -1.0], [-0.25, -1.0], [-0.25, 2.0], [0.5, 2.0]]
    assert selection_text({"polygon": box}) == "a box, x in [-0.250, 0.500], y in [-1.000, 2.000]"
    assert selection_text({"polygon": box[:3] + [[0.4, 2.0]]}) == "a lasso of 4 vertices"
    assert selection_text({"pick": 17}) == "test image 17 clicked"
    assert selection_text(None) == "nothing" == selection_text({})
