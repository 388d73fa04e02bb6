"""Records, versions and the change log. The only module that writes them; callers own the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from enforcehub.store.schema import change_counter, changes, records, versions

LOOKUP_BATCH = 2000


@dataclass(frozen=True)
class Current:
    record_id: int
    version_no: int
    content_hash: str


def get_current(conn: Connection, *, dataset: str, keys: Sequence[str]) -> dict[str, Current]:
    """The current version of each business key that exists already."""
    found: dict[str, Current] = {}
    for start in range(0, len(keys), LOOKUP_BATCH):
        batch = list(keys[start : start + LOOKUP_BATCH])
        query = select(
            records.c.business_key, records.c.id, records.c.version_no, records.c.content_hash
        ).where(records.c.dataset == dataset, records.c.business_key.in_(batch))
        for key, record_id, version_no, content_hash in conn.execute(query):
            found[key] = Current(record_id, version_no, content_hash)
    return found


def insert_records(conn: Connection, *, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new records; returns their ids in the order given."""
    if not rows:
        return []
    result = conn.execute(insert(records).returning(records.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def insert_versions(conn: Connection, *, rows: list[dict[str, Any]]) -> list[int]:
    """Insert versions; returns their ids in the order given."""
    if not rows:
        return []
    result = conn.execute(insert(versions).returning(versions.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def update_current(conn: Connection, *, rows: list[dict[str, Any]]) -> None:
    """Point records at their new current version (rows carry b_id and the new values)."""
    if not rows:
        return
    statement = (
        update(records)
        .where(records.c.id == bindparam("b_id"))
        .values(
            current_version_id=bindparam("b_version_id"),
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
    conn.execute(insert(changes), numbered)
    last += len(numbered)
    conn.execute(update(change_counter).where(change_counter.c.id == 1).values(last_seq=last))
    return last
