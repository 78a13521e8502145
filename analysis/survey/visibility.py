"""The visibility-threshold study: per image a staircase along the blend
x(a) = x_plain + a (x_RA - x_plain), a in [0, 1] (:mod:`analysis.survey.staircase`).

A trial is stored in advance like every other (the image, and the interval that holds the
blend, drawn per trial); its strength a is not: it is the staircase's current value, replayed
from this rater's earlier answers on the same image (in trial order), so it is the same
whenever the trial is shown, and the results replay it the same way.

2AFC (a reference-test forced choice): the plain output is shown as the reference, with
A and B under it, one the plain output again and the other the blend; the rater says which
one differs from the reference. 3AFC (oddity): A, B and C, two plain and one the blend;
the rater says which one differs from the other two. Guess rates 1/2 and 1/3.

Practice trials show the blend at a = 1 (the full RA change) and give feedback.
"""

from __future__ import annotations

import random

import numpy as np

from . import staircase

SLOTS = ("A", "B", "C")
START, STEP = 0.5, 0.1     # the staircase's first a and its down step (up: weighted, Kaernbach)
PRACTICE_STRENGTH = 1.0
A_MAX = 1.5     # a fitted a* above this (beyond the full change, extrapolated): not measured


def check_afc(m) -> int:
    if int(m) not in (2, 3):
        raise ValueError("A visibility study runs 2AFC or 3AFC trials (2 or 3 alternatives).")
    return int(m)


def design_visibility(plain: str, ra: str, images: list[int], trials_per_image: int, m: int,
                      seed: int) -> list[dict]:
    """``trials_per_image`` trials per image, the images' staircases interleaved (a seeded
    shuffle; an image's trials keep their order); the blend's interval drawn per trial."""
    m = check_afc(m)
    if not 1 <= trials_per_image <= 200:
        raise ValueError("The trials per image must be between 1 and 200.")
    rng = random.Random(seed)
    order = [i for i in images for _ in range(trials_per_image)]
    rng.shuffle(order)
    trials = []
    for image in order:
        slot = SLOTS[rng.randrange(m)]
        trials.append({"image_index": int(image), "left": plain, "right": ra,
                       "swapped": slot != "A", "is_catch": False, "expected": slot,
                       "payload": {"m": m, "slot": slot}})
    return trials


def design_practice(plain: str, ra: str, images: list[int], n: int, m: int,
                    seed: int) -> list[dict]:
    """``n`` practice trials at the full RA change (a = 1), with a known answer."""
    rng = random.Random(seed + 7919)
    out = []
    for _ in range(n):
        slot = SLOTS[rng.randrange(m)]
        out.append({"image_index": int(images[rng.randrange(len(images))]), "left": plain,
                    "right": ra, "swapped": slot != "A", "is_catch": False, "expected": slot,
                    "is_practice": True,
                    "payload": {"m": m, "slot": slot, "strength": PRACTICE_STRENGTH}})
    return out


def settings(config: dict) -> dict:
    """The study's staircase: ``{"m", "start", "step"}``."""
    v = dict((config or {}).get("visibility") or {})
    return {"m": int(v.get("m", 2)), "start": float(v.get("start", START)),
            "step": float(v.get("step", STEP))}


def replay(answers: list[bool], config: dict) -> staircase.Staircase:
    """The staircase after these correct / wrong answers (in trial order)."""
    s = settings(config)
    sc = staircase.Staircase(s["m"], s["start"], s["step"])
    for correct in answers:
        sc.record(correct)
    return sc


def strength(trial_payload: dict, earlier: list[bool], config: dict) -> float:
    """The a a trial is shown at: a practice trial's own, else the staircase's current a after
    the rater's ``earlier`` answers (correct or not) on the same image."""
    if "strength" in (trial_payload or {}):
        return float(trial_payload["strength"])
    return replay(earlier, config).a


def blend(x_plain: np.ndarray, x_ra: np.ndarray, a: float) -> np.ndarray:
    """x_plain + a (x_RA - x_plain), in [0, 1]."""
    return np.clip(x_plain + float(a) * (x_ra - x_plain), 0.0, 1.0)


def annotate(rows: list[dict], config: dict) -> None:
    """Add to each answer row (:func:`analysis.survey.store.answer_rows`) the strength
    ``strength`` its trial was shown at and whether the answer was ``correct``."""
    history: dict[tuple[str, int], list[bool]] = {}
    for r in sorted(rows, key=lambda r: (r["rater"], r["position"])):
        correct = r["answer"] == r["expected"]
        if r["is_practice"]:
            r["strength"] = strength(r["payload"], [], config)
        else:
            earlier = history.setdefault((r["rater"], r["image_index"]), [])
            r["strength"] = strength(r["payload"], earlier, config)
            earlier.append(correct)
        r["correct"] = correct


def staircases(rows: list[dict], config: dict) -> dict[tuple[str, int], staircase.Staircase]:
    """Each (rater, image)'s staircase from answer rows (:func:`analysis.survey.store.answer_rows`,
    practice left out), replayed in trial order."""
    out: dict[tuple[str, int], staircase.Staircase] = {}
    for r in sorted(rows, key=lambda r: (r["rater"], r["position"])):
        if r["is_practice"]:
            continue
        key = (r["rater"], r["image_index"])
        if key not in out:
            out[key] = replay([], config)
        out[key].record(r["answer"] == r["expected"])
    return out


def thresholds(rows: list[dict], config: dict, ra_lengths: dict[int, float],
               n_boot: int = 100, seed: int = 0) -> list[dict]:
    """Per rater and image: the threshold a* with its 95 % CI (:func:`staircase.estimate`)
    and the same in [0, 1]-pixel L2 units, a* x ||x_RA - x_plain||_2 (``ra_lengths``: image
    -> that norm; None where unknown). A fit whose a* lies above :data:`A_MAX` (the rater
    did not tell even the full RA change from the plain output often enough) gives no
    threshold (None) and ``seen`` False."""
    out = []
    for (rater, image), sc in sorted(staircases(rows, config).items()):
        est = staircase.estimate(sc, n_boot=n_boot, seed=seed)
        if not est["threshold"] <= A_MAX:
            est["threshold"], est["ci95"] = None, [float("nan"), float("nan")]
        length = ra_lengths.get(image)
        length = None if est["threshold"] is None else length
        out.append({"rater": rater, "image_index": image, "trials": est["trials"],
                    "correct": sum(c for _, c in sc.trials),
                    "seen": est["threshold"] is not None,
                    "a_star": est["threshold"], "a_ci95": est["ci95"],
                    "ra_l2": ra_lengths.get(image),
                    "l2_threshold": None if length is None else est["threshold"] * length,
                    "l2_ci95": None if length is None else [v * length for v in est["ci95"]]})
    return out


def beside_bd(rows: list[dict], bd: dict[int, dict]) -> list[dict]:
    """Threshold rows (:func:`thresholds`) with each classifier's BD along d_RA of the image
    (``bd``: image -> {classifier: BD or None}), and per classifier whether the boundary lies
    nearer than the threshold (the RA direction crosses it at a change this rater does not
    see; None where the BD is censored)."""
    out = []
    for r in rows:
        row = dict(r)
        for clf, d in (bd.get(r["image_index"]) or {}).items():
            row[f"BD {clf}"] = d
            row[f"BD < threshold ({clf})"] = (None if d is None or r["l2_threshold"] is None
                                              else d < r["l2_threshold"])
        out.append(row)
    return out
