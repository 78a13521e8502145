"""Studies from the (tiny) zoo: practice trials, image choices, screening that stops early,
the CLI's readable summary and the demo study."""

import json

import pytest

from analysis.cli.main import main as cli_main
from analysis.survey.content import design_from_zoo, label_items, screen, study_from_zoo
from analysis.survey.db import make_engine, session_factory
from analysis.survey.store import (
    answer_rows,
    finish,
    get_study,
    next_trial,
    progress,
    record_answer,
    show,
    start_rater,
)
from tests.conftest import SYNTH


@pytest.fixture(scope="module")
def ws(tiny_zoo):
    from analysis.explore.workspace import Workspace

    return Workspace("sr", SYNTH, str(tiny_zoo))


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'survey.db'}"


def test_practice_trials_come_first_have_answers_and_are_not_counted(ws, url):
    Session = session_factory(make_engine(url))
    with Session() as s:
        study_from_zoo(s, ws, "p", "2afc", ["sr-plain", "sr-ra"], n_images=5, n_trials=6,
                       catch_rate=0.25, n_practice=2)
        st = get_study(s, "p")
        r = start_rater(s, st, None)
        assert progress(s, r) == (0, 8)                      # 6 + 2 catch; practice not counted
        for k in range(2):
            t = next_trial(s, r)
            assert t.is_practice and t.position == k and t.expected in ("A", "B")
            record_answer(s, r, t, "tie", "2afc", token=show(s, r, t), rt_ms=300.0)
        assert progress(s, r) == (0, 8)
        t = next_trial(s, r)
        assert not t.is_practice
        record_answer(s, r, t, "A", "2afc", token=show(s, r, t), rt_ms=900.0)
        assert progress(s, r) == (1, 8)
        assert len(answer_rows(s, st)) == 1                  # statistics never see practice
        assert [x["is_practice"] for x in answer_rows(s, st, practice=True)] == [True, True, False]
        assert [x["order"] for x in answer_rows(s, st, practice=True)] == [1, 2, 3]
        code = finish(s, r)
        assert len(code) == 9 and finish(s, r) == code      # made once


def test_screening_stops_as_soon_as_enough_images_are_found(ws, monkeypatch):
    import analysis.survey.content as content

    monkeypatch.setattr(content, "CHUNK", 10)
    ws.__dict__.pop("_survey_screen", None)
    seen = []
    rows = screen(ws, "clf-a", ["sr-plain", "sr-ra"], lambda rows: len(rows) >= 15,
                  limit=40, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(10, 40), (20, 40)]                     # stopped after the second chunk
    assert [r["image_index"] for r in rows] == list(range(20))
    items = label_items(ws, "clf-a", "sr-plain", "sr-ra", limit=40, needed=3)
    assert len(items) <= 3
    assert all(i["label_plain"] != i["label_ra"] for i in items)


@pytest.mark.parametrize("how", ["random", "stratified", "methods-disagree", "plain-wrong"])
def test_image_choices(ws, how):
    from analysis.errors import RAExplorerError

    try:
        trials, practice, config = design_from_zoo(ws, "2afc", ["sr-plain", "sr-ra"], n_images=6,
                                                   n_trials=6, catch_rate=0.0, images=how,
                                                   classifier="clf-a", n_practice=1)
    except RAExplorerError as exc:  # a filter may match no image of the tiny zoo
        assert how not in ("random", "stratified") and "No test image" in str(exc)
        return
    assert len(trials) == 6 and len(practice) == 1 and config["images"] == how
    rows = {r["image_index"]: r for r in screen(ws, "clf-a", ["sr-plain", "sr-ra"],
                                                lambda rows: False)}
    for t in trials:
        r = rows.get(t["image_index"])
        if how == "plain-wrong":
            assert r["sr-plain"] != r["label"]
        if how == "methods-disagree":
            assert r["sr-plain"] != r["sr-ra"]
    if how == "stratified":
        labels = ws.labels()
        got = [int(labels[t["image_index"]]) for t in trials]
        assert len(set(got)) == min(6, len(set(labels.tolist())))


def test_cli_create_list_summary_tables_and_json(tiny_zoo, url, capsys):
    args = ["--db", url]
    assert cli_main(["survey", "create", "--name", "c", "--processors", "sr-plain,sr-ra",
                     "--images", "5", "--trials", "6", "--practice", "1", "--dataset", SYNTH,
                     "--checkpoints", str(tiny_zoo), *args]) == 0
    assert "Created study 'c'" in capsys.readouterr().out
    Session = session_factory(make_engine(url))
    with Session() as s:
        st = get_study(s, "c")
        for code in ("x", "y"):
            r = start_rater(s, st, code)
            while (t := next_trial(s, r)) is not None:
                record_answer(s, r, t, "A", "2afc", token=show(s, r, t), rt_ms=1200.0)
    assert cli_main(["survey", "summary", "--name", "c", *args]) == 0
    out = capsys.readouterr().out
    assert "Exclusion rule: a rater is excluded when" in out
    assert "median_rt_ms" in out and "1200.000" in out and "{" not in out
    assert cli_main(["survey", "summary", "--name", "c", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["raters"] == 2 and "NaN" not in json.dumps(data)
    assert cli_main(["survey", "list", *args]) == 0
    assert "c " in capsys.readouterr().out
    assert cli_main(["survey", "close", "--name", "c", *args]) == 0
    assert cli_main(["survey", "delete", "--name", "c", "--confirm", "c", *args]) == 2
    assert "Export" in capsys.readouterr().err
    assert cli_main(["survey", "export", "--name", "c", *args]) == 0
    assert "rt_ms" in capsys.readouterr().out.splitlines()[0]
    assert cli_main(["survey", "delete", "--name", "c", "--confirm", "c", *args]) == 0


def test_the_demo_study_is_made_on_a_first_start_only(ws, url):
    from analysis.survey.demo import DEMO_NAME, ensure_demo

    Session = session_factory(make_engine(url))
    with Session() as s:
        assert ensure_demo(s, workspace=ws) is True
        st = get_study(s, DEMO_NAME)
        assert st.kind == "2afc" and st.config["methods"] == ["sr-plain", "sr-ra"]
        assert ensure_demo(s, workspace=ws) is False          # there already
        assert ensure_demo(s, workspace=ws, reset=True) is True


def test_cli_creates_a_visibility_study_and_summarises_its_thresholds(tiny_zoo, url, capsys):
    args = ["--db", url]
    assert cli_main(["survey", "create", "--name", "v", "--kind", "visibility", "--processors",
                     "sr-plain,sr-ra", "--images", "2", "--afc", "3", "--trials-per-image", "8",
                     "--display-check", "ignore", "--dataset", SYNTH,
                     "--checkpoints", str(tiny_zoo), *args]) == 0
    assert "Created study 'v' (visibility, 16 trials" in capsys.readouterr().out
    Session = session_factory(make_engine(url))
    with Session() as s:
        st = get_study(s, "v")
        assert st.config["visibility"]["m"] == 3
        r = start_rater(s, st, "x")
        while (t := next_trial(s, r)) is not None:
            record_answer(s, r, t, t.expected, "visibility", token=show(s, r, t))
    assert cli_main(["survey", "summary", "--name", "v", *args]) == 0
    out = capsys.readouterr().out
    assert "Visibility thresholds of 'v'" in out and "a_ci95" in out
    assert cli_main(["survey", "summary", "--name", "v", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)["thresholds"]
    assert [(d["rater"], d["trials"], d["correct"]) for d in data] == [("x", 8, 8)] * 2
    assert all(d["seen"] and d["a_star"] < 0.5 for d in data)     # always right: below the start
