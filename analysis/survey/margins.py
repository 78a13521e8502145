"""Decision-margin consistency between people and classifiers on a label study.

A regular trial of a label study shows one test image (the clean reference) with two labels: the
study classifier's top-1 class on the plain output (one side) and on the RA output (the other).
Raters say which labels describe the image. An *item* is one side of one trial: a label L for an
image. Its **human margin** is the per-item agreement: the share of the kept raters who judged L
to describe the image (0 to 1). A classifier's **machine margin** for the item is its logit margin
for L on the same clean image, z_L - max_{k != L} z_k (positive iff its top-1 class is L). Their
Pearson r over the items, per classifier, with a percentile-bootstrap 95 % CI over trials (a
trial is drawn with both its items), says how alike people and the classifier are in how sure
they are that a label fits; per side (plain, RA) as well.

Side A of a trial is the label on the left and the method ``payload["A"]``, as in
:func:`analysis.survey.stats.label_satisfaction`.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch

from ..analyses.agreement_stats import N_BOOT, bootstrap_values, interval, weighted_pearson


def human_items(rows: list[dict]) -> list[dict]:
    """One item per (regular trial, side) answered by the raters in ``rows`` (the kept regular
    answers of a label study): ``trial_id``, ``image_index``, ``method`` (plain / ra side),
    ``label`` (class name), ``human`` (share judging the label to describe the image) and
    ``raters``; trials in order, side A then B."""
    votes = defaultdict(lambda: [0, 0])
    meta = {}
    for r in rows:
        if r.get("is_catch") or r.get("is_practice"):
            continue
        for side, label in (("A", r["left"]), ("B", r["right"])):
            key = (r["trial_id"], side)
            votes[key][0] += r["answer"] in (side, "both")
            votes[key][1] += 1
            meta[key] = {"trial_id": r["trial_id"], "image_index": r["image_index"],
                         "method": r["payload"][side], "label": label}
    return [{**meta[k], "human": yes / n, "raters": n}
            for k, (yes, n) in sorted(votes.items())]


def label_margin(logits: torch.Tensor, label: int) -> float:
    """z_label - max_{k != label} z_k of one image's ``logits`` (K,)."""
    others = torch.cat([logits[:label], logits[label + 1:]])
    return float(logits[label] - others.max())


@torch.inference_mode()
def machine_margins(workspace, items: list[dict], classifiers: list[str]) -> dict[str, list]:
    """{classifier: [its logit margin for each item's label on the item's clean image]} (a
    label the dataset does not name gets NaN); each image is classified once."""
    names = list(workspace.info.class_names)
    images = sorted({it["image_index"] for it in items})
    logits = {}
    for c in classifiers:
        model = workspace.classifiers[c]
        for index in images:
            clean = workspace.test[index][0]
            logits[(c, index)] = model(clean[None].to(next(model.parameters()).device))[0].float().cpu()
    return {c: [label_margin(logits[(c, it["image_index"])], names.index(it["label"]))
                if it["label"] in names else math.nan for it in items]
            for c in classifiers}


def consistency(items: list[dict], margins: dict[str, list], n_boot: int = N_BOOT,
                seed: int = 0) -> list[dict]:
    """Per classifier and per side (``all``, then each method): Pearson r of the human and the
    machine margins over the items, with a bootstrap CI over trials (``all``: a trial is drawn
    with both its items). Items whose margin is NaN are left out, and with them their trial."""
    by_trial = defaultdict(dict)
    for k, it in enumerate(items):
        by_trial[it["trial_id"]][it["method"]] = k
    methods = list(dict.fromkeys(it["method"] for it in items))
    rows = []
    for c, values in margins.items():
        ok = [t for t, sides in by_trial.items()
              if len(sides) == len(methods) and all(math.isfinite(values[k]) for k in sides.values())]
        groups = [("all", [by_trial[t][m] for m in methods for t in ok], len(methods))]
        groups += [(m, [by_trial[t][m] for t in ok], 1) for m in methods]
        for side, picked, repeat in groups:
            human = np.array([items[k]["human"] for k in picked], dtype=np.float64)
            machine = np.array([values[k] for k in picked], dtype=np.float64)
            if len(ok) < 3:
                stat = {"value": math.nan, "ci95": [math.nan, math.nan]}
            else:
                stat = interval(*bootstrap_values(weighted_pearson, human, machine, n=len(ok),
                                                  repeat=repeat, n_boot=n_boot, seed=seed))
            rows.append({"classifier": c, "side": side, "trials": len(ok), "items": len(picked),
                         "pearson": stat})
    return rows


def label_margin_consistency(workspace, rows: list[dict], classifiers: list[str],
                             n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The items with both margins and the consistency table of a label study's kept answers
    ``rows`` (see :func:`human_items`, :func:`machine_margins`, :func:`consistency`)."""
    items = human_items(rows)
    margins = machine_margins(workspace, items, classifiers) if items else {}
    for c, values in margins.items():
        for it, v in zip(items, values):
            it[f"margin|{c}"] = v
    return {"items": items, "consistency": consistency(items, margins, n_boot, seed),
            "classifiers": list(classifiers), "n_boot": n_boot, "seed": seed,
            "definition": "Pearson r over items (one label of one trial's image) of the share "
                          "of kept raters judging the label to describe the image and the "
                          "classifier's logit margin z_L - max_{k≠L} z_k for that label on "
                          "the same clean image; bootstrap 95 % CI over trials"}
