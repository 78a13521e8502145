"""Survey: the rater flow (consent, one trial per screen, progress); raters never see results."""

import secrets

import streamlit as st
from sqlalchemy import select

from analysis.explore.workspace import enlarge_png
from analysis.survey.content import render
from analysis.survey.db import Study
from analysis.survey.design import ANSWERS, QUESTIONS
from analysis.survey.store import get_rater, get_study, give_consent, next_trial, progress, record_answer
from app.components.common import get_workspace, missing
from app.components.survey_state import sessions

st.title("Survey")
Session = sessions()
params = st.query_params
with Session() as s:
    name = params.get("study") or s.scalar(select(Study.name).order_by(Study.id).limit(1))
    study = get_study(s, name) if name else None
    if study is None:
        missing("a survey study", "python -m analysis survey create --name NAME --task sr "
                "--methods sr-plain,sr-ra")
        st.stop()
    code = params.get("rater")
    rater = get_rater(s, study, code) if code else None
    if rater is None or rater.consented is None:
        st.subheader("Before you start")
        st.write("You will see small images and answer one question per screen. Your answers "
                 "are stored under a pseudonymous code in the address of this page; keep the "
                 "address to continue later. No other data is collected; you can stop at any "
                 "time.")
        if st.button("I agree, start", key="survey_consent", type="primary"):
            code = code or secrets.token_urlsafe(8)
            rater = get_rater(s, study, code)
            give_consent(s, rater)
            st.query_params["study"] = study.name
            st.query_params["rater"] = code
            st.rerun()
        st.stop()
    done, total = progress(s, rater)
    st.progress(done / total if total else 1.0, text=f"{done} of {total} answered")
    trial = next_trial(s, rater)
    if trial is None:
        st.success("All done — thank you!")
        st.stop()
    ws = get_workspace(study.task, study.config.get("dataset"))
    if ws is None:
        st.stop()
    st.subheader(QUESTIONS[study.kind])
    scale = 8
    if study.kind == "label":
        st.image(enlarge_png(render(ws, trial.image_index, "@reference"), scale),
                 caption="the image", output_format="PNG")
        st.markdown(f"**Label A:** {trial.left}  \n**Label B:** {trial.right}")
        labels = {"none": "Neither", "A": "Only A", "B": "Only B", "both": "Both"}
    else:
        shown = ([("reference", "@reference")] if study.kind == "2afc" else []) + [
            ("A", trial.left), ("B", trial.right)]
        cols = st.columns(len(shown))
        for col, (caption, what) in zip(cols, shown):
            col.image(enlarge_png(render(ws, trial.image_index, what), scale), caption=caption,
                      output_format="PNG")
        labels = {"A": "A", "B": "B", "tie": "Can't tell"}
    cols = st.columns(len(ANSWERS[study.kind]))
    for col, answer in zip(cols, ANSWERS[study.kind]):
        if col.button(labels[answer], key=f"answer_{trial.id}_{answer}", use_container_width=True):
            record_answer(s, rater, trial, answer, study.kind)
            st.rerun()
