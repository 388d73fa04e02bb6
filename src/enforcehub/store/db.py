"""Engines and migrations: SQLite (WAL) in the data directory by default, PostgreSQL in production.

The schema is applied by Alembic (`enforcehub migrate`, and on `serve` start). SQLite's single
writer is part of the design: one process-wide lock serialises write transactions so writers
queue in order instead of failing with `database is locked`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select

from enforcehub.settings import Settings
from enforcehub.store.schema import change_counter

_SQLITE_WRITE_LOCK = threading.Lock()


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database (creating the SQLite data directory if needed)."""
    if settings.is_postgres:
        # No server-side prepared statements: a generic plan made while a table is small (a seq scan)
        # would be reused after it has grown by a million rows inside one submission.
        return create_engine(
            settings.url,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            connect_args={"prepare_threshold": None},
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The pysqlite driver's own transaction handling is replaced by explicit BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back on any error."""
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        _SQLITE_WRITE_LOCK.acquire()
    try:
        with engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop("write", None)
    finally:
        if sqlite:
            _SQLITE_WRITE_LOCK.release()


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (a consistent snapshot on both backends)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def alembic_config(settings: Settings) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("enforcehub.store").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", settings.url.replace("%", "%%"))
    return config


def migrate(settings: Settings, engine: Engine | None = None) -> str:
    """Apply every migration (idempotent); returns the schema revision now in place."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    engine = engine or make_engine(settings)
    config = alembic_config(settings)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision() or ""
    with write_transaction(engine) as conn:
        if conn.execute(select(change_counter.c.id)).first() is None:
            conn.execute(insert(change_counter).values(id=1, last_seq=0))
    return revision
