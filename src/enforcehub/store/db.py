"""Engines and migrations: SQLite (WAL) in the data directory by default, PostgreSQL in production.

The schema is applied by Alembic (`enforcehub migrate`, and on `serve` start). SQLite's single
writer is part of the design: one process-wide lock serialises write transactions so writers
queue in order instead of failing with `database is locked`.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select

from enforcehub.settings import Settings
from enforcehub.store.schema import change_counter

_SQLITE_WRITE_LOCK = threading.Lock()
SQLITE_PAGE_SIZE = 16384
# Past this WAL size the writer checkpoints before handing the write lock on: back-to-back write
# transactions leave the background checkpointer no moment in which the WAL can restart from its
# beginning, and it grew to 21 GB beside a 6.4 GB database in the sharing benchmark.
WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024
SQLITE_BULK_CACHE_KIB = 256 * 1024  # page cache of a bulk write transaction (SQLite's default: 2 MiB)


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
        # A new database file only (ignored once it exists): 16 KiB pages hold seven ~2 KB versions
        # where 4 KiB pages hold one, so a bulk ingest writes about 40% fewer bytes.
        # It must come before journal_mode, which writes the file header.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        # Checkpoints run in a background thread after write transactions (`_Checkpointer`), not
        # inside the commit of whichever transaction crosses SQLite's 1,000-page threshold: a bulk
        # ingest leaves gigabytes in the WAL, and copying and syncing them would hold the write lock.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        # When the WAL restarts, its file is cut back to this size instead of keeping its peak.
        cursor.execute(f"PRAGMA journal_size_limit={WAL_CHECKPOINT_BYTES}")
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
        if sqlite and _wal_bytes(engine) > WAL_CHECKPOINT_BYTES:
            checkpoint(engine)  # still holding the write lock: no writer appends meanwhile
    finally:
        if sqlite:
            _SQLITE_WRITE_LOCK.release()
    if sqlite:
        _checkpointer(engine).poke()


def _wal_bytes(engine: Engine) -> int:
    """The size of an SQLite database's WAL file (0 when there is none)."""
    try:
        return os.path.getsize(f"{engine.url.database}-wal")
    except OSError:
        return 0


class _Checkpointer:
    """Moves committed WAL content into an SQLite database file, in a thread of its own.

    A PASSIVE checkpoint never blocks readers or the writer; what a reader still needs stays in the
    WAL until the next one. Committed data is in the WAL either way (and replayed from it after a
    crash), so durability does not change; the writer no longer waits for the copy and fsync.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(timeout=60)
            self._wake.clear()
            engine = self._engine()
            if engine is None:  # the engine is gone: so is the need
                return
            if woken:
                checkpoint(engine)
            del engine


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, _Checkpointer] = weakref.WeakKeyDictionary()
_CHECKPOINTERS_LOCK = threading.Lock()


def _checkpointer(engine: Engine) -> _Checkpointer:
    with _CHECKPOINTERS_LOCK:
        found = _CHECKPOINTERS.get(engine)
        if found is None:
            found = _CHECKPOINTERS[engine] = _Checkpointer(engine)
        return found


def checkpoint(engine: Engine) -> None:
    """A PASSIVE WAL checkpoint on SQLite (nothing elsewhere); errors are left for the next one."""
    if engine.dialect.name != "sqlite":
        return
    try:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        finally:
            raw.close()
    except Exception:  # a vanished data directory, a closed engine: the next checkpoint catches up
        return


@contextmanager
def bulk_writes(conn: Connection) -> Iterator[None]:
    """Settings for a large write inside a write transaction (an ingest).

    SQLite: a 256 MiB page cache instead of 2 MiB, so the records' indexes, which a bulk insert
    touches at random, stay in memory instead of being spilled to the WAL and read back; the
    default comes back afterwards (and the memory with it). PostgreSQL: long values
    (versions.data, ~2 KB of JSON, compressed by TOAST) are compressed with lz4 instead of pglz,
    about twice as fast, where the server supports it (SET LOCAL: this transaction only).
    """
    if conn.dialect.name == "sqlite":
        previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")
        return
    if conn.dialect.name == "postgresql":
        lz4 = conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar()
        if lz4:
            conn.exec_driver_sql("SET LOCAL default_toast_compression = 'lz4'")
    yield


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
