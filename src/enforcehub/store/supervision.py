"""The supervision tables: facts, rollups and alerts. Callers own the transaction.

Facts and rollups are written only by supervise.facts (one write transaction per page of the change
log, together with the `supervision` consumer's cursor); alerts only by supervise.alerts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    any_,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from enforcehub.store.records import bulk_insert
from enforcehub.store.schema import (
    alerts,
    records,
    supervision_facts,
    supervision_rollups,
    versions,
)

_IN_CHUNK = 900  # ids per IN (…) on SQLite, under its parameter limit

ROLLUP_KEY = ("dataset", "month", "city", "agency_uscc")
ROLLUP_MEASURES = (
    "records",
    "effective",
    "reported_on_time",
    "reported_late",
    "fined",
    "fines_cents",
    "major_decisions",
)


def _dtype(column: Any) -> pl.DataType:
    """The polars type of a table column."""
    name = type(column.type).__name__
    if name in ("Date",):
        return pl.Date()
    if name in ("DateTime",):
        return pl.Datetime("us", "UTC")
    if name in ("Boolean",):
        return pl.Boolean()
    if name in ("Integer", "BigInteger", "TypeDecorator") or "Integer" in repr(column.type):
        return pl.Int64()
    return pl.Utf8()


FACT_SCHEMA: dict[str, pl.DataType] = {c.name: _dtype(c) for c in supervision_facts.columns}


def _ids_condition(column: Any, ids: Sequence[int], postgres: bool) -> ColumnElement[bool]:
    if postgres:  # one array parameter, not thousands
        wanted: ColumnElement[bool] = column == any_(literal(list(ids), ARRAY(BigInteger)))
        return wanted
    found: ColumnElement[bool] = column.in_(list(ids))
    return found


def _chunks(conn: Connection, ids: Sequence[int]) -> list[Sequence[int]]:
    if conn.dialect.name == "postgresql":
        return [ids] if ids else []
    return [ids[i : i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)]


def _frame(rows: list[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Driver rows as a typed frame: SQLite gives text dates and 0/1 booleans, psycopg Python objects."""
    names = list(schema)
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    series: list[pl.Series] = []
    for name, values in zip(names, columns, strict=True):
        dtype = schema[name]
        values = list(values)
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, str) and dtype == pl.Date():
            series.append(pl.Series(name, values, dtype=pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d"))
        elif isinstance(sample, str) and isinstance(dtype, pl.Datetime):
            text = pl.Series(name, values, dtype=pl.Utf8).str.replace(r"[+-]\d\d(:?\d\d)?$", "")
            parsed = text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
            series.append(parsed.dt.replace_time_zone("UTC"))
        elif (
            isinstance(dtype, pl.Datetime) and sample is not None and getattr(sample, "tzinfo", None) is None
        ):
            series.append(pl.Series(name, values, dtype=pl.Datetime("us")).dt.replace_time_zone("UTC"))
        elif dtype == pl.Boolean() and isinstance(sample, int) and not isinstance(sample, bool):
            series.append(pl.Series(name, values, dtype=pl.Int64).cast(pl.Boolean))
        else:
            series.append(pl.Series(name, values, dtype=dtype))
    return pl.DataFrame(series)


# --- facts ------------------------------------------------------------------------------------------


def read_facts(
    conn: Connection,
    *,
    columns: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    record_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Facts (all columns, or `columns`) of some datasets or records, as a typed frame."""
    names = list(columns or FACT_SCHEMA)
    schema = {n: FACT_SCHEMA[n] for n in names}
    base: Select[Any] = select(*(supervision_facts.c[n] for n in names))
    if datasets is not None:
        base = base.where(supervision_facts.c.dataset.in_(list(datasets)))
    if record_ids is None:
        return _frame(list(conn.execute(base).cursor.fetchall()), schema)
    rows: list[Any] = []
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, record_ids):
        query = base.where(_ids_condition(supervision_facts.c.record_id, chunk, postgres))
        rows.extend(conn.execute(query).cursor.fetchall())
    return _frame(rows, schema)


def replace_facts(conn: Connection, *, record_ids: Sequence[int], rows: list[dict[str, Any]]) -> None:
    """Delete the facts of `record_ids` and insert `rows` (one per record, all with the same keys)."""
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, record_ids):
        conn.execute(
            delete(supervision_facts).where(_ids_condition(supervision_facts.c.record_id, chunk, postgres))
        )
    bulk_insert(conn, supervision_facts, rows)


def first_receipts(conn: Connection, record_ids: Sequence[int]) -> dict[int, dt.datetime]:
    """When version 1 of each record reached this hub (versions.received_at)."""
    found: dict[int, dt.datetime] = {}
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, record_ids):
        query = select(versions.c.record_id, versions.c.received_at).where(
            versions.c.version_no == 1, _ids_condition(versions.c.record_id, chunk, postgres)
        )
        found.update((int(r), t) for r, t in conn.execute(query))
    return found


def count_facts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(supervision_facts)).scalar_one())


# --- rollups ----------------------------------------------------------------------------------------


def apply_rollup_deltas(conn: Connection, deltas: list[dict[str, Any]]) -> None:
    """Add each delta row (the key columns and signed measures) to its rollup row, creating it when
    missing; rows left with no records are removed."""
    if not deltas:
        return
    dialect = conn.dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = maker(supervision_rollups)
    statement = statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEY),
        set_={m: supervision_rollups.c[m] + statement.excluded[m] for m in ROLLUP_MEASURES},
    )
    conn.execute(statement, deltas)
    t = supervision_rollups.c
    for row in deltas:
        if row["records"] < 0:  # only a decrease can empty a row
            conn.execute(
                delete(supervision_rollups).where(and_(*(t[k] == row[k] for k in ROLLUP_KEY)), t.records == 0)
            )


def read_rollups(
    conn: Connection,
    *,
    datasets: Sequence[str] | None = None,
    city: str | None = None,
    agency_uscc: str | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> pl.DataFrame:
    """Rollup rows, filtered; small by design (dataset × month × city × agency)."""
    t = supervision_rollups.c
    conditions: list[ColumnElement[bool]] = []
    if datasets is not None:
        conditions.append(t.dataset.in_(list(datasets)))
    if city is not None:
        conditions.append(t.city == city)
    if agency_uscc is not None:
        conditions.append(t.agency_uscc == agency_uscc)
    if month_from is not None:
        conditions.append(t.month >= month_from)
    if month_to is not None:
        conditions.append(t.month <= month_to)
    names = [*ROLLUP_KEY, *ROLLUP_MEASURES]
    query = select(*(t[n] for n in names)).where(*conditions).order_by(*(t[k] for k in ROLLUP_KEY))
    schema: dict[str, pl.DataType] = {n: (pl.Utf8() if n in ROLLUP_KEY else pl.Int64()) for n in names}
    return _frame(list(conn.execute(query).cursor.fetchall()), schema)


def clear_supervision(conn: Connection) -> None:
    """Empty facts and rollups (a rebuild replays the change log into them)."""
    conn.execute(delete(supervision_rollups))
    conn.execute(delete(supervision_facts))


# --- reference data the rules look up -----------------------------------------------------------------


def current_data(conn: Connection, dataset: str) -> list[str]:
    """The current version's data (canonical JSON) of every record of a reference dataset."""
    query = (
        select(versions.c.data)
        .select_from(records)
        .join(
            versions,
            and_(versions.c.record_id == records.c.id, versions.c.version_no == records.c.version_no),
        )
        .where(records.c.dataset == dataset)
    )
    return [row[0] for row in conn.execute(query).cursor.fetchall()]


# --- alerts -----------------------------------------------------------------------------------------

ALERT_COLUMNS = tuple(c.name for c in alerts.columns)


@dataclass(frozen=True)
class AlertFilter:
    rule: str | None = None
    status: str | None = None  # open closed; None = both
    city: str | None = None
    agency_uscc: str | None = None
    dataset: str | None = None
    record_id: int | None = None


def alert_states(conn: Connection, rules: Sequence[str]) -> pl.DataFrame:
    """key, id, status, closed_by, fingerprint of the alerts of these rules."""
    t = alerts.c
    query = select(t.key, t.id, t.status, t.closed_by, t.fingerprint).where(t.rule.in_(list(rules)))
    schema: dict[str, pl.DataType] = {
        "key": pl.Utf8(),
        "id": pl.Int64(),
        "status": pl.Utf8(),
        "closed_by": pl.Utf8(),
        "fingerprint": pl.Utf8(),
    }
    return _frame(list(conn.execute(query).cursor.fetchall()), schema)


def insert_alerts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(alerts), rows)


def update_alerts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rows carry `b_id` and the new values (the same keys in every row)."""
    if not rows:
        return
    from sqlalchemy import bindparam

    names = [k for k in rows[0] if k != "b_id"]
    statement = (
        update(alerts).where(alerts.c.id == bindparam("b_id")).values({n: bindparam(f"v_{n}") for n in names})
    )
    conn.execute(statement, [{"b_id": r["b_id"], **{f"v_{n}": r[n] for n in names}} for r in rows])


def _alert(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    for name in ("record_ids", "record_keys", "detail"):
        found[name] = json.loads(found[name]) if found[name] else None
    return found


def list_alerts(
    conn: Connection, where: AlertFilter, *, limit: int = 100, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """The number of alerts matching `where` and one page of them (newest detection first)."""
    t = alerts.c
    conditions: list[ColumnElement[bool]] = []
    for name in ("rule", "status", "city", "agency_uscc", "dataset"):
        value = getattr(where, name)
        if value is not None:
            conditions.append(t[name] == value)
    if where.record_id is not None:
        # one-record alerts by their column; group alerts by their compact JSON list of ids
        wanted = str(int(where.record_id))
        conditions.append(
            (t.record_id == where.record_id)
            | t.record_ids.like(f"[{wanted},%")
            | t.record_ids.like(f"%,{wanted},%")
            | t.record_ids.like(f"%,{wanted}]")
        )
    total = int(conn.execute(select(func.count()).select_from(alerts).where(*conditions)).scalar_one())
    query = (
        select(alerts)
        .where(*conditions)
        .order_by(t.detected_at.desc(), t.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return total, [_alert(r) for r in conn.execute(query)]


def get_alert(conn: Connection, alert_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(alerts).where(alerts.c.id == alert_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _alert(row) if row is not None else None


def set_alert_state(conn: Connection, alert_id: int, **values: Any) -> None:
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def alert_counts(conn: Connection) -> list[dict[str, Any]]:
    """Open and closed alerts per rule, city and agency (what a dashboard's alert panel shows)."""
    t = alerts.c
    query = (
        select(t.rule, t.city, t.agency_uscc, t.status, func.count().label("alerts"))
        .group_by(t.rule, t.city, t.agency_uscc, t.status)
        .order_by(t.rule, t.city, t.agency_uscc, t.status)
    )
    return [dict(r._mapping) for r in conn.execute(query)]
