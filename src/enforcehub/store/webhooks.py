"""Webhook messages and attempts, and claiming a consumer for delivery: the only SQL for them.

Callers own the transaction. Claiming is a *lease*: `claim_due` picks one active webhook consumer
that is due and has work, and sets its `next_attempt_at` to the end of the lease in the same short
transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers skip it instead of queueing;
SQLite: the database write lock serialises claimers). Until the lease ends the consumer is not due,
so no other worker (thread or process) takes it while its request is in flight; the holder ends the
lease by writing the real next time (`release`). A worker that dies mid-request loses the consumer
only until the lease expires; the message is then sent again under the same webhook-id.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, update

from enforcehub.store.schema import change_counter, consumers, webhook_attempts, webhook_messages

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def _utc(value: Any) -> Any:
    """SQLite hands back naive datetimes (stored as UTC): make them aware."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _plain(row: Any) -> dict[str, Any]:
    return {k: _utc(v) for k, v in dict(row._mapping).items()}


def new_message_id() -> str:
    """`msg_` + 26 random URL-safe characters: the webhook-id header."""
    return "msg_" + secrets.token_urlsafe(20)[:26]


# --- claiming --------------------------------------------------------------------------------------


def _has_work() -> Any:
    pending = exists().where(
        webhook_messages.c.consumer == consumers.c.name, webhook_messages.c.state == PENDING
    )
    last = select(change_counter.c.last_seq).where(change_counter.c.id == 1).scalar_subquery()
    return or_(pending, consumers.c.delivered_seq < func.coalesce(last, 0))


def _due(now: dt.datetime) -> Any:
    return and_(
        consumers.c.mode == "webhook",
        consumers.c.state == "active",
        or_(consumers.c.next_attempt_at.is_(None), consumers.c.next_attempt_at <= now),
        _has_work(),
    )


def count_due(conn: Connection, *, now: dt.datetime) -> int:
    """How many webhook consumers have work and are due now (a cheap read before claiming)."""
    return int(conn.execute(select(func.count()).select_from(consumers).where(_due(now))).scalar_one())


def claim_due(conn: Connection, *, now: dt.datetime, lease_until: dt.datetime) -> str | None:
    """Lease one due consumer with work (least recently touched first): its name, or None.

    The consumer's `next_attempt_at` becomes `lease_until`, which is also the lease's token."""
    query = (
        select(consumers.c.name).where(_due(now)).order_by(consumers.c.updated_at, consumers.c.name).limit(1)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=consumers)
    name = conn.execute(query).scalar()
    if name is None:
        return None
    conn.execute(update(consumers).where(consumers.c.name == name).values(next_attempt_at=lease_until))
    return str(name)


def release(
    conn: Connection, name: str, *, token: dt.datetime | None, next_attempt_at: dt.datetime | None
) -> bool:
    """End a lease: set the consumer's next time, unless another worker holds it by now."""
    condition = (
        consumers.c.next_attempt_at.is_(None) if token is None else consumers.c.next_attempt_at == token
    )
    result = conn.execute(
        update(consumers).where(consumers.c.name == name, condition).values(next_attempt_at=next_attempt_at)
    )
    return bool(result.rowcount)


def update_consumer(conn: Connection, name: str, *, now: dt.datetime, **values: Any) -> None:
    conn.execute(update(consumers).where(consumers.c.name == name).values(**values, updated_at=now))


def advance(conn: Connection, name: str, *, to: int, now: dt.datetime) -> None:
    """Move the consumer's delivered position forward (never back)."""
    conn.execute(
        update(consumers)
        .where(consumers.c.name == name, consumers.c.delivered_seq < to)
        .values(delivered_seq=to, updated_at=now)
    )


# --- messages --------------------------------------------------------------------------------------


def head_message(conn: Connection, consumer: str) -> dict[str, Any] | None:
    """The pending message to send next (head of line): the lowest position first, so a replayed dead
    letter goes out before newer events."""
    row = conn.execute(
        select(webhook_messages)
        .where(webhook_messages.c.consumer == consumer, webhook_messages.c.state == PENDING)
        .order_by(webhook_messages.c.first_seq, webhook_messages.c.created_at)
        .limit(1)
    ).first()
    return _plain(row) if row is not None else None


def get_message(conn: Connection, message_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(webhook_messages).where(webhook_messages.c.id == message_id)).first()
    return _plain(row) if row is not None else None


def create_message(
    conn: Connection,
    *,
    consumer: str,
    first_seq: int,
    last_seq: int,
    events: int,
    payload: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """A new pending message covering changes first_seq..last_seq of the consumer's feed."""
    values = {
        "id": new_message_id(),
        "consumer": consumer,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "events": events,
        "payload": payload,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_status": None,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }
    conn.execute(insert(webhook_messages).values(**values))
    return values


def record_attempt(
    conn: Connection,
    message_id: str,
    *,
    at: dt.datetime,
    status: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    conn.execute(
        insert(webhook_attempts).values(
            message_id=message_id, at=at, status=status, error=error, duration_ms=duration_ms
        )
    )


def update_message(conn: Connection, message_id: str, **values: Any) -> bool:
    """Change a message that is still pending (a delivered or dead one is final)."""
    result = conn.execute(
        update(webhook_messages)
        .where(webhook_messages.c.id == message_id, webhook_messages.c.state == PENDING)
        .values(**values)
    )
    return bool(result.rowcount)


def count_dead(conn: Connection, consumer: str) -> int:
    """How many of the consumer's messages are dead letters."""
    query = (
        select(func.count())
        .select_from(webhook_messages)
        .where(webhook_messages.c.consumer == consumer, webhook_messages.c.state == DEAD)
    )
    return int(conn.execute(query).scalar_one())


def list_messages(
    conn: Connection, consumer: str, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The consumer's messages (newest first) without their payloads."""
    columns = [c for c in webhook_messages.c if c.name != "payload"]
    query = select(*columns).where(webhook_messages.c.consumer == consumer)
    if state is not None:
        query = query.where(webhook_messages.c.state == state)
    newest_first = (webhook_messages.c.created_at.desc(), webhook_messages.c.first_seq.desc())
    query = query.order_by(*newest_first).limit(limit)
    return [_plain(r) for r in conn.execute(query)]


def requeue_dead(conn: Connection, consumer: str, message_id: str, *, now: dt.datetime) -> bool:
    """Put a dead letter back in the queue (pending again, a fresh retry budget from now); it goes out
    ahead of newer events because the head of line is the lowest position."""
    result = conn.execute(
        update(webhook_messages)
        .where(
            webhook_messages.c.id == message_id,
            webhook_messages.c.consumer == consumer,
            webhook_messages.c.state == DEAD,
        )
        .values(state=PENDING, attempts=0, next_attempt_at=now, created_at=now)
    )
    return bool(result.rowcount)


def list_attempts(conn: Connection, consumer: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The consumer's most recent delivery attempts (newest first), with their message's range."""
    query = (
        select(
            webhook_attempts.c.id,
            webhook_attempts.c.message_id,
            webhook_attempts.c.at,
            webhook_attempts.c.status,
            webhook_attempts.c.error,
            webhook_attempts.c.duration_ms,
            webhook_messages.c.first_seq,
            webhook_messages.c.last_seq,
            webhook_messages.c.state.label("message_state"),
        )
        .join(webhook_messages, webhook_messages.c.id == webhook_attempts.c.message_id)
        .where(webhook_messages.c.consumer == consumer)
        .order_by(webhook_attempts.c.id.desc())
        .limit(limit)
    )
    return [_plain(r) for r in conn.execute(query)]
