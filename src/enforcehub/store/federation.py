"""Federation (省、市两级): the versions a hub relays, the relay's stale-version guard, and the links.

A page of the relay is read straight from the change log by `seq` (its primary key), with each
change's version, record key and lineage; the caller keeps only the versions whose origin it relays.
Callers own the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, insert, select, update

from enforcehub.store.schema import changes, federation_links, records, versions


@dataclass(frozen=True)
class RelayPage:
    """Changes after a position, in seq order; `scanned_to` is the last seq looked at (also when the
    filter kept none of them), so a reader moves past changes it does not relay."""

    rows: list[tuple[Any, ...]]  # RELAY_COLUMNS, in this order
    scanned_to: int


RELAY_COLUMNS = (
    "seq",
    "dataset",
    "record_id",
    "kind",
    "committed_at",
    "business_key",
    "version_no",
    "content_hash",
    "data",
    "submission_id",
    "principal",
    "channel",
    "source_system",
    "origin_hub",
    "received_at",
)


def read_relay_page(
    conn: Connection,
    *,
    after: int,
    limit: int,
    origin_hub: str,
    datasets: Sequence[str] | None = None,
    until: int | None = None,
) -> RelayPage:
    """Up to `limit` changes after `after` whose version came in at `origin_hub` (of `datasets`)."""
    window = select(changes.c.seq).where(changes.c.seq > after).order_by(changes.c.seq).limit(limit)
    if until is not None:
        window = window.where(changes.c.seq <= until)
    seqs = [int(s) for (s,) in conn.execute(window)]
    if not seqs:
        return RelayPage(rows=[], scanned_to=after)
    conditions = [changes.c.seq > after, changes.c.seq <= seqs[-1], versions.c.origin_hub == origin_hub]
    if datasets is not None:
        conditions.append(changes.c.dataset.in_(list(datasets)))
    query = (
        select(
            changes.c.seq,
            changes.c.dataset,
            changes.c.record_id,
            changes.c.kind,
            changes.c.committed_at,
            records.c.business_key,
            versions.c.version_no,
            versions.c.content_hash,
            versions.c.data,
            versions.c.submission_id,
            versions.c.principal,
            versions.c.channel,
            versions.c.source_system,
            versions.c.origin_hub,
            versions.c.received_at,
        )
        .select_from(changes)
        .join(versions, versions.c.id == changes.c.version_id)
        .join(records, records.c.id == changes.c.record_id)
        .where(*conditions)
        .order_by(changes.c.seq)
    )
    return RelayPage(rows=list(conn.execute(query).cursor.fetchall()), scanned_to=seqs[-1])


def count_relayable(conn: Connection, *, after: int, origin_hub: str) -> int:
    """How many changes after `after` came in at `origin_hub` (the relay's backlog)."""
    query = (
        select(func.count())
        .select_from(changes)
        .join(versions, versions.c.id == changes.c.version_id)
        .where(changes.c.seq > after, versions.c.origin_hub == origin_hub)
    )
    return int(conn.execute(query).scalar_one())


def oldest_relayable(conn: Connection, *, after: int, origin_hub: str) -> dt.datetime | None:
    """When the first change after `after` that came in at `origin_hub` committed (None: there is none)."""
    query = (
        select(changes.c.committed_at)
        .join(versions, versions.c.id == changes.c.version_id)
        .where(changes.c.seq > after, versions.c.origin_hub == origin_hub)
        .order_by(changes.c.seq)
        .limit(1)
    )
    value = conn.execute(query).scalar()
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value if isinstance(value, dt.datetime) else None


def held_origin_versions(conn: Connection, *, record_ids: pl.Series, origin_hub: str) -> pl.DataFrame:
    """record_id → the highest origin version this hub holds of each record from `origin_hub`."""
    found: list[tuple[int, int]] = []
    ids = record_ids.to_list()
    for start in range(0, len(ids), 10_000):
        query = (
            select(versions.c.record_id, func.max(versions.c.origin_version))
            .where(versions.c.record_id.in_(ids[start : start + 10_000]), versions.c.origin_hub == origin_hub)
            .group_by(versions.c.record_id)
        )
        found.extend((int(r), int(v)) for r, v in conn.execute(query) if v is not None)
    return pl.DataFrame(found, schema={"record_id": pl.Int64, "held_version": pl.Int64}, orient="row")


def local_hub_id(conn: Connection) -> str | None:
    """The id this hub stamps on what it receives itself (any version not relayed to it), or None when
    it has received nothing yet — for readers without the hub's settings (the dashboard)."""
    query = select(versions.c.origin_hub).where(versions.c.channel != "relay").order_by(versions.c.id.desc())
    value = conn.execute(query.limit(1)).scalar()
    return str(value) if value is not None else None


# --- links ------------------------------------------------------------------------------------------

def get_link(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(federation_links).where(federation_links.c.name == name)).first()
    return dict(row._mapping) if row is not None else None


def list_links(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r._mapping) for r in conn.execute(select(federation_links).order_by(federation_links.c.name))
    ]


def ensure_link(
    conn: Connection, *, name: str, direction: str, peer: str, now: dt.datetime
) -> dict[str, Any]:
    """The link's row, created on first use (and its peer kept current)."""
    found = get_link(conn, name)
    if found is None:
        values = {
            "name": name,
            "direction": direction,
            "peer": peer,
            "position": 0,
            "versions": 0,
            "rejected": 0,
            "batches": 0,
            "failures": 0,
            "updated_at": now,
        }
        conn.execute(insert(federation_links).values(**values))
        return {**values, "peer_seq": None, "last_lag_ms": None, "last_success_at": None}
    if found["peer"] != peer:
        conn.execute(update(federation_links).where(federation_links.c.name == name).values(peer=peer))
        found["peer"] = peer
    return found


def link_success(
    conn: Connection,
    name: str,
    *,
    now: dt.datetime,
    versions_moved: int,
    rejected: int,
    position: int | None = None,
    peer_seq: int | None = None,
    lag_ms: int | None = None,
) -> None:
    """A batch went over the link: add it up, clear the failure streak."""
    values: dict[str, Any] = {
        "versions": federation_links.c.versions + versions_moved,
        "rejected": federation_links.c.rejected + rejected,
        "batches": federation_links.c.batches + 1,
        "last_success_at": now,
        "failures": 0,
        "updated_at": now,
    }
    if position is not None:
        values["position"] = position
    if peer_seq is not None:
        values["peer_seq"] = peer_seq
    if lag_ms is not None:
        values["last_lag_ms"] = lag_ms
    conn.execute(update(federation_links).where(federation_links.c.name == name).values(**values))


def link_seen(conn: Connection, name: str, *, now: dt.datetime, peer_seq: int | None) -> None:
    """The link was checked and had nothing to move (it is healthy and caught up)."""
    values: dict[str, Any] = {"last_success_at": now, "failures": 0, "updated_at": now}
    if peer_seq is not None:
        values["peer_seq"] = peer_seq
    conn.execute(update(federation_links).where(federation_links.c.name == name).values(**values))


def link_failure(conn: Connection, name: str, *, now: dt.datetime, error: str) -> None:
    conn.execute(
        update(federation_links)
        .where(federation_links.c.name == name)
        .values(
            failures=federation_links.c.failures + 1,
            last_failure_at=now,
            last_error=error[:2000],
            updated_at=now,
        )
    )
