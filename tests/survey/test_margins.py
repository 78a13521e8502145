"""People against classifiers on a label study: per-item human agreement, the classifiers'
logit margins for the shown labels, and their Pearson r, against hand computations."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch

from analysis.survey.margins import (
    consistency,
    human_items,
    label_margin,
    label_margin_consistency,
    machine_margins,
)

CLASSES = ["ant", "bee", "cow"]
# trial id -> (image, left label, right label, payload A, payload B, answers of three raters)
TRIALS = {1: (0, "ant", "bee", "plain", "ra", ["A", "both", "B"]),
          2: (1, "cow", "bee", "ra", "plain", ["A", "A", "A"]),
          3: (2, "bee", "ant", "plain", "ra", ["none", "B", "B"]),
          4: (3, "ant", "cow", "ra", "plain", ["both", "both", "A"])}


def rows():
    out = [{"trial_id": t, "image_index": img, "left": left, "right": right,
            "payload": {"A": a, "B": b, "true": 0}, "answer": ans, "rater": f"r{k}",
            "is_catch": False, "is_practice": False}
           for t, (img, left, right, a, b, answers) in TRIALS.items()
           for k, ans in enumerate(answers)]
    out.append({**out[0], "is_catch": True, "answer": "none"})      # catch trials: not items
    return out


def hand_pearson(x, y) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return sxy / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def test_human_items_are_the_share_of_raters_accepting_each_label():
    items = human_items(rows())
    assert [(i["trial_id"], i["method"], i["label"], i["human"], i["raters"]) for i in items] == [
        (1, "plain", "ant", 2 / 3, 3), (1, "ra", "bee", 2 / 3, 3),
        (2, "ra", "cow", 1.0, 3), (2, "plain", "bee", 0.0, 3),
        (3, "plain", "bee", 0.0, 3), (3, "ra", "ant", 2 / 3, 3),
        (4, "ra", "ant", 1.0, 3), (4, "plain", "cow", 2 / 3, 3)]


def test_label_margin_by_hand():
    assert label_margin(torch.tensor([2.0, 0.5, 1.0]), 0) == 1.0
    assert label_margin(torch.tensor([2.0, 0.5, 1.0]), 1) == -1.5


class Fixed(torch.nn.Module):
    """A classifier whose logits are a table lookup by the image's first pixel."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.tensor(table)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.table[x[:, 0, 0, 0].long()]


def workspace():
    logits = [[3.0, 1.0, 0.0], [0.0, 1.0, 2.5], [0.5, 1.0, 0.0], [1.0, 0.0, 1.5]]
    test = [(torch.full((1, 2, 2), float(i)), None, None) for i in range(4)]
    return SimpleNamespace(info=SimpleNamespace(class_names=CLASSES), test=test,
                           classifiers={"c": Fixed(logits)}), logits


def test_the_consistency_equals_a_hand_computation():
    ws, logits = workspace()
    items = human_items(rows())
    margins = machine_margins(ws, items, ["c"])
    hand_margins = [label_margin(torch.tensor(logits[it["image_index"]]),
                                 CLASSES.index(it["label"])) for it in items]
    assert margins["c"] == pytest.approx(hand_margins)
    assert hand_margins[:2] == [2.0, -2.0]          # image 0: ant by 2, bee 2 below ant
    table = {r["side"]: r for r in consistency(items, margins, n_boot=100)}
    human = [it["human"] for it in items]
    assert table["all"]["pearson"]["value"] == pytest.approx(hand_pearson(human, hand_margins))
    assert table["all"]["trials"] == 4 and table["all"]["items"] == 8
    plain = [k for k, it in enumerate(items) if it["method"] == "plain"]
    assert table["plain"]["pearson"]["value"] == pytest.approx(
        hand_pearson([human[k] for k in plain], [hand_margins[k] for k in plain]))
    low, high = table["all"]["pearson"]["ci95"]
    assert low <= high


def test_the_whole_result_keeps_the_margins_per_item():
    ws, _ = workspace()
    out = label_margin_consistency(ws, rows(), ["c"], n_boot=50)
    assert len(out["items"]) == 8 and "margin|c" in out["items"][0]
    assert {r["side"] for r in out["consistency"]} == {"all", "plain", "ra"}
    empty = label_margin_consistency(ws, [], ["c"], n_boot=50)
    assert empty["items"] == [] and empty["consistency"] == []


def test_cli_margins_of_a_label_study_on_the_tiny_zoo(tiny_zoo, tmp_path, capsys):
    from analysis.cli.main import main
    from analysis.explore.workspace import Workspace
    from analysis.survey.db import make_engine, session_factory
    from analysis.survey.design import create_study, design_label
    from analysis.survey.store import get_study, next_trial, record_answer, show, start_rater
    from tests.conftest import SYNTH

    url = f"sqlite:///{tmp_path / 'survey.db'}"
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    Session = session_factory(make_engine(url))
    with Session() as s:
        # six images with a plain label and a different RA label, written here (the tiny
        # processors give the same labels, so the zoo's screening finds none)
        items = [{"image_index": i, "label": int(ws.labels()[i]), "label_plain": i % 3,
                  "label_ra": i % 3 + 1} for i in range(6)]
        trials = design_label(items, list(ws.info.class_names), 6, 0.0, seed=0, n_catch=0)
        create_study(s, "lab", "label", ws.task.spec, trials,
                     {"dataset": SYNTH, "methods": ["sr-plain", "sr-ra"]})
        study = get_study(s, "lab")
        for code, answer in (("x", "A"), ("y", "both"), ("z", "B")):
            r = start_rater(s, study, code)
            while (t := next_trial(s, r)) is not None:
                record_answer(s, r, t, answer, "label", token=show(s, r, t), rt_ms=1500.0)
    assert main(["survey", "margins", "--name", "lab", "--db", url, "--checkpoints",
                 str(tiny_zoo), "--classifiers", "clf-a,clf-b", "--boot", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {(r["classifier"], r["side"]) for r in out["consistency"]} == {
        (c, side) for c in ("clf-a", "clf-b") for side in ("all", "plain", "ra")}
    assert all(it["raters"] == 3 and it["human"] == 2 / 3 for it in out["items"])
    # the study classifier's margin for each shown label: its top-1 on that side's output, so
    # on the clean image the margin is whatever clf-a says there, one number per item
    assert all(isinstance(it["margin|clf-a"], float) for it in out["items"])
    assert main(["survey", "margins", "--name", "lab", "--db", url, "--checkpoints",
                 str(tiny_zoo), "--classifiers", "nope"]) == 2
    assert "No classifier 'nope'" in capsys.readouterr().err
