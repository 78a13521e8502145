"""Survey studies (behind the admin token): create a study from the zoo with a preview of one
trial, list studies with live progress, copy a rater link, close / reopen, archive, export,
and delete (after an export, with the name typed to confirm)."""

import time
from types import SimpleNamespace

import pandas as pd
import streamlit as st

from analysis.errors import RAExplorerError
from analysis.explore.workspace import available_tasks, classifier_names
from analysis.survey.balance import DEFAULT_ABANDON_MIN, MAX_BLOCKS, counts, design_of
from analysis.survey.content import IMAGE_CHOICES, design_from_zoo, study_from_zoo
from analysis.survey.design import KINDS, split_total
from analysis.survey.display import POLICIES, RULE
from analysis.survey.handout import DEFAULT_BATCH, PAIR_DESIGNS
from analysis.survey.panel import PROLIFIC_COMPLETE, settings_of
from analysis.survey.planning import expected_bt_ci_width, plan
from analysis.survey.store import (
    delete_study,
    export_csv,
    get_study,
    last_answer_time,
    list_studies,
    mark_exported,
    set_panel,
    set_status,
    status,
    study_progress,
)
from analysis.survey.validate import safe_filename
from app.components.background import wait_for_demo
from app.components.common import dataset, folder, get_workspace, missing
from app.components.survey_state import admin_gate, link_block, plural, sessions
from app.components.survey_trial import trial_screen

wait_for_demo()   # the launcher may still be making the demo study

CREATED = "survey_created"   # (name, seconds) of the study this session just created
KIND_NAMES = {"2afc": "2AFC with reference", "2afc-noref": "2AFC without reference",
              "label": "label study (plain vs RA labels)",
              "visibility": "visibility threshold (staircase along plain -> RA)"}
st.title("Survey studies")
admin_gate("admin_token_studies")
Session = sessions()


def _mark(study_id: int):
    """The export button's callback: record the export (a study is deleted only after one)."""
    from analysis.survey.db import Study

    with Session() as s:
        mark_exported(s, s.get(Study, study_id))


@st.fragment(run_every=5)
def study_table():
    """The studies with their progress, refreshed every 5 s."""
    show_archived = st.toggle("Show archived studies", key="studies_archived")
    with Session() as s:
        rows = []
        for study in list_studies(s, archived=show_archived):
            p = study_progress(s, study)
            rate = p["catch_pass_rate"]
            rows.append({"study": study.name, "kind": study.kind, "task": study.task,
                         "status": status(study), "raters": p["raters"],
                         "finished": p["finished"], "answers": p["answers"],
                         "trials per rater": p["trials"],
                         "catch pass": "-" if rate is None else f"{rate:.0%}"})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="studies_table")
    else:
        st.info("No study yet; create one below.")
    return [r["study"] for r in rows]


@st.fragment(run_every=5)
def live_progress(study_id: int):
    """The chosen study's progress as figures, refreshed every 5 s."""
    from analysis.survey.db import Study

    with Session() as s:
        p = study_progress(s, s.get(Study, study_id))
    cols = st.columns(4)
    cols[0].metric("Raters", p["raters"])
    cols[1].metric("Finished", p["finished"])
    cols[2].metric("Answers", p["answers"])
    rate = p["catch_pass_rate"]
    cols[3].metric("Catch pass rate", "-" if rate is None else f"{rate:.0%}")


def balance_table(s, study) -> None:
    """The study's counterbalancing design and the realised sessions per condition."""
    design = design_of(study.config)
    conds = design["conditions"]
    if len(conds) <= 1:
        return
    minutes = design["abandon_after_min"]
    st.caption(f"Counterbalancing: {plural(len(conds), 'condition')} (trial-order blocks by a "
               "balanced latin square" + (", each also with left and right swapped"
                                          if any(c["flipped"] for c in conds) else "")
               + "). A new rater gets the condition with the fewest finished or active "
               "sessions; " + (f"one idle for {minutes:g} min is abandoned and its condition "
                               "handed out again." if minutes > 0
                               else "every started session counts."))
    st.dataframe(pd.DataFrame(counts(s, study)), hide_index=True, key="study_conditions")


def panel_form(s, study) -> None:
    """A study's recruitment-panel settings (Prolific or another panel): completion URL and
    code, return URL (see docs/survey.md)."""
    current = settings_of(study.config)
    with st.expander("Recruitment panel (Prolific, MTurk, ...)", expanded=bool(current)):
        st.caption("Give the panel the rater link above; it adds its ids (PROLIFIC_PID, "
                   "STUDY_ID, SESSION_ID, ...), which are stored with each rater and exported. "
                   "A finished rater is sent to the completion URL (with cc=CODE when a code "
                   "is given), one who declines consent or fails the display check to the "
                   "return URL. Leave all empty for no panel.")
        key = f"panel_{study.id}"
        with st.form(key + "_form", border=False):
            url = st.text_input("Completion URL", current.get("completion_url", ""),
                                placeholder=PROLIFIC_COMPLETE, key=key + "_url")
            code = st.text_input("Completion code", current.get("completion_code", ""),
                                 key=key + "_code")
            back = st.text_input("Return URL (declined consent, failed display check)",
                                 current.get("return_url", ""), key=key + "_return")
            saved = st.form_submit_button("Save panel settings")
    if saved:
        try:
            set_panel(s, study, url, code, back)
        except RAExplorerError as exc:
            st.error(str(exc))
        else:
            st.success("Panel settings saved.")


st.subheader("Studies")
names = study_table()

if names:
    st.subheader("Manage a study")
    if st.session_state.get(CREATED) and st.session_state[CREATED][0] in names:
        st.session_state["manage_study"] = st.session_state[CREATED][0]   # the new study
    name = st.selectbox("Study", names, key="manage_study")
    with Session() as s:
        study = get_study(s, name)
        if study is not None:
            live_progress(study.id)
            st.caption("Rater link (copy it with the button at its right):")
            link_block(study.name)
            cols = st.columns(4)
            state = status(study)
            if state == "open" and cols[0].button("Close (no new raters)", key="study_close"):
                set_status(s, study, "closed")
                st.rerun()
            if state != "open" and cols[0].button("Reopen", key="study_open"):
                set_status(s, study, "open")
                st.rerun()
            if state != "archived" and cols[1].button("Archive", key="study_archive"):
                set_status(s, study, "archived")
                st.rerun()
            study_id = study.id
            cols[2].download_button(
                "Export answers (CSV)", export_csv(s, study, mark=False),
                file_name=safe_filename(study.name), mime="text/csv", key="study_export",
                on_click=lambda: _mark(study_id))
            balance_table(s, study)
            panel_form(s, study)
            last, exported = last_answer_time(s, study), study.exported
            with st.expander("Delete this study"):
                if last is not None and exported is None:
                    st.write("Export its answers first: a study is deleted only after an export.")
                confirm = st.text_input("Type the study's name to confirm", key="study_confirm")
                if st.button("Delete study, raters and answers", key="study_delete",
                             type="primary"):
                    try:
                        delete_study(s, study, confirm)
                    except RAExplorerError as exc:
                        st.error(str(exc))
                    else:
                        st.session_state.pop("manage_study", None)
                        st.rerun()


st.subheader("New study")
tasks = available_tasks(dataset(), folder())
if not tasks:
    missing("processors for this dataset", "python -m analysis build-zoo")
    st.stop()
c1, c2 = st.columns(2)
new_name = c1.text_input("Name", max_chars=100, key="new_name")
kind = c2.selectbox("Kind", list(KINDS), format_func=KIND_NAMES.get, key="new_kind")
task = c1.selectbox("Task", tasks, key="new_task")
ws = get_workspace(task)
if ws is None:
    st.stop()
procs = list(ws.processors)
default = [m for m in (ws.plain_name(), ws.ra_name()) if m]
methods = c2.multiselect("Methods (label and visibility study: plain, then RA)", procs, default=default,
                         key="new_methods")
classifiers = classifier_names(dataset(), folder())
source = (ws.default_pair() or classifiers[:1])[0]
classifier = c1.selectbox("Classifier (labels and filters)", classifiers, key="new_classifier",
                          index=classifiers.index(source) if source in classifiers else 0)
images = c2.selectbox("Images", IMAGE_CHOICES, key="new_images",
                      disabled=kind == "label",
                      help="label studies use the images whose plain and RA labels differ")
n_images = c1.number_input("Images to draw from", 1, 2000, 30, key="new_n_images")
n_total = c2.number_input("Trials per rater (catch trials included)", 1, 500, 30,
                          key="new_n_trials")
catch_rate = c1.slider("Catch-trial rate", 0.0, 0.5, 0.1, 0.05, key="new_catch")
n_practice = c2.number_input("Practice trials (with feedback, not counted)", 0, 20, 2,
                             key="new_practice")
blocks = c1.number_input("Trial-order blocks (balanced latin square; 1: one order)", 1,
                         MAX_BLOCKS, 1, key="new_blocks")
abandon = c2.number_input("A session idle this many minutes is abandoned and its condition "
                          "reassigned (0: never)", 0.0, 1440.0, DEFAULT_ABANDON_MIN, step=5.0,
                          key="new_abandon")
sides = st.checkbox("Counterbalance left and right (every order also with the sides swapped)",
                    key="new_sides")
check = c1.selectbox("Display check before the first trial (browser resampling the images)",
                     POLICIES, key="new_display", help=RULE)
n_regular, n_catch = split_total(int(n_total), float(catch_rate))
visible = kind == "visibility"
afc = c2.selectbox("Visibility: alternatives per trial", [2, 3], key="new_afc",
                   disabled=not visible,
                   format_func={2: "2AFC (which of A, B differs from the reference?)",
                                3: "3AFC (which of A, B, C differs from the other two?)"}.get)
per_image = c1.number_input("Visibility: staircase trials per image", 1, 200, 20,
                            key="new_per_image", disabled=not visible)
pair_design = c2.selectbox(
    "Method pairs (2AFC)", PAIR_DESIGNS, key="new_pairs", disabled=kind not in ("2afc", "2afc-noref"),
    format_func={"uniform": "uniform (every pair equally often)",
                 "active": "active (chosen by expected information gain, in batches)"}.get,
    help="active: each trial's pair is chosen when a rater first sees it, from a batch of the "
         "pairs most informative about the Bradley-Terry scores given the answers so far; "
         "the batch is refitted when it is used up")
batch = c1.number_input("Active pairs: pairs per batch", 1, 1000, DEFAULT_BATCH, key="new_batch",
                        disabled=pair_design != "active")


@st.cache_data(show_spinner="Simulating Bradley-Terry fits …")
def bt_width(prefer: float, n_methods: int, judgments: int) -> float:
    return expected_bt_ci_width(prefer, n_methods, judgments, n_sim=100)


with st.expander("Plan the sample (2AFC): judgments and raters for a preference"):
    p1, p2, p3 = st.columns(3)
    prefer = p1.slider("Preference to detect", 0.55, 0.9, 0.6, 0.01, key="plan_p",
                       help="0.60: 60 of 100 judgments go to the better method of a pair")
    power = p2.slider("Power", 0.5, 0.99, 0.8, 0.01, key="plan_power")
    alpha = p3.select_slider("Alpha (two-sided)", [0.001, 0.005, 0.01, 0.05, 0.1], 0.05,
                             key="plan_alpha")
    need = plan(prefer, power, alpha, max(2, len(methods)), int(n_total), float(catch_rate))
    width = bt_width(prefer, max(2, len(methods)), need["judgments"])
    st.write(f"The exact binomial test needs **{need['judgments_per_pair']:,} judgments per "
             f"pair** (ties not counted) to detect {prefer:.0%}/{1 - prefer:.0%} with power "
             f"{need['power']:.0%} at alpha {alpha:g}: {need['judgments']:,} over "
             f"{plural(need['pairs'], 'pair')}, **{plural(need['raters'], 'rater')}** at "
             f"{need['regular_trials_per_rater']} compared trials each. With that many, the "
             f"Bradley-Terry scores' 95 % intervals are about {width:.2f} wide (log-strength; "
             "by simulation, neighbours in a row differing by this preference).")
if visible:
    st.caption(f"Each rater answers {plural(int(n_images) * int(per_image), 'trial')}: a "
               f"{afc}AFC staircase of {int(per_image)} trials on each of "
               f"{plural(int(n_images), 'image')}, interleaved, along the blend x_plain + "
               "a (x_RA - x_plain); " + plural(int(n_practice), 'practice trial')
               + " at a = 1 first. Trials per rater and the catch rate do not apply.")
else:
    st.caption(f"Each rater answers {plural(int(n_total), 'trial')}: {n_regular:,} comparing "
               f"methods and {n_catch:,} catch (known answer), shuffled; "
               f"{plural(int(n_practice), 'practice trial')} first.")
options = dict(n_images=int(n_images), n_trials=n_regular, n_catch=n_catch,
               catch_rate=float(catch_rate), classifier=classifier, images=images,
               n_practice=int(n_practice), blocks=int(blocks), sides=bool(sides),
               abandon_after_min=float(abandon), display_check=check, afc=int(afc),
               trials_per_image=int(per_image), pairs=pair_design, batch=int(batch))


def with_progress(label):
    bar = st.progress(0.0, text=label)

    def report(done, total):
        bar.progress(done / total, text=f"{label}: screened {done:,} of {total:,} test images")
    return bar, report


b1, b2 = st.columns(2)
if b1.button("Preview one trial", key="new_preview"):
    bar, report = with_progress("Designing")
    try:
        trials, practice, _ = design_from_zoo(ws, kind, methods, progress=report, **options)
    except RAExplorerError as exc:
        bar.empty()
        st.error(str(exc))
    else:
        bar.empty()
        trials = [t for t in trials if not t.get("condition")]     # one condition's copy
        regular = [t for t in trials if not t["is_catch"]] or trials
        st.caption(f"{plural(len(trials), 'trial')} per rater "
                   f"({sum(t['is_catch'] for t in trials)} catch) and "
                   f"{plural(len(practice), 'practice trial')}; the first trial as raters "
                   "see it:")
        trial_screen(ws, kind, SimpleNamespace(id=0, **{k: v for k, v in regular[0].items()
                                                        if k != "condition"}))
if b2.button("Create study", key="new_create", type="primary"):
    t0 = time.perf_counter()
    bar, report = with_progress("Creating")
    with Session() as s:
        try:
            if get_study(s, new_name) is not None:
                raise RAExplorerError("A study of that name exists already; choose another name.")
            study = study_from_zoo(s, ws, new_name, kind, methods, progress=report, **options)
        except (RAExplorerError, ValueError) as exc:
            bar.empty()
            st.error(str(exc))
        else:   # rerun so that the study table and "Manage a study" show it at once
            st.session_state[CREATED] = (study.name, time.perf_counter() - t0)
            st.rerun()
if created := st.session_state.pop(CREATED, None):
    st.success(f"Study created in {created[1]:.1f} s and chosen under Manage a study above; "
               "its rater link:")
    link_block(created[0])
