"""Storage through SQLAlchemy: SQLite (WAL) by default, PostgreSQL when SURVEY_DB_URL says so.

Tables are created on start (and columns added by later versions are added to an
older database). Each answer is unique per (rater, trial): a second submission of
the same trial is refused by the database itself, so an answer is stored exactly
once however often a page is reloaded or a button clicked. A database that cannot
be opened is one sentence (:class:`~analysis.errors.RAExplorerError`).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from ..config import runs_dir
from ..errors import RAExplorerError

DEFAULT_SQLITE = runs_dir() / "survey.db"
STATUSES = ("open", "closed", "archived")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Study(Base):
    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))          # 2afc | 2afc-noref | label
    task: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict] = mapped_column(JSON)             # methods, seed, catch rate, ...
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str | None] = mapped_column(String(12), default="open", nullable=True)
    exported: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Trial(Base):
    __tablename__ = "trials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)         # order shown to every rater
    image_index: Mapped[int] = mapped_column(Integer)      # test-split index
    left: Mapped[str] = mapped_column(String(200))         # what is shown as A
    right: Mapped[str] = mapped_column(String(200))        # what is shown as B
    swapped: Mapped[bool] = mapped_column(Boolean)         # the left/right draw, stored
    is_catch: Mapped[bool] = mapped_column(Boolean, default=False)
    expected: Mapped[str | None] = mapped_column(String(20), nullable=True)  # catch answer
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. labels of a label trial
    is_practice: Mapped[bool | None] = mapped_column(Boolean, default=False, nullable=True)
    # the counterbalancing condition this copy of a trial belongs to (None: every rater's)
    condition: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (UniqueConstraint("study_id", "position"),)


class Rater(Base):
    __tablename__ = "raters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))          # the pseudonymous, typed code
    consented: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the unguessable secret in the rater's link: only it resumes a session
    token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completion_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # a recruitment panel's ids from the link (PROLIFIC_PID, STUDY_ID, SESSION_ID, ...)
    panel_ids: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    condition: Mapped[int | None] = mapped_column(Integer, nullable=True)  # counterbalancing
    # the display check's measurements and outcome (see survey/display.py)
    display: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (UniqueConstraint("study_id", "code"),)


class Shown(Base):
    """A trial put on a rater's screen: the per-trial token an answer must carry."""

    __tablename__ = "shown"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # an active trial's pair for this rater: {"left", "right", "swapped", "handout", "batch"}
    pair: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (UniqueConstraint("rater_id", "trial_id"),)


class Answer(Base):
    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    answer: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # milliseconds from the trial shown to the answer (server side, monotonic clock)
    rt_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    __table_args__ = (UniqueConstraint("rater_id", "trial_id"),)


def database_url(url: str | None = None) -> str:
    """``url``, else $SURVEY_DB_URL, else SQLite in runs/survey.db."""
    if url:
        return url
    if os.environ.get("SURVEY_DB_URL"):
        return os.environ["SURVEY_DB_URL"]
    DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE}"


def _add_missing_columns(engine: Engine) -> None:
    """Columns added since a database was made (all nullable) are added to it."""
    insp = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have:
                    kind = col.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {kind}'))
                    if col.unique:
                        conn.execute(text(f'CREATE UNIQUE INDEX ux_{table.name}_{col.name} '
                                          f'ON {table.name} ("{col.name}")'))


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url[:80]


def make_engine(url: str | None = None) -> Engine:
    """An engine with the tables created; SQLite gets WAL and a busy timeout."""
    url = database_url(url)
    try:
        if url.startswith("sqlite"):
            # every Streamlit session running its script holds one connection: room for 60
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                   pool_size=20, max_overflow=40)

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()
        else:
            args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
            engine = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=40,
                                   connect_args=args)
        Base.metadata.create_all(engine)
        _add_missing_columns(engine)
    except (SQLAlchemyError, ImportError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise RAExplorerError(
            f"Cannot open the survey database {_shown(url)!r} ({reason}); give an SQLAlchemy URL "
            "such as sqlite:///runs/survey.db or postgresql+psycopg://user:pw@host/db "
            "with --db or SURVEY_DB_URL.") from None
    return engine


def session_factory(engine: Engine):
    return sessionmaker(engine, expire_on_commit=False)
