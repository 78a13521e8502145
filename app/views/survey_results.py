"""Survey results, behind the admin token."""

import pandas as pd
import streamlit as st
from sqlalchemy import select

from analysis.survey.admin import admin_token, check_token
from analysis.survey.db import Study, Trial
from analysis.survey.stats import metric_agreement, study_summary
from analysis.survey.store import answer_rows, export_csv, get_study
from app.components.common import get_workspace
from app.components.survey_state import sessions

st.title("Survey results")
if admin_token() is None:
    st.info("Results are closed: set SURVEY_ADMIN_TOKEN (or [survey] admin_token in "
            "ra-explorer.toml) and restart the app.")
    st.stop()
token = st.text_input("Admin token", type="password", key="admin_token")
if not token:
    st.stop()
if not check_token(token):
    st.error("Wrong token.")
    st.stop()

Session = sessions()
with Session() as s:
    names = list(s.scalars(select(Study.name).order_by(Study.id)))
    if not names:
        st.info("No study yet; create one with `python -m analysis survey create`.")
        st.stop()
    name = st.selectbox("Study", names, key="results_study")
    study = get_study(s, name)
    rows = answer_rows(s, study)
    st.download_button("Raw answers (CSV)", export_csv(s, study), file_name=f"{name}.csv",
                       key="results_csv")
    if not rows:
        st.info("No answers yet.")
        st.stop()
    threshold = st.slider("Exclude raters whose catch-trial pass rate is below", 0.0, 1.0, 0.75,
                          key="results_threshold")
    summary = study_summary(rows, study.kind, min_catch_pass=threshold)
    alpha = summary["agreement_alpha"]
    alpha_text = ("undefined (needs two raters on the same trials)" if alpha != alpha
                  else f"{alpha:.3f}")
    st.write(f"{summary['answers']} answers from {summary['raters']} raters; excluded: "
             f"{', '.join(summary['excluded']) or 'none'}; Krippendorff's alpha (nominal) "
             f"{alpha_text}.")
    st.subheader("Catch trials per rater")
    st.dataframe(pd.DataFrame(summary["catch"]).T, key="results_catch")
    if study.kind == "label":
        st.subheader("Label satisfaction per method")
        st.dataframe(pd.DataFrame(summary["label_satisfaction"]).T, key="results_labels")
    else:
        st.subheader("Preference per method pair (ties left out, Wilson 95 % CI)")
        st.dataframe(pd.DataFrame(summary["preferences"]), hide_index=True, key="results_pairs")
        st.subheader("Bradley-Terry scores (bootstrap 95 % CI)")
        st.dataframe(pd.DataFrame(summary["bradley_terry"]).T, key="results_bt")
        metrics = st.multiselect("Metric-human agreement (BAPPS 2AFC score) for",
                                 ["psnr", "ssim", "uqi", "gmsd"], default=["psnr", "ssim"],
                                 key="results_metrics")
        ws = get_workspace(study.task, study.config.get("dataset"))
        if metrics and ws is not None:
            from analysis.metrics.registry import METRICS
            from analysis.survey.content import metric_distances

            trials = list(s.scalars(select(Trial).where(Trial.study_id == study.id)))
            kept = [r for r in rows if not r["is_catch"] and r["rater"] not in summary["excluded"]]
            scores = metric_agreement(kept, metric_distances(ws, trials, metrics),
                                      {m: METRICS[m].lower_better for m in metrics})
            st.dataframe(pd.DataFrame(scores).T, key="results_agreement")
