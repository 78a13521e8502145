"""The interactive t-SNE scatter of a feature report as a Vega-Lite chart (Altair): colour =
class, marker = source, each with its own legend; hovering a point shows that point's image
(the source's human view of the test image) in the tooltip; a dragged box and a clicked point
are selections that name test images.

Why Vega-Lite for the page and not plotly: in the headless Chromium here Streamlit's Vega
chunk draws a 600-point scatter 0.7 s sooner than its plotly chunk (1.4 vs 2.1 s to the first
drawn chart of a fresh page), and vega-tooltip shows a data URL under the key ``image`` as a
picture, which plotly's hover labels cannot. Vega-Lite has no lasso: the page's lasso is the
canvas component of ``app.components.lasso``, fed by :func:`lasso_payload`, whose polygon
:func:`lasso_images` turns into test images.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd

from ..analyses.features import HQ, LQ
from ..errors import RAExplorerError
from ..reporting.paper.style import CLASS_COLOURS

# Vega-Lite's built-in shapes, in the order sources take them (the report's source order)
SHAPES = ("circle", "cross", "diamond", "square", "triangle-up", "triangle-down",
          "triangle-left", "triangle-right", "wedge", "arrow")
# what Workspace.thumbnails calls the two sources that are not processors
SOURCE_INPUTS = {HQ: "clean", LQ: "no processing"}
TOOLTIP_CSS = ("<style>#vg-tooltip-element img {width: 112px; height: auto; "
               "image-rendering: pixelated;}</style>")   # 28 px shown 4x, pixel-exact


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


def png_data_url(pixels: np.ndarray) -> str:
    """(H, W) or (H, W, 3) float in [0, 1] -> a lossless PNG data URL at its own size."""
    from .workspace import enlarge_png

    return "data:image/png;base64," + base64.b64encode(enlarge_png(pixels, 1)).decode("ascii")


def point_images(workspace, report: dict, sources: list[str]) -> dict[tuple[int, str], str]:
    """{(index, source): data URL of that source's human view of test image ``index``} for
    every image of the report and each of ``sources`` (HQ = the clean image, LQ = the degraded
    input as a person sees it, a processor = its output); one batch per source. Sources the
    workspace cannot produce (a processor not in it) are left out."""
    indices = sorted({int(p["index"]) for p in report["points"]})
    out = {}
    for source in sources:
        name = SOURCE_INPUTS.get(source, source)
        if name not in SOURCE_INPUTS.values() and name not in workspace.processors:
            continue
        for index, pixels in workspace.thumbnails(indices, [name]).items():
            out[(index, source)] = png_data_url(pixels)
    return out


def tsne_chart(frame: pd.DataFrame, report: dict, contrast: str | None = None,
               height: int = 520):
    """The Altair chart of ``tsne_frame``'s rows, with two selections: ``box`` (an interval
    over x and y, dragged) and ``pick`` (a clicked point, by test-image index)."""
    import altair as alt

    names = report["class_names"]
    order = list(dict.fromkeys(frame["source"]))
    box = alt.selection_interval(name="box", encodings=["x", "y"])
    pick = alt.selection_point(name="pick", fields=["index"], on="click")
    tooltip = [alt.Tooltip("index:Q", title="test image"), alt.Tooltip("class:N"),
               alt.Tooltip("predicted:N"), alt.Tooltip("source:N")]
    if "image" in frame:
        tooltip.append(alt.Tooltip("image:N", title="image"))   # vega-tooltip draws it
    colour = alt.Color("class:N", scale=alt.Scale(domain=names, range=CLASS_COLOURS[:len(names)]),
                       legend=alt.Legend(title="class (colour)"))
    shape = alt.Shape("source:N", scale=alt.Scale(
        domain=order, range=[SHAPES[report["sources"].index(s) % len(SHAPES)] for s in order]
        if contrast is None else ["circle", "cross"]), legend=alt.Legend(title="source (marker)"))
    what = (f"HQ (dark circles) vs {contrast} (light crosses)" if contrast
            else f"{report['n_images']} images per source")
    base = alt.Chart(frame, title=f"t-SNE of {report['classifier']} features, task "
                                  f"{report['task']} ({what})", height=height)
    encoding = {"x": alt.X("x:Q", axis=None), "y": alt.Y("y:Q", axis=None), "color": colour,
                "shape": shape, "tooltip": tooltip}
    if contrast is None:
        marks = base.mark_point(filled=True, size=30, opacity=0.75)
    else:
        # HQ dark and opaque, the contrast light: opacity by source on the same class colours
        encoding["opacity"] = alt.Opacity("source:N", scale=alt.Scale(
            domain=[HQ, contrast], range=[0.95, 0.45]), legend=None)
        encoding["size"] = alt.Size("source:N", scale=alt.Scale(
            domain=[HQ, contrast], range=[40, 60]), legend=None)
        marks = base.mark_point(filled=True)
    return marks.encode(**encoding).add_params(box, pick)


def selected_images(frame: pd.DataFrame, selection: dict) -> list[int]:
    """Test-image indices named by a Streamlit selection state of ``tsne_chart`` (its
    ``box`` {x: [lo, hi], y: [lo, hi]} and its ``pick`` [{index: i}, ...]): the drawn points
    inside the box (edges included) in drawing order, then the clicked ones; each once."""
    chosen: list[int] = []
    box = (selection or {}).get("box") or {}
    if box.get("x") and box.get("y"):
        (x0, x1), (y0, y1) = sorted(box["x"]), sorted(box["y"])
        inside = frame[(frame["x"] >= x0) & (frame["x"] <= x1)
                       & (frame["y"] >= y0) & (frame["y"] <= y1)]
        chosen += [int(i) for i in inside["index"]]
    for point in (selection or {}).get("pick") or []:
        if isinstance(point, dict) and "index" in point:
            chosen.append(int(point["index"]))
    return list(dict.fromkeys(chosen))


def lasso_payload(frame: pd.DataFrame, report: dict, contrast: str | None = None,
                  width: int = 900, height: int = 520, margin: float = 0.03) -> dict:
    """What the lasso scatter (``app.components.lasso``) draws, as JSON-ready lists: per point
    x, y, colour (its class's), shape (its source's marker number), alpha, index, label,
    source, image (data URL or ""); the two legends as [text, colour, shape]; the axis
    ``domain`` [x0, x1, y0, y1] (the points' range widened by ``margin`` of it on each side);
    the canvas size in px and the title."""
    names = report["class_names"]
    colours = {n: CLASS_COLOURS[k % len(CLASS_COLOURS)] for k, n in enumerate(names)}
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
        "width": int(width), "height": int(height),
        "title": f"t-SNE of {report['classifier']} features, task {report['task']} ({what}); "
                 "drag a lasso, double-click to clear"}


def lasso_images(frame: pd.DataFrame, polygon: list[list[float]] | None) -> list[int]:
    """Test-image indices of the drawn points inside ``polygon`` ([[x, y], ...], t-SNE
    coordinates, closed implicitly; even-odd rule), in drawing order, each once."""
    if not polygon or len(polygon) < 3:
        return []
    from matplotlib.path import Path

    vertices = np.asarray(polygon, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or not np.isfinite(vertices).all():
        raise RAExplorerError("The lasso's polygon must be a list of finite [x, y] points.")
    inside = Path(vertices).contains_points(frame[["x", "y"]].to_numpy(dtype=np.float64))
    return list(dict.fromkeys(int(i) for i in frame["index"][inside]))
