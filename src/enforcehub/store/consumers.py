"""Registered downstream systems (consumers) and their cursors. Callers own the transaction."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from enforcehub.store.schema import consumers, feed_events, webhook_attempts, webhook_messages


def _row(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    found["datasets"] = json.loads(found["datasets"]) if found["datasets"] else None
    found["webhook_secrets"] = json.loads(found["webhook_secrets"]) if found["webhook_secrets"] else []
    return found


def insert_consumer(conn: Connection, *, values: dict[str, Any], now: dt.datetime) -> None:
    row = dict(values)
    row["datasets"] = json.dumps(row["datasets"]) if row.get("datasets") else None
    row["webhook_secrets"] = json.dumps(row.get("webhook_secrets") or []) or None
    conn.execute(
        insert(consumers).values(
            **row,
            state="active",
            acked_seq=0,
            delivered_seq=0,
            projected_seq=0,
            failures=0,
            created_at=now,
            updated_at=now,
        )
    )


def get_consumer(conn: Connection, name: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(consumers).where(consumers.c.name == name)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _row(row) if row is not None else None


def list_consumers(conn: Connection) -> list[dict[str, Any]]:
    return [_row(r) for r in conn.execute(select(consumers).order_by(consumers.c.name))]


def update_consumer(conn: Connection, name: str, *, now: dt.datetime, **values: Any) -> bool:
    if "webhook_secrets" in values:
        values["webhook_secrets"] = json.dumps(values["webhook_secrets"])
    result = conn.execute(update(consumers).where(consumers.c.name == name).values(**values, updated_at=now))
    return bool(result.rowcount)


def remove_consumer(conn: Connection, name: str) -> bool:
    """Remove a consumer with its webhook messages and attempts (the records are untouched)."""
    messages = select(webhook_messages.c.id).where(webhook_messages.c.consumer == name)
    conn.execute(delete(webhook_attempts).where(webhook_attempts.c.message_id.in_(messages)))
    conn.execute(delete(webhook_messages).where(webhook_messages.c.consumer == name))
    conn.execute(delete(feed_events).where(feed_events.c.consumer == name))
    return bool(conn.execute(delete(consumers).where(consumers.c.name == name)).rowcount)


def ack(conn: Connection, name: str, *, seq: int, now: dt.datetime) -> int:
    """Commit a feed cursor; it only moves forward. Returns the committed position."""
    current = get_consumer(conn, name, for_update=True)
    if current is None:
        return 0
    position = max(int(current["acked_seq"]), seq)
    conn.execute(update(consumers).where(consumers.c.name == name).values(acked_seq=position, updated_at=now))
    return position
