"""Survey fixtures: a fresh database per test on SQLite, and on PostgreSQL when
SURVEY_TEST_PG_URL names a server (``bash scripts/ci_postgres.sh`` prints one)."""

import os

import pytest
from sqlalchemy import text

from analysis.survey.db import make_engine, session_factory

TABLES = ("answers", "shown", "raters", "trials", "studies")


def pg_url():
    return os.environ.get("SURVEY_TEST_PG_URL")


def clean(engine):
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def AnyDB(request, tmp_path):
    """A session factory on each database (PostgreSQL skipped with its reason when none)."""
    if request.param == "sqlite":
        yield session_factory(make_engine(f"sqlite:///{tmp_path / 'survey.db'}"))
        return
    if not pg_url():
        pytest.skip("no PostgreSQL server: set SURVEY_TEST_PG_URL (.ci/run starts one)")
    engine = make_engine(pg_url())
    clean(engine)
    yield session_factory(engine)
    clean(engine)
    engine.dispose()
