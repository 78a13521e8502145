"""AppTest of the visibility-threshold study: made on the studies form, answered on the rater
screen (the buttons, A/B only for 2AFC), its thresholds on the results page beside BD."""

from tests.app.test_survey_pages import answer, page, survey_env  # noqa: F401 - the fixture


def test_a_visibility_study_is_made_answered_and_read_beside_bd(survey_env):  # noqa: F811
    from analysis.survey.store import answer_rows, get_study

    at = page("views/survey_admin.py")
    at.text_input(key="admin_token_studies").input("s3cret-ö✓").run()
    at.text_input(key="new_name").input("seen").run()
    at.selectbox(key="new_kind").select("visibility").run()
    at.number_input(key="new_n_images").set_value(2).run()
    at.number_input(key="new_per_image").set_value(3).run()
    at.number_input(key="new_practice").set_value(1).run()
    at.selectbox(key="new_display").select("ignore").run()      # no browser to measure here
    assert any("a 2AFC staircase of 3 trials on each of 2 images" in c.value for c in at.caption)
    at.button(key="new_preview").click().run()
    assert not at.exception and any(s.value == "Which image differs from the reference?"
                                    for s in at.subheader)
    at.button(key="new_create").click().run()
    assert not at.exception and any("Study created" in s.value for s in at.success)
    with survey_env() as s:
        study = get_study(s, "seen")
        assert study.kind == "visibility" and study.config["visibility"]["m"] == 2

    at = page(study="seen")
    at.button(key="survey_consent").click().run()
    assert "Practice 1 of 1" in at.get("progress")[0].proto.text
    assert sorted(b.key.rsplit("_", 1)[1] for b in answer(at)) == ["A", "B"]
    for _ in range(7):                                       # practice, then 2 x 3 trials
        answer(at)[0].click().run()
        assert not at.exception, [e.message for e in at.exception]
    assert any("All done" in s.value for s in at.success)
    with survey_env() as s:
        rows = answer_rows(s, get_study(s, "seen"))
    assert len(rows) == 6 and {r["answer"] for r in rows} == {"A"}

    at = page("views/survey_results.py")
    at.text_input(key="admin_token").input("s3cret-ö✓").run()
    at.selectbox(key="results_study").select("seen").run()
    assert not at.exception, [e.message for e in at.exception]
    table = next(d.value for d in at.dataframe if "a_star" in d.value.columns)
    assert len(table) == 2 and set(table["trials"]) == {3}
    bd = [c for c in table.columns if c.startswith("BD ") and "<" not in c]
    assert bd, table.columns
    seen = table[table["seen"]]              # a* fitted within [0, 1.5]; else no threshold
    assert (seen["l2_threshold"] - seen["a_star"] * seen["ra_l2"]).abs().max() < 2e-3
    assert table[~table["seen"]]["l2_threshold"].isna().all()
