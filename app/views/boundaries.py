"""Boundaries: 2-D decision maps around an image, their agreement, and the Table 17 analog."""

import pandas as pd
import streamlit as st

from analysis.analyses.boundary import (
    describe_schedule,
    map_figure,
)
from analysis.analyses.boundary_table import DIRECTIONS, empty_selection_note, estimate_text
from analysis.analyses.quality import task_slug
from analysis.explore.workspace import available_tasks, classifier_names, plane_maps
from analysis.reporting.figures import bd_histograms
from app.components.common import dataset, folder, get_workspace, missing, result, show_source
from app.components.downloads import figure_downloads

st.title("Decision boundaries")
names = classifier_names(dataset(), folder())
if len(names) < 2:
    missing("two classifiers for this dataset", "python -m analysis build-zoo")
    st.stop()
task = st.selectbox("Task", available_tasks(dataset(), folder()), key="bd_task")
ws = get_workspace(task)
if ws is None:
    st.stop()
plain, ra = ws.plain_name(), ws.ra_name()
if plain is None or ra is None:
    missing(f"a plain and an RA processor for {task}", "python -m analysis build-zoo")
    st.stop()

chosen = st.multiselect("Classifiers", names, default=ws.default_pair(), key="bd_classifiers")
c1, c2, c3 = st.columns(3)
index = c1.number_input("Test image", 0, len(ws.test) - 1, 0, key="bd_index")
extent = c2.slider("Extent (±, [0,1]-pixel L2)", 1.0, 30.0, 8.0, key="bd_extent")
resolution = c3.select_slider("Resolution", [32, 48, 64, 96, 128], 32, key="bd_resolution")


@st.cache_data(show_spinner="Drawing the maps…", max_entries=64)
def cached_maps(checkpoints, task_spec, index, names, extent, resolution, _ws):
    return plane_maps(_ws, index, list(names), extent, resolution)


if len(chosen) >= 2:
    label = ws.info.class_names[int(ws.test[int(index)][1])]
    result_maps = cached_maps(str(ws.folder), ws.task.spec, int(index), tuple(chosen),
                              float(extent), int(resolution), ws)
    cols = st.columns(len(chosen))
    for col, name in zip(cols, chosen):
        with col:
            st.plotly_chart(map_figure(result_maps["maps"][name], ws.info.class_names, title=name,
                                       ra_u=result_maps["ra_length"]), key=f"bd_map_{name}")
    st.caption(f"Plane through the {plain} output (origin) along d_RA (towards {ra}, "
               f"‖x_RA − x‖ = {result_maps['ra_length']:.3f}) and a random orthogonal "
               f"direction; true class {label}.")
    figure_downloads("boundary-maps", "bd_maps_fig", task=task, indices=[int(index)],
                     classifier=chosen[0], classifiers=list(chosen), extent=float(extent),
                     resolution=int(resolution))
    st.subheader("Agreement between the maps")
    st.dataframe(pd.DataFrame(result_maps["agreement"]).round(3), key="bd_agreement")
else:
    st.info("Choose at least two classifiers.")

st.subheader("Table 17 analog")
report = result(f"boundaries_{task_slug(task)}_{chosen[0]}_{chosen[1]}.json") if len(chosen) >= 2 else None
if report is None:
    pair = f"--source {chosen[0]} --target {chosen[1]}" if len(chosen) >= 2 else "--source A --target B"
    missing("the boundary-distance table for this pair",
            f"python -m analysis boundaries --task {task.split(':')[0]} {pair}")
else:
    rows = []
    for p in report["pairs"]:
        for dname in DIRECTIONS:
            e = p["directions"][dname]
            rows.append({"direction": dname, "images": p["selected"],
                         "BD(Rs) mean [95% CI]": estimate_text(e["bd_source"], "mean"),
                         "BD(Rt) mean [95% CI]": estimate_text(e["bd_target"], "mean"),
                         "IBD mean [95% CI]": estimate_text(e["ibd"], "mean"),
                         "IBD median [95% CI]": estimate_text(e["ibd"], "median"),
                         "censored Rs/Rt": f"{e['bd_source']['censored']}/{e['bd_target']['censored']}"})
    note = empty_selection_note(report)
    if note:
        st.warning(note)
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="bd_table")
    st.caption(f"Units: {report['units']}; clipping {'on' if report['clip'] else 'off'}; "
               f"search: {describe_schedule(report)}, bisection to {report['tol']}.")
    show_source(f"boundaries_{task_slug(task)}_{chosen[0]}_{chosen[1]}.json", report)
    if report.get("records"):
        st.plotly_chart(bd_histograms(report["records"], report["pairs"][0]["source"]),
                        key="bd_hist")
        figure_downloads("bd", "bd_ecdf_fig", task=task, classifier=chosen[0], target=chosen[1])
