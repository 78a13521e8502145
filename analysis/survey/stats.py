"""Statistics of a study, from its raw answer rows (see store.answer_rows).

* catch-trial pass rate and median response time per rater, and the exclusion
  rule (catch pass rate below ``min_catch_pass``, or a median response time
  below ``min_median_rt_ms``: faster than a person can look at the images);
  every statistic below uses the remaining raters' regular trials only
  (practice answers never reach these functions);
* 2AFC preference rate per method pair (ties left out) with Wilson 95 % CIs;
* Bradley-Terry scores (choix's ILSR; log-strengths centred on 0) with
  percentile-bootstrap 95 % CIs over comparisons;
* Thurstone case V scores in JOD units with bootstrap CIs, pairwise tests (Holm) and
  per-rater outlier scores (scaling.py);
* inter-rater agreement: Krippendorff's alpha (nominal) over trials x raters;
* label study: satisfaction rate per method (its label judged to describe the
  image: "both", or "A"/"B" on its side) with Wilson CIs;
* metric-human agreement (the BAPPS 2AFC score): per trial, the fraction p of
  raters choosing A; a metric scores p when it prefers A and 1 - p otherwise.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import choix
import numpy as np

from ..stats import wilson_interval
from .scaling import thurstone


def catch_pass_rates(rows: list[dict]) -> dict[str, dict]:
    per = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["is_catch"]:
            per[r["rater"]][1] += 1
            per[r["rater"]][0] += r["answer"] == r["expected"]
    return {rater: {"passed": p, "catch_trials": n, "rate": p / n if n else math.nan}
            for rater, (p, n) in per.items()}


MIN_MEDIAN_RT_MS = 400.0


def response_times(rows: list[dict]) -> dict[str, dict]:
    """Per rater: answers, answers with a response time, and the median time in ms."""
    per = defaultdict(list)
    count = defaultdict(int)
    for r in rows:
        count[r["rater"]] += 1
        if r.get("rt_ms") is not None:
            per[r["rater"]].append(r["rt_ms"])
    return {rater: {"answers": n, "timed": len(per[rater]),
                    "median_rt_ms": float(np.median(per[rater])) if per[rater] else math.nan}
            for rater, n in count.items()}


def exclusion_rule(min_catch_pass: float, min_median_rt_ms: float | None) -> str:
    rule = f"a rater is excluded when their catch-trial pass rate is below {min_catch_pass:.0%}"
    if min_median_rt_ms:
        rule += f" or their median response time is below {min_median_rt_ms:.0f} ms"
    return rule + "; raters without catch trials or timed answers are kept on that count."


def exclusions(rows: list[dict], min_catch_pass: float = 0.75,
               min_median_rt_ms: float | None = MIN_MEDIAN_RT_MS) -> dict[str, list[str]]:
    """Rater -> the reasons they are excluded (only raters with a reason)."""
    out = defaultdict(list)
    for r, v in catch_pass_rates(rows).items():
        if v["catch_trials"] and v["rate"] < min_catch_pass:
            out[r].append("catch trials")
    if min_median_rt_ms:
        for r, v in response_times(rows).items():
            if v["timed"] and v["median_rt_ms"] < min_median_rt_ms:
                out[r].append("too fast")
    return dict(sorted(out.items()))


def excluded_raters(rows: list[dict], min_catch_pass: float = 0.75,
                    min_median_rt_ms: float | None = None) -> list[str]:
    """Raters whose catch-trial pass rate is below ``min_catch_pass`` or (when given) whose
    median response time is below ``min_median_rt_ms`` (raters without catch trials or
    times are kept on that count)."""
    return sorted(exclusions(rows, min_catch_pass, min_median_rt_ms))


def kept_rows(rows: list[dict], min_catch_pass: float = 0.75,
              min_median_rt_ms: float | None = None) -> list[dict]:
    out = set(excluded_raters(rows, min_catch_pass, min_median_rt_ms))
    return [r for r in rows if not r["is_catch"] and not r.get("is_practice")
            and r["rater"] not in out]


def rater_table(rows: list[dict], min_catch_pass: float = 0.75,
                min_median_rt_ms: float | None = MIN_MEDIAN_RT_MS) -> list[dict]:
    """One row per rater: answers, catch passes, median response time, flags."""
    catch, times = catch_pass_rates(rows), response_times(rows)
    why = exclusions(rows, min_catch_pass, min_median_rt_ms)
    out = []
    for rater in sorted(times):
        c = catch.get(rater, {"passed": 0, "catch_trials": 0, "rate": math.nan})
        t = times[rater]
        out.append({"rater": rater, "answers": t["answers"], "catch_passed": c["passed"],
                    "catch_trials": c["catch_trials"], "catch_rate": c["rate"],
                    "median_rt_ms": t["median_rt_ms"],
                    "fast": bool(min_median_rt_ms and t["timed"]
                                 and t["median_rt_ms"] < min_median_rt_ms),
                    "excluded": ", ".join(why.get(rater, [])) or "no"})
    return out


def winner(row: dict) -> tuple[str, str] | None:
    """(preferred method, other) of a 2AFC answer; None for a tie."""
    if row["answer"] == "A":
        return row["left"], row["right"]
    if row["answer"] == "B":
        return row["right"], row["left"]
    return None


def preference_rates(rows: list[dict]) -> list[dict]:
    """Per unordered pair (a, b), a < b: how often a was preferred over b, with a Wilson CI."""
    counts = defaultdict(lambda: {"wins_a": 0, "wins_b": 0, "ties": 0})
    for r in rows:
        a, b = sorted((r["left"], r["right"]))
        w = winner(r)
        key = counts[(a, b)]
        if w is None:
            key["ties"] += 1
        elif w[0] == a:
            key["wins_a"] += 1
        else:
            key["wins_b"] += 1
    out = []
    for (a, b), c in sorted(counts.items()):
        n = c["wins_a"] + c["wins_b"]
        low, high = wilson_interval(c["wins_a"], n)
        out.append({"a": a, "b": b, **c, "rate_a": c["wins_a"] / n if n else math.nan,
                    "ci95": [low, high]})
    return out


def bradley_terry(rows: list[dict], n_boot: int = 500, seed: int = 0,
                  alpha: float = 0.01) -> dict[str, dict]:
    """Bradley-Terry log-strengths (centred) per method with bootstrap 95 % CIs.

    ``alpha`` is choix's regularisation (a small prior that keeps scores finite
    when a method never wins).
    """

    comparisons = [w for w in map(winner, rows) if w is not None]
    methods = sorted({m for c in comparisons for m in c})
    if len(methods) < 2:
        return {}
    index = {m: i for i, m in enumerate(methods)}
    data = np.array([(index[w], index[lost]) for w, lost in comparisons])

    def fit(d):
        params = choix.ilsr_pairwise(len(methods), [tuple(x) for x in d], alpha=alpha)
        return params - params.mean()

    point = fit(data)
    rng = np.random.default_rng(seed)
    boots = np.array([fit(data[rng.integers(0, len(data), len(data))]) for _ in range(n_boot)])
    low, high = np.percentile(boots, 2.5, axis=0), np.percentile(boots, 97.5, axis=0)
    return {m: {"score": float(point[i]), "ci95": [float(low[i]), float(high[i])]}
            for m, i in index.items()}


def krippendorff_alpha(rows: list[dict]) -> float:
    """Krippendorff's alpha (nominal) of the answers, trials x raters (NaN if undefined)."""
    import krippendorff

    raters = sorted({r["rater"] for r in rows})
    trials = sorted({r["trial_id"] for r in rows})
    if len(raters) < 2 or not trials:
        return math.nan
    codes = {a: i for i, a in enumerate(sorted({r["answer"] for r in rows}))}
    matrix = np.full((len(raters), len(trials)), np.nan)
    ri = {r: i for i, r in enumerate(raters)}
    ti = {t: i for i, t in enumerate(trials)}
    for r in rows:
        matrix[ri[r["rater"]], ti[r["trial_id"]]] = codes[r["answer"]]
    if len(codes) < 2:
        return 1.0
    try:
        return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return math.nan


def label_satisfaction(rows: list[dict]) -> dict[str, dict]:
    """Per method (plain / ra): the share of label trials where its label was judged right."""
    hits = defaultdict(lambda: [0, 0])
    for r in rows:
        for side in ("A", "B"):
            method = r["payload"][side]
            hits[method][1] += 1
            hits[method][0] += r["answer"] in (side, "both")
    out = {}
    for method, (k, n) in sorted(hits.items()):
        low, high = wilson_interval(k, n)
        out[method] = {"satisfied": k, "trials": n, "rate": k / n if n else math.nan,
                       "ci95": [low, high]}
    return out


def human_preference_for_a(rows: list[dict]) -> dict[int, float]:
    """Per trial: the fraction of (non-tie) answers choosing A."""
    votes = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["answer"] in ("A", "B"):
            votes[r["trial_id"]][1] += 1
            votes[r["trial_id"]][0] += r["answer"] == "A"
    return {t: a / n for t, (a, n) in votes.items() if n}


def metric_agreement(rows: list[dict], distances: dict[int, dict[str, tuple[float, float]]],
                     lower_better: dict[str, bool]) -> dict[str, dict]:
    """BAPPS 2AFC score per metric. distances[trial_id][metric] = (value of A, value of B),
    each measured against the reference."""
    p_a = human_preference_for_a(rows)
    scores = defaultdict(list)
    for trial, p in p_a.items():
        for metric, (va, vb) in distances.get(trial, {}).items():
            if va == vb:
                scores[metric].append(0.5)
                continue
            prefers_a = (va < vb) if lower_better[metric] else (va > vb)
            scores[metric].append(p if prefers_a else 1 - p)
    return {m: {"score": float(np.mean(v)), "trials": len(v)} for m, v in sorted(scores.items())}


def empty_reason(rows: list[dict], kept: list[dict],
                 excluded: dict[str, list[str]]) -> dict | None:
    """Why no answer is left for the statistics (None when some are): ``{"short": a phrase
    for an empty table, "sentence": the full explanation}``; every rater excluded (each with
    their reasons), or only catch trials answered by the raters kept."""
    if kept:
        return None
    raters = sorted({r["rater"] for r in rows if not r.get("is_practice")})
    if not raters:
        return {"short": "no counted answer yet",
                "sentence": "No counted answer yet (practice answers count towards nothing)."}
    if set(raters) <= set(excluded):
        reasons = sorted({why for r in raters for why in excluded[r]})
        who = "; ".join(f"{r}: {', '.join(excluded[r])}" for r in raters[:5])
        more = f"; and {len(raters) - 5} more" if len(raters) > 5 else ""
        every = "the only rater is" if len(raters) == 1 else f"all {len(raters)} raters are"
        return {"short": f"{every} excluded ({', '.join(reasons)})",
                "sentence": f"{every.capitalize()} excluded by the rule ({who}{more}), so no "
                            "answer is left for the statistics; loosen the thresholds above "
                            "to include them."}
    return {"short": "the raters kept answered only catch trials",
            "sentence": "The raters kept have answered only catch trials so far, which count "
                        "towards no statistic"
                        + (f"; excluded: {', '.join(sorted(excluded))}" if excluded else "") + "."}


def study_summary(rows: list[dict], kind: str, min_catch_pass: float = 0.75,
                  n_boot: int = 500, seed: int = 0,
                  min_median_rt_ms: float | None = MIN_MEDIAN_RT_MS) -> dict:
    rows = [r for r in rows if not r.get("is_practice")]
    kept = kept_rows(rows, min_catch_pass, min_median_rt_ms)
    summary = {"answers": len(rows), "raters": len({r["rater"] for r in rows}),
               "catch": catch_pass_rates(rows), "min_catch_pass": min_catch_pass,
               "min_median_rt_ms": min_median_rt_ms,
               "exclusion_rule": exclusion_rule(min_catch_pass, min_median_rt_ms),
               "per_rater": rater_table(rows, min_catch_pass, min_median_rt_ms),
               "excluded": excluded_raters(rows, min_catch_pass, min_median_rt_ms),
               "kept_answers": len(kept), "agreement_alpha": krippendorff_alpha(kept),
               "empty_reason": empty_reason(
                   rows, kept, exclusions(rows, min_catch_pass, min_median_rt_ms))}
    if kind == "label":
        summary["label_satisfaction"] = label_satisfaction(kept)
    else:
        summary["preferences"] = preference_rates(kept)
        summary["bradley_terry"] = bradley_terry(kept, n_boot=n_boot, seed=seed)
        summary["thurstone"] = thurstone(kept, n_boot=min(n_boot, 300), seed=seed)
    return summary


def json_ready(value):
    """``value`` with every NaN or infinity replaced by None (valid JSON), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return json_ready(value.item())
    return value


def pairs_of(methods):
    return list(itertools.combinations(methods, 2))
