"""Reading the change log for sharing: pages of changes with their versions and lineage.

The change log's `seq` grows in commit order (see records.append_changes), so a reader that asks for
`seq > cursor` in order never skips a change committed after its last read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, String, and_, delete, false, func, literal, select, union_all, update
from sqlalchemy.orm import aliased

from enforcehub.store.schema import change_counter, changes, consumers, feed_events, records, versions

PAGE_SCHEMA: dict[str, Any] = {
    "_seq": pl.Int64,
    "dataset": pl.Utf8,
    "_record_id": pl.Int64,
    "_change": pl.Utf8,
    "_region": pl.Utf8,
    "_committed_at": pl.Datetime("us", "UTC"),
    "_key": pl.Utf8,
    "_version": pl.Int64,
    "data": pl.Utf8,
    "prev_data": pl.Utf8,
    "_submission": pl.Utf8,
    "_principal": pl.Utf8,
    "_channel": pl.Utf8,
    "_source_system": pl.Utf8,
    "_origin_hub": pl.Utf8,
    "_origin_submission": pl.Utf8,
    "_received_at": pl.Datetime("us", "UTC"),
}

_previous = aliased(versions)


def last_seq(conn: Connection) -> int:
    """The sequence number of the last committed change (0 when there is none)."""
    value = conn.execute(select(change_counter.c.last_seq).where(change_counter.c.id == 1)).scalar()
    return int(value or 0)


def _scope(datasets: Sequence[str], region_prefix: str | None) -> list[Any]:
    conditions: list[Any] = [changes.c.dataset.in_(list(datasets))]
    if region_prefix:
        conditions.append(changes.c.region.startswith(region_prefix))
    return conditions


def _page_seqs(
    after: int, limit: int, datasets: Sequence[str], region_prefix: str | None, until: int | None
) -> Any:
    """The sequence numbers of the page: the first `limit` after `after` of each dataset, united.

    One `dataset IN (…) AND seq > … ORDER BY seq LIMIT n` makes SQLite search the (dataset, seq)
    index once per dataset and sort everything after `after` before it can stop, so reading a whole
    feed grew with the square of the log; each dataset's own LIMIT stops at `limit` rows.
    """
    parts = []
    for dataset in datasets:
        wanted = [changes.c.dataset == dataset, changes.c.seq > after]
        if region_prefix:
            wanted.append(changes.c.region.startswith(region_prefix))
        if until is not None:
            wanted.append(changes.c.seq <= until)
        first = select(changes.c.seq).where(*wanted).order_by(changes.c.seq).limit(limit).subquery()
        parts.append(select(first.c.seq))
    if not parts:
        return select(changes.c.seq).where(false()).scalar_subquery()
    return union_all(*parts).scalar_subquery() if len(parts) > 1 else parts[0].scalar_subquery()


def read_changes(
    conn: Connection,
    *,
    after: int,
    limit: int,
    datasets: Sequence[str],
    region_prefix: str | None = None,
    until: int | None = None,
    previous: bool = True,
    lineage: bool = True,
) -> pl.DataFrame:
    """Up to `limit` changes with seq > after (and <= until) in seq order, each with its version's
    data, the previous version's data (`previous`: for visibility changes) and the version's lineage
    (`lineage`); columns left out are null. Rows are fetched from the driver's cursor directly:
    building SQLAlchemy rows cost more than the query."""
    conditions = [changes.c.seq.in_(_page_seqs(after, limit, datasets, region_prefix, until))]
    nothing = literal(None, String)
    lineage_columns = (
        [
            versions.c.submission_id,
            versions.c.principal,
            versions.c.channel,
            versions.c.source_system,
            versions.c.origin_hub,
            versions.c.origin_submission,
            versions.c.received_at,
        ]
        if lineage
        else [nothing] * 7
    )
    query = (
        select(
            changes.c.seq,
            changes.c.dataset,
            changes.c.record_id,
            changes.c.kind,
            changes.c.region,
            changes.c.committed_at,
            records.c.business_key,
            versions.c.version_no,
            versions.c.data,
            _previous.c.data if previous else nothing,
            *lineage_columns,
        )
        .select_from(changes)
        .join(versions, versions.c.id == changes.c.version_id)
        .join(records, records.c.id == changes.c.record_id)
        .where(and_(*conditions))
        .order_by(changes.c.seq)
        .limit(limit)
    )
    if previous:
        query = query.outerjoin(
            _previous,
            and_(
                _previous.c.record_id == versions.c.record_id,
                _previous.c.version_no == versions.c.version_no - 1,
            ),
        )
    rows = conn.execute(query).cursor.fetchall()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in PAGE_SCHEMA]
    data = {name: list(values) for name, values in zip(PAGE_SCHEMA, columns, strict=True)}
    times = ("_committed_at", "_received_at")
    frame = pl.DataFrame(
        {name: values for name, values in data.items() if name not in times},
        schema={name: dtype for name, dtype in PAGE_SCHEMA.items() if name not in times},
    )
    return frame.with_columns(_utc(data[name]).alias(name) for name in times).select(list(PAGE_SCHEMA))


def _utc(values: list[Any]) -> pl.Series:
    """Timestamps as UTC: SQLite's driver gives SQLAlchemy's text form, psycopg aware datetimes."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, str):
        text = pl.Series(values, dtype=pl.Utf8)
        return text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us").dt.replace_time_zone("UTC")
    if sample is not None and getattr(sample, "tzinfo", None) is not None:
        return pl.Series(values, dtype=pl.Datetime("us", "UTC"))
    return pl.Series(values, dtype=pl.Datetime("us")).dt.replace_time_zone("UTC")


def count_changes(
    conn: Connection, *, after: int, datasets: Sequence[str], region_prefix: str | None = None
) -> int:
    """How many changes a consumer of `datasets` in `region_prefix` has not read past `after`."""
    query = (
        select(func.count())
        .select_from(changes)
        .where(changes.c.seq > after, *_scope(datasets, region_prefix))
    )
    return int(conn.execute(query).scalar_one())


def current_data(conn: Connection, *, dataset: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The current version's data of the records with these business keys (e.g. agencies by USCC)."""
    if not keys:
        return {}
    query = (
        select(records.c.business_key, versions.c.data)
        .join(
            versions,
            and_(versions.c.record_id == records.c.id, versions.c.version_no == records.c.version_no),
        )
        .where(records.c.dataset == dataset, records.c.business_key.in_(list(keys)))
    )
    return {key: json.loads(data) for key, data in conn.execute(query)}


def read_cached_events(
    conn: Connection, *, consumer: str, after: int, until: int, limit: int
) -> list[tuple[int, str]]:
    """(seq, event JSON) of a consumer's projected events with after < seq <= until, in order."""
    query = (
        select(feed_events.c.seq, feed_events.c.body)
        .where(feed_events.c.consumer == consumer, feed_events.c.seq > after, feed_events.c.seq <= until)
        .order_by(feed_events.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query).cursor.fetchall())


def store_events(conn: Connection, *, consumer: str, events: list[tuple[int, str]], projected: int) -> None:
    """Keep projected events and move the consumer's projected position (caller holds its row lock)."""
    if events:
        from enforcehub.store.records import bulk_insert

        bulk_insert(conn, feed_events, [{"consumer": consumer, "seq": s, "body": b} for s, b in events])
    conn.execute(update(consumers).where(consumers.c.name == consumer).values(projected_seq=projected))


def forget_events(conn: Connection, *, consumer: str) -> None:
    """Drop a consumer's projected events (they can always be projected again)."""
    conn.execute(delete(feed_events).where(feed_events.c.consumer == consumer))
    conn.execute(update(consumers).where(consumers.c.name == consumer).values(projected_seq=0))


def projected_seq(conn: Connection, consumer: str, *, for_update: bool = False) -> int:
    """How far a consumer's events are projected ahead (feed_events hold every event up to it)."""
    query = select(consumers.c.projected_seq).where(consumers.c.name == consumer)
    if for_update:
        query = query.with_for_update()
    return int(conn.execute(query).scalar() or 0)
