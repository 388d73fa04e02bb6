"""Records, versions and the change log. The only module that writes them; callers own the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import (
    ARRAY,
    Connection,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from enforcehub.store.schema import change_counter, changes, records, versions

LOOKUP_BATCH = 2000


def get_current(conn: Connection, *, dataset: str, keys: Sequence[str]) -> pl.DataFrame:
    """business_key, record_id, version_no, content_hash of the keys that exist already."""
    found: list[tuple[str, int, int, str]] = []
    postgres = conn.dialect.name == "postgresql"
    batch_size = 20_000 if postgres else LOOKUP_BATCH
    for start in range(0, len(keys), batch_size):
        batch = list(keys[start : start + batch_size])
        # PostgreSQL: one array parameter (= ANY) instead of thousands of parameters to parse and plan.
        wanted = (
            records.c.business_key == any_(literal(batch, ARRAY(String)))
            if postgres
            else (records.c.business_key.in_(batch))
        )
        query = select(
            records.c.business_key, records.c.id, records.c.version_no, records.c.content_hash
        ).where(records.c.dataset == dataset, wanted)
        found.extend(tuple(row) for row in conn.execute(query))
    return pl.DataFrame(
        found,
        schema={
            "business_key": pl.Utf8,
            "record_id": pl.Int64,
            "version_no": pl.Int64,
            "content_hash": pl.Utf8,
        },
        orient="row",
    )


def allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids for `table`: PostgreSQL draws them from the column's sequence; on SQLite the
    caller holds the single write lock, so the next ids after the current maximum are free."""
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        query = text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"
        )
        return [int(v) for (v,) in conn.execute(query, {"n": count})]
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    return list(range(start, start + count))


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL, executemany on SQLite (both far faster than RETURNING)."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "sqlite":
        # The driver's executemany with plain values: SQLAlchemy's per-row parameter processing
        # cost more than the inserts themselves. Dates use SQLAlchemy's SQLite storage format.
        marks = ", ".join("?" for _ in columns)
        statement = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({marks})'
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            statement, zip(*(_sqlite_column([row[c] for row in rows]) for c in columns), strict=True)
        )
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _sqlite_column(values: list[Any]) -> list[Any]:
    """A column's values as SQLite stores them (dates in SQLAlchemy's format); converted only if needed."""
    kinds = {type(v) for v in values}
    if dt.datetime in kinds:
        cache: dict[Any, Any] = {}
        return [
            cache.setdefault(v, v.strftime("%Y-%m-%d %H:%M:%S.%f")) if v is not None else None for v in values
        ]
    if dt.date in kinds:
        return [v.isoformat() if v is not None else None for v in values]
    return values


def insert_records(conn: Connection, *, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new records; returns their ids in the order given."""
    ids = allocate_ids(conn, records, len(rows))
    bulk_insert(conn, records, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def insert_versions(conn: Connection, *, rows: list[dict[str, Any]]) -> list[int]:
    """Insert versions; returns their ids in the order given."""
    ids = allocate_ids(conn, versions, len(rows))
    bulk_insert(conn, versions, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def update_current(conn: Connection, *, rows: list[dict[str, Any]]) -> None:
    """Move changed records to their new current version (rows carry b_id and the new values)."""
    if not rows:
        return
    statement = (
        update(records)
        .where(records.c.id == bindparam("b_id"))
        .values(
            version_no=bindparam("b_version_no"),
            content_hash=bindparam("b_content_hash"),
            status=bindparam("b_status"),
            agency_uscc=bindparam("b_agency_uscc"),
            region=bindparam("b_region"),
            counterparty_code=bindparam("b_counterparty_code"),
            act_date=bindparam("b_act_date"),
            updated_at=bindparam("b_updated_at"),
        )
    )
    conn.execute(statement, rows)


def append_changes(conn: Connection, *, entries: list[dict[str, Any]], committed_at: dt.datetime) -> int:
    """Number `entries` and append them to the change log; returns the last sequence number.

    The counter row is locked (FOR UPDATE; SQLite holds the database write lock already) until the
    transaction commits, so a transaction that commits later always gets larger numbers: a feed
    reading `seq > cursor` can never skip a change committed after it read.
    """
    counter = conn.execute(
        select(change_counter.c.last_seq).where(change_counter.c.id == 1).with_for_update()
    )
    last = int(counter.scalar_one())
    if not entries:
        return last
    numbered = [
        {**entry, "seq": last + i + 1, "committed_at": committed_at} for i, entry in enumerate(entries)
    ]
    bulk_insert(conn, changes, numbered)
    last += len(numbered)
    conn.execute(update(change_counter).where(change_counter.c.id == 1).values(last_seq=last))
    return last
