"""Reading the change log for sharing: pages of changes with their versions and lineage.

The change log's `seq` grows in commit order (see records.append_changes), so a reader that asks for
`seq > cursor` in order never skips a change committed after its last read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import aliased

from enforcehub.store.schema import change_counter, changes, records, versions

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


def read_changes(
    conn: Connection,
    *,
    after: int,
    limit: int,
    datasets: Sequence[str],
    region_prefix: str | None = None,
    until: int | None = None,
) -> pl.DataFrame:
    """Up to `limit` changes with seq > after (and <= until) in seq order, each with its version's
    data, the previous version's data (for visibility changes) and the version's lineage."""
    conditions = [changes.c.seq > after, *_scope(datasets, region_prefix)]
    if until is not None:
        conditions.append(changes.c.seq <= until)
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
            _previous.c.data.label("prev_data"),
            versions.c.submission_id,
            versions.c.principal,
            versions.c.channel,
            versions.c.source_system,
            versions.c.origin_hub,
            versions.c.origin_submission,
            versions.c.received_at,
        )
        .select_from(changes)
        .join(versions, versions.c.id == changes.c.version_id)
        .join(records, records.c.id == changes.c.record_id)
        .outerjoin(
            _previous,
            and_(
                _previous.c.record_id == versions.c.record_id,
                _previous.c.version_no == versions.c.version_no - 1,
            ),
        )
        .where(and_(*conditions))
        .order_by(changes.c.seq)
        .limit(limit)
    )
    rows = conn.execute(query).all()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in PAGE_SCHEMA]
    frame = pl.DataFrame(
        {name: list(values) for name, values in zip(PAGE_SCHEMA, columns, strict=True)},
        schema={
            name: (pl.Datetime("us") if dtype == pl.Datetime("us", "UTC") else dtype)
            for name, dtype in PAGE_SCHEMA.items()
        },
    )
    return frame.with_columns(
        pl.col("_committed_at").dt.replace_time_zone("UTC"),
        pl.col("_received_at").dt.replace_time_zone("UTC"),
    )


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
