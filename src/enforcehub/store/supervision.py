"""The supervision tables: facts, rollups and alerts. Callers own the transaction.

Facts and rollups are written only by supervise.facts (one write transaction per page of the change
log, together with the `supervision` consumer's cursor); alerts only by supervise.alerts.
"""

from __future__ import annotations

import datetime as dt
import io
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
    Date,
    Select,
    String,
    and_,
    any_,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from enforcehub.store.schema import (
    TIMELINESS_MEASURES,
    alerts,
    changes,
    records,
    supervision_agency_rollups,
    supervision_city_rollups,
    supervision_facts,
    supervision_rollups,
    supervision_timeliness,
    versions,
)

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
CITY_KEY = ("dataset", "month", "city")
AGENCY_KEY = ("month", "city", "agency_uscc")
ACTION_DATASETS = ("penalty", "license", "coercion", "inspection", "levy", "requisition")
DATASET_COUNTS = tuple(f"n_{d}" for d in ACTION_DATASETS)  # the agency rollups' records per dataset
CITY_MEASURES = (*ROLLUP_MEASURES, *TIMELINESS_MEASURES)
AGENCY_MEASURES = ("records", *DATASET_COUNTS, *ROLLUP_MEASURES[1:], *TIMELINESS_MEASURES)
ROLLUP_TABLES = {
    "supervision_rollups": (supervision_rollups, ROLLUP_KEY, ROLLUP_MEASURES),
    "supervision_city_rollups": (supervision_city_rollups, CITY_KEY, CITY_MEASURES),
    "supervision_agency_rollups": (supervision_agency_rollups, AGENCY_KEY, AGENCY_MEASURES),
}
TIMELINESS_COLUMNS = tuple(c.name for c in supervision_timeliness.columns)


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
    """`column` is one of `ids`, as ONE parameter: an array on PostgreSQL, a JSON list unpacked by
    json_each on SQLite (SQLAlchemy compiles thousands of IN parameters slower than the query runs)."""
    if postgres:
        wanted: ColumnElement[bool] = column == any_(literal(list(ids), ARRAY(BigInteger)))
        return wanted
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(literal(json.dumps(list(ids))))
    )
    found: ColumnElement[bool] = column.in_(listed)
    return found


def _chunks(conn: Connection, ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids] if ids else []


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


def _copy_frame(conn: Connection, query: Select[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """PostgreSQL: COPY (query) TO STDOUT as CSV, read by polars (no Python object per value)."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    buffer = io.BytesIO()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamps as UTC text (this transaction only)
    with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    text_schema = {name: pl.Utf8 for name in schema}
    raw = (
        pl.read_csv(buffer, schema=text_schema)
        if buffer.getbuffer().nbytes
        else pl.DataFrame(schema=text_schema)
    )
    columns: list[pl.Expr] = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if dtype == pl.Date():
            columns.append(column.str.to_date("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            text = column.str.replace(r"[+-]\d\d(:?\d\d)?$", "")
            columns.append(
                text.str.to_datetime(
                    "%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False
                ).dt.replace_time_zone("UTC")
            )
        elif dtype == pl.Boolean():
            columns.append(
                column.replace_strict({"t": True, "f": False}, default=None, return_dtype=pl.Boolean)
            )
        else:
            columns.append(column.cast(dtype))
    return raw.select(columns)


def read_facts(
    conn: Connection,
    *,
    columns: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    record_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Facts (all columns, or `columns`) of some datasets or records, as a typed frame. Whole datasets
    are read on PostgreSQL with COPY … TO STDOUT (ten million rows without a Python object each)."""
    names = list(columns or FACT_SCHEMA)
    schema = {n: FACT_SCHEMA[n] for n in names}
    base: Select[Any] = select(*(supervision_facts.c[n] for n in names))
    if datasets is not None:
        base = base.where(supervision_facts.c.dataset.in_(list(datasets)))
    if record_ids is None:
        if conn.dialect.name == "postgresql":
            return _copy_frame(conn, base, schema)
        return _frame(list(conn.execute(base).cursor.fetchall()), schema)
    rows: list[Any] = []
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, record_ids):
        query = base.where(_ids_condition(supervision_facts.c.record_id, chunk, postgres))
        rows.extend(conn.execute(query).cursor.fetchall())
    return _frame(rows, schema)


def replace_facts(conn: Connection, *, record_ids: Sequence[int], facts: pl.DataFrame) -> None:
    """Delete the facts of `record_ids` and insert the rows of `facts` (FACT_SCHEMA)."""
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, record_ids):
        conn.execute(
            delete(supervision_facts).where(_ids_condition(supervision_facts.c.record_id, chunk, postgres))
        )
    if facts.height:
        insert_facts(conn, facts)


def insert_facts(conn: Connection, facts: pl.DataFrame) -> None:
    """Insert fact rows: COPY from polars' CSV on PostgreSQL; on SQLite the driver's executemany with
    values already in SQLite's storage form (dates as text, booleans as 0/1), prepared by polars."""
    names = list(FACT_SCHEMA)
    frame = facts.select(names)
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        frame.with_columns(
            pl.col(pl.Datetime).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00")
        ).write_csv(buffer, include_header=False, quote_style="non_numeric", null_value="")
        quoted = ", ".join(f'"{n}"' for n in names)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY supervision_facts ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        return
    prepared = frame.with_columns(
        pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
        pl.col(pl.Datetime).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
        pl.col(pl.Boolean).cast(pl.Int64),
    )
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO supervision_facts ({', '.join(names)}) VALUES ({marks})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(statement, prepared.rows())


def read_action_changes(
    conn: Connection, *, after: int, until: int, limit: int, datasets: Sequence[str]
) -> tuple[pl.DataFrame, int, bool]:
    """Up to `limit` changes after `after` (≤ until) in seq order, keeping those of `datasets` with
    their version's data, business key and first receipt: (page, the last seq looked at, more).

    The changes are read by their primary key in order (a page of the log, whatever the datasets),
    then the versions of the wanted ones by id: no sort over a dataset index across the whole range."""
    found = conn.execute(
        select(changes.c.seq, changes.c.dataset, changes.c.record_id, changes.c.version_id, changes.c.region)
        .where(changes.c.seq > after, changes.c.seq <= until)
        .order_by(changes.c.seq)
        .limit(limit)
    ).cursor.fetchall()
    more = len(found) == limit
    last = int(found[-1][0]) if found else until
    kept = set(datasets)
    wanted = [row for row in found if row[1] in kept]
    by_version: dict[int, tuple[Any, ...]] = {}
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, [int(r[3]) for r in wanted]):
        query = (
            select(
                versions.c.id,
                versions.c.version_no,
                versions.c.data,
                versions.c.received_at,
                records.c.business_key,
            )
            .join(records, records.c.id == versions.c.record_id)
            .where(_ids_condition(versions.c.id, chunk, postgres))
        )
        by_version.update((int(r[0]), tuple(r[1:])) for r in conn.execute(query).cursor.fetchall())
    rows = [
        (seq, dataset, record, region, *by_version[int(version)])
        for seq, dataset, record, version, region in wanted
    ]
    schema: dict[str, pl.DataType] = {
        "_seq": pl.Int64(),
        "dataset": pl.Utf8(),
        "_record_id": pl.Int64(),
        "_region": pl.Utf8(),
        "_version": pl.Int64(),
        "data": pl.Utf8(),
        "_received_at": pl.Datetime("us", "UTC"),
        "_key": pl.Utf8(),
    }
    return _frame(rows, schema), last, more


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


def apply_rollup_deltas(conn: Connection, deltas: pl.DataFrame, table: str = "supervision_rollups") -> None:
    """Add each delta row (the key columns and signed measures) to its row of the rollup `table`
    (ROLLUP_TABLES), creating it when missing, in one statement per page; rows left with no records
    are removed."""
    if not deltas.height:
        return
    target, key, measures = ROLLUP_TABLES[table]
    names = [*key, *measures]
    frame = deltas.select(names)
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
    conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name == "postgresql":
        # COPY the deltas into a transaction-local table, then one INSERT … SELECT … ON CONFLICT
        scratch = f"{table}_deltas"
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {scratch} "
            f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, quote_style="non_numeric")
        with cursor.copy(f"COPY {scratch} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} FROM {scratch} {conflict}"
        )
        cursor.execute(f"DELETE FROM {scratch}")
    else:
        marks = ", ".join("?" for _ in names)
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) {conflict}", frame.rows()
        )
    if (frame["records"] < 0).any():  # only a decrease can empty a row
        conn.execute(delete(target).where(target.c.records <= 0))


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


def _scope(column: Any, prefix: str | None) -> list[ColumnElement[bool]]:
    return [] if prefix is None else [column.startswith(prefix, autoescape=True)]


def read_city_rollups(
    conn: Connection, *, month_from: str, month_to: str, city_prefix: str | None = None
) -> pl.DataFrame:
    """Rows of the dataset × month × city rollups of the months (at most 6 × 22 a month)."""
    t = supervision_city_rollups.c
    names = [*CITY_KEY, *CITY_MEASURES]
    query = select(*(t[n] for n in names)).where(
        t.month >= month_from, t.month <= month_to, *_scope(t.city, city_prefix)
    )
    schema: dict[str, pl.DataType] = {n: (pl.Utf8() if n in CITY_KEY else pl.Int64()) for n in names}
    return _frame(list(conn.execute(query).cursor.fetchall()), schema)


def read_agency_rollups(
    conn: Connection,
    *,
    month_from: str,
    month_to: str,
    city_prefix: str | None = None,
    measures: Sequence[str] = AGENCY_MEASURES,
) -> pl.DataFrame:
    """Rows of the month × city × agency rollups of the months (about one per agency and month)."""
    t = supervision_agency_rollups.c
    names = [*AGENCY_KEY, *measures]
    query = select(*(t[n] for n in names)).where(
        t.month >= month_from, t.month <= month_to, *_scope(t.city, city_prefix)
    )
    schema: dict[str, pl.DataType] = {n: (pl.Utf8() if n in AGENCY_KEY else pl.Int64()) for n in names}
    return _frame(list(conn.execute(query).cursor.fetchall()), schema)


def agency_totals(
    conn: Connection,
    *,
    month_from: str,
    month_to: str,
    measures: Sequence[str],
    city_prefix: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Per agency: the sums of `measures` over the months (grouped in SQL) and its city (the smallest
    code when its records lie in several); optionally the `limit` agencies with most `order_by`."""
    t = supervision_agency_rollups.c
    sums = [func.sum(t[m]).label(m) for m in measures]
    query = (
        select(t.agency_uscc, func.min(t.city).label("city"), *sums)
        .where(t.month >= month_from, t.month <= month_to, *_scope(t.city, city_prefix))
        .group_by(t.agency_uscc)
    )
    if order_by is not None:
        query = query.order_by(func.sum(t[order_by]).desc(), t.agency_uscc)
    if limit is not None:
        query = query.limit(limit)
    schema: dict[str, pl.DataType] = {"agency_uscc": pl.Utf8(), "city": pl.Utf8()}
    schema.update({m: pl.Int64() for m in measures})
    rows = [(a, c, *(int(v or 0) for v in rest)) for a, c, *rest in conn.execute(query).all()]
    return _frame(rows, schema)


TIMELINESS_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.Int64(),
    "kind": pl.Utf8(),
    "dataset": pl.Utf8(),
    "act_month": pl.Utf8(),
    "city": pl.Utf8(),
    "region": pl.Utf8(),
    "agency_uscc": pl.Utf8(),
    "rank": pl.Int64(),
    "due": pl.Date(),
}


def replace_timeliness(conn: Connection, *, record_ids: Sequence[int], items: pl.DataFrame) -> None:
    """Delete the timeliness rows of `record_ids` and insert `items` (TIMELINESS_SCHEMA)."""
    postgres = conn.dialect.name == "postgresql"
    for chunk in _chunks(conn, record_ids):
        conn.execute(
            delete(supervision_timeliness).where(
                _ids_condition(supervision_timeliness.c.record_id, chunk, postgres)
            )
        )
    if items.height:
        insert_timeliness(conn, items)


def insert_timeliness(conn: Connection, items: pl.DataFrame) -> None:
    """Insert timeliness rows: COPY on PostgreSQL, executemany on SQLite (dates as text)."""
    names = list(TIMELINESS_SCHEMA)
    frame = items.select(names)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, quote_style="non_numeric", null_value="")
        quoted = ", ".join(f'"{n}"' for n in names)
        with cursor.copy(f"COPY supervision_timeliness ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        return
    prepared = frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))
    marks = ", ".join("?" for _ in names)
    cursor.executemany(
        f"INSERT INTO supervision_timeliness ({', '.join(names)}) VALUES ({marks})", prepared.rows()
    )


def timeliness_ids(
    conn: Connection,
    kind: str,
    *,
    month_from: str,
    month_to: str,
    region_prefix: str | None,
    limit: int | None = None,
    due_before: dt.date | None = None,
    rank_until: int | None = None,
) -> list[tuple[int, int]]:
    """(record_id, rank) of the timeliness rows of `kind` in the months and region, in list order
    (rank, then record_id): the (kind, rank, record_id, act_month, region, due) index read in order
    until `limit` rows match — from the index alone, no sort. `due_before`: only open cases due before
    that day; `rank_until`: only rows ranked up to that."""
    t = supervision_timeliness.c
    month: ColumnElement[Any] = t.act_month
    due: ColumnElement[Any] = t.due
    if conn.dialect.name == "sqlite":  # `+column`: SQLite's way to keep a term off the indexes
        month = literal_column("+supervision_timeliness.act_month", String())
        due = literal_column("+supervision_timeliness.due", Date())
    conditions = [t.kind == kind, month >= month_from, month <= month_to]
    conditions += _scope(t.region, region_prefix)
    if due_before is not None:
        conditions.append(due < due_before)
    if rank_until is not None:
        conditions.append(t.rank <= rank_until)
    query = select(t.record_id, t.rank).where(*conditions).order_by(t.rank, t.record_id)
    if limit is not None:
        query = query.limit(limit)
    return [(int(r), int(k)) for r, k in conn.execute(query).all()]


def open_not_due(
    conn: Connection, *, month_from: str, month_to: str, region_prefix: str | None, as_of: dt.date
) -> pl.DataFrame:
    """Open cases (kinds unpublished, held) not yet late on `as_of` (due on or after it, or no due
    day): kind, city, agency_uscc, n. Two queries, each a range of the (kind, due) index."""
    t = supervision_timeliness.c
    schema: dict[str, pl.DataType] = {
        "kind": pl.Utf8(),
        "city": pl.Utf8(),
        "agency_uscc": pl.Utf8(),
        "n": pl.Int64(),
    }
    rows: list[Any] = []
    for pending in (t.due >= as_of, t.due.is_(None)):
        query = (
            select(t.kind, t.city, t.agency_uscc, func.count().label("n"))
            .where(
                t.kind.in_(["unpublished", "held"]),
                pending,
                t.act_month >= month_from,
                t.act_month <= month_to,
                *_scope(t.region, region_prefix),
            )
            .group_by(t.kind, t.city, t.agency_uscc)
        )
        rows.extend(conn.execute(query).cursor.fetchall())
    found = _frame(rows, schema)
    return found.group_by("kind", "city", "agency_uscc").agg(pl.col("n").sum()) if found.height else found


def agency_names(conn: Connection, agencies: Sequence[str]) -> dict[str, str]:
    """A name the facts of each agency carry (one indexed lookup per agency, in one statement)."""
    wanted = [a for a in agencies if a]
    if not wanted:
        return {}
    t = supervision_facts.c
    lookups = [
        select(t.agency_name)
        .where(t.agency_uscc == agency, t.agency_name.is_not(None))
        .limit(1)
        .scalar_subquery()
        .label(f"a{n}")
        for n, agency in enumerate(wanted)
    ]
    row = conn.execute(select(*lookups)).one()
    return {agency: str(name) for agency, name in zip(wanted, row, strict=True) if name is not None}


def read_timeliness(conn: Connection) -> pl.DataFrame:
    """Every timeliness row (tests, checks)."""
    names = list(TIMELINESS_SCHEMA)
    query = select(*(supervision_timeliness.c[n] for n in names))
    return _frame(list(conn.execute(query).cursor.fetchall()), TIMELINESS_SCHEMA)


def read_rollup_table(conn: Connection, table: str) -> pl.DataFrame:
    """Every row of a rollup table (ROLLUP_TABLES), sorted by its key (tests, checks)."""
    target, key, measures = ROLLUP_TABLES[table]
    names = [*key, *measures]
    query = select(*(target.c[n] for n in names)).order_by(*(target.c[k] for k in key))
    schema: dict[str, pl.DataType] = {n: (pl.Utf8() if n in key else pl.Int64()) for n in names}
    return _frame(list(conn.execute(query).cursor.fetchall()), schema)


def clear_supervision(conn: Connection) -> None:
    """Empty facts and everything derived from them (a rebuild replays the change log into them)."""
    clear_dashboard_tables(conn)
    conn.execute(delete(supervision_rollups))
    conn.execute(delete(supervision_facts))


def clear_dashboard_tables(conn: Connection) -> None:
    """Empty the city and agency rollups and the timeliness rows (supervise.derived)."""
    conn.execute(delete(supervision_city_rollups))
    conn.execute(delete(supervision_agency_rollups))
    conn.execute(delete(supervision_timeliness))


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
    region_prefix: str | None = None  # a supervisor's scope: 4401 (Guangzhou), 440106 (a district)


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
    if where.region_prefix:
        conditions.append(t.region.startswith(where.region_prefix, autoescape=True))
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
