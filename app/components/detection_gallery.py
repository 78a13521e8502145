"""Gallery on detection canvases: the canvases on which input A lets a detector find items that
input B does not (:mod:`analysis.explore.detection_gallery`), as A | B thumbnails; a click
opens the canvas in Compare with every detector's boxes drawn."""

from __future__ import annotations

import streamlit as st

from analysis.data.tasks import short_spec
from analysis.errors import RAExplorerError
from analysis.explore.detection_gallery import (
    CANVAS_FILTERS,
    CANVAS_SORTS,
    CanvasQuery,
    canvas_thumbnails,
    default_pair,
    records_of,
    select_canvases,
)
from analysis.explore.encoders import COLUMN_PX, fit_panel, panel_png
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from app.components.common import dataset, folder
from app.components.detection_compare import canvas_models
from app.components.thumbnail_grid import opened_index, thumbnail_grid

PER_PAGE = 24
COLUMNS = 6


@st.cache_data(show_spinner="Restoring the page's canvases …", max_entries=32)
def _thumbnails(task: str, dataset_spec: str, checkpoints: str, indices: tuple, inputs: tuple):
    return canvas_thumbnails(canvas_models(task, dataset_spec, checkpoints), list(indices),
                             list(inputs))


def canvas_gallery(task: str) -> None:
    """The canvas gallery of ``task`` on the canvases of the dataset in force."""
    try:
        models = canvas_models(task, dataset(), folder())
    except RAExplorerError as exc:
        st.info(str(exc))
        return
    records, where = records_of(models)
    if records is None:
        st.info(f"No per-canvas records of {models.setting.task.spec} measured on these "
                f"weights in {where.parent}; make them with `python -m analysis "
                f"detection-transfer --task {short_spec(task)}`.")
        return
    with st.sidebar:
        detector = st.selectbox("Detector", list(models.detectors), key="gallery_detector")
    inputs = [n for n in [NO_PROCESSING, *models.processors, CLEAN]
              if f"found|{n}|{detector}" in records]      # those the records hold
    if not inputs:
        st.info(f"The per-canvas records hold nothing of {detector}; rerun `python -m analysis "
                f"detection-transfer --task {short_spec(task)}`.")
        return
    ra, plain = default_pair(models, inputs, detector)
    with st.sidebar:
        a = st.selectbox("A", inputs, index=inputs.index(ra), key="gallery_canvas_a")
        b = st.selectbox("B", inputs, index=inputs.index(plain), key="gallery_canvas_b")
        name = st.selectbox("Filter", list(CANVAS_FILTERS), key="gallery_canvas_filter")
        sort = st.selectbox("Sort by", list(CANVAS_SORTS), key="gallery_canvas_sort")
    selection = select_canvases(records, CanvasQuery(detector, a, b, name, sort))
    st.markdown(f"**{selection.describe()}**")
    st.caption(f"From {where.name} (an item is found when a box of its class scoring at least "
               "0.5 covers it at IoU 0.5). Thumbnails: A on the left, B on the right, with the "
               "items found on each.")
    if not len(selection):
        st.info("No canvas matches; choose another filter or pair.")
        return
    pages = max(1, -(-len(selection) // PER_PAGE))
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="gallery_canvas_page") - 1
    start = int(page) * PER_PAGE
    chosen = range(start, min(start + PER_PAGE, len(selection)))
    indices = tuple(int(selection.indices[k]) for k in chosen)
    thumbs = _thumbnails(task, dataset(), folder(), indices, (a, b))
    fit = fit_panel(next(iter(thumbs.values())).shape[1], 1, COLUMN_PX)

    def open_in_compare() -> None:
        i = opened_index("gallery_canvas_grid")
        if i is not None:
            st.session_state.update({
                "compare_task": task, "compare_images": "detection canvases",
                "compare_canvas_index": i, "compare_detector": detector,
                f"compare_canvas_procs|{models.setting.task.spec}": [
                    n for n in (a, b) if n in models.processors]})

    items = [(indices[j], panel_png(thumbs[indices[j]], fit),
              f"#{indices[j]} · A {selection.found_a[k]} / B {selection.found_b[k]} of "
              f"{selection.truth[k]}") for j, k in enumerate(chosen)]
    if thumbnail_grid(items, key="gallery_canvas_grid", columns=COLUMNS,
                      on_open=open_in_compare, smooth=fit.smooth) is not None:
        st.switch_page("views/compare.py")
