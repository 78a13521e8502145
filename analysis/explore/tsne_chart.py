"""The interactive t-SNE scatter of a feature report, as the JSON the Features page's canvas
(``app.components.scatter``) draws: colour = class, marker = source, each with its own
legend; hovering a point shows that point's image (the source's human view of the test
image); a dragged box or free-hand lasso is a polygon, and :func:`polygon_images` turns it
into test images.

Why a canvas of our own and not a chart library: in the headless Chromium here Streamlit's
Vega-Lite chunk spent 0.5-1.0 s in one long task building and drawing the 4,000-point
scatter (with or without images), and its first view took 2.8-4.0 s against 2.3-3.0 s for
the canvas with the same data-URL images (2.1-2.4 s without them); plotly's chunk alone takes
1.4 s to parse. The canvas needs no code loaded from
anywhere, and the hover images can be files the browser fetches only when hovered.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..analyses.features import HQ, LQ
from ..errors import RAExplorerError
from ..palette import class_colour
from .encoders import enlarge_png

SELECTION_MODES = ("box", "lasso")
# what Workspace.thumbnails calls the two sources that are not processors
SOURCE_INPUTS = {HQ: "clean", LQ: "no processing"}


def shown_sources(report: dict, sources: list[str] | None, contrast: str | None) -> list[str]:
    """The sources drawn: HQ and ``contrast`` in the QualNet Fig. 2 mode, else ``sources``
    (None: all) in the report's order."""
    if contrast is not None:
        if contrast not in report["sources"]:
            raise RAExplorerError(f"The feature report has no source {contrast!r}; choose one "
                                  f"of {', '.join(report['sources'])}.")
        return [HQ, contrast]
    return [s for s in report["sources"] if sources is None or s in sources]


def tsne_frame(report: dict, classes: list[int] | None = None,
               sources: list[str] | None = None, contrast: str | None = None,
               images: dict[tuple[int, str], str] | None = None) -> pd.DataFrame:
    """One row per drawn point: x, y (t-SNE coordinates), index (test image), class,
    predicted (class names), source; ``image`` (a data URL) where ``images`` has the
    point's (index, source). ``classes``: class indices shown (None: all)."""
    names = report["class_names"]
    keep_classes = set(range(len(names)) if classes is None else classes)
    keep_sources = shown_sources(report, sources, contrast)
    rank = {s: k for k, s in enumerate(keep_sources)}
    rows = [p for p in report["points"] if p["source"] in rank and p["label"] in keep_classes]
    rows.sort(key=lambda p: rank[p["source"]])      # HQ under the contrast's crosses
    frame = pd.DataFrame({
        "x": [float(p["x"]) for p in rows], "y": [float(p["y"]) for p in rows],
        "index": [int(p["index"]) for p in rows],
        "class": [names[p["label"]] for p in rows],
        "predicted": [names[p["prediction"]] for p in rows],
        "source": [p["source"] for p in rows]})
    if images is not None:
        frame["image"] = [images.get((i, s), "") for i, s in zip(frame["index"], frame["source"])]
    return frame


def png_data_url(png: bytes) -> str:
    """PNG bytes -> a data URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def point_images(workspace, report: dict, sources: list[str],
                 store: Callable[[bytes], str] = png_data_url) -> dict[tuple[int, str], str]:
    """{(index, source): URL of that source's human view of test image ``index``} for every
    image of the report and each of ``sources`` (HQ = the clean image, LQ = the degraded
    input as a person sees it, a processor = its output), each a lossless PNG at its own
    size; one batch per source. ``store`` turns the PNG's bytes into the URL (default a data
    URL; the app writes files the browser fetches on hover). Sources the workspace cannot
    produce (a processor not in it) are left out."""
    indices = sorted({int(p["index"]) for p in report["points"]})
    out = {}
    for source in sources:
        name = SOURCE_INPUTS.get(source, source)
        if name not in SOURCE_INPUTS.values() and name not in workspace.processors:
            continue
        for index, pixels in workspace.thumbnails(indices, [name]).items():
            out[(index, source)] = store(enlarge_png(pixels, 1))
    return out


def scatter_payload(frame: pd.DataFrame, report: dict, contrast: str | None = None,
                    mode: str = "box", width: int = 900, height: int = 520,
                    margin: float = 0.03) -> dict:
    """What the scatter canvas (``app.components.scatter``) draws, as JSON-ready lists: per
    point x, y, colour (its class's), shape (its source's marker number), alpha, index,
    label, source, image (URL or ""); the two legends as [text, colour, shape]; the axis
    ``domain`` [x0, x1, y0, y1] (the points' range widened by ``margin`` of it on each side);
    the selection ``mode`` ("box" or "lasso"), the canvas size in px and the title."""
    if mode not in SELECTION_MODES:
        raise RAExplorerError(f"Unknown selection mode {mode!r}; use one of "
                              f"{', '.join(SELECTION_MODES)}.")
    names = report["class_names"]
    colours = {n: class_colour(k) for k, n in enumerate(names)}
    order = list(dict.fromkeys(frame["source"]))
    shape = ({contrast: 1, HQ: 0} if contrast is not None else
             {s: report["sources"].index(s) for s in order})
    alpha = ({HQ: 0.95, contrast: 0.45} if contrast is not None else {s: 0.75 for s in order})
    if len(frame):
        xs, ys = frame["x"].to_numpy(), frame["y"].to_numpy()
        (x0, x1), (y0, y1) = (xs.min(), xs.max()), (ys.min(), ys.max())
    else:
        x0 = y0 = 0.0
        x1 = y1 = 1.0
    wx, wy = max(x1 - x0, 1e-9) * margin, max(y1 - y0, 1e-9) * margin
    what = (f"HQ (dark circles) vs {contrast} (light crosses)" if contrast
            else f"{report['n_images']} images per source")
    present = set(frame["class"])
    return {
        "points": {"x": frame["x"].tolist(), "y": frame["y"].tolist(),
                   "colour": [colours[c] for c in frame["class"]],
                   "shape": [shape[s] for s in frame["source"]],
                   "alpha": [alpha[s] for s in frame["source"]],
                   "index": frame["index"].tolist(), "label": frame["class"].tolist(),
                   "source": frame["source"].tolist(),
                   "image": (frame["image"].tolist() if "image" in frame else [""] * len(frame))},
        "class_legend": [[n, colours[n], 0] for n in names if n in present],
        "source_legend": [[s, "#555555", shape[s]] for s in order],
        "domain": [float(x0 - wx), float(x1 + wx), float(y0 - wy), float(y1 + wy)],
        "mode": mode, "width": int(width), "height": int(height),
        "title": f"t-SNE of {report['classifier']} features, task {report['task']} ({what})"}


def polygon_images(frame: pd.DataFrame, polygon: list[list[float]] | None) -> list[int]:
    """Test-image indices of the drawn points inside ``polygon`` ([[x, y], ...], t-SNE
    coordinates, closed implicitly; even-odd rule: a box is its four corners), in drawing
    order, each once."""
    if not polygon or len(polygon) < 3:
        return []
    from matplotlib.path import Path

    vertices = np.asarray(polygon, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or not np.isfinite(vertices).all():
        raise RAExplorerError("The selection's polygon must be a list of finite [x, y] points.")
    inside = Path(vertices).contains_points(frame[["x", "y"]].to_numpy(dtype=np.float64))
    return list(dict.fromkeys(int(i) for i in frame["index"][inside]))


def selection_images(frame: pd.DataFrame, selection: dict | None) -> list[int]:
    """Test-image indices named by the scatter's selection: {"polygon": [[x, y], ...]} (a box
    or a lasso) -> the drawn points inside it (:func:`polygon_images`); {"pick": index} -> that
    image, if one of its points is drawn; anything else -> none."""
    selection = selection or {}
    if selection.get("polygon"):
        return polygon_images(frame, selection["polygon"])
    pick = selection.get("pick")
    if pick is not None and int(pick) in set(frame["index"].tolist()):
        return [int(pick)]
    return []


def selection_text(selection: dict | None) -> str:
    """The scatter's selection in words: "a box, x in [a, b], y in [c, d]" (an axis-aligned
    four-corner polygon), "a lasso of N vertices", "test image I clicked", or "nothing"."""
    selection = selection or {}
    polygon = selection.get("polygon")
    if polygon:
        xs, ys = sorted({float(p[0]) for p in polygon}), sorted({float(p[1]) for p in polygon})
        if len(polygon) == 4 and len(xs) == 2 and len(ys) == 2:
            return (f"a box, x in [{xs[0]:.3f}, {xs[1]:.3f}], "
                    f"y in [{ys[0]:.3f}, {ys[1]:.3f}]")
        return f"a lasso of {len(polygon)} vertices"
    if selection.get("pick") is not None:
        return f"test image {int(selection['pick'])} clicked"
    return "nothing"
