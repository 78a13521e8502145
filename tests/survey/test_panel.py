"""Recruitment panels: the ids a link carries (checked, stored with the rater, exported), the
study's completion and return addresses."""

import csv
import io

import pytest

from analysis.errors import RAExplorerError
from analysis.survey.design import create_study, design_2afc
from analysis.survey.panel import (
    check_settings,
    completion_target,
    ids_from_params,
    return_target,
    settings_of,
)
from analysis.survey.store import (
    export_csv,
    get_study,
    next_trial,
    record_answer,
    set_panel,
    show,
    start_rater,
)

PROLIFIC = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "64aa00bb11cc22dd33ee44ff",
            "SESSION_ID": "sess-0001"}


def test_the_known_panel_ids_are_kept_and_anything_else_is_dropped():
    params = {**PROLIFIC, "study": "s", "rater": "x", "utm_source": "mail", "workerId": "A1B2"}
    assert ids_from_params(params) == {**PROLIFIC, "workerId": "A1B2"}
    assert ids_from_params({"study": "s"}) == {}
    for bad in ("<script>", "a b", "x" * 129, "é"):
        with pytest.raises(RAExplorerError, match="PROLIFIC_PID is not a valid panel id"):
            ids_from_params({"PROLIFIC_PID": bad})


def test_completion_gets_prolifics_cc_and_placeholders_are_filled_encoded():
    s = check_settings("https://app.prolific.com/submissions/complete", "C1X2Y3Z4", None)
    assert completion_target(s, PROLIFIC) == \
        "https://app.prolific.com/submissions/complete?cc=C1X2Y3Z4"
    s = check_settings("https://panel.example/done?x=1&cc=OLD", "NEW", None)
    assert completion_target(s) == "https://panel.example/done?x=1&cc=NEW"
    s = check_settings("https://panel.example/end?pid={PROLIFIC_PID}&c={code}", "K9", None)
    assert completion_target(s, PROLIFIC) == \
        f"https://panel.example/end?pid={PROLIFIC['PROLIFIC_PID']}&c=K9"
    s = check_settings(None, None, "https://panel.example/back?w={workerId}")
    assert return_target(s, {"workerId": "a:b@c"}) == "https://panel.example/back?w=a%3Ab%40c"
    assert completion_target(s) is None and return_target({}) is None


@pytest.mark.parametrize("url, match", [
    ("javascript:alert(1)", "not an http"), ("app.prolific.com/x", "not an http"),
    ("https://p.example/{EMAIL}", "placeholder {EMAIL}"), ("https://p.example/{", "unpaired"),
    ("https://p.example/\x00", "control character")])
def test_bad_addresses_are_refused_with_a_sentence(url, match):
    with pytest.raises(RAExplorerError, match=match):
        check_settings(url, None, None)
    with pytest.raises(RAExplorerError, match="completion code"):
        check_settings(None, "two words", None)


def test_ids_are_stored_with_the_rater_exported_and_settings_kept_on_the_study(AnyDB):
    with AnyDB() as s:
        create_study(s, "p", "2afc", "sr", design_2afc(["a", "b"], [0, 1], 2, 0, 0), {"seed": 0})
        study = get_study(s, "p")
        with pytest.raises(RAExplorerError, match="not an http"):
            set_panel(s, study, "ftp://x", "C1", None)
        assert settings_of(study.config) == {}                  # nothing changed on a bad one
        set_panel(s, study, "https://app.prolific.com/submissions/complete", "C1",
                  "https://app.prolific.com/submissions/complete?cc=NOCONSENT")
        assert study.config["seed"] == 0
    with AnyDB() as s:
        study = get_study(s, "p")
        assert settings_of(study.config)["completion_code"] == "C1"
        r = start_rater(s, study, panel_ids=PROLIFIC)
        other = start_rater(s, study)
        for rater in (r, other):
            t = next_trial(s, rater)
            record_answer(s, rater, t, "A", "2afc", token=show(s, rater, t))
        rows = list(csv.DictReader(io.StringIO(export_csv(s, study))))
        assert [(x["PROLIFIC_PID"], x["STUDY_ID"], x["SESSION_ID"]) for x in rows] == \
            [tuple(PROLIFIC.values()), ("", "", "")]
        assert "workerId" not in rows[0]                         # only ids some rater came with
        with pytest.raises(RAExplorerError, match="SESSION_ID"):
            start_rater(s, study, panel_ids={"SESSION_ID": "=cmd|x"})
        set_panel(s, study)                                      # all empty: no panel
        assert "panel" not in get_study(s, "p").config
