"""AppTest of active pair selection: a study made on the form with "Method pairs: active"; a
rater's screen shows the pair handed out for them, and the answer rows carry that pair."""

from tests.app.test_survey_pages import answer, page, survey_env  # noqa: F401 - the fixture


def test_an_active_study_is_made_on_the_form_and_hands_out_pairs(survey_env):  # noqa: F811
    from analysis.survey.handout import settings
    from analysis.survey.store import answer_rows, get_study

    at = page("views/survey_admin.py")
    at.text_input(key="admin_token_studies").input("s3cret-ö✓").run()
    at.text_input(key="new_name").input("act").run()
    at.selectbox(key="new_pairs").select("active").run()
    at.number_input(key="new_batch").set_value(2).run()
    at.number_input(key="new_n_trials").set_value(4).run()
    at.slider(key="new_catch").set_value(0.0).run()
    at.number_input(key="new_practice").set_value(0).run()
    at.selectbox(key="new_display").select("ignore").run()
    at.button(key="new_create").click().run()
    assert not at.exception and any("Study created" in s.value for s in at.success)
    at = page(study="act")
    at.button(key="survey_consent").click().run()
    for _ in range(4):
        answer(at)[0].click().run()
        assert not at.exception, [e.message for e in at.exception]
    assert any("All done" in s.value for s in at.success)
    with survey_env() as s:
        study = get_study(s, "act")
        rows = answer_rows(s, study)
        batches = settings(study.config)["batches"]
    assert study.config["pairs"] == "active" and len(batches) == 2
    assert len(rows) == 4 and all(r["answer"] == "A" for r in rows)
    methods = study.config["methods"]
    for r in rows:
        assert sorted([methods.index(r["left"]), methods.index(r["right"])]) in [
            list(p) for b in batches for p in b]
