"""Survey results, behind the admin token: per-rater table (catch passes, median response
time, exclusions with the rule shown), preferences, Bradley-Terry scores, agreement, CSV.
Every user-supplied string is shown as plain text (tables and st.text), never Markdown."""

import pandas as pd
import streamlit as st
from sqlalchemy import select

from analysis.metrics.registry import METRICS
from analysis.survey.content import metric_distances, ra_boundary_distances
from analysis.survey.db import Trial
from analysis.survey.display import RULE, keep_rows
from analysis.survey.margins import label_margin_consistency
from analysis.survey.planning import achieved_power
from analysis.survey.stats import kept_rows, metric_agreement, study_summary
from analysis.survey.store import answer_rows, export_csv, get_study, list_studies, mark_exported
from analysis.survey.validate import safe_filename
from analysis.survey.visibility import beside_bd, thresholds
from app.components.background import wait_for_demo
from app.components.common import get_workspace
from app.components.survey_state import admin_gate, plain, sessions

wait_for_demo()   # the launcher may still be making the demo study

st.title("Survey results")
admin_gate("admin_token")
Session = sessions()


def ci(v) -> str:
    return "-" if v is None or v[0] != v[0] else f"[{v[0]:.2f}, {v[1]:.2f}]"


def num(v, digits=2):
    return None if v is None or v != v else round(float(v), digits)


def _mark(study_id: int):
    from analysis.survey.db import Study

    with Session() as s:
        mark_exported(s, s.get(Study, study_id))


@st.cache_data(show_spinner="Measuring BD along d_RA …", max_entries=64)
def _bd(task: str, dataset: str | None, plain_: str, ra: str, images: tuple, clfs: tuple,
        _ws):
    return ra_boundary_distances(_ws, plain_, ra, list(images), list(clfs))


@st.cache_data(show_spinner="Fitting the thresholds (bootstrap) …", max_entries=64)
def _thresholds(rows: list[dict], config: dict, lengths: dict) -> list[dict]:
    return thresholds(rows, config, lengths)


@st.cache_data(show_spinner="Classifying the study's images …", max_entries=64)
def _label_margins(task: str, dataset: str | None, rows: list[dict], clfs: tuple, _ws):
    return label_margin_consistency(_ws, rows, list(clfs))


def label_margins(study, kept: list[dict], table) -> None:
    """People against classifiers: Pearson r of the per-item human agreement with each chosen
    classifier's logit margin for the same label on the same image."""
    ws = get_workspace(study.task, study.config.get("dataset"))
    if ws is None:
        return
    st.subheader("Decision-margin consistency: people and classifiers")
    clfs = st.multiselect("Classifiers", list(ws.classifiers), default=list(ws.classifiers),
                          key="results_margin_classifiers")
    if not clfs:
        return
    out = _label_margins(study.task, study.config.get("dataset"), kept, tuple(clfs), ws)
    table([{"classifier": r["classifier"], "side": r["side"], "trials": r["trials"],
            "items": r["items"], "Pearson r": num(r["pearson"]["value"], 3),
            "95 % CI": ci(r["pearson"]["ci95"])} for r in out["consistency"]],
          "results_margins")
    st.caption("An item is one label of one trial's image. Human margin: the share of the kept "
               "raters who judged the label to describe the image; a classifier's margin: its "
               "logit margin z_L - max_{k≠L} z_k for that label on the same clean image. "
               "Pearson r over the items (side all: both labels of every trial; plain / ra: "
               "that side's labels alone), bootstrap 95 % CI over trials.")


def visibility_results(study, rows: list[dict]) -> None:
    """Per rater and image: the threshold a* with its CI, in [0, 1]-pixel L2 units beside the
    image's BD along d_RA for the chosen classifiers."""
    cfg = study.config
    plain_, ra = cfg["methods"][:2]
    v = cfg.get("visibility", {})
    st.subheader("Visibility thresholds (staircase along x_plain + a (x_RA - x_plain))")
    plain(f"{v.get('m', 2)}AFC, {v.get('trials_per_image', '?')} trials per image; threshold "
          "a*: the blend seen at the staircase's target proportion correct (Weibull fit, "
          "parametric-bootstrap 95 % CI); in [0, 1]-pixel L2: a* x ||x_RA - x_plain||_2, the "
          "units of BD.")
    ws = get_workspace(study.task, cfg.get("dataset"))
    if ws is None:
        st.stop()
    names_ = list(ws.classifiers)
    default = [c for c in [cfg.get("classifier")] if c in names_] or names_[:1]
    clfs = st.multiselect("BD along d_RA of", names_, default=default, key="results_bd_clfs")
    images = tuple(sorted({r["image_index"] for r in rows}))
    bd = _bd(study.task, cfg.get("dataset"), plain_, ra, images, tuple(clfs), ws)
    thr = _thresholds(rows, cfg, {i: bd[i]["ra_l2"] for i in images})
    table = beside_bd(thr, {i: bd[i]["bd"] for i in images})
    for r in table:
        r["a* 95 % CI"] = ci(r.pop("a_ci95"))
        r["L2 95 % CI"] = ci(r.pop("l2_ci95") or [float("nan")] * 2)
        for k in ("a_star", "ra_l2", "l2_threshold", *[k for k in r if k.startswith("BD ")
                                                       and "<" not in k]):
            r[k] = num(r[k], 3)
    st.dataframe(pd.DataFrame(table), hide_index=True, key="results_visibility")
    st.caption("BD < threshold: the classifier's boundary along d_RA lies nearer to x_plain "
               "than the change this rater sees (a censored BD: empty). seen = False: the fit "
               "puts a* above 1.5 (the rater did not tell even the full RA change apart "
               "often enough), so no threshold is given.")


with Session() as s:
    names = [x.name for x in list_studies(s, archived=True)]
    if not names:
        st.info("No study yet; create one on the Survey studies page.")
        st.stop()
    name = st.selectbox("Study", names, key="results_study")
    study = get_study(s, name)
    rows = answer_rows(s, study)
    study_id = study.id
    st.download_button("Raw answers (CSV)", export_csv(s, study, mark=False),
                       file_name=safe_filename(name), mime="text/csv", key="results_csv",
                       on_click=lambda: _mark(study_id))
    if not rows:
        st.info("No answers yet.")
        st.stop()
    c1, c2 = st.columns(2)
    threshold = c1.slider("Exclude raters whose catch-trial pass rate is below", 0.0, 1.0, 0.75,
                          key="results_threshold")
    fast = c2.number_input("… or whose median response time (ms) is below (0: off)", 0, 5000,
                           400, step=50, key="results_fast")
    flagged = sorted({r["rater"] for r in rows if r["display_outcome"] == "flagged"})
    if st.checkbox("Leave out sessions flagged by the display check", value=True,
                   key="results_display"):
        rows = keep_rows(rows)
        plain(f"Display rule: {RULE}; left out: {', '.join(flagged) or 'none'}.")
    elif flagged:
        plain(f"Display check: {len(flagged)} flagged session(s) kept ({RULE}).")
    if not rows:
        st.info("No answers are left once the flagged sessions are out.")
        st.stop()
    if study.kind == "visibility":
        visibility_results(study, rows)
        st.stop()
    summary = study_summary(rows, study.kind, min_catch_pass=threshold,
                            min_median_rt_ms=float(fast) or None)
    alpha = summary["agreement_alpha"]
    alpha_text = ("undefined (needs two raters on the same trials)" if alpha != alpha
                  else f"{alpha:.3f}")
    plural = "" if summary["raters"] == 1 else "s"
    plain(f"{summary['answers']} answers from {summary['raters']} rater{plural}; "
          f"{summary['kept_answers']} regular answers kept; Krippendorff's alpha (nominal) "
          f"{alpha_text}.")
    plain("Exclusion rule: " + summary["exclusion_rule"])
    plain("Excluded: " + (", ".join(summary["excluded"]) or "none"))
    st.subheader("Raters")
    per = pd.DataFrame(summary["per_rater"])
    per["catch_rate"] = per["catch_rate"].map(lambda v: num(v))
    per["median_rt_ms"] = per["median_rt_ms"].map(lambda v: num(v, 0))
    st.dataframe(per, hide_index=True, key="results_raters")
    if why := summary["empty_reason"]:       # every table below would read "empty": say why
        st.warning(f"No answer is left for the statistics: {why['short']}.")
        plain(why["sentence"])               # names rater codes: plain text, never Markdown

    def table(rows_: list[dict], key: str) -> None:
        if not rows_ and why:
            st.caption(f"Empty: {why['short']}.")
        else:
            st.dataframe(pd.DataFrame(rows_), hide_index=True, key=key)

    if study.kind == "label":
        st.subheader("Label satisfaction per method (Wilson 95 % CI)")
        table([{"method": m, "satisfied": v["satisfied"], "trials": v["trials"],
                "rate": num(v["rate"]), "95 % CI": ci(v["ci95"])}
               for m, v in summary["label_satisfaction"].items()], "results_labels")
        label_margins(study, kept_rows(rows, threshold, float(fast) or None), table)
    else:
        st.subheader("Preference per method pair (ties left out, Wilson 95 % CI)")
        table([{**{k: p[k] for k in ("a", "b", "wins_a", "wins_b", "ties")},
                "rate_a": num(p["rate_a"]), "95 % CI": ci(p["ci95"])}
               for p in summary["preferences"]], "results_pairs")
        prefer = st.slider("Achieved power to detect a preference of", 0.55, 0.9, 0.6, 0.01,
                           key="results_power_p")
        table([{"a": r["a"], "b": r["b"], "judgments": r["judgments"], "power": num(r["power"]),
                "needed for 80 %": r["needed"]}
               for r in achieved_power(summary["preferences"], prefer)], "results_power")
        st.caption("Power of the exact two-sided binomial test (alpha 0.05) with each pair's "
                   "judgments, ties left out.")
        st.subheader("Bradley-Terry scores (bootstrap 95 % CI)")
        table([{"method": m, "score": num(v["score"]), "95 % CI": ci(v["ci95"])}
               for m, v in summary["bradley_terry"].items()], "results_bt")
        scale = summary["thurstone"]
        st.subheader("Thurstone case V scores (JOD; 1 JOD = 75 % preference; bootstrap 95 % CI)")
        table([{"method": m, "JOD": num(v["jod"]), "95 % CI": ci(v["ci95"])}
               for m, v in scale["scores"].items()], "results_jod")
        st.subheader("Pairwise significance (bootstrap test of the JOD difference, Holm)")
        table([{"a": p["a"], "b": p["b"], "difference (JOD)": num(p["diff_jod"]),
                "p": num(p["p"], 4), "p (Holm)": num(p["p_holm"], 4),
                "significant at 0.05": p["significant"]} for p in scale["pairs"]],
              "results_pairwise")
        st.subheader("Rater outlier scores")
        st.caption("Each rater's mean log-likelihood per judgment under the scale fitted "
                   "without them; an outlier lies below Q1 - 1.5 IQR of all raters (4 or more).")
        table([{"rater": r, **{k: num(v) if k == "loglik" else v for k, v in d.items()}}
               for r, d in scale["raters"].items()], "results_outliers")
        metrics = st.multiselect("Metric-human agreement (BAPPS 2AFC score) for",
                                 ["psnr", "ssim", "uqi", "gmsd"], default=["psnr", "ssim"],
                                 key="results_metrics")
        ws = get_workspace(study.task, study.config.get("dataset"))
        if metrics and ws is not None:
            trials = list(s.scalars(select(Trial).where(Trial.study_id == study.id)))
            kept = kept_rows(rows, threshold, float(fast) or None)
            scores = metric_agreement(kept, metric_distances(ws, trials, metrics),
                                      {m: METRICS[m].lower_better for m in metrics})
            table([{"metric": m, "score": num(v["score"], 3), "trials": v["trials"]}
                   for m, v in scores.items()], "results_agreement")
