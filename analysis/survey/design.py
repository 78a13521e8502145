"""A study is data: its trials are designed once, stored, and shown in the same order to all.

2AFC: every pair of the chosen methods gets the same number of trials (the
remainder going to the first pairs), images cycle through a seeded shuffle,
and which method appears on the left is drawn per trial and stored. Catch
trials, with a known answer, are mixed in so that they make up ``catch_rate``
of all trials: in ``2afc`` one side is the reference itself (expected: that
side); in ``2afc-noref`` one side is heavily degraded (expected: the other
side); in ``label`` one label is the true class and the other a wrong one
(expected: the side of the true label). A ``visibility`` study (a staircase per image
along the plain -> RA blend) is designed by :mod:`analysis.survey.visibility`. Practice
trials are built like catch trials (so their answer is known and feedback can be given),
come first, and are flagged: they count towards no statistic.
"""

from __future__ import annotations

import itertools
import random

from sqlalchemy import select

from . import validate
from .db import Study, Trial

KINDS = ("2afc", "2afc-noref", "label", "visibility")
REFERENCE, DEGRADED = "@reference", "@degraded"
ANSWERS = {"2afc": ("A", "B", "tie"), "2afc-noref": ("A", "B", "tie"),
           "label": ("none", "A", "B", "both"), "visibility": ("A", "B", "C")}
QUESTIONS = {"2afc": "Which image is closer to the reference?",
             "2afc-noref": "Which image looks better?",
             "label": "Which labels describe the image?",
             "visibility": "Which image differs from the reference?"}
QUESTION_ODDITY = "Which image differs from the other two?"   # a 3AFC visibility trial


def count_catch(n_regular: int, catch_rate: float) -> int:
    """Catch trials so that they are ``catch_rate`` of all trials (rounded)."""
    if not 0 <= catch_rate < 1:
        raise ValueError("catch_rate must be in [0, 1).")
    return round(n_regular * catch_rate / (1 - catch_rate))


def split_total(total: int, catch_rate: float) -> tuple[int, int]:
    """(regular, catch) trials of a study with ``total`` trials per rater, catch trials
    included: round(total * catch_rate) catch trials, at least one regular trial."""
    if not 0 <= catch_rate < 1:
        raise ValueError("catch_rate must be in [0, 1).")
    catch = min(round(total * catch_rate), max(total - 1, 0))
    return total - catch, catch


def design_2afc(methods: list[str], images: list[int], n_trials: int, catch_rate: float,
                seed: int, reference: bool = True, pairs=None,
                n_catch: int | None = None) -> list[dict]:
    """``n_trials`` regular trials plus ``n_catch`` catch trials (default: ``catch_rate`` of
    all trials, :func:`count_catch`), shuffled."""
    rng = random.Random(seed)
    pairs = [tuple(p) for p in (pairs or itertools.combinations(methods, 2))]
    if not pairs:
        raise ValueError("A 2AFC study needs at least two methods.")
    order = list(images)
    rng.shuffle(order)
    trials = []
    for k in range(n_trials):
        a, b = pairs[k % len(pairs)]
        swapped = rng.random() < 0.5
        left, right = (b, a) if swapped else (a, b)
        trials.append({"image_index": order[k % len(order)], "left": left, "right": right,
                       "swapped": swapped, "is_catch": False, "expected": None, "payload": {}})
    for k in range(count_catch(n_trials, catch_rate) if n_catch is None else n_catch):
        method = methods[k % len(methods)]
        special = REFERENCE if reference else DEGRADED
        swapped = rng.random() < 0.5
        left, right = (method, special) if swapped else (special, method)
        special_side = "B" if swapped else "A"
        expected = special_side if reference else ("A" if special_side == "B" else "B")
        trials.append({"image_index": order[rng.randrange(len(order))], "left": left,
                       "right": right, "swapped": swapped, "is_catch": True, "expected": expected,
                       "payload": {}})
    rng.shuffle(trials)
    return trials


def design_label(items: list[dict], class_names: list[str], n_trials: int, catch_rate: float,
                 seed: int, n_catch: int | None = None) -> list[dict]:
    """items: {"image_index", "label", "label_plain", "label_ra"} (class ids), one per image;
    at most ``n_trials`` regular trials (one per item) plus ``n_catch`` catch trials (default:
    ``catch_rate`` of all trials)."""
    rng = random.Random(seed)
    items = list(items)
    rng.shuffle(items)
    trials = []
    for k in range(min(n_trials, len(items))):
        it = items[k]
        swapped = rng.random() < 0.5
        shown = ("ra", "plain") if swapped else ("plain", "ra")
        labels = {"plain": it["label_plain"], "ra": it["label_ra"]}
        trials.append({"image_index": it["image_index"],
                       "left": class_names[labels[shown[0]]], "right": class_names[labels[shown[1]]],
                       "swapped": swapped, "is_catch": False, "expected": None,
                       "payload": {"A": shown[0], "B": shown[1], "true": it["label"]}})
    short = len(trials) < n_trials                      # fewer images than asked: the rate
    for _ in range(count_catch(len(trials), catch_rate) if n_catch is None or short else n_catch):
        it = items[rng.randrange(len(items))]
        wrong = rng.choice([c for c in range(len(class_names)) if c != it["label"]])
        swapped = rng.random() < 0.5
        pair = (wrong, it["label"]) if swapped else (it["label"], wrong)
        trials.append({"image_index": it["image_index"], "left": class_names[pair[0]],
                       "right": class_names[pair[1]], "swapped": swapped, "is_catch": True,
                       "expected": "B" if swapped else "A",
                       "payload": {"A": "@true" if not swapped else "@wrong",
                                   "B": "@wrong" if not swapped else "@true", "true": it["label"]}})
    rng.shuffle(trials)
    return trials


def design_practice(kind: str, trials: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` practice trials: copies of catch-style trials (known answer), flagged as practice.

    ``trials`` is a designed study; its catch trials are reused when there are any,
    else catch trials are designed for the purpose (2AFC kinds only need the methods).
    """
    if n <= 0:
        return []
    rng = random.Random(seed + 7919)
    pool = [t for t in trials if t["is_catch"]]
    if not pool:
        regular = [t for t in trials if not t["is_catch"]]
        if not regular:
            raise ValueError("Practice trials need a study with at least one trial.")
        if kind == "label":
            raise ValueError("Practice trials of a label study need catch trials; set a catch "
                             "rate above 0.")
        methods = sorted({m for t in regular for m in (t["left"], t["right"])})
        images = sorted({t["image_index"] for t in regular})
        pool = [t for t in design_2afc(methods, images, 1, 0.5, seed, reference=(kind == "2afc"))
                if t["is_catch"]]
    return [{**pool[rng.randrange(len(pool))], "is_catch": False, "is_practice": True}
            for _ in range(n)]


def create_study(session, name: str, kind: str, task: str, trials: list[dict],
                 config: dict, practice: list[dict] | None = None) -> Study:
    """Store a designed study: practice trials first (positions 0..p-1), then its trials in
    the designed order."""
    if kind not in KINDS:
        raise ValueError(f"Unknown study kind {kind!r}; use one of {', '.join(KINDS)}.")
    name = validate.study_name(name)
    for t in [*(practice or []), *trials]:
        for side in ("left", "right"):
            validate.method_name(t[side])
    if session.scalar(select(Study).where(Study.name == name)) is not None:
        raise ValueError(f"A study named {name!r} exists already; choose another name.")
    study = Study(name=name, kind=kind, task=task, config=config)
    session.add(study)
    session.flush()
    for position, t in enumerate([*(practice or []), *trials]):
        session.add(Trial(study_id=study.id, position=position, **t))
    session.commit()
    return study
