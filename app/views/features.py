"""Features: the t-SNE of clean, degraded and processed images, with convergence measures; a
box or lasso selection of points (or a clicked point) shows those images, and one opens in
Compare."""

import pandas as pd
import streamlit as st

from analysis.analyses.features import HQ, default_sources
from analysis.data.tasks import short_spec, task_slug
from analysis.explore.encoders import COLUMN_PX, fit_panel, panel_png
from analysis.explore.tsne_chart import (
    selection_images,
    selection_text,
    shown_sources,
    tsne_frame,
)
from analysis.explore.workspace import available_tasks, classifier_names
from app.components.common import (
    dataset,
    folder,
    get_workspace,
    missing,
    result,
    result_exists,
    show_source,
    weights_notice,
)
from app.components.downloads import figure_downloads
from app.components.scatter import tsne_scatter
from app.components.tables import static_table
from app.components.thumbnail_grid import opened_index, thumbnail_grid
from app.components.tsne_cache import tsne_images

COLUMNS, SHOWN = 8, 24
st.title("Feature space")
names = classifier_names(dataset(), folder())
if not names:
    missing("a classifier for this dataset", "python -m analysis build-zoo")
    st.stop()
task = st.selectbox("Task", available_tasks(dataset(), folder()), key="features_task")
# classifiers with a saved report for this task first, so that the page opens on one
measured = [n for n in names if result_exists(f"features_{task_slug(task)}_{n}.json")]
classifier = st.selectbox("Classifier", measured + [n for n in names if n not in measured],
                          key="features_classifier")
report = result(f"features_{task_slug(task)}_{classifier}.json")
tsne_command = f"python -m analysis tsne --task {short_spec(task)} --classifier {classifier}"
if report is None:
    missing("the feature report for this task and classifier", tsne_command)
    st.stop()
stale = weights_notice(f"features_{task_slug(task)}_{classifier}.json", report, tsne_command)

class_names = report["class_names"]
c1, c2, c3 = st.columns([1, 2, 2])
qualnet = c1.toggle("QualNet Fig. 2 view", key="features_qualnet",
                    help="HQ features as dark circles against one source as light crosses, "
                         "on a few classes.")
others = [s for s in report["sources"] if s != HQ]
if qualnet:
    contrast = c2.selectbox("against", others, key="features_contrast")
    classes = c3.multiselect("Classes", class_names, default=class_names[:3],
                             key="features_classes")
    sources = None
else:
    contrast = None
    sources = c2.multiselect("Sources", report["sources"], default=default_sources(report),
                             key="features_sources",
                             help="Opens on HQ, LQ, plain and RA; add the others here.")
    classes = c3.multiselect("Classes", class_names, default=class_names,
                             key="features_all_classes")
lasso = st.toggle("Lasso selection", key="features_lasso",
                  help="Drag a free-hand lasso instead of a box.")
drawn = shown_sources(report, sources, contrast)
frame = tsne_frame(report, classes=[class_names.index(c) for c in classes], sources=sources,
                   contrast=contrast, images=tsne_images(task, classifier, tuple(drawn)))
selection = tsne_scatter(frame, report, contrast, key="features_tsne",
                         mode="lasso" if lasso else "box") or {}
picked = selection_images(frame, selection)
st.caption(f"Drag {'a lasso' if lasso else 'a box'} around points to list their images below, "
           "or click a point; hover a point to see its image; double-click to clear."
           + (f" Selection: {selection_text(selection)}." if selection else ""))
if not stale:
    figure_downloads("tsne", "features_tsne_fig", task=task, classifier=classifier)

if picked:
    st.subheader(f"{len(picked)} selected images")
    st.download_button("Export the selected indices (CSV)",
                       "index\n" + "\n".join(str(i) for i in picked),
                       file_name=f"tsne_{task_slug(task)}_{classifier}_selection.csv",
                       mime="text/csv", key="features_csv", icon=":material/download:")
    ws = get_workspace(task)
    if ws is not None:
        shown = picked[:SHOWN]
        thumbs = ws.thumbnails(shown, ["clean"])

        def open_in_compare() -> None:
            i = opened_index("features_grid")
            if i is not None:
                st.session_state.update(compare_task=task, compare_mode="by index",
                                        compare_index=i, compare_classifier=classifier)

        labels = ws.labels()
        # 3x where that fits half Compare's column (eight to a row: cells of about 108 px),
        # else a smooth downscale to it
        fit = fit_panel(ws.info.size, 3, COLUMN_PX // 2)
        items = [(i, panel_png(thumbs[i], fit), f"#{i} · {class_names[int(labels[i])]}")
                 for i in shown]
        if thumbnail_grid(items, key="features_grid", columns=COLUMNS, on_open=open_in_compare,
                          button="Open", smooth=fit.smooth) is not None:
            st.switch_page("views/compare.py")
        if len(picked) > len(shown):
            st.caption(f"The first {len(shown)} of {len(picked)} are shown; the CSV lists all.")

rows = [{"source": s, "accuracy %": 100 * report["accuracy"][s],
         **report["measures"]["sources"][s]} for s in report["sources"]]
static_table(pd.DataFrame(rows).drop(columns=["hq_distance_raw"]).set_index("source").round(3),
             key="features_measures")
st.caption("Measured in the original feature space: hq_distance is the mean distance to the "
           "image's own clean feature relative to the mean distance between class centroids; "
           "k-NN agreement uses a 10-NN classifier fitted on the clean features.")
show_source(f"features_{task_slug(task)}_{classifier}.json", report)
