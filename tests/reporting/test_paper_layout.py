"""Figures with image panels lay out for any number of panels and the longest shipped names:
after drawing, no text and no axes extend past the figure, no two titles overlap, and the
plain (x) and RA (star) markers do not cover each other."""

from __future__ import annotations

import json
import shutil

import pytest

from analysis.config import PROJECT_ROOT
from analysis.reporting.paper import FigureOptions, build_figure
from analysis.reporting.paper.layout import (
    MAX_MAP_IN,
    MIN_FONT_PT,
    fit,
    map_grid,
    marker_size,
    text_width,
    wrap,
)
from analysis.reporting.paper.style import PRESETS
from tests.conftest import SYNTH

CHECKPOINTS = PROJECT_ROOT / "checkpoints"


def longest_shipped(kind: str, n: int) -> list[str]:
    """The ``n`` longest names of the shipped ``kind`` checkpoints (collections included)."""
    names = {json.loads(p.read_text())["name"] for p in CHECKPOINTS.rglob("*.json")
             if json.loads(p.read_text()).get("kind") == kind}
    return sorted(names, key=lambda s: (-len(s), s))[:n]


LONG_CLASSIFIERS = longest_shipped("classifier", 6)


def copy_model(folder, source: str, name: str, **card) -> None:
    """``source``'s checkpoint saved again as ``name`` (card fields replaced by ``card``)."""
    meta = json.loads((folder / f"{source}.json").read_text())
    meta.update(name=name, weights={**meta["weights"], "file": f"{name}.safetensors"}, **card)
    (folder / f"{name}.json").write_text(json.dumps(meta))
    shutil.copy(folder / f"{source}.safetensors", folder / f"{name}.safetensors")


@pytest.fixture(scope="module")
def long_zoo(tiny_zoo, tmp_path_factory):
    """The tiny zoo plus its classifier under the six longest shipped classifier names and its
    plain processor as the methods with the longest column labels."""
    folder = tmp_path_factory.mktemp("long") / "zoo"
    shutil.copytree(tiny_zoo, folder)
    for name in LONG_CLASSIFIERS:
        copy_model(folder, "clf-a", name)
    for method in ("perceptual", "robust-perceptual", "ra-unsup", "ra-transformer"):
        copy_model(folder, "sr-plain", f"sr-{method}", method=method)
    return folder


def drawn(fig):
    """(figure, renderer) after an Agg draw."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fig, canvas.get_renderer()


def assert_inside_and_apart(fig) -> None:
    """Every drawn text (figure texts, titles, legend entries) and every visible axes with its
    tick labels and axis labels (its tight bbox) inside the figure; no two titles overlap."""
    fig, renderer = drawn(fig)
    box = fig.bbox
    tol = 1.0   # pixel

    def inside(ext, what):
        assert (ext.x0 >= box.x0 - tol and ext.y0 >= box.y0 - tol and ext.x1 <= box.x1 + tol
                and ext.y1 <= box.y1 + tol), f"{what} extends past the figure: {ext} vs {box}"

    axes = [ax for ax in fig.axes if ax.get_visible()]
    texts = [*fig.texts, *[ax.title for ax in axes],
             *[t for lg in fig.legends for t in (lg.get_title(), *lg.get_texts())]]
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    assert texts
    for t in texts:
        inside(t.get_window_extent(renderer), repr(t.get_text()))
    for ax in axes:
        inside(ax.get_tightbbox(renderer), f"axes {ax.get_title()!r}")
    titles = [ax.title for ax in axes if ax.title.get_text()] + [
        t for t in fig.texts if t.get_text().strip()]
    extents = [(t.get_text(), t.get_window_extent(renderer)) for t in titles]
    for i, (a, ea) in enumerate(extents):
        for b, eb in extents[i + 1:]:
            assert not ea.overlaps(eb), f"titles {a!r} and {b!r} overlap"


def assert_markers_apart(fig) -> None:
    fig, renderer = drawn(fig)
    for ax in fig.axes:
        lines = [ln for ln in ax.lines if ln.get_marker() in ("x", "*")]
        if len(lines) == 2 and lines[0].get_markersize() > 2.0:   # above the smallest size
            a, b = (ln.get_window_extent(renderer) for ln in lines)
            assert not a.overlaps(b), ax.get_title()


def test_wrap_breaks_after_hyphens_and_fit_shrinks_only_when_wrapping_fails():
    width = text_width("robust-", 7.0, True) + 0.01
    assert wrap("robust-perceptual", width, 7.0, True) is None   # "perceptual" is wider
    two = wrap("robust-perceptual", text_width("perceptual", 7.0, True) + 0.01, 7.0, True)
    assert two == "robust-\nperceptual"
    fitted = fit("resnet20-ft-processed", text_width("resnet20-ft-", 7.0) + 0.01, 7.0)
    assert fitted.text == "resnet20-ft-\nprocessed" and fitted.size == 7.0
    small = fit("perceptual", text_width("perceptual", 7.0, True) - 0.01, 7.0, bold=True)
    assert small.size == MIN_FONT_PT and small.lines == 1
    assert fit("perceptual", 0.05, 7.0) is None


def test_markers_are_as_large_as_their_separation_allows():
    assert marker_size(100.0) == 6.0
    assert marker_size(4.0) == pytest.approx(3.6)
    assert marker_size(0.5) == 2.0


@pytest.mark.parametrize("width", [PRESETS["single"], PRESETS["double"]])
def test_the_map_grid_uses_the_width_for_one_to_six_maps(width):
    for n in range(1, 7):
        grid = map_grid(width, 1, LONG_CLASSIFIERS[:n])
        right = max(x for x, _ in grid.maps[0]) + grid.map_size
        assert right <= width and (right > 0.9 * width or grid.map_size == MAX_MAP_IN), (n, right)
        assert all(t.lines <= 3 for t in grid.titles)


@pytest.mark.parametrize("width", [PRESETS["single"], PRESETS["double"]])
@pytest.mark.parametrize("n", range(1, 7))
def test_boundary_maps_of_one_to_six_long_named_classifiers_fit_the_figure(long_zoo, width, n):
    fig = build_figure("boundary-maps", FigureOptions(
        dataset=SYNTH, checkpoints=long_zoo, results=long_zoo / "none", indices=[4],
        classifier="clf-a", classifiers=LONG_CLASSIFIERS[:n], resolution=8, device="cpu",
        width=width))
    maps = [ax for ax in fig.figure.axes if ax.get_visible() and ax.images][3:]
    assert [ax.get_title().replace("\n", "") for ax in maps] == LONG_CLASSIFIERS[:n]
    assert_inside_and_apart(fig.figure)
    assert_markers_apart(fig.figure)


@pytest.mark.parametrize("width", [PRESETS["single"], PRESETS["double"]])
def test_examples_with_the_longest_column_labels_fit_the_figure(long_zoo, width):
    procs = ["sr-plain", "sr-ra", "sr-ra-unsup", "sr-ra-transformer", "sr-perceptual",
             "sr-robust-perceptual"]
    fig = build_figure("examples", FigureOptions(
        dataset=SYNTH, checkpoints=long_zoo, results=long_zoo / "none", indices=[0, 3],
        classifier="clf-a", processors=procs, device="cpu", width=width, dpi=200))
    headers = [t.get_text().replace("\n", "") for t in fig.figure.texts
               if not t.get_text().startswith("#")]                  # not the row labels
    assert headers[-2:] == ["perceptual", "robust-perceptual"]
    assert_inside_and_apart(fig.figure)
