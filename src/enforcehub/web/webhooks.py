"""Webhook deliveries over HTTP (admin): dead letters, replaying one, recent attempts; and the
per-consumer gauges of /metrics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Connection

from enforcehub.errors import EnforcehubError
from enforcehub.share import consumers as consumer_service
from enforcehub.share import webhooks
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.web.deps import ApiError, Caller, Hub, require

router = APIRouter(prefix="/api/v1/admin/consumers", tags=["admin"])


def _api_error(exc: EnforcehubError) -> ApiError:
    status = {
        consumer_service.ConsumerNotFound: 404,
        webhooks.MessageNotFound: 404,
        webhooks.NotADeadLetter: 409,
    }.get(type(exc), 422)
    return ApiError(status, exc.code, exc.message_zh, exc.message_en)


@router.get("/{name}/dead-letters", summary="Webhook messages given up on after the retry budget")
def list_dead_letters(
    name: str,
    context: Hub,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    require(caller, "admin", "supervisor")
    try:
        with read_transaction(context.engine) as conn:
            return {"consumer": name, "dead_letters": webhooks.dead_letters(conn, name, limit=limit)}
    except EnforcehubError as exc:
        raise _api_error(exc) from exc


@router.post(
    "/{name}/dead-letters/{message_id}/replay",
    summary="Send a dead letter again (same webhook-id and body), ahead of newer events",
)
def replay_dead_letter(name: str, message_id: str, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin")
    try:
        with write_transaction(context.engine) as conn:
            message = webhooks.replay(
                conn, name, message_id, principal=caller.name, now=dt.datetime.now(dt.UTC)
            )
    except EnforcehubError as exc:
        raise _api_error(exc) from exc
    return {"consumer": name, "message": message}


@router.get("/{name}/attempts", summary="The most recent webhook delivery attempts")
def list_attempts(
    name: str,
    context: Hub,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    require(caller, "admin", "supervisor")
    try:
        with read_transaction(context.engine) as conn:
            return {"consumer": name, "attempts": webhooks.attempts(conn, name, limit=limit)}
    except EnforcehubError as exc:
        raise _api_error(exc) from exc


def consumer_metrics(conn: Connection, standard: Standard, registry: CollectorRegistry) -> None:
    """Per-consumer gauges: lag in changes, consecutive failures, dead letters, seconds since the
    last successful delivery (absent until there was one)."""
    labels = ["consumer", "mode"]
    lag = Gauge("enforcehub_consumer_lag", "Changes not yet delivered/acked", labels, registry=registry)
    failures = Gauge(
        "enforcehub_consumer_failures", "Consecutive failed delivery attempts", labels, registry=registry
    )
    dead = Gauge("enforcehub_consumer_dead_letters", "Webhook dead letters", labels, registry=registry)
    since = Gauge(
        "enforcehub_consumer_seconds_since_success",
        "Seconds since the last successful webhook delivery",
        labels,
        registry=registry,
    )
    now = dt.datetime.now(dt.UTC)
    for row in consumer_store.list_consumers(conn):
        try:
            status = consumer_service.status(conn, row, standard)
        except EnforcehubError:  # e.g. a built-in profile that no longer exists: no gauges for it
            continue
        key = (row["name"], row["mode"])
        lag.labels(*key).set(status["lag"])
        failures.labels(*key).set(status["failures"] or 0)
        dead.labels(*key).set(status["dead_letters"])
        last = row["last_success_at"]
        if isinstance(last, dt.datetime):
            last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
            since.labels(*key).set(max((now - last).total_seconds(), 0.0))
