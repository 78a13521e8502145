"""The display check: the measurements, the factor, flag / refuse / ignore, what is stored and
exported, and the results without flagged sessions."""

import csv
import io
import json

import pytest

from analysis.errors import RAExplorerError
from analysis.survey.design import create_study, design_2afc
from analysis.survey.display import (
    calibration_html,
    device_px_per_px,
    keep_rows,
    parse,
    policy_of,
    record,
)
from analysis.survey.store import (
    answer_rows,
    export_csv,
    get_study,
    next_trial,
    record_answer,
    set_display,
    show,
    start_rater,
)

BASE = {"dpr": 1, "visual_scale": 1, "outer_inner": 1, "viewport_w": 1280, "viewport_h": 800,
        "rendered_w": 32}


def m(**kw):
    return parse(json.dumps({**BASE, **kw}))


@pytest.mark.parametrize("kw, factor, outcome", [
    ({}, 1.0, "ok"), ({"dpr": 2}, 2.0, "ok"), ({"dpr": 3}, 3.0, "ok"),
    ({"dpr": 1.25}, 1.25, "flagged"), ({"visual_scale": 1.25}, 1.25, "flagged"),
    ({"rendered_w": 40}, 1.25, "flagged"), ({"dpr": 1.5}, 1.5, "flagged"),
    ({"dpr": 0.9}, 0.9, "flagged"), ({"dpr": 1.01}, 1.01, "ok")])
def test_a_fractional_screen_pixel_per_image_pixel_is_flagged_or_refused(kw, factor, outcome):
    meas = m(**kw)
    assert device_px_per_px(meas) == pytest.approx(factor)
    assert record(meas, "flag")["outcome"] == outcome
    assert record(meas, "refuse")["outcome"] == outcome.replace("flagged", "refused")


@pytest.mark.parametrize("raw", ["", "[1]", "{", json.dumps({**BASE, "dpr": "1"}),
                                 json.dumps({**BASE, "dpr": float("inf")}),
                                 json.dumps({k: v for k, v in BASE.items() if k != "rendered_w"}),
                                 json.dumps({**BASE, "viewport_w": -5})])
def test_bad_measurements_get_one_sentence(raw):
    with pytest.raises(RAExplorerError, match="could not be read"):
        parse(raw)


def test_the_calibration_image_is_a_32_px_checkerboard_never_scaled_by_the_page():
    html = calibration_html()
    assert 'width="32"' in html and "width:32px" in html and "data:image/png;base64," in html
    assert policy_of({}) == "ignore" and policy_of({"display_check": "refuse"}) == "refuse"


def test_measurements_are_stored_per_session_exported_and_flagged_sessions_left_out(AnyDB):
    with AnyDB() as s:
        create_study(s, "d", "2afc", "sr", design_2afc(["a", "b"], [0, 1], 2, 0, 0),
                     {"display_check": "flag"})
        study = get_study(s, "d")
        good, scaled = start_rater(s, study, "good"), start_rater(s, study, "scaled")
        set_display(s, good, record(m(), "flag"))
        set_display(s, scaled, record(m(dpr=1.25), "flag"))
        set_display(s, scaled, record(m(), "flag"))            # stored once
        for r in (good, scaled):
            t = next_trial(s, r)
            record_answer(s, r, t, "A", "2afc", token=show(s, r, t))
        rows = answer_rows(s, study)
        assert [(r["rater"], r["display_outcome"]) for r in rows] == [("good", "ok"),
                                                                   ("scaled", "flagged")]
        assert [r["rater"] for r in keep_rows(rows)] == ["good"]
        exported = list(csv.DictReader(io.StringIO(export_csv(s, study))))
        assert [(r["display_outcome"], r["device_px_per_px"]) for r in exported] == \
            [("ok", "1.0"), ("flagged", "1.25")]
        assert get_study(s, "d").config["display_check"] == "flag"
