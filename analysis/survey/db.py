"""Storage through SQLAlchemy: SQLite (WAL) by default, PostgreSQL when SURVEY_DB_URL says so.

Tables are created on start. Each answer is unique per (rater, trial): a
second submission of the same trial is refused by the database itself, so an
answer is stored exactly once however often a page is reloaded or a button
clicked.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from ..config import runs_dir

DEFAULT_SQLITE = runs_dir() / "survey.db"


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
    __table_args__ = (UniqueConstraint("study_id", "position"),)


class Rater(Base):
    __tablename__ = "raters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))          # the pseudonymous id in the URL
    consented: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (UniqueConstraint("study_id", "code"),)


class Answer(Base):
    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    answer: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (UniqueConstraint("rater_id", "trial_id"),)


def database_url(url: str | None = None) -> str:
    """``url``, else $SURVEY_DB_URL, else SQLite in runs/survey.db."""
    if url:
        return url
    if os.environ.get("SURVEY_DB_URL"):
        return os.environ["SURVEY_DB_URL"]
    DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE}"


def make_engine(url: str | None = None) -> Engine:
    """An engine with the tables created; SQLite gets WAL and a busy timeout."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    Base.metadata.create_all(engine)
    return engine


def session_factory(engine: Engine):
    return sessionmaker(engine, expire_on_commit=False)
