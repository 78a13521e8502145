"""Compare: the clean target, the LQ input and every processor's output side by side."""

import streamlit as st

from analysis.errors import RAExplorerError
from analysis.explore.workspace import FILTERS, available_tasks, classifier_names, enlarge_png, read_upload
from analysis.zoo.checkpoints import collection_dirs
from app.components.common import dataset, folder, get_workspace, missing
from app.components.downloads import figure_downloads

st.title("Compare outputs")
# PNGs are enlarged by an integer factor already; if the browser must shrink one, keep it crisp
st.html("<style>img {image-rendering: pixelated;}</style>")
tasks = available_tasks(dataset(), folder())
classifiers = classifier_names(dataset(), folder())
if not classifiers:
    missing("a classifier for this dataset", "python -m analysis build-zoo")
    st.stop()

with st.sidebar:
    task = st.selectbox("Task", tasks, key="compare_task")
    classifier = st.selectbox("Classifier", classifiers, key="compare_classifier")
    mode = st.radio("Choose images", ["by index", "by class", "at random", "by filter"],
                    key="compare_mode")
    scale = st.slider("Enlargement (nearest neighbour)", 2, 12, 6, key="compare_scale")
    collections = ()
    if "loss-grid" in collection_dirs(folder()):
        if st.checkbox("Uelwer loss grid models", key="compare_loss_grid",
                       help="Add the E / P / T loss grid's processors (checkpoints/loss-grid/: "
                            "EP, EPT, ET, P, PT on standard and robust VGG features)."):
            collections = ("loss-grid",)

ws = get_workspace(task, collections=collections)
if ws is None:
    st.stop()
if not ws.processors:
    missing(f"a processor for task {task}", "python -m analysis build-zoo")

shown = st.multiselect("Processors", list(ws.processors), default=ws.main_processors(),
                       key="compare_processors",
                       help="One per method by default; add the transfer and lambda-sweep variants.")
n_test = len(ws.test)
if mode == "by index":
    index = st.number_input("Test image index", 0, n_test - 1, 0, key="compare_index")
else:
    if mode == "by class":
        cls = st.selectbox("Class", list(ws.info.class_names), key="compare_class")
        candidates = ws.indices_of_class(list(ws.info.class_names).index(cls))
    elif mode == "at random":
        seed = st.number_input("Seed", 0, 10**6, 0, key="compare_seed")
        candidates = ws.random_indices(20, int(seed))
    else:
        name = st.selectbox("Filter", list(FILTERS), key="compare_filter")
        try:
            with st.spinner(f"Classifying the first {min(2000, n_test):,} test images…"):
                candidates = ws.filter_indices(name, classifier)
        except RAExplorerError as exc:
            st.warning(str(exc))
            candidates = []
        st.caption(f"{len(candidates)} matching images among the first {min(2000, n_test):,} "
                   "(up to 50 shown).")
    if not candidates:
        st.info("No image matches; choose another class, seed or filter.")
        st.stop()
    index = st.selectbox("Image", candidates, key="compare_pick")

size = ws.info.size
zoom = st.toggle("Synced zoom on a region", key="compare_zoom")
crop = None
if zoom:
    c1, c2, c3 = st.columns(3)
    zsize = c1.slider("Region size (px)", 4, size, size // 2, key="zoom_size")
    top = c2.slider("Top", 0, size - zsize, 0, key="zoom_top")
    left = c3.slider("Left", 0, size - zsize, 0, key="zoom_left")
    crop = (top, left, zsize)
    scale = max(scale, (6 * size) // zsize)

metric_names = ["psnr", "ssim"] + ([f"lpips-{classifier}"] if classifier else [])


def show_panels(panels, label):
    st.subheader(label)
    cols = st.columns(min(len(panels), 4))
    for k, panel in enumerate(panels):
        with cols[k % len(cols)]:
            st.image(enlarge_png(panel.image, scale, crop), caption=panel.name, output_format="PNG")
            st.markdown("  \n".join(f"**{name}** {100 * p:.1f} %" if i == 0 else f"{name} {100 * p:.1f} %"
                                    for i, (name, p) in enumerate(panel.topk)))
            if panel.values:
                st.caption(" · ".join(f"{m} {v:.3f}" for m, v in panel.values.items()))


panels = ws.panels(int(index), classifier, metrics=metric_names, processors=shown)
label = ws.info.class_names[int(ws.test[int(index)][1])]
show_panels(panels, f"Test image {int(index)} — true class: {label}")
if shown:
    figure_downloads("examples", "compare_fig", task=task, indices=[int(index)],
                     classifier=classifier, processors=list(shown))

if st.toggle("Difference views", key="compare_diff"):
    diffs = ws.differences(panels)
    cols = st.columns(min(len(diffs), 4))
    for k, (name, d) in enumerate(diffs.items()):
        with cols[k % len(cols)]:
            st.image(enlarge_png(d["abs_error"], scale, crop), caption=f"|{name} - target|",
                     output_format="PNG")
            if d["minus_plain"] is not None and name != ws.plain_name():
                st.image(enlarge_png(d["minus_plain"], scale, crop, signed=True),
                         caption=f"{name} - plain (grey = 0)", output_format="PNG")

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
