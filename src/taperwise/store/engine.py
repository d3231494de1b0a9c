"""Database engines and sessions: SQLite (WAL) by default, PostgreSQL by URL.

Write transactions are serialised where the audit hash chain needs it: on SQLite every transaction
starts with ``BEGIN IMMEDIATE`` (one writer at a time, readers unaffected thanks to WAL); on
PostgreSQL the audit writer takes a transaction-scoped advisory lock (see :mod:`.audit`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from taperwise.errors import ValidationError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///taperwise.db"


def normalise_url(url: str | None) -> str:
    """Accept ``sqlite:///file.db``, a bare file path, or ``postgresql://...`` (psycopg 3 driver)."""
    if not url:
        return DEFAULT_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith(("sqlite:", "postgresql+")):
        return url
    if "://" in url:
        raise ValidationError(
            f"--db '{url}' is not supported; allowed: sqlite:///PATH, postgresql://USER@HOST/DB, or a file path"
        )
    return f"sqlite:///{Path(url)}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, foreign keys and immediate transactions."""
    full = normalise_url(url)
    if full.startswith("sqlite"):
        engine = create_engine(
            full, echo=echo, connect_args={"timeout": 60, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via tests
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            if ":memory:" not in full:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(full, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error (no partial writes)."""
    session = Session(bind=engine, expire_on_commit=False)
    try:
        with session.begin():
            yield session
    finally:
        session.close()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only session (on SQLite a deferred transaction, so it never waits for the writer lock)."""
    bind = engine.execution_options(sqlite_begin="DEFERRED") if is_sqlite(engine) else engine
    session = Session(bind=bind, expire_on_commit=False)
    try:
        with session.begin():
            yield session
    finally:
        session.close()
