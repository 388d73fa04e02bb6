"""The hash-chained audit log: every submission and every read of personal data.

Each entry's hash covers its content and the previous entry's hash, so changing or deleting any
entry breaks every hash after it; `verify_chain` finds the first broken link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, insert, select, text

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


@dataclass(frozen=True)
class ChainCheck:
    """The result of walking the chain: intact, or the first entry that breaks it and why."""

    intact: bool
    checked: int  # entries found good before the first broken one (all of them when intact)
    broken_id: int | None = None
    reason: str | None = None  # "prev-hash" (does not point at the entry before) or "hash" (content changed)


def check_chain(conn: Connection) -> ChainCheck:
    """Walk the whole log in id order (streamed) and recompute every hash."""
    prev_hash = GENESIS
    count = 0
    query = select(audit_log).order_by(audit_log.c.id).execution_options(yield_per=2000)
    for row in conn.execute(query).mappings():
        at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=dt.UTC)
        expected = _entry_hash(
            prev_hash, _stamp(at), row["principal"], row["action"], row["target"], row["detail"]
        )
        if row["prev_hash"] != prev_hash:
            return ChainCheck(False, count, int(row["id"]), "prev-hash")
        if row["hash"] != expected:
            return ChainCheck(False, count, int(row["id"]), "hash")
        prev_hash = row["hash"]
        count += 1
    return ChainCheck(True, count)


def verify_chain(conn: Connection) -> tuple[bool, int, int | None]:
    """(intact, entries checked, id of the first broken entry or None)."""
    result = check_chain(conn)
    return result.intact, result.checked, result.broken_id


def entry_view(row: Any) -> dict[str, Any]:
    """An entry as the API shows it: `detail` parsed, `at` in ISO 8601 (UTC)."""
    at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=dt.UTC)
    return {
        "id": int(row["id"]),
        "at": at.astimezone(dt.UTC).isoformat(),
        "principal": row["principal"],
        "action": row["action"],
        "target": row["target"],
        "detail": _parsed(row["detail"]),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def _parsed(detail: str | None) -> Any:
    """The stored detail JSON, parsed (as stored, when it is not JSON: a tampered entry still shows)."""
    if not detail:
        return None
    try:
        return json.loads(detail)
    except ValueError:
        return detail


def list_audit(
    conn: Connection,
    *,
    after_id: int = 0,
    limit: int = 100,
    action: str | None = None,
    principal: str | None = None,
) -> list[dict[str, Any]]:
    """One page of entries in chain order (id ascending); the cursor is the last id returned."""
    conditions = [audit_log.c.id > after_id]
    if action:
        conditions.append(audit_log.c.action == action)
    if principal:
        conditions.append(audit_log.c.principal == principal)
    query = select(audit_log).where(and_(*conditions)).order_by(audit_log.c.id).limit(limit)
    return [entry_view(r) for r in conn.execute(query).mappings()]


def get_entry(conn: Connection, *, entry_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(audit_log).where(audit_log.c.id == entry_id)).mappings().first()
    return entry_view(row) if row else None
