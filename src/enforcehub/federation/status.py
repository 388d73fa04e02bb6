"""Where each federation link stands — for `enforcehub federation status`, the API, /metrics and the
dashboard. Read-only.

A city hub shows its `uplink` (its own changes not yet in the province: how many, since when) and
its `downlink` (the province's registries read so far). The province shows one `inbound:<key>` link
per city hub that relays to it (what arrived, the last batch's lag from the city's commit to the
province's commit, the city's head as last reported).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from enforcehub.federation.uplink import RELAY_CONSUMER, UPLINK
from enforcehub.store import consumers as consumer_store
from enforcehub.store import federation as federation_store
from enforcehub.store import feeds

STALE_AFTER_S = 300.0  # a link without a success for this long is shown as stalled


def links(conn: Connection, *, hub_id: str | None, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every link of this hub with its lag in changes and in seconds and its health (`hub_id` None:
    this hub's id as its own versions carry it)."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for row in federation_store.list_links(conn):
        view = _view(row, now)
        if row["name"] == UPLINK:  # only a city has one: the province never looks up its own id
            origin = hub_id or federation_store.local_hub_id(conn) or ""
            view.update(_uplink_lag(conn, origin, now))
        elif row["peer_seq"] is not None:  # inbound and downlink: the peer's head as last seen
            view["lag_changes"] = max(int(row["peer_seq"]) - int(row["position"]), 0)
        view["health"] = _health(view, now)
        out.append(view)
    return out


def _uplink_lag(conn: Connection, hub_id: str, now: dt.datetime) -> dict[str, Any]:
    consumer = consumer_store.get_consumer(conn, RELAY_CONSUMER)
    position = int(consumer["acked_seq"]) if consumer else 0
    backlog = federation_store.count_relayable(conn, after=position, origin_hub=hub_id)
    oldest = federation_store.oldest_relayable(conn, after=position, origin_hub=hub_id) if backlog else None
    return {
        "position": position,
        "head": feeds.last_seq(conn),
        "lag_changes": backlog,
        "lag_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
        "state": consumer["state"] if consumer else "missing",
    }


def _view(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {
        "name": row["name"],
        "direction": row["direction"],
        "peer": row["peer"],
        "position": int(row["position"]),
        "peer_seq": row["peer_seq"],
        "versions": int(row["versions"]),
        "rejected": int(row["rejected"]),
        "batches": int(row["batches"]),
        "last_lag_ms": row["last_lag_ms"],
        "last_success_at": _iso(row["last_success_at"]),
        "last_failure_at": _iso(row["last_failure_at"]),
        "last_error": row["last_error"],
        "failures": int(row["failures"]),
        "lag_changes": None,
        "lag_seconds": None,
    }


def _health(view: dict[str, Any], now: dt.datetime) -> str:
    """ok, failing (the last attempt failed), stalled (no success for 5 minutes) or idle (never ran)."""
    if view["failures"]:
        return "failing"
    if view["last_success_at"] is None:
        return "idle"
    last = dt.datetime.fromisoformat(view["last_success_at"])
    if (now - last).total_seconds() > STALE_AFTER_S and (view["lag_changes"] or 0) > 0:
        return "stalled"
    return "ok"


def _utc(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _iso(value: Any) -> str | None:
    found = _utc(value)
    return found.isoformat() if found else None
