"""One class palette: a class has the same colour on the app's maps, in its legends and in the
paper figures."""

import base64
import io
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from PIL import Image, ImageColor

from analysis.palette import CLASS_COLOURS, class_colour, class_palette

K = 10          # classes on the test map
CELL = 10       # figure pixels per grid point


def class_map() -> SimpleNamespace:
    """A 20 x 20 decision map whose class is the column pair (u), classes 0 .. 9 left to right."""
    res = 2 * K
    axis = torch.linspace(0.0, 1.0, res)            # the origin (marked) is the bottom-left cell
    classes = (torch.arange(res) // 2).repeat(res, 1)
    return SimpleNamespace(classes=classes, us=axis, vs=axis)


def app_map_rgb(dmap, scale: int = 8) -> np.ndarray:
    """The map as the Boundaries page sends it: map_pixels, then the component's PNG URL."""
    from analysis.explore.map_view import map_pixels
    from app.components.map_image import png_data_url

    url = png_data_url(map_pixels(dmap, [str(c) for c in range(K)], scale=scale))
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def figure_map_rgb(dmap) -> np.ndarray:
    """The map as the paper's boundary-maps figure draws it (its colormap and imshow call)."""
    from analysis.reporting.paper.style import class_cmap, rc

    side = len(dmap.us) * CELL / 100
    with matplotlib.rc_context(rc()):
        fig = Figure(figsize=(side, side), dpi=100)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        us, vs = dmap.us.numpy(), dmap.vs.numpy()
        ax.imshow(dmap.classes.numpy(), origin="lower", cmap=class_cmap(K), vmin=-0.5,
                  vmax=K - 0.5, extent=(us[0], us[-1], vs[0], vs[-1]), interpolation="nearest",
                  aspect="auto")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_the_app_map_and_the_paper_figure_give_every_class_the_same_rgb():
    dmap = class_map()
    scale = 8
    app, figure = app_map_rgb(dmap, scale), figure_map_rgb(dmap)
    row = 5                                             # far from the origin's mark (bottom left)
    for c in range(K):
        col = 2 * c + 1
        app_rgb = tuple(app[row * scale + scale // 2, col * scale + scale // 2])
        figure_rgb = tuple(figure[row * CELL + CELL // 2, col * CELL + CELL // 2])
        assert app_rgb == figure_rgb == ImageColor.getrgb(class_colour(c)), c


def test_the_boundaries_legend_and_the_features_chart_read_the_same_palette():
    from analysis.explore.map_view import legend_html
    from analysis.explore.tsne_chart import scatter_payload

    names = [f"class {c}" for c in range(K)]
    legend = legend_html(names)
    assert all(f"background:{class_colour(c)}" in legend for c in range(K))
    report = {"class_names": names, "sources": ["HQ"], "n_images": 2, "classifier": "c",
              "task": "sr:scale=4"}
    frame = pd.DataFrame({
        "x": [0.0, 1.0], "y": [0.0, 1.0], "class": [names[3], names[7]], "label": [3, 7],
        "source": ["HQ", "HQ"], "index": [0, 1]})
    payload = scatter_payload(frame, report)
    assert payload["points"]["colour"] == [class_colour(3), class_colour(7)]


def test_ten_distinct_colours_repeating_beyond_them():
    assert len(set(CLASS_COLOURS)) == len(CLASS_COLOURS) == 10
    assert class_palette(3) == CLASS_COLOURS[:3] and class_palette(0) == CLASS_COLOURS[:1]
    assert class_colour(12) == CLASS_COLOURS[2]
