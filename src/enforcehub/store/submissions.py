"""Submissions (报送), their receipts' counts and their findings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from enforcehub.store.schema import findings, submissions

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
