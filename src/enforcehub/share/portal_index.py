"""The 行政执法公示 portal's index: `publicity_entries`, kept from the change log by the hub's own
internal consumer `publicity` (profile `publicity`: penalties and licences that may be public, masked).

Each page of the consumer's events is applied in ONE write transaction together with the consumer's
cursor (acked_seq): the entries of `upsert` events replace the record's entry, `withdraw` events delete
it, and the cursor moves past the page. So the table is exactly what the events up to the cursor say —
never a page applied twice or skipped, whatever crashes — and replaying a page changes nothing.

Refreshes are serialised: a process-local lock between the threads of one process (the delivery worker
and portal requests), and the consumer row taken `FOR UPDATE` at the start of the write transaction
between processes on PostgreSQL (SQLite serialises writers anyway).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine

from enforcehub.share import consumers as consumer_service
from enforcehub.share.feed import read_page
from enforcehub.share.profile import DatasetProfile, Profile
from enforcehub.share.project import EVENT_COLUMNS, NATURAL_PERSON
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store import feeds
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.store.publicity_entries import replace_entries

CONSUMER = "publicity"
PROFILE = "publicity"
TITLE = "行政执法公示"
# Source columns carried along for the index (never part of an event): what the portal searches by.
KEEP = (
    "decision_number",
    "counterparty_name",
    "counterparty_category",
    "counterparty_uscc",
    "agency_name",
    "agency_uscc",
    "region_code",
    "decision_date",
    "pub_start",
    "pub_max_end",
)
# Shown (and searched) as the profile emits them, so a masked name can never be found by its clear form.
DISPLAYED = ("decision_number", "counterparty_name", "agency_name")
PAGE_CHANGES = 2000
MAX_PAGES = 50  # per refresh_publicity call (the worker's tick)
REQUEST_MAX_PAGES = 5  # per portal request: a few seconds at most, the worker does the rest
REQUEST_WAIT_S = 10.0

_REFRESH_LOCK = threading.Lock()


def _ensure(engine: Engine, standard: Standard) -> dict[str, Any]:
    """The `publicity` consumer (internal, profile publicity), registered when missing."""
    return consumer_service.ensure_internal_consumer(
        engine, name=CONSUMER, profile=PROFILE, title=TITLE, standard=standard
    )


def is_behind(conn: Connection) -> bool:
    """Cheap: whether changes were committed after the consumer's cursor (or it is not registered).
    A paused or disabled consumer is never behind: the operator stopped it."""
    row = consumer_store.get_consumer(conn, CONSUMER)
    if row is None:
        return True
    return row["state"] == "active" and int(row["acked_seq"]) < feeds.last_seq(conn)


def refresh_publicity(engine: Engine, standard: Standard, hub_id: str, *, max_pages: int = MAX_PAGES) -> int:
    """Apply the `publicity` consumer's events after its cursor to `publicity_entries`, one write
    transaction per page (at most `max_pages`); returns how many entries were written or removed."""
    with _REFRESH_LOCK:
        return _refresh(engine, standard, hub_id, max_pages)


def refresh_if_behind(
    engine: Engine,
    standard: Standard,
    hub_id: str,
    *,
    max_pages: int = REQUEST_MAX_PAGES,
    wait: float = REQUEST_WAIT_S,
) -> int:
    """refresh_publicity when the cheap check says the index is behind the change log (portal requests).

    A request that finds another thread refreshing waits up to `wait` seconds for it, then finds the
    index current and writes nothing; after a large import (more than `max_pages` pages behind) it
    serves what is indexed so far while the delivery worker catches up."""
    with read_transaction(engine) as conn:
        if not is_behind(conn):
            return 0
    if not _REFRESH_LOCK.acquire(timeout=wait):
        return 0
    try:
        with read_transaction(engine) as conn:
            if not is_behind(conn):
                return 0
        return _refresh(engine, standard, hub_id, max_pages)
    finally:
        _REFRESH_LOCK.release()


def _refresh(engine: Engine, standard: Standard, hub_id: str, max_pages: int) -> int:
    _ensure(engine, standard)
    applied = 0
    for _ in range(max_pages):
        with write_transaction(engine) as conn:
            written, more = _apply_page(conn, standard, hub_id)
        applied += written
        if not more:
            break
    return applied


def _apply_page(conn: Connection, standard: Standard, hub_id: str) -> tuple[int, bool]:
    """One page, inside the caller's write transaction: (entries written or removed, more to read)."""
    row = consumer_store.get_consumer(conn, CONSUMER, for_update=True)  # serialises refreshes (PostgreSQL)
    if row is None or row["state"] != "active":
        return 0, False
    after = int(row["acked_seq"])
    until = feeds.last_seq(conn)  # every change up to here is committed (commit-ordered numbering)
    if after >= until:
        return 0, False
    page, frames = read_page(
        conn, row, after=after, limit=PAGE_CHANGES, standard=standard, hub_id=hub_id, until=until, keep=KEEP
    )
    removed, rows = entries_of(frames, consumer_service.resolve_profile(row, standard))
    replace_entries(conn, remove=removed, rows=rows)
    # A page that is not full saw every change of its datasets up to `until`: the cursor may pass the
    # other datasets' changes too, so the cheap check does not stay "behind" after them.
    consumer_store.ack(conn, CONSUMER, seq=page.position if page.more else until, now=dt.datetime.now(dt.UTC))
    return len(removed) + len(rows), page.more


def entries_of(frames: list[pl.DataFrame], profile: Profile) -> tuple[list[int], list[dict[str, Any]]]:
    """From projected frames (read_page with keep=KEEP): the record ids to remove and the entry rows
    to write. Only the last event of a record in the page counts (a later one replaces an earlier)."""
    parts = [
        _entry_frame(frame, profile.datasets[str(frame["dataset"][0])]) for frame in frames if frame.height
    ]
    if not parts:
        return [], []
    latest = (
        pl.concat(parts, how="vertical").sort("seq").unique("record_id", keep="last", maintain_order=True)
    )
    removed = latest.filter(pl.col("_type") == "withdraw")["record_id"].to_list()
    rows = latest.filter(pl.col("_type") == "upsert").drop("_type").to_dicts()
    return removed, rows


def _entry_frame(frame: pl.DataFrame, spec: DatasetProfile) -> pl.DataFrame:
    fields = [c for c in frame.columns if c not in EVENT_COLUMNS and not c.startswith("__")]
    region = _kept(frame, "region_code")
    category = _kept(frame, "counterparty_category")
    displayed = {name: _displayed(frame, spec, name) for name in DISPLAYED}
    return frame.select(
        pl.col("_record_id").cast(pl.Int64).alias("record_id"),
        pl.col("_type"),
        pl.col("dataset"),
        displayed["decision_number"].fill_null("").alias("decision_number"),
        displayed["counterparty_name"].fill_null("").alias("counterparty_name"),
        # searchable code: organisations' USCC only, never a natural person's ID number
        pl.when(category != NATURAL_PERSON)
        .then(_kept(frame, "counterparty_uscc").str.to_uppercase())
        .otherwise(None)
        .alias("counterparty_code"),
        displayed["agency_name"].alias("agency_name"),
        _kept(frame, "agency_uscc").alias("agency_uscc"),
        region.alias("region"),
        (region.str.slice(0, 4) + "00").alias("city"),
        _kept_date(frame, "decision_date").alias("decision_date"),
        _kept_date(frame, "pub_start").alias("public_from"),
        _kept_date(frame, "pub_max_end").alias("public_until"),
        pl.struct(fields).struct.json_encode().alias("document"),  # the event's data, as the profile made it
        pl.col("_seq").cast(pl.Int64).alias("seq"),
    )


def _kept(frame: pl.DataFrame, name: str) -> pl.Expr:
    column = f"__{name}"
    if column not in frame.columns:
        return pl.lit(None, dtype=pl.Utf8)
    return pl.col(column).cast(pl.Utf8).str.strip_chars()


def _kept_date(frame: pl.DataFrame, name: str) -> pl.Expr:
    column = f"__{name}"
    if column not in frame.columns:
        return pl.lit(None, dtype=pl.Date)
    if frame.schema[column] == pl.Date:
        return pl.col(column)
    return pl.col(column).cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _displayed(frame: pl.DataFrame, spec: DatasetProfile, source: str) -> pl.Expr:
    """The value as the public sees it: the profile's output field from `source` when it has one."""
    for field in spec.fields:
        if field.source == source and field.const is None and field.name in frame.columns:
            return pl.col(field.name).cast(pl.Utf8)
    return _kept(frame, source)
