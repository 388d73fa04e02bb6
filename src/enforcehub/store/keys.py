"""API keys: stored hashed, shown once, scoped by role, agency and region."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import Connection, insert, select, update

from enforcehub.store.schema import api_keys

ROLES = ("admin", "agency", "platform", "consumer", "supervisor", "hub")
KEY_PREFIX = "eh_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def insert_key(
    conn: Connection,
    *,
    role: str,
    name: str = "",
    agency_uscc: str | None = None,
    region: str | None = None,
    consumer: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Create a key; returns (its row, the key itself — shown once, never stored in clear)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    values = {
        "prefix": prefix,
        "key_hash": _hash(key),
        "role": role,
        "name": name or f"{role}-{prefix}",
        "agency_uscc": agency_uscc,
        "region": region,
        "consumer": consumer,
        "created_at": dt.datetime.now(dt.UTC),
    }
    key_id = conn.execute(insert(api_keys).values(**values).returning(api_keys.c.id)).scalar_one()
    row = {k: v for k, v in values.items() if k != "key_hash"}
    return {"id": key_id, **row, "revoked_at": None}, key


def get_key(conn: Connection, *, key: str) -> dict[str, Any] | None:
    """The active key row matching `key` (constant-time comparison of the hash), or None."""
    if not key.startswith(KEY_PREFIX) or key.count("_") < 2:
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["key_hash"], _hash(key)):
        return None
    return {k: v for k, v in dict(row).items() if k != "key_hash"}


def get_key_by_id(conn: Connection, key_id: int) -> dict[str, Any] | None:
    """The active key row with this id (a session's principal), or None when unknown or revoked."""
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    return {k: v for k, v in dict(row).items() if k != "key_hash"}


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    query = select(*[c for c in api_keys.c if c.name != "key_hash"]).order_by(api_keys.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def revoke_key(conn: Connection, *, key_id: int | None = None, prefix: str | None = None) -> bool:
    """Revoke by id or prefix; False when no active key matched."""
    condition = api_keys.c.id == key_id if key_id is not None else api_keys.c.prefix == prefix
    result = conn.execute(
        update(api_keys)
        .where(condition, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    return bool(result.rowcount)
