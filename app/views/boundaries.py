"""Boundaries: 2-D decision maps around an image, a point you can click and walk along, the
image's boundary distances, the maps' agreement, and the Table 17 analog."""

import time
from functools import partial

import pandas as pd
import streamlit as st

from analysis.analyses.boundary_defaults import (
    EXTENT_MULTIPLE,
    EXTENT_MULTIPLES,
    MAP_BUDGET_S,
    MAP_BUDGETS_S,
    MAP_RESOLUTIONS,
)
from analysis.analyses.boundary_maps import agreement_matrix
from analysis.analyses.boundary_table import (
    DIRECTIONS,
    censored_note,
    empty_selection_note,
    estimate_text,
    method_text,
)
from analysis.analyses.boundary_units import nearest_rows, perceptual_rows
from analysis.data.tasks import short_spec, task_slug
from analysis.errors import RAExplorerError
from analysis.explore.encoders import fit_panel, panel_png
from analysis.explore.map_view import (
    legend_html,
    map_pixels,
    plane_point_at,
    refinement_note,
)
from analysis.explore.plane import (
    PICKERS,
    exact_image_distances,
    extent_for,
    point_predictions,
)
from analysis.explore.workspace import available_tasks, classifier_names
from analysis.reporting.figures import bd_ecdf
from app.components.background import ACTIVITY
from app.components.boundary_cache import (
    draw_distances,
    draw_maps,
    prefetch_images,
    upcoming,
)
from app.components.common import (
    dataset,
    folder,
    get_workspace,
    missing,
    result,
    show_source,
    weights_notice,
)
from app.components.downloads import figure_downloads
from app.components.job_panel import ended_note, job_panel, start_job, take_ended
from app.components.map_image import (
    clicked_point,
    map_image,
    marker_at,
    marker_script,
    scroll_into_view_script,
)
from app.components.tables import static_table

MAX_MAPS, PER_ROW, MAP_SIDE = 6, 3, 384   # maps drawn about 384 px wide, pixel-exact
EXACT_JOB = "bd_exact_job"                # the session's region walk (a background job)
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
    missing(f"a plain and an RA processor for {task}", "python -m analysis build-zoo", task)
    st.stop()

chosen = st.multiselect("Classifiers", names, default=ws.default_pair(), key="bd_classifiers",
                        max_selections=MAX_MAPS,
                        help="The first two are Rs and Rt of the Table 17 selection.")
c1, c2 = st.columns([1, 2])
picker = c1.radio("Images", PICKERS, key="bd_picker", horizontal=False)
try:
    candidates, what = ws.picker_indices(picker, chosen)
except RAExplorerError as exc:
    st.warning(str(exc))
    candidates, what = [], ""
with c2:
    if picker != "by index" and len(candidates):
        index = st.selectbox("Test image", [int(i) for i in candidates[:500]], key="bd_pick")
        st.caption(what + (" (the first 500 offered)" if len(candidates) > 500 else ""))
    else:
        if picker != "by index":
            st.info(f"No image: {what or 'choose two classifiers'}; choose one by index.")
        index = st.number_input("Test image", 0, len(ws.test) - 1, 0, key="bd_index")
index = int(index)
plane = ws.plane(index)
c1, c2, c3, c4 = st.columns(4)
multiple = c1.select_slider("Extent (× ‖x_RA − x‖)", EXTENT_MULTIPLES, EXTENT_MULTIPLE,
                            key="bd_multiple",
                            help="Log-spaced zoom steps; the RA output sits at 1 / this of "
                                 "the half-width.")
override = c2.number_input("or a fixed extent (±, [0,1]-pixel L2; 0 = relative)", 0.0, 100.0,
                           0.0, 0.5, key="bd_extent")
extent = float(override) if override > 0 else extent_for(multiple, plane.ra_length)
resolution = c3.select_slider("Resolution", MAP_RESOLUTIONS, ws.map_resolution(),
                              key="bd_resolution",
                              help="Grid points per axis; the page opens on fewer for larger "
                                   "images.")
budget = c4.select_slider("Time budget (s)", MAP_BUDGETS_S, MAP_BUDGET_S, key="bd_budget",
                          format_func=lambda b: f"{b:g}",
                          help="The maps are drawn coarse first, then finer; each run refines "
                               "them for at most this long, and the background goes on.")


if len(chosen) < 2:
    st.info("Choose at least two classifiers.")
    st.stop()

# the shown point: set by a click on a map or by the sliders; kept within the map
for axis in ("bd_u", "bd_v"):
    st.session_state[axis] = max(-extent, min(extent, float(st.session_state.get(axis, 0.0))))


def clicked(name: str) -> None:
    """A click on ``name``'s map image: show the grid point under it."""
    value = clicked_point(f"bd_map_{name}")
    dmap = st.session_state.get("bd_shown_maps", {}).get(name)
    if value and dmap is not None:
        st.session_state.bd_u, st.session_state.bd_v = plane_point_at(
            dmap, value["x"], value["y"], value["width"], value["height"])
        st.session_state.bd_clicks = st.session_state.get("bd_clicks", 0) + 1


label = ws.info.class_names[int(ws.test[index][1])]
legend_slot, status_slot, refine_slot = st.empty(), st.empty(), st.empty()
scale = max(1, MAP_SIDE // int(resolution))
slots: dict = {}
cells = [*chosen, None]          # None: the agreement matrix, beside the maps where a slot is free
for start in range(0, len(cells), PER_ROW):
    for col, name in zip(st.columns(PER_ROW), cells[start:start + PER_ROW]):
        with col:
            if name is not None:
                st.markdown(f"**{name}**")
            slots[name] = st.empty()


def show_level(maps: dict) -> None:
    """A level as it comes: plain images (the clickable ones follow at the end)."""
    status_slot.caption(refinement_note(maps, budget, None))
    for name, dmap in maps.items():
        slots[name].image(map_pixels(dmap, ws.info.class_names, ra_u=plane.ra_length,
                                     scale=scale), output_format="PNG")


status_slot.caption(f"Drawing the maps (time budget {budget:g} s)…")
t0 = time.monotonic()
shown = draw_maps(ws, index, list(chosen), extent, resolution, budget, on_level=show_level)
result_maps = {"maps": shown, "ra_length": plane.ra_length,
               "agreement": agreement_matrix({n: m.classes for n, m in shown.items()})}
present = sorted({int(c) for m in shown.values() for c in m.classes.unique()})
legend_slot.html(legend_html(ws.info.class_names, present))
status_slot.caption(refinement_note(shown, budget, time.monotonic() - t0))
if not all(m.complete for m in shown.values()):
    refine_slot.button("Refine further", key="bd_refine",
                       help="Shows what the background has drawn since, and refines for "
                            "another budget.")
st.session_state.bd_shown_maps = shown   # for the click callbacks
ring = marker_at(shown[chosen[0]], st.session_state.bd_u, st.session_state.bd_v)
for name in chosen:
    with slots[name].container():
        map_image(map_pixels(shown[name], ws.info.class_names, ra_u=plane.ra_length, scale=scale),
                  key=f"bd_map_{name}", alt=f"decision map of {name}",
                  on_click=partial(clicked, name), marker=ring)   # column-wide, square
with slots[None].container():
    st.markdown("**Agreement between the maps** (share of grid points with the same class)")
    static_table(pd.DataFrame(result_maps["agreement"]).round(3), key="bd_agreement")
st.caption(f"Plane through the {plain} output (origin) along d_RA (towards {ra}, "
           f"‖x_RA − x‖ = {plane.ra_length:.3f}) and a random orthogonal direction; extent "
           f"±{extent:.3f} on both axes (u to the right, v upwards), {resolution} x {resolution} "
           f"points; true class {label}. Click a map to show the image at that point (the ring on "
           "every map; the image and its predictions are below).")

@st.fragment
def point_view():
    """The image at (u, v) and every classifier's top-3; a slider move reruns only this part
    (the maps stay as they are)."""
    with ACTIVITY.run(), st.container(key="bd_point"):   # a fragment's rerun skips main.py
        point_body()


def point_body():
    st.subheader("The image at a point of the plane")
    s1, s2 = st.columns(2)
    s1.slider("u along d_RA", -extent, extent, key="bd_u", step=extent / 64, format="%.3f")
    s2.slider("v along d_r", -extent, extent, key="bd_v", step=extent / 64, format="%.3f")
    u, v = st.session_state.bd_u, st.session_state.bd_v
    script = marker_script(marker_at(result_maps["maps"][chosen[0]], u, v))
    st.html(script, unsafe_allow_javascript=True)
    image, tops = point_predictions(plane, u, v, ws.models(chosen), ws.info.class_names,
                                    device=ws.device)
    c1, c2 = st.columns([1, 3])
    fit = fit_panel(ws.info.size, 8)   # 8x at 28 px (224 px), 1:1 at 224 px
    c1.image(panel_png(image, fit), caption=f"x + {u:.3f} d_RA + {v:.3f} d_r"
             + (f" ({fit.describe()})" if fit.smooth else ""), output_format="PNG")
    with c2:
        static_table(pd.DataFrame([{"classifier": n, **{f"top-{k + 1}": f"{c} {100 * p:.1f} %"
                                                        for k, (c, p) in enumerate(t)}}
                                   for n, t in tops.items()]).set_index("classifier"),
                     key="bd_point_preds")
    clicks = st.session_state.get("bd_clicks", 0)
    if clicks != st.session_state.get("bd_clicks_seen", 0):   # a click: bring this part into view
        st.session_state.bd_clicks_seen = clicks
        st.html(scroll_into_view_script(".st-key-bd_point", f"click {clicks}"),
                unsafe_allow_javascript=True)


point_view()
figure_downloads("boundary-maps", "bd_maps_fig", task=task, indices=[index],
                 classifier=chosen[0], classifiers=list(chosen), extent=float(extent),
                 resolution=int(resolution))

def exact_view(key: tuple) -> list[dict] | None:
    """The region walk's rows for ``key`` (dataset, folder, task, image, classifiers): kept
    from an earlier walk, else walked as a background job (its bar and Cancel drawn here; a
    walk of another image or pair is stopped); None until it has finished."""
    results = st.session_state.setdefault("bd_exact_results", {})
    stopped = st.session_state.setdefault("bd_exact_stopped", {})
    ended = take_ended(EXACT_JOB)
    if ended is not None and ended.state.status == "done":
        results[ended.tag] = ended.result
    elif ended is not None:
        stopped[ended.tag] = ended
    if key in results:
        return results[key]
    if key in stopped:              # cancelled or failed: say so once, walk again on request
        ended_note(stopped[key], "The region walk")
        if not st.button("Walk again", key="bd_exact_again"):
            return None
        del stopped[key]
    running = st.session_state.get(EXACT_JOB)
    if running is not None and running.tag != key:
        running.cancel()
    if running is None or running.tag != key:
        start_job(EXACT_JOB, "Walking the linear regions", exact_image_distances,
                  ws.plane(index), ws.models(list(chosen)), tag=key)
    job_panel(EXACT_JOB, unit="regions (the cap; most walks end far below it)", estimate=False)
    return None


st.subheader("Boundary distances of this image")
bd_rows = draw_distances(ws, index, list(chosen))
static_table(pd.DataFrame([{"classifier": r["classifier"], "direction": r["direction"],
                            "BD": "censored (> {:g})".format(r["max_dist"]) if r["censored"]
                            else f"{r['bd']:.3f}"} for r in bd_rows]).set_index("classifier"),
             key="bd_image_table")
st.caption("BD: [0,1]-pixel L2 distance from the plain output to the first point whose class "
           "differs, along d_RA and along this image's random direction (Table 17's), searched "
           f"up to {bd_rows[0]['max_dist']:g} then bisected to 0.001 (method: sampled search); "
           "censored = no crossing found within the search.")
if st.toggle("Exact first crossings (region walk)", key="bd_exact",
             help="Walks the classifier's linear regions along each ray: the first class change "
                  "to float precision, with a certificate. Slow: one forward pass per region, "
                  "tens of thousands of regions per unit of L2 (minutes per image on a CPU)."):
    exact_rows = exact_view((dataset(), folder(), task, index, tuple(chosen)))
    if exact_rows is not None:
        static_table(pd.DataFrame([{
            "classifier": r["classifier"], "direction": r["direction"], "method": r["method"],
            "BD": "censored (> {:g})".format(r["max_dist"]) if r["censored"]
            else f"{r['bd']:.6f}",
            "regions": r.get("regions", "-"), "residual": f"{r['residual']:.1e}"
            if "residual" in r else "-"} for r in exact_rows]).set_index("classifier"),
            key="bd_exact_table")
        for r in exact_rows:
            if r.get("fallback"):
                st.caption(f"{r['classifier']}: {r['fallback']}")


st.subheader("Table 17 analog")
report = result(f"boundaries_{task_slug(task)}_{chosen[0]}_{chosen[1]}.json")
bd_command = (f"python -m analysis bd --task {short_spec(task)} --source {chosen[0]} "
              f"--target {chosen[1]}")
if report is None:
    missing("the boundary-distance table for this pair", bd_command)
else:
    stale = weights_notice(f"boundaries_{task_slug(task)}_{chosen[0]}_{chosen[1]}.json", report,
                           bd_command)
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
    for note in (empty_selection_note(report), censored_note(report)):
        if note:
            st.warning(note)
    static_table(pd.DataFrame(rows).set_index("direction"), key="bd_table")
    st.caption(f"Units: {report['units']}; clipping {'on' if report['clip'] else 'off'}. "
               f"{method_text(report)}")
    for k, p in enumerate(report["pairs"]):
        if nearest_rows(p):
            static_table(pd.DataFrame(nearest_rows(p)).set_index("classifier"),
                         key=f"bd_nearest_table_{k}")
            st.caption(f"The nearest boundary NB ([0,1]-pixel L2): {report['nearest']['budget']}. "
                       "BD / NB per image along each direction; below 1: images where the "
                       "direction met a closer boundary than the attack found.")
        if perceptual_rows(p):
            static_table(pd.DataFrame(perceptual_rows(p)).set_index("direction"),
                         key=f"bd_perceptual_table_{k}")
            st.caption(f"BD in perceptual units: {report['perceptual']} (an uncalibrated "
                       "LPIPS-style feature distance) between x and the crossing point; "
                       "nearest: the attack's refined point.")
    show_source(f"boundaries_{task_slug(task)}_{chosen[0]}_{chosen[1]}.json", report)
    if report.get("records") and st.toggle("Show the BD distributions (ECDF)", key="bd_show_hist",
                                           help="Drawn on demand: the chart library loads "
                                                "only then."):
        st.plotly_chart(bd_ecdf(report), key="bd_hist")
        if not stale:
            figure_downloads("bd", "bd_ecdf_fig", task=task, classifier=chosen[0], target=chosen[1])

# while the visitor looks at this image, draw the next ones of the picker in the background
offered = ([int(i) for i in candidates[:500]] if picker != "by index" and len(candidates)
           else range(len(ws.test)))
prefetch_images(ws, [index, *upcoming(offered, index)], list(chosen), multiple, override,
                resolution)    # this image's maps first, to their last level
