"""The 行政执法公示 portal's table: replacing entries page by page, and the public search.

Entries are written only by share.portal_index (from the change log, masked by the publicity profile);
the portal only reads them, and only those whose publicity period contains the day asked about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    and_,
    any_,
    delete,
    func,
    literal,
    or_,
    select,
)

from enforcehub.store.records import bulk_insert
from enforcehub.store.schema import publicity_entries

_IN_CHUNK = 1000  # ids per DELETE … IN (…) on SQLite, well under its parameter limit

SUMMARY_COLUMNS = (
    "record_id",
    "dataset",
    "decision_number",
    "counterparty_name",
    "agency_name",
    "agency_uscc",
    "region",
    "city",
    "decision_date",
    "public_from",
    "public_until",
)


def replace_entries(conn: Connection, *, remove: Sequence[int], rows: Sequence[dict[str, Any]]) -> None:
    """Delete the entries of `remove` and of every row's record, then insert `rows` (one per record,
    all with the same keys). Idempotent: applying the same page twice leaves the same table."""
    ids = sorted({*remove, *(int(r["record_id"]) for r in rows)})
    if conn.dialect.name == "postgresql":  # one array parameter, not thousands
        wanted = publicity_entries.c.record_id == any_(literal(ids, ARRAY(BigInteger)))
        conn.execute(delete(publicity_entries).where(wanted))
    else:
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            conn.execute(delete(publicity_entries).where(publicity_entries.c.record_id.in_(chunk)))
    bulk_insert(conn, publicity_entries, list(rows))


@dataclass(frozen=True)
class EntryFilter:
    """What the public may search by. Text is matched literally (LIKE wildcards are escaped)."""

    keyword: str | None = None  # counterparty name (substring), USCC or 决定书文号 (exact)
    dataset: str | None = None
    city: str | None = None  # a city's code (440100), or 440000 for provincial departments
    agency: str | None = None  # the agency's USCC (exact) or part of its name
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _is_uscc(text: str) -> bool:
    return len(text) == 18 and text.isascii() and text.isalnum()


def _conditions(today: dt.date, where: EntryFilter) -> list[ColumnElement[bool]]:
    t = publicity_entries.c
    conditions: list[ColumnElement[bool]] = [t.public_from <= today, t.public_until >= today]
    if where.keyword:
        keyword = where.keyword
        matches = [t.counterparty_name.contains(keyword, autoescape=True), t.decision_number == keyword]
        if _is_uscc(keyword):
            matches.append(t.counterparty_code == keyword.upper())
        conditions.append(or_(*matches))
    if where.dataset:
        conditions.append(t.dataset == where.dataset)
    if where.city:
        conditions.append(t.city == where.city)
    if where.agency:
        if _is_uscc(where.agency):
            conditions.append(t.agency_uscc == where.agency.upper())
        else:
            conditions.append(t.agency_name.contains(where.agency, autoescape=True))
    if where.date_from:
        conditions.append(t.decision_date >= where.date_from)
    if where.date_to:
        conditions.append(t.decision_date <= where.date_to)
    return conditions


def search_entries(
    conn: Connection, *, today: dt.date, where: EntryFilter, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """The number of public entries matching `where` on `today`, and one page of them (newest
    decisions first), without their documents."""
    conditions = and_(*_conditions(today, where))
    total = int(
        conn.execute(select(func.count()).select_from(publicity_entries).where(conditions)).scalar_one()
    )
    if total <= offset:
        return total, []
    query = (
        select(*(publicity_entries.c[name] for name in SUMMARY_COLUMNS))
        .where(conditions)
        .order_by(
            publicity_entries.c.decision_date.desc(),
            publicity_entries.c.record_id.desc(),
        )
        .offset(offset)
        .limit(limit)
    )
    return total, [dict(row._mapping) for row in conn.execute(query)]


def get_entry(conn: Connection, *, dataset: str, record_id: int, today: dt.date) -> dict[str, Any] | None:
    """One public entry with its document, or None when absent or outside its publicity period."""
    t = publicity_entries.c
    query = select(publicity_entries).where(
        t.record_id == record_id, t.dataset == dataset, *_conditions(today, EntryFilter())
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row is not None else None
