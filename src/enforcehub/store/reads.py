"""Reading the thematic database: records with filters and keyset pagination, versions, time travel,
and everything about one counterparty (一户一档)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, and_, select

from enforcehub.store.schema import records, versions

_CURRENT = and_(versions.c.record_id == records.c.id, versions.c.version_no == records.c.version_no)
LINEAGE = (
    "submission_id",
    "principal",
    "channel",
    "source_system",
    "origin_hub",
    "origin_submission",
    "received_at",
    "row",
    "origin_principal",  # a relayed version: who reported it at the city, when, its version there
    "origin_received_at",
    "origin_version",
)


def _version_view(row: dict[str, Any]) -> dict[str, Any]:
    lineage = {k: (row[k].isoformat() if isinstance(row[k], dt.datetime) else row[k]) for k in LINEAGE}
    return {
        "version": row["version_no"],
        "content_hash": row["content_hash"],
        "status": row["status"],
        "data": json.loads(row["data"]),
        "lineage": lineage,
    }


def list_records(
    conn: Connection,
    *,
    dataset: str,
    after_id: int = 0,
    limit: int = 100,
    region_prefix: str | None = None,
    agency_uscc: str | None = None,
    counterparty_code: str | None = None,
    status: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[dict[str, Any]]:
    """One page of current records, ordered by id (the cursor is the last id returned)."""
    conditions = [records.c.dataset == dataset, records.c.id > after_id]
    if region_prefix:
        conditions.append(records.c.region.startswith(region_prefix))
    if agency_uscc:
        conditions.append(records.c.agency_uscc == agency_uscc)
    if counterparty_code:
        conditions.append(records.c.counterparty_code == counterparty_code)
    if status:
        conditions.append(records.c.status == status)
    if date_from:
        conditions.append(records.c.act_date >= date_from)
    if date_to:
        conditions.append(records.c.act_date <= date_to)
    query = (
        select(
            records.c.id,
            records.c.business_key,
            records.c.version_no,
            records.c.region,
            versions.c.data,
            versions.c.status,
            versions.c.received_at,
        )
        .join(versions, _CURRENT)
        .where(and_(*conditions))
        .order_by(records.c.id)
        .limit(limit)
    )
    return [
        {
            "id": r["id"],
            "key": r["business_key"],
            "version": r["version_no"],
            "region": r["region"],
            "status": r["status"],
            "data": json.loads(r["data"]),
        }
        for r in conn.execute(query).mappings()
    ]


def get_record(conn: Connection, *, dataset: str, record_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(select(records).where(records.c.dataset == dataset, records.c.id == record_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def list_versions(
    conn: Connection, *, record_id: int, as_of: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Every version of a record, oldest first; with `as_of`, only those received by then."""
    query = select(versions).where(versions.c.record_id == record_id).order_by(versions.c.version_no)
    if as_of is not None:
        query = query.where(versions.c.received_at <= as_of)
    return [_version_view(dict(r)) for r in conn.execute(query).mappings()]


def list_entity_records(
    conn: Connection, *, code: str, region_prefix: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every current record whose counterparty is `code` (USCC or ID number), across datasets."""
    conditions = [records.c.counterparty_code == code]
    if region_prefix:
        conditions.append(records.c.region.startswith(region_prefix))
    query = (
        select(
            records.c.id,
            records.c.dataset,
            records.c.business_key,
            records.c.act_date,
            versions.c.data,
            versions.c.status,
        )
        .join(versions, _CURRENT)
        .where(and_(*conditions))
        .order_by(records.c.act_date.desc(), records.c.id)
        .limit(limit)
    )
    return [
        {
            "id": r["id"],
            "dataset": r["dataset"],
            "key": r["business_key"],
            "date": r["act_date"].isoformat() if r["act_date"] else None,
            "status": r["status"],
            "data": json.loads(r["data"]),
        }
        for r in conn.execute(query).mappings()
    ]
