"""Metrics: accuracy and transfer matrices, the lambda trade-off, the quality table, which
metrics track recognition per image (the agreement table and a metric-against-margin scatter
whose points open in Compare), the loss grid, fix the image or the recognizer, and the corruption
benchmark (summary and a type x severity heatmap per row)."""


import pandas as pd
import streamlit as st

from analysis.analyses.evaluate import evaluate
from analysis.data.tasks import short_spec, task_slug
from analysis.errors import RAExplorerError
from analysis.explore.agreement_view import (
    agreement_classifiers,
    agreement_frame,
    agreement_row,
    clicked_index,
    images_path,
    load_images,
    processed_inputs,
    scatter_frame,
    scatter_metrics,
    visibility_frame,
)
from analysis.explore.corruption_view import VALUES as CORRUPTION_VALUES
from analysis.explore.corruption_view import gain_frame, summary_frame
from analysis.explore.corruption_view import judge as corruption_judge
from analysis.explore.workspace import available_tasks, classifier_names, task_collections
from analysis.outputs.measured_weights import other_weights
from analysis.reporting.figures import (
    accuracy_heatmap,
    corruption_heatmap,
    lambda_figure,
    margin_scatter,
    transfer_heatmap,
)
from analysis.reporting.paper.evaluation import lambda_sources
from analysis.zoo.catalogue import find_checkpoints, ra_sources
from app.components.common import (
    dataset,
    folder,
    missing,
    result,
    results_dir,
    show_source,
    weights_notice,
)
from app.components.downloads import figure_downloads
from app.components.job_panel import ended_note, job_panel, start_job, take_ended
from app.components.tables import number_formats

MAX_LIVE_IMAGES = 2000   # an on-demand computation's cap
LIVE_BATCH = 100         # images per step of its progress bar (the first gives the estimate)
st.title("Metrics")
tasks = available_tasks(dataset(), folder())
task = st.selectbox("Task", tasks, key="metrics_task")
slug = task_slug(task)

if not classifier_names(dataset(), folder()):
    missing("a classifier for this dataset", "python -m analysis build-zoo")
    st.stop()

saved = result(f"evaluate_{slug}.json")
saved_stale = False         # whether the saved evaluation was measured with other weights
computed = st.session_state.get(f"evaluation_{slug}")   # one computed here (not saved)
c1, c2 = st.columns([1, 2])
limit = c1.slider("Images for an on-demand computation", 100, MAX_LIVE_IMAGES, 500, step=100,
                  key="metrics_limit",
                  help=f"At most {MAX_LIVE_IMAGES:,} here (every processor and classifier runs "
                       "on each image); `python -m analysis evaluate` measures the whole split.")
every = classifier_names(dataset(), folder())          # the zoo's and the recognizer-side ones
own = [c["name"] for c in find_checkpoints(folder(), kind="classifier", dataset=dataset())]
picked = c2.multiselect("Classifiers for it", every, default=[c for c in every if c in own],
                        key="metrics_classifiers",
                        help="Recognizer-side ones (checkpoints/recognizers/) can be added.")
rate = st.session_state.get("metrics_s_per_image")     # measured by the last computation
b1, b2 = st.columns([1, 3], vertical_alignment="center")
b2.caption(f"About {limit * rate:.0f} s for {limit:,} images at the last computation's "
           f"{1000 * rate:.0f} ms per image." if rate else
           "The bar shows the time left once the first images are done.")
job_key = f"metrics_job_{slug}"
ended = take_ended(job_key)
b1.button("Recompute now", key="metrics_compute",   # started before this run draws the page
          disabled=not picked or job_key in st.session_state,
          on_click=lambda: start_job(job_key, "Evaluating", evaluate, task, dataset=dataset(),
                                     folder=folder(), limit=limit, progress=False,
                                     classifiers=picked, batch_size=LIVE_BATCH,
                                     collections=task_collections(task, dataset(), folder())))
job_panel(job_key)      # the bar and Cancel while it runs; the page stays usable
if ended is not None:
    ended_note(ended, "The evaluation")
    if ended.state.status == "done":
        computed = ended.result
        st.session_state["metrics_s_per_image"] = (ended.state.seconds
                                                   / max(computed["n_images"], 1))
        st.session_state[f"evaluation_{slug}"] = computed
        st.caption(f"Done: {computed['n_images']:,} test images in {ended.state.seconds:.0f} s")

if computed is not None:        # what is shown is the computation, and the caption says so
    evaluation = computed
    saved_stale = saved is not None and other_weights(saved, folder()) is not None
    st.caption(f"Shown: computed here on the first {computed['n_images']:,} test images (not "
               "saved)" + (f"; results/evaluate_{slug}.json keeps the full-protocol figures."
                           if saved is not None else "."))
    if saved is not None and st.button("Show the saved results instead",
                                       key="metrics_saved"):
        st.session_state.pop(f"evaluation_{slug}", None)
        st.rerun()
else:
    evaluation = saved
    if saved is not None:
        saved_stale = weights_notice(f"evaluate_{slug}.json", saved,
                                     "python -m analysis reproduce")
        show_source(f"evaluate_{slug}.json", saved)
    else:
        st.info(f"results/evaluate_{slug}.json is not there yet (run `python -m analysis "
                "reproduce`); you can compute the matrix here on part of the test split.")
if evaluation is not None:
    st.subheader("Accuracy matrix")
    st.plotly_chart(accuracy_heatmap(evaluation), key="metrics_accuracy")
    st.subheader("Transfer matrix")
    fig = transfer_heatmap(evaluation)
    if fig is None:
        spec, prefix = short_spec(task), task_slug(short_spec(task))
        others = [c for c in evaluation["classifiers"] if c not in ra_sources(evaluation["rows"])]
        other = others[0] if others else "resnet32"
        missing("RA processors trained on several source classifiers (and a plain one)",
                f"python -m analysis train-processor --task {spec} --method ra --classifier "
                f"{folder()}/{other} --out {folder()}/{prefix}-ra-src-{other}")
    else:
        st.plotly_chart(fig, key="metrics_transfer")
        if result(f"evaluate_{slug}.json") is not None and not saved_stale:
            figure_downloads("transfer", "metrics_transfer_fig", task=task)
    st.subheader("Lambda trade-off")
    named = ra_sources(evaluation["rows"])          # the sources the RA processors' cards name
    choices = [c for c in evaluation["classifiers"] if c in named] or evaluation["classifiers"]
    swept = [c for c in lambda_sources(evaluation) if c in choices]   # with a lambda sweep first
    default = swept[0] if swept else max(choices, key=lambda c: named.get(c, 0))
    source = st.selectbox("Source classifier", choices, index=choices.index(default),
                          key="metrics_source")
    fig = lambda_figure(evaluation, source)
    if fig is None:
        spec, prefix = short_spec(task), task_slug(short_spec(task))
        missing(f"RA processors with source {source} at several lambdas",
                f"python -m analysis train-processor --task {spec} --method ra --classifier "
                f"{folder()}/{source} --lambda 0.1 --out {folder()}/{prefix}-ra-lam0.1")
    else:
        st.plotly_chart(fig, key="metrics_lambda")
        saved = result(f"evaluate_{slug}.json")
        if saved is not None and source in lambda_sources(saved) and not saved_stale:
            figure_downloads("lambda", "metrics_lambda_fig", task=task, classifier=source)

st.subheader("Quality table")
quality = result(f"quality_{slug}.json")
if quality is None:
    missing(f"the quality table of {task}", f"python -m analysis quality --task {task}")
else:
    quality_stale = weights_notice(f"quality_{slug}.json", quality,
                                   f"python -m analysis quality --task {task}")
    names = [m["name"] for m in quality["metrics"]]
    frame = pd.DataFrame([{"input": r["name"], **{n: r["values"][n]["mean"] for n in names}}
                          for r in quality["rows"]])
    st.dataframe(frame, hide_index=True, key="metrics_quality")
    if not quality_stale:
        figure_downloads("quality", "metrics_quality_fig", task=task)
    st.caption("Means over " + str(quality["n_images"]) + " test images; ↓ lower is better for "
               + ", ".join(m["name"] for m in quality["metrics"] if m["lower_better"]) + ".")
    show_source(f"quality_{slug}.json", quality)

@st.cache_data(show_spinner=False, max_entries=8)
def cached_images(path: str, mtime: float):
    return load_images(path)


def per_image(path):
    """The per-image agreement table at ``path`` (cached until the file changes)."""
    return cached_images(str(path), path.stat().st_mtime if path.exists() else 0.0)


st.subheader("Which metrics track recognition, per image")
agreement = result(f"agreement_{slug}.json")
if agreement is None:
    missing(f"the per-image agreement of the metrics with recognition on {task}",
            f"python -m analysis agreement --task {short_spec(task)}")
else:
    agreement_stale = weights_notice(f"agreement_{slug}.json", agreement,
                                     f"python -m analysis agreement --task {short_spec(task)}")
    inputs = processed_inputs(agreement)
    focus = [i for i in (agreement["plain_reference"], f"{task.split(':')[0]}-ra") if i in inputs]
    a1, a2 = st.columns([1, 2])
    shown_clf = a1.selectbox("Classifier (pooled: every classifier's rows together)",
                             agreement_classifiers(agreement), key="metrics_agreement_classifier")
    shown_inputs = a2.multiselect("Inputs", inputs, default=focus or inputs[:2],
                                  key="metrics_agreement_inputs")
    st.dataframe(agreement_frame(agreement, shown_inputs, [shown_clf]).round(3),
                 hide_index=True, key="metrics_agreement")
    st.caption(f"{agreement['n_images']:,} test images; bootstrap 95 % CIs over images (low / "
               "high columns). Each metric is oriented so that higher means a better image (the "
               "lower-is-better ones negated): rho > 0 and AUROC > 0.5 mean that the images the "
               "metric rates better are the ones the classifier recognizes. Click a column "
               "header to sort. MIQA SRCC: MIQA's classification SRCC of that metric, measured "
               "on their data (context, not a measurement here).")
    if not agreement_stale:
        figure_downloads("agreement", "metrics_agreement_fig", task=task,
                         classifier=shown_clf, processors=shown_inputs or None)
    visibility = visibility_frame(agreement)
    if not visibility.empty:
        st.markdown("**Does the metric see what RA changed?** RA-visibility index: how far the "
                    "metric moves between each processor and the plain one, in units of how far "
                    "it moves between two plain training runs.")
        st.dataframe(visibility.round(4), hide_index=True, key="metrics_visibility")
        source = visibility["floor from"].iloc[0]
        replicates = ", ".join(agreement.get("plain_replicates", []))
        st.caption("index = |delta| / floor with a bootstrap 95 % CI; delta > 0: the "
                   "processor's outputs score better than the plain processor's. "
                   + ("floor: the root mean square of the paired mean differences between "
                      f"the plain processors of different seeds ({replicates} "
                      "and the plain one); index <= 1: no more change than a retraining gives."
                      if source == "seeds" else
                      "floor: sampling noise of the plain mean only (no seed replicates in the "
                      "run), so the index is an upper bound."))
    try:
        images = per_image(images_path(results_dir(), agreement["task"]))
    except RAExplorerError as exc:
        st.info(str(exc))
    else:
        s1, s2, s3 = st.columns(3)
        scatter_input = s1.selectbox("Input", inputs, index=inputs.index(focus[-1]) if focus
                                     else 0, key="metrics_scatter_input")
        choices = scatter_metrics(images, scatter_input)
        metric = s2.selectbox("Metric", choices, index=choices.index("psnr")
                              if "psnr" in choices else 0, key="metrics_scatter_metric")
        scatter_clf = s3.selectbox("Classifier's margin", agreement["classifiers"],
                                   key="metrics_scatter_classifier")
        points = scatter_frame(images, metric, scatter_input, scatter_clf)
        lower = {m["name"]: m["lower_better"] for m in agreement["metrics"]}

        def open_in_compare() -> None:
            """A point was clicked: Compare opens on its image (the run it causes switches)."""
            points = st.session_state["metrics_scatter"]["selection"]["points"]
            index = clicked_index(points)
            if index is not None:
                st.session_state.update(compare_task=task, compare_mode="by index",
                                        compare_index=index, compare_classifier=scatter_clf,
                                        metrics_open=index)

        st.plotly_chart(
            margin_scatter(points, metric, scatter_clf, scatter_input, lower.get(metric),
                           agreement_row(agreement, metric, scatter_input, scatter_clf)),
            key="metrics_scatter", on_select=open_in_compare, selection_mode="points")
        st.caption("One point per test image; a click on a point opens that image in Compare.")
        if st.session_state.pop("metrics_open", None) is not None:
            st.switch_page("views/compare.py")
        if not agreement_stale:
            figure_downloads("agreement-scatter", "metrics_scatter_fig", task=task,
                             classifier=scatter_clf, processors=[scatter_input],
                             metrics=[metric])
    show_source(f"agreement_{slug}.json", agreement)

grid = result(f"loss_grid_{slug}.json")
if grid is not None:   # Uelwer et al.'s loss grid (checkpoints/loss-grid/), when measured
    st.subheader("Loss grid (Uelwer et al. Table 2 and Figure 1)")
    grid_stale = weights_notice(f"loss_grid_{slug}.json", grid,
                   f"python -m analysis loss-grid --task {short_spec(task)}")
    names = [m["name"] for m in grid["metrics"]]
    st.dataframe(pd.DataFrame([{"model": r["label"], "checkpoint": r["name"],
                                **{n: r["values"][n]["mean"] for n in names}}
                               for r in grid["quality_rows"]]),
                 hide_index=True, key="metrics_loss_grid")
    std, rob = grid["evaluators"]["standard"], grid["evaluators"]["robust"]
    st.dataframe(pd.DataFrame([{"model": r["label"], "checkpoint": r["name"],
                                f"error on {std} (%)": 100 * r["error"][std]["error"],
                                f"error on {rob} (%)": 100 * r["error"][rob]["error"]}
                               for r in grid["error_rows"]]),
                 hide_index=True, key="metrics_loss_grid_errors")
    rc = grid["rank_correlation"]
    rho = "undefined" if rc["spearman_rho"] is None else f"{rc['spearman_rho']:.3f}"
    st.caption(f"Quality: means over the first {grid['quality_images']} test images; errors "
               f"over {grid['n_images']}. Rank correlation of the {rc['n_models']} models' "
               f"errors on the two evaluators: Spearman rho {rho} (negative: the ranking "
               "inverts, as in the paper's Figure 1). lpips-* / rlpips-* are uncalibrated "
               "LPIPS-style distances on this project's classifiers.")
    if not grid_stale:
        figure_downloads("error-ranking", "metrics_error_ranking_fig", task=task)
    show_source(f"loss_grid_{slug}.json", grid)

st.subheader("Fix the image or fix the recognizer")
sides = result("recognizers.json")
if sides is None:
    missing("the comparison of RA processing with the recognizer-side classifiers",
            "python -m analysis recognizer-side")
else:
    from analysis.analyses.recognizer_side import INPUT_LABELS, cell_text, mce_text

    weights_notice("recognizers.json", sides, "python -m analysis recognizer-side")
    degs = sides["degradations"]
    with st.container(key="metrics_recognizers"):
        st.table(pd.DataFrame([{"classifier": r["classifier"], "input": INPUT_LABELS[r["input"]],
                                **{d: cell_text(r["cells"].get(d), 1) for d in ["clean", *degs]},
                                "mCE": mce_text(r)}
                               for r in sides["rows"]]).set_index(["classifier", "input"]))
    st.caption(f"Accuracy in % [95 % Wilson CI] over {sides['n_images']:,} test images. mCE: "
               "the mean over the degraded columns of the row's error divided by the error of "
               f"{sides['vanilla']} on the unprocessed LQ input (below 1 is better). Processed "
               "inputs use the processors of the degradation's task family.")
    show_source("recognizers.json", sides)

st.subheader("Corruption benchmark (ImageNet-C types x severities)")
corruption = result("corruption_grid.json")
if corruption is None:
    missing("the corruption grid (accuracy, mCE and ECE per corruption type and severity)",
            "python -m analysis corruption-grid")
else:
    corruption_stale = weights_notice("corruption_grid.json", corruption,
                                      "python -m analysis corruption-grid")
    summary = summary_frame(corruption)
    st.dataframe(summary, hide_index=True, key="metrics_corruption_summary",
                 column_config=number_formats(summary, {"mCE": "%.3f", "ECE": "%.3f"}, "%.1f"))
    st.caption(f"{corruption['n_images']:,} test images; {len(corruption['types'])} corruption "
               f"types x severities {', '.join(map(str, corruption['levels']))}. Mean error = "
               "unnormalised mCE; mCE = normalised to "
               f"{corruption['vanilla']} on the corrupted input (below 1 is fewer errors), both "
               f"over {len(corruption['mce_types'])} ImageNet-C types, with bootstrap 95 % CIs; "
               "ECE over 15 confidence bins.")
    labels = list(summary["row"])
    c1, c2 = st.columns([2, 1])
    row_index = c1.selectbox("Row", range(len(labels)), format_func=labels.__getitem__,
                             key="metrics_corruption_row")
    value = c2.selectbox("Value", CORRUPTION_VALUES, key="metrics_corruption_value")
    st.plotly_chart(corruption_heatmap(corruption, row_index, value),
                    key="metrics_corruption_heatmap")
    if value == CORRUPTION_VALUES[1]:
        st.caption("Gain: accuracy points over the mCE reference row in the same cell, without "
                   "a CI (the accuracy view gives each cell's CI).")
    if not corruption_stale:
        figure_downloads("corruption-grid", "metrics_corruption_fig")
    show_source("corruption_grid.json", corruption)

cells = result("corruption_processors.json")
if cells is not None:   # processors trained on single corruption cells (Tables 12-14)
    st.subheader("Processors trained on corruption cells (RA paper Tables 12-14)")
    cells_stale = weights_notice("corruption_processors.json", cells,
                                 "python -m analysis corruption-processors")
    cells_clf = st.selectbox("Classifier", cells["classifiers"],
                             index=cells["classifiers"].index(corruption_judge(cells)),
                             key="metrics_cells_classifier")
    gains = gain_frame(cells, cells_clf)
    st.dataframe(gains, hide_index=True, key="metrics_cells_table",
                 column_config=number_formats(gains, {"severity": "%d"}, "%.2f"))
    st.caption(f"{cells['n_images']:,} test images per cell, each on its own corrupted inputs; "
               "accuracy in %, differences to the cell's plain processor in points with "
               "matched-pairs 95 % CIs (low, high); PSNR in dB. "
               f"{corruption_judge(cells)} is the RA source; the other classifiers show the "
               "transfer (Table 14).")
    if not cells_stale:
        figure_downloads("corruption-gain", "metrics_cells_gain_fig")
        figure_downloads("severity-curves", "metrics_cells_severity_fig")
    show_source("corruption_processors.json", cells)
