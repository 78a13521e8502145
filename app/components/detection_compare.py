"""Compare on detection canvases: the panels of one test canvas (clean, no processing, each
processor) with a detector's boxes and scores drawn on each (:mod:`analysis.explore.detection_view`)."""

from __future__ import annotations

import streamlit as st

from analysis.analyses.detection_transfer import canvas_dataset
from analysis.errors import RAExplorerError
from analysis.explore.detection_view import (
    FOUND_COLOUR,
    TRUTH_COLOUR,
    WRONG_COLOUR,
    canvas_view,
    draw_detections,
    load_canvas_models,
)
from analysis.metrics.detection import match_detections
from app.components.common import dataset, folder

PER_ROW = 4
SCALE = 2            # a 112-px canvas at 224 px, Compare's column budget


@st.cache_resource(show_spinner="Loading the processors and detectors …", max_entries=4)
def canvas_models(task: str, dataset_spec: str, checkpoints: str):
    return load_canvas_models(task, dataset_spec, checkpoints)


@st.cache_data(show_spinner="Detecting on every input …", max_entries=64)
def _view(task: str, dataset_spec: str, checkpoints: str, index: int, processors: tuple):
    return canvas_view(canvas_models(task, dataset_spec, checkpoints), index, list(processors))


def _hex(rgb: tuple) -> str:
    return "#%02x%02x%02x" % rgb


def detection_compare(task: str) -> None:
    """The detection view of Compare for ``task`` on the canvases of the dataset in force."""
    canvases = canvas_dataset(dataset())
    try:
        models = canvas_models(task, dataset(), folder())
    except RAExplorerError as exc:
        st.info(str(exc))
        return
    info = models.setting.info
    st.caption(f"Test canvases of {canvases} ({len(models.setting.test):,}), degraded by "
               f"{models.setting.task.spec} as `detection-transfer` measures them.")
    c1, c2, c3 = st.columns(3)
    index = c1.number_input("Test canvas index", 0, len(models.setting.test) - 1,
                            key="compare_canvas_index")
    detector = c2.selectbox("Detector", list(models.detectors), key="compare_detector")
    score_min = c3.slider("Boxes scoring at least", 0.05, 0.95, 0.5, step=0.05,
                          key="compare_score_min")
    names = list(models.processors)
    shown = st.multiselect("Processors", names, default=names[:4], key=f"compare_canvas_procs|{task}")
    view = _view(task, dataset(), folder(), int(index), tuple(shown))
    st.markdown(f"<span style='color:{_hex(TRUTH_COLOUR)}'>■</span> ground truth &nbsp; "
                f"<span style='color:{_hex(FOUND_COLOUR)}'>■</span> a detection matching a "
                f"box of its class (IoU ≥ 0.5) &nbsp; <span style='color:{_hex(WRONG_COLOUR)}'>■"
                "</span> one that does not", unsafe_allow_html=True)
    panels = list(view.images)
    for start in range(0, len(panels), PER_ROW):
        for col, name in zip(st.columns(PER_ROW), panels[start:start + PER_ROW]):
            found = view.detections[(name, detector)]
            _, hits = match_detections(found, view.truth, score_min)
            boxes = int((found["scores"] >= score_min).sum())
            col.image(draw_detections(view.images[name], found, view.truth, info.class_names,
                                      score_min, SCALE),
                      caption=f"{name}: {hits} of {len(view.truth['boxes'])} items found; "
                              f"{boxes} boxes ≥ {score_min:.2f}")
