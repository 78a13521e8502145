"""Features: the t-SNE of clean, degraded and processed images, with convergence measures."""

import pandas as pd
import streamlit as st

from analysis.analyses.features import tsne_figure
from analysis.analyses.quality import task_slug
from analysis.explore.workspace import available_tasks, classifier_names
from app.components.common import dataset, folder, missing, result, result_exists, show_source
from app.components.downloads import figure_downloads

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
if report is None:
    missing("the feature report for this task and classifier",
            f"python -m analysis features --task {task.split(':')[0]} --classifier {classifier}")
    st.stop()
st.plotly_chart(tsne_figure(report), key="features_tsne")
figure_downloads("tsne", "features_tsne_fig", task=task, classifier=classifier)
rows = [{"source": s, "accuracy %": 100 * report["accuracy"][s],
         **report["measures"]["sources"][s]} for s in report["sources"]]
st.dataframe(pd.DataFrame(rows).drop(columns=["hq_distance_raw"]), hide_index=True,
             key="features_measures")
st.caption("Measured in the original feature space: hq_distance is the mean distance to the "
           "image's own clean feature relative to the mean distance between class centroids; "
           "k-NN agreement uses a 10-NN classifier fitted on the clean features.")
show_source(f"features_{task_slug(task)}_{classifier}.json", report)
