"""Records, versions and the change log. The only module that writes them; callers own the transaction.

Rows travel as polars frames, never as Python dicts: PostgreSQL receives them through COPY from a CSV
buffer that polars writes; SQLite through the driver's executemany over the frame's rows (dates and
times already in SQLAlchemy's SQLite storage format).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from enforcehub.store.schema import change_counter, changes, records, versions

LOOKUP_BATCH = 50_000
LONG_TEXT_BYTES = 256
CURRENT_SCHEMA = {
    "business_key": pl.Utf8,
    "record_id": pl.Int64,
    "version_no": pl.Int64,
    "content_hash": pl.Utf8,
}
# The record columns a new version updates (besides version_no, content_hash and updated_at).
SUMMARY = ("agency_uscc", "region", "counterparty_code", "act_date", "status")


def _cursor(conn: Connection) -> Any:
    """The DB-API cursor under the SQLAlchemy connection (same transaction)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


@contextmanager
def _integrity(conn: Connection, statement: str) -> Iterator[None]:
    """Driver-level writes raise SQLAlchemy's IntegrityError on a constraint violation, like
    conn.execute would: a concurrent writer of the same new key makes the pipeline retry."""
    dbapi = conn.dialect.dbapi
    try:
        yield
    except Exception as exc:
        if dbapi is not None and isinstance(exc, dbapi.IntegrityError):
            raise IntegrityError(statement, None, exc) from exc
        raise


def get_current(conn: Connection, *, dataset: str, keys: pl.Series) -> pl.DataFrame:
    """business_key, record_id, version_no, content_hash of the keys that exist already.

    One statement per 50,000 keys with the keys as a single parameter (a PostgreSQL array, a JSON
    array on SQLite), read through the driver: no per-key parameters to parse, no per-row objects
    of SQLAlchemy's.
    """
    found: list[tuple[Any, ...]] = []
    cursor = _cursor(conn)
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(keys), LOOKUP_BATCH):
        batch = keys.slice(start, LOOKUP_BATCH).to_list()
        if postgres:
            cursor.execute(
                "SELECT business_key, id, version_no, content_hash FROM records"
                " WHERE dataset = %s AND business_key = ANY(%s)",
                (dataset, batch),
            )
            found.extend(cursor.fetchall())
        else:
            # One JSON value for the whole batch: the driver releases and retakes the GIL for every
            # row it steps through, and with the validating worker thread holding it, each retake
            # can wait a whole switch interval.
            cursor.execute(
                "SELECT json_group_array(json_array(business_key, id, version_no, content_hash))"
                " FROM records WHERE dataset = ? AND business_key IN (SELECT value FROM json_each(?))",
                (dataset, json.dumps(batch, ensure_ascii=False)),
            )
            found.extend(tuple(row) for row in json.loads(cursor.fetchone()[0] or "[]"))
    return pl.DataFrame(found, schema=CURRENT_SCHEMA, orient="row")


def allocate_ids(conn: Connection, table: Table, count: int) -> pl.Series:
    """`count` new ids for `table`: PostgreSQL draws them from the column's sequence; on SQLite the
    caller holds the single write lock, so the next ids after the current maximum are free."""
    if count == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    if conn.dialect.name == "postgresql":
        # The sequence is looked up once (pg_get_serial_sequence per row costs ten times nextval).
        cursor = _cursor(conn)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table.name,))
        (sequence,) = cursor.fetchone()
        cursor.execute(
            "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", (sequence, count)
        )
        return pl.Series("id", cursor.fetchone()[0], dtype=pl.Int64)
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    return pl.int_range(start, start + count, dtype=pl.Int64, eager=True).alias("id")


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Insert a frame whose columns are named like the table's: COPY on PostgreSQL, executemany on SQLite."""
    if frame.height == 0:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, frame)
        return
    frame, marks = _sqlite_frame(frame)
    names = ", ".join(f'"{c}"' for c in frame.columns)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join(marks)})'
    with _integrity(conn, statement):
        _cursor(conn).executemany(statement, frame.iter_rows())


def _copy(conn: Connection, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into `table` as CSV (polars writes it; null is an unquoted empty field, an empty
    string is quoted, so they stay apart)."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False)
    names = ", ".join(f'"{c}"' for c in frame.columns)
    statement = f'COPY "{table}" ({names}) FROM STDIN WITH (FORMAT csv)'
    with _integrity(conn, statement), _cursor(conn).copy(statement) as copy:
        copy.write(buffer.getbuffer())


def _sqlite_frame(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The frame as SQLite takes it, and a parameter marker per column.

    Dates and times become text in SQLAlchemy's SQLite storage format. Long strings (versions.data,
    ~2 KB of JSON) go to the driver as UTF-8 bytes and become TEXT again in SQL (`CAST(? AS TEXT)`
    reinterprets the bytes): decoding 2 KB of Chinese text into a Python str and encoding it back
    costs several microseconds, a bytes object only a copy. Short strings are cheaper as str.
    """
    columns: list[pl.Expr] = []
    marks: list[str] = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        mark = "?"
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                column = column.dt.convert_time_zone("UTC")
            column = column.dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
        elif isinstance(dtype, pl.Date):
            column = column.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Utf8 and _long_text(frame[name]):
            column, mark = column.cast(pl.Binary), "CAST(? AS TEXT)"
        columns.append(column.alias(name))
        marks.append(mark)
    return frame.select(columns), marks


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows given as dicts (for callers that have them): COPY on PostgreSQL, executemany on
    SQLite. Ingest, with its rows in frames, uses insert_frame."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        statement = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({marks})'
        values = zip(*(_sqlite_column([row[c] for row in rows]) for c in columns), strict=True)
        with _integrity(conn, statement):
            _cursor(conn).executemany(statement, values)
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    with _integrity(conn, statement), _cursor(conn).copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _sqlite_column(values: list[Any]) -> list[Any]:
    """A column's values as SQLite stores them (dates in SQLAlchemy's format); converted only if needed."""
    kinds = {type(v) for v in values}
    if dt.datetime in kinds:
        cache: dict[Any, Any] = {}
        for v in values:
            if v is not None and v not in cache:
                cache[v] = v.strftime("%Y-%m-%d %H:%M:%S.%f")
        return [cache[v] if v is not None else None for v in values]
    if dt.date in kinds:
        return [v.isoformat() if v is not None else None for v in values]
    return values


def _long_text(column: pl.Series) -> bool:
    """Strings long enough (256 bytes on average) that passing them as bytes pays off."""
    mean = column.str.len_bytes().mean()
    return isinstance(mean, int | float) and mean >= LONG_TEXT_BYTES


def update_current(conn: Connection, frame: pl.DataFrame) -> None:
    """Move changed records to their new current version. `frame` has id, version_no, content_hash,
    updated_at and the summary columns (agency_uscc, region, counterparty_code, act_date, status)."""
    if frame.height == 0:
        return
    columns = ["version_no", "content_hash", *SUMMARY, "updated_at"]
    frame = frame.select("id", *columns)
    if conn.dialect.name == "postgresql":
        cursor = _cursor(conn)
        names = ", ".join(f'"{c}"' for c in frame.columns)
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _record_updates ON COMMIT DROP AS"
            f" SELECT {names} FROM records WITH NO DATA"
        )
        cursor.execute("TRUNCATE _record_updates")
        _copy(conn, "_record_updates", frame)
        assignments = ", ".join(f'"{c}" = u."{c}"' for c in columns)
        statement = f"UPDATE records SET {assignments} FROM _record_updates u WHERE records.id = u.id"
        with _integrity(conn, statement):
            cursor.execute(statement)
        return
    values, marks = _sqlite_frame(frame.select(*columns, "id"))
    assignments = ", ".join(f'"{c}" = {mark}' for c, mark in zip(columns, marks, strict=False))
    statement = f"UPDATE records SET {assignments} WHERE id = ?"
    with _integrity(conn, statement):
        _cursor(conn).executemany(statement, values.iter_rows())


def append_changes(conn: Connection, *, entries: pl.DataFrame, committed_at: dt.datetime) -> int:
    """Number `entries` in their order and append them to the change log; returns the last sequence number.

    `entries` has dataset, record_id, version_id, kind, region, submission_id. The counter row is
    locked (FOR UPDATE; SQLite holds the database write lock already) until the transaction
    commits, so a transaction that commits later always gets larger numbers: a feed reading
    `seq > cursor` can never skip a change committed after it read.
    """
    counter = conn.execute(
        select(change_counter.c.last_seq).where(change_counter.c.id == 1).with_for_update()
    )
    last = int(counter.scalar_one())
    if entries.height == 0:
        return last
    numbered = entries.select(
        (pl.int_range(1, entries.height + 1, dtype=pl.Int64) + last).alias("seq"),
        "dataset",
        "record_id",
        "version_id",
        "kind",
        "region",
        "submission_id",
        pl.lit(committed_at, dtype=pl.Datetime("us", "UTC")).alias("committed_at"),
    )
    insert_frame(conn, changes, numbered)
    last += entries.height
    conn.execute(update(change_counter).where(change_counter.c.id == 1).values(last_seq=last))
    return last


__all__ = [
    "allocate_ids",
    "append_changes",
    "bulk_insert",
    "get_current",
    "insert_frame",
    "records",
    "update_current",
    "versions",
]
