"""Compare: the clean target, the LQ input and every processor's output side by side."""

import numpy as np
import streamlit as st

from analysis.data.datasets import DATASETS, split_dataset_spec
from analysis.errors import RAExplorerError
from analysis.explore.detection_view import canvas_detectors
from analysis.explore.encoders import (
    DEFAULT_ENLARGEMENT,
    colour_bar_png,
    colour_png,
    difference_scale,
    fit_panel,
    max_enlargement,
    panel_png,
)
from analysis.explore.gallery import FILTERS, Query, describe
from analysis.explore.upload import read_upload
from analysis.explore.workspace import available_tasks, classifier_names, task_collections
from analysis.zoo.catalogue import collection_dirs
from app.components.common import dataset, folder, get_workspace, missing
from app.components.detection_compare import detection_compare
from app.components.downloads import figure_downloads
from app.components.region import outlined_region
from app.components.wipe import wipe

PER_ROW = 4
WIPE_PX = 448        # the wipe's side at most (16x a 28 px image)
OVERVIEW_PX = 112    # the synced zoom's full image with the region outlined (4x a 28 px image)
st.title("Compare outputs")
tasks = available_tasks(dataset(), folder())
detection_only = DATASETS[split_dataset_spec(dataset())[0]].detection   # canvases in force
if detection_only or canvas_detectors(dataset(), folder()):
    images = "detection canvases" if detection_only else st.sidebar.radio(
        "Images", ["test images", "detection canvases"], key="compare_images",
        help="Detection canvases: several items per image, with a detector's boxes on every "
             "processor's output.")
    if images == "detection canvases":
        with st.sidebar:
            task = st.selectbox("Task", tasks, key="compare_task")
        detection_compare(task)
        st.stop()
classifiers = classifier_names(dataset(), folder())
if not classifiers:
    missing("a classifier for this dataset", "python -m analysis build-zoo")
    st.stop()
chosen = st.session_state.setdefault("compare_chosen", {})   # task -> processors, kept across tasks

with st.sidebar:
    task = st.selectbox("Task", tasks, key="compare_task")
    present = collection_dirs(folder())
    collections = task_collections(task, dataset(), folder())   # a randomized task's models
    if "loss-grid" in present:
        if st.checkbox("Uelwer loss grid models", key="compare_loss_grid",
                       help="Add the E / P / T loss grid's processors (checkpoints/loss-grid/: "
                            "EP, EPT, ET, P, PT on standard and robust VGG features)."):
            collections += ("loss-grid",)
    if "architectures" in present:
        if st.checkbox("Other processing architectures", key="compare_architectures",
                       help="Add the processors of other architectures (checkpoints/"
                            "architectures/: SRDenseNet, RDN and DBPN, each plain, RA, "
                            "unsupervised RA and RA with transformer; the RA paper's "
                            "Table 11)."):
            collections += ("architectures",)

ws = get_workspace(task, collections=collections)
if ws is None:
    st.stop()
if not ws.processors:
    missing(f"a processor for task {task}", "python -m analysis build-zoo", task)

with st.sidebar:
    source = ws.default_pair()[0] if ws.classifiers else classifiers[0]
    if st.session_state.get("compare_classifier") not in classifiers:
        st.session_state["compare_classifier"] = source if source in classifiers else classifiers[0]
    classifier = st.selectbox("Classifier", classifiers, key="compare_classifier",
                              help=f"Starts on {source}, the classifier the RA processor was "
                                   "trained with.")
    mode = st.radio("Choose images", ["by index", "by class", "at random", "by filter"],
                    key="compare_mode")
    fits = max_enlargement(ws.info.size)   # the largest integer enlargement that fits a column
    if fits >= 2:
        if st.session_state.get("compare_scale", 0) > fits:
            st.session_state["compare_scale"] = fits
        st.session_state.setdefault("compare_scale", min(DEFAULT_ENLARGEMENT, fits))
        scale = st.slider("Enlargement (nearest neighbour)", 1, fits, key="compare_scale",
                          help=f"Up to {fits}x: the largest that fits a panel's column.")
    else:
        scale = 1
        st.caption("Enlargement: none; " + fit_panel(ws.info.size).describe() + ".")

names = list(ws.processors)
key = f"compare_processors|{task}|{','.join(collections)}"
if key not in st.session_state:
    st.session_state[key] = [n for n in chosen.get(key, ws.main_processors()) if n in names]
shown = st.multiselect("Processors", names, key=key,
                       help="One per method by default; add the transfer and lambda-sweep "
                            "variants. Kept per task when you switch tasks.")
chosen[key] = list(shown)
n_test = len(ws.test)
if mode == "by index":
    index = st.number_input("Test image index", 0, n_test - 1, key="compare_index")
else:
    if mode == "by class":
        cls = st.selectbox("Class", list(ws.info.class_names), key="compare_class")
        candidates = ws.indices_of_class(list(ws.info.class_names).index(cls))
    elif mode == "at random":
        seed = st.number_input("Seed", 0, 10**6, 0, key="compare_seed")
        candidates = ws.random_indices(20, int(seed))
    else:
        inputs = ["no processing", *names]
        c1, c2, c3 = st.columns(3)
        name = c1.selectbox("Filter", list(FILTERS), key="compare_filter")
        a = c2.selectbox("A", inputs, index=inputs.index(ws.ra_name()) if ws.ra_name() in inputs
                         else 0, key="compare_filter_a")
        b = c3.selectbox("B", inputs, index=inputs.index(ws.plain_name())
                         if ws.plain_name() in inputs else 0, key="compare_filter_b")
        try:
            bar = st.progress(0.0, text="Reading the record table…")
            selection, where = ws.gallery(
                Query(classifier, a, b, filter=name, sort="index", descending=False),
                on_progress=lambda done, total: bar.progress(
                    done / max(total, 1), text=f"Classifying test images: {done:,} / {total:,}"))
            bar.empty()
            candidates = selection.indices[:200].tolist()
            st.caption(describe(selection, list(ws.info.class_names))
                       + f" From {where}; the first 200 (lowest indices) are offered here, "
                         "the Gallery page pages through all of them.")
        except RAExplorerError as exc:
            st.warning(str(exc))
            candidates = []
    if not candidates:
        st.info("No image matches; choose another class, seed or filter.")
        st.stop()
    index = st.selectbox("Image", candidates, key="compare_pick")

size = ws.info.size
t1, t2, t3 = st.columns(3)      # the views, above the panels where they are seen
zoom = t1.toggle("Synced zoom on a region", key="compare_zoom")
show_wipe = t2.toggle("Wipe between two panels", key="compare_wipe",
                      help="Drag the slider (or click the picture) to move the wipe; mouse "
                           "wheel zooms and dragging pans both images together.")
show_diff = t3.toggle("Difference views", key="compare_diff",
                      help="|output − target|, NVIDIA's FLIP map and output − plain, below "
                           "the panels.")
crop = None
if zoom:
    c0, c1, c2, c3 = st.columns([1, 2, 2, 2])
    zsize = c1.slider("Region size (px)", 4, size, size // 2, key="zoom_size")
    top = c2.slider("Top", 0, size - zsize, 0, key="zoom_top")
    left = c3.slider("Left", 0, size - zsize, 0, key="zoom_left")
    crop = (top, left, zsize)
    overview = outlined_region(ws.test[int(index)][0], crop, width=OVERVIEW_PX)
    c0.image(overview, width=overview.shape[1], output_format="PNG",
             caption="the region on the full image")

# the panels' fit: the region fills at least the width of the default enlargement
fit = (fit_panel(crop[2], max(scale, DEFAULT_ENLARGEMENT) * size // crop[2]) if crop
       else fit_panel(size, scale))
# the browser never widens a panel beyond its column (a narrow window shrinks it); enlarged
# pixels stay crisp when it does, images not enlarged are shrunk smoothly
st.html("<style>[data-testid='stImageContainer'] {max-width: 100%;}"
        + (" img {image-rendering: pixelated;}" if fit.scale >= 2 else "") + "</style>")

metric_names = ["psnr", "ssim"] + ([f"lpips-{classifier}"] if classifier else [])


def metric_label(name: str) -> str:
    """LPIPS-style values here are distances in a classifier's feature space, not calibrated
    on human judgements (BAPPS): say so."""
    return f"{name} (uncalibrated)" if name.startswith("lpips-") else name


def in_rows(items, per_row=PER_ROW):
    """Fixed-width rows of columns, so that panels stay aligned however many there are."""
    for start in range(0, len(items), per_row):
        yield zip(st.columns(per_row), items[start:start + per_row])


def show_panels(panels, label):
    st.subheader(label)
    if fit.smooth:
        st.caption(fit.describe() + "; the synced zoom shows a region pixel for pixel.")
    for cols in in_rows(panels):
        for col, panel in cols:
            with col:
                if panel.machine is not None:
                    st.image(panel_png(panel.image, fit, crop), width=fit.width,
                             caption=f"{panel.name}: human view P(x)", output_format="PNG")
                    st.image(panel_png(panel.machine, fit, crop), width=fit.width,
                             caption=f"{panel.name}: machine view T(P(x)) — the classifier "
                                     "saw this one", output_format="PNG")
                else:
                    st.image(panel_png(panel.image, fit, crop), width=fit.width,
                             caption=panel.name, output_format="PNG")
                st.markdown("  \n".join(f"**{n}** {100 * p:.1f} %" if i == 0 else f"{n} {100 * p:.1f} %"
                                        for i, (n, p) in enumerate(panel.topk)))
                if panel.values:
                    where = (f" on the {panel.region[2]} x {panel.region[2]} px region"
                             if panel.region else "")
                    st.caption(" · ".join(f"{metric_label(m)} {v:.3f}"
                                          for m, v in panel.values.items()) + where)


@st.cache_data(show_spinner=False, max_entries=128)
def cached_panels(task_spec, checkpoints, collections, index, classifier, processors, crop, _ws):
    """The panels of one view (a toggle, the wipe or the enlargement then reruns without
    processing the image again)."""
    return _ws.panels(index, classifier, metrics=metric_names, processors=list(processors),
                      crop=crop)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_differences(task_spec, checkpoints, collections, index, classifier, processors, crop,
                       _ws):
    """The difference maps (FLIP's included) of one view."""
    return _ws.differences(cached_panels(task_spec, checkpoints, collections, index, classifier,
                                         processors, crop, _ws), crop)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_colour_bar(vmax, title, cmap):
    return colour_bar_png(vmax, title, cmap)


panels = cached_panels(ws.task.spec, str(ws.folder), collections, int(index), classifier,
                       tuple(shown), crop, ws)
label = ws.info.class_names[int(ws.test[int(index)][1])]
show_panels(panels, f"Test image {int(index)} — true class: {label}")
if shown:
    figure_downloads("examples", "compare_fig", task=task, indices=[int(index)],
                     classifier=classifier, processors=list(shown))

by_name = {p.name: p for p in panels}
if show_wipe:
    st.subheader("Wipe")
    c1, c2 = st.columns(2)
    pnames = list(by_name)
    wa = c1.selectbox("Left (A)", pnames, index=min(2, len(pnames) - 1), key="wipe_a")
    wb = c2.selectbox("Right (B)", pnames, index=min(3, len(pnames) - 1), key="wipe_b")
    wfit = fit_panel(crop[2] if crop else size, 16, column_px=WIPE_PX)
    wipe(panel_png(by_name[wa].image, wfit, crop), panel_png(by_name[wb].image, wfit, crop),
         wa, wb, side=wfit.width)

if show_diff:
    st.subheader("Difference views")
    diffs = cached_differences(ws.task.spec, str(ws.folder), collections, int(index),
                               classifier, tuple(shown), crop, ws)
    for kind, title, cmap in (("abs_error", "|output − target| (channel mean)", "magma"),
                              ("flip", "FLIP perceptual difference (NVIDIA, 67 ppd)", "magma")):
        vmax = difference_scale(diffs, kind)
        st.markdown(f"**{title}** — one colour scale for every panel, 0 to {vmax:.3f}")
        st.image(cached_colour_bar(round(vmax, 6), title, cmap), output_format="PNG")
        for cols in in_rows(list(diffs.items())):
            for col, (name, d) in cols:
                col.image(colour_png(d[kind], vmax, fit, cmap), width=fit.width,
                          caption=f"{name} (mean {d[kind].mean():.4f})", output_format="PNG")
    plain = ws.plain_name()
    signed = [(n, d) for n, d in diffs.items() if d["minus_plain"] is not None and n != plain]
    if signed:   # each scaled to its own largest |difference|: on a ±1 scale they look blank
        st.markdown("**output − plain** (signed; each panel on its own scale: grey = 0, "
                    "white / black = + / − its largest |difference|, given below it)")
        for cols in in_rows(signed):
            for col, (name, d) in cols:
                peak = max(float(np.abs(d["minus_plain"]).max()), 1e-6)
                col.image(panel_png(d["minus_plain"] / peak, fit, None, signed=True),
                          width=fit.width, caption=f"{name} − {plain} (±{peak:.3f})",
                          output_format="PNG")

with st.expander("Upload your own image"):
    upload = st.file_uploader("An image (PNG, JPEG, BMP, GIF, TIFF, WebP; up to 8 MiB)",
                              key="compare_upload")
    if upload is not None:
        try:
            clean = read_upload(upload.getvalue(), ws.info.channels, size)
        except RAExplorerError as exc:
            st.error(str(exc))
        else:
            show_panels(ws.panels(0, classifier, metrics=metric_names, clean=clean,
                                  processors=shown),
                        f"Your image, converted to {ws.info.channels} channel(s) at {size} px, "
                        f"degraded by {task}")
