"""Gallery: every test image that matches a filter, from the per-image record table, as
thumbnails sorted by a per-image score; a click opens one in Compare."""

import streamlit as st

from analysis.errors import RAExplorerError
from analysis.explore.detection_view import canvas_detectors
from analysis.explore.encoders import COLUMN_PX, fit_panel, panel_png
from analysis.explore.gallery import FILTERS, SORTS, Query, describe
from analysis.explore.workspace import available_tasks, classifier_names
from app.components.common import dataset, folder, get_workspace, missing
from app.components.detection_gallery import canvas_gallery
from app.components.thumbnail_grid import opened_index, thumbnail_grid

PER_PAGE = 24
COLUMNS = 6
st.title("Gallery")
tasks = available_tasks(dataset(), folder())
classifiers = classifier_names(dataset(), folder())
if not classifiers or not tasks:
    missing("a classifier and a processor for this dataset", "python -m analysis build-zoo")
    st.stop()

with st.sidebar:
    task = st.selectbox("Task", tasks, key="gallery_task")
    images = st.radio(
        "Images", ["test images", "detection canvases"], key="gallery_images",
        help="Detection canvases: the canvases on which one input lets a detector find items "
             "that another does not (from detection-transfer's per-canvas records).",
    ) if canvas_detectors(dataset(), folder()) else "test images"
if images == "detection canvases":
    canvas_gallery(task)
    st.stop()
ws = get_workspace(task)
if ws is None:
    st.stop()
inputs = ["no processing", *ws.processors]
source = ws.default_pair()[0]
with st.sidebar:
    classifier = st.selectbox("Classifier", classifiers,
                              index=classifiers.index(source) if source in classifiers else 0,
                              key="gallery_classifier")
    a = st.selectbox("A", inputs, index=inputs.index(ws.ra_name()) if ws.ra_name() in inputs
                     else 0, key="gallery_a")
    b = st.selectbox("B", inputs, index=inputs.index(ws.plain_name())
                     if ws.plain_name() in inputs else 0, key="gallery_b")
    name = st.selectbox("Filter", list(FILTERS), key="gallery_filter")
    classes = ["all classes", *ws.info.class_names]
    cls = st.selectbox("True class", classes, key="gallery_class")
    low, high = st.slider("Top-1 probability on A", 0.0, 1.0, (0.0, 1.0), 0.05,
                          key="gallery_confidence")
    sort = st.selectbox("Sort by", list(SORTS), key="gallery_sort")
    descending = st.toggle("Largest first", True, key="gallery_descending")

query = Query(classifier, a, b, filter=name,
              class_index=None if cls == classes[0] else classes.index(cls) - 1,
              confidence=(float(low), float(high)), sort=sort, descending=descending)
try:
    bar = st.progress(0.0, text="Reading the record table…")
    selection, where = ws.gallery(query, on_progress=lambda done, total: bar.progress(
        done / max(total, 1), text=f"Classifying test images: {done:,} / {total:,}"))
    bar.empty()
except RAExplorerError as exc:
    st.warning(str(exc))
    st.stop()

st.markdown(f"**{describe(selection, list(ws.info.class_names))}**")
st.caption(f"From {where}. Thumbnails: A ({a}) on the left, B ({b}) on the right, with the "
           f"score ({sort}).")
st.download_button("Export the selected indices (CSV)", selection.to_csv,
                   file_name=f"gallery_{task}_{classifier}.csv", mime="text/csv",
                   key="gallery_csv", icon=":material/download:")
if not len(selection):
    st.info("No image matches; choose another filter, class or range.")
    st.stop()
pages = selection.pages(PER_PAGE)
page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="gallery_page") - 1
indices, scores = selection.page(int(page), PER_PAGE)
@st.cache_data(show_spinner=False, max_entries=64)
def cached_thumbnails(task_spec, checkpoints, indices, inputs, _ws):
    return _ws.thumbnails(list(indices), list(inputs))


thumbs = cached_thumbnails(ws.task.spec, str(ws.folder), tuple(int(i) for i in indices), (a, b), ws)


def open_in_compare() -> None:
    """A thumbnail was clicked: Compare opens on it (the run this click causes switches)."""
    i = opened_index("gallery_grid")
    if i is not None:
        st.session_state.update(compare_task=task, compare_mode="by index", compare_index=i,
                                compare_classifier=classifier)


labels = ws.labels()
# A and B side by side, 3x where that fits Compare's column budget (a 28 px pair: 174 px),
# else a smooth downscale to it; the grid's cell (about 150 px) shows it at its own width
fit = fit_panel(next(iter(thumbs.values())).shape[1], 3, COLUMN_PX)
items = [(int(i), panel_png(thumbs[int(i)], fit),
          f"#{int(i)} · {ws.info.class_names[int(labels[int(i)])]} · {score:+.3f}")
         for i, score in zip(indices, scores)]
if thumbnail_grid(items, key="gallery_grid", columns=COLUMNS, on_open=open_in_compare,
                  smooth=fit.smooth) is not None:
    st.switch_page("views/compare.py")
