"""Submissions (报送), their receipts' counts and their findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from enforcehub.store.schema import api_keys, findings, records, submissions

COUNTS = (
    "received",
    "accepted",
    "rejected",
    "created",
    "updated",
    "unchanged",
    "revoked",
    "errors",
    "warnings",
)


def insert_submission(conn: Connection, **values: Any) -> None:
    conn.execute(insert(submissions).values(**values))


def update_submission(conn: Connection, *, submission_id: str, **values: Any) -> None:
    conn.execute(update(submissions).where(submissions.c.id == submission_id).values(**values))


def get_submission(conn: Connection, *, submission_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(submissions).where(submissions.c.id == submission_id)).mappings().first()
    return dict(row) if row else None


def get_done_submission_by_content(conn: Connection, *, sha256: str, dataset: str) -> dict[str, Any] | None:
    """The first completed submission of exactly these bytes for this dataset (not itself a duplicate)."""
    query = (
        select(submissions)
        .where(
            submissions.c.sha256 == sha256,
            submissions.c.dataset == dataset,
            submissions.c.status == "done",
            submissions.c.duplicate_of.is_(None),
        )
        .order_by(submissions.c.received_at)
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def fail_unfinished_submissions(conn: Connection, *, now: dt.datetime) -> int:
    """Mark submissions left `received`/`processing` by a crash as failed; they can be resubmitted."""
    result = conn.execute(
        update(submissions)
        .where(submissions.c.status.in_(("received", "processing")))
        .values(
            status="failed",
            failure="interrupted: the hub stopped while processing; resubmit",
            finished_at=now,
        )
    )
    return int(result.rowcount or 0)


def insert_findings(conn: Connection, *, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(findings), rows)


def list_findings(
    conn: Connection, *, submission_id: str, offset: int = 0, limit: int = 100
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page of findings ordered by row and field)."""
    total = conn.execute(
        select(func.count()).select_from(findings).where(findings.c.submission_id == submission_id)
    ).scalar_one()
    query = (
        select(
            findings.c.row,
            findings.c.field,
            findings.c.code,
            findings.c.severity,
            findings.c.message,
            findings.c.value,
        )
        .where(findings.c.submission_id == submission_id)
        .order_by(findings.c.row, findings.c.field, findings.c.id)
        .offset(offset)
        .limit(limit)
    )
    return int(total), [dict(r) for r in conn.execute(query).mappings()]


@dataclass(frozen=True)
class Visibility:
    """Which submissions a caller may see (docs/api.md, "Who sees which submission").

    - `region`: every submission whose region starts with `region_prefix` (None: every submission).
      A submission's region is its key's region, else — for an agency key — its agency's region in
      the agency registry, else this hub's region.
    - `agency`: those made with the caller's own key or any agency key of the same `agency_uscc`.
    - `peers`: those made with the caller's own key or any key of the same `role` and exactly the
      same `region` (None: keys without a region) — a platform's current and earlier keys.
    """

    rule: Literal["region", "agency", "peers"]
    key_id: int | None = None
    region_prefix: str | None = None
    agency_uscc: str | None = None
    role: str | None = None
    region: str | None = None


def _visible(visibility: Visibility, hub_region: str) -> tuple[Any, ColumnElement[bool]]:
    """(the FROM clause, the condition) that limit `submissions` to what `visibility` allows."""
    key = api_keys.alias("submitting_key")
    joined = submissions.outerjoin(key, submissions.c.principal_id == key.c.id)
    own = submissions.c.principal_id == visibility.key_id
    if visibility.rule == "agency":
        if not visibility.agency_uscc:
            return joined, own
        return joined, or_(own, and_(key.c.role == "agency", key.c.agency_uscc == visibility.agency_uscc))
    if visibility.rule == "peers":
        region = visibility.region
        same_region = key.c.region.is_(None) if region is None else key.c.region == region
        return joined, or_(own, and_(key.c.role == visibility.role, same_region))
    if visibility.region_prefix is None:
        return joined, true()
    registry = records.alias("agency_registry")
    joined = joined.outerjoin(
        registry, and_(registry.c.dataset == "agency", registry.c.business_key == key.c.agency_uscc)
    )
    submission_region = func.coalesce(key.c.region, registry.c.region, literal(hub_region))
    return joined, submission_region.startswith(visibility.region_prefix, autoescape=True)


def list_submissions(
    conn: Connection,
    *,
    visibility: Visibility,
    hub_region: str,
    submission_id: str | None = None,
    dataset: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before: tuple[dt.datetime, str] | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Submissions the caller may see, newest first (received_at, then id, both descending).

    `before` is the keyset cursor: the (received_at, id) of the last submission of the previous page.
    `since` is inclusive, `until` exclusive.
    """
    joined, condition = _visible(visibility, hub_region)
    conditions = [condition]
    if submission_id is not None:
        conditions.append(submissions.c.id == submission_id)
    if dataset:
        conditions.append(submissions.c.dataset == dataset)
    if status:
        conditions.append(submissions.c.status == status)
    if since is not None:
        conditions.append(submissions.c.received_at >= since)
    if until is not None:
        conditions.append(submissions.c.received_at < until)
    if before is not None:
        at, last_id = before
        conditions.append(
            or_(
                submissions.c.received_at < at,
                and_(submissions.c.received_at == at, submissions.c.id < last_id),
            )
        )
    query = (
        select(submissions)
        .select_from(joined)
        .where(and_(*conditions))
        .order_by(submissions.c.received_at.desc(), submissions.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]
