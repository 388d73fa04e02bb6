"""The hash-chained audit log: every submission and every read of personal data.

Each entry's hash covers its content and the previous entry's hash, so changing or deleting any
entry breaks every hash after it; `verify_chain` finds the first broken link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Connection, insert, select, text

from enforcehub.store.schema import audit_log

GENESIS = "0" * 64
_AUDIT_LOCK = 7_402_001  # PostgreSQL advisory lock id: appends are serialised so the chain never forks


def _entry_hash(prev_hash: str, at: str, principal: str, action: str, target: str, detail: str | None) -> str:
    body = json.dumps([prev_hash, at, principal, action, target, detail or ""], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def append_audit(
    conn: Connection, *, principal: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> str:
    """Append one entry in the caller's transaction; returns its hash."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _AUDIT_LOCK})
    last = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)).scalar()
    prev_hash = last or GENESIS
    at = dt.datetime.now(dt.UTC)
    detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
    digest = _entry_hash(prev_hash, _stamp(at), principal, action, target, detail_text)
    conn.execute(
        insert(audit_log).values(
            at=at,
            principal=principal,
            action=action,
            target=target[:400],
            detail=detail_text,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return digest


def verify_chain(conn: Connection) -> tuple[bool, int, int | None]:
    """(intact, entries checked, id of the first broken entry or None)."""
    prev_hash = GENESIS
    count = 0
    for row in conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings():
        at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=dt.UTC)
        expected = _entry_hash(
            prev_hash, _stamp(at), row["principal"], row["action"], row["target"], row["detail"]
        )
        if row["prev_hash"] != prev_hash or row["hash"] != expected:
            return False, count, int(row["id"])
        prev_hash = row["hash"]
        count += 1
    return True, count, None
