"""The storage half of ingest: a validated chunk's valid rows → records, versions, change entries.

Two steps, so they can overlap: `prepare` is pure polars (canonical values, business key, content
JSON and hash, the record's indexed columns) and runs in the worker thread that reads and
validates; `store` runs in the thread that owns the transaction: it looks up the current versions of
the chunk's keys, classifies rows by a join (new key / changed content / identical content) and
writes only new and changed rows. Rows never become Python dicts: they go to the database as polars
frames (records.insert_frame). `Prefetch` runs the worker one chunk ahead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import polars as pl
from sqlalchemy import Connection

from enforcehub.pipeline.normalise import (
    ACT_DATE_CANDIDATES,
    CONTENT,
    COUNTERPARTY_CANDIDATES,
    HASH,
    KEY,
    first_present,
    stored_frame,
)
from enforcehub.pipeline.relay import (
    ORIGIN_HUB,
    ORIGIN_PRINCIPAL,
    ORIGIN_RECEIVED_AT,
    ORIGIN_SUBMISSION,
    ORIGIN_VERSION,
    SOURCE_SYSTEM,
)
from enforcehub.standard.model import Dataset, Standard
from enforcehub.store import federation as federation_store
from enforcehub.store import records as record_store
from enforcehub.validate.engine import ROW, ChunkResult

REVOKED_STATUS = "03"  # record_status 撤销; other status code sets (complaint handling …) never revoke
SUMMARY = record_store.SUMMARY
ENTRY_SCHEMA = {"record_id": pl.Int64, "version_id": pl.Int64, "kind": pl.Utf8, "region": pl.Utf8}


@dataclass(frozen=True)
class Prepared:
    """A chunk's valid rows in stored form, one row per business key (the last row of a key wins)."""

    rows: pl.DataFrame  # KEY, HASH, CONTENT, ROW and the SUMMARY columns
    accepted: int  # valid rows in the chunk, repeated keys included


@dataclass(frozen=True)
class Lineage:
    submission_id: str
    principal: str
    channel: str
    source_system: str | None
    origin_hub: str
    origin_submission: str | None


@dataclass
class Stored:
    """What storing one chunk did; `entries` are its change-log rows, in version order, unnumbered."""

    entries: pl.DataFrame
    created: int = 0
    updated: int = 0
    revoked: int = 0
    unchanged: int = 0
    stale: int = 0  # relayed versions older than one this hub holds from the same origin (skipped)


def prepare(standard: Standard, dataset: Dataset, result: ChunkResult) -> Prepared:
    """The stored form of a checked chunk's valid rows (polars only; safe in a worker thread)."""
    valid = result.frame.filter(result.row_valid)
    stored = stored_frame(standard, dataset, valid).unique(subset=[KEY], keep="last", maintain_order=True)
    rows = stored.select(KEY, HASH, CONTENT, ROW, *summary_columns(dataset))
    return Prepared(rows=rows, accepted=valid.height)


def summary_columns(dataset: Dataset) -> list[pl.Expr]:
    """The record's indexed columns: agency, region, counterparty code, act date, status."""
    names = dataset.names
    act = first_present(dataset, ACT_DATE_CANDIDATES)
    parties = [pl.col(n) for n in COUNTERPARTY_CANDIDATES if n in names]

    def column(name: str) -> pl.Expr:
        return pl.col(name) if name in names else pl.lit(None, dtype=pl.Utf8)

    return [
        column("agency_uscc").alias("agency_uscc"),
        column("region_code").alias("region"),
        (pl.coalesce(parties) if parties else pl.lit(None, dtype=pl.Utf8)).alias("counterparty_code"),
        (
            pl.col(act).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
            if act
            else pl.lit(None, dtype=pl.Date)
        ).alias("act_date"),
        column("status").alias("status"),
    ]


def store(
    conn: Connection, dataset: Dataset, prepared: Prepared, lineage: Lineage, stamp: dt.datetime
) -> Stored:
    """Store a prepared chunk: new keys → records + version 1; changed content → version n+1 and the
    record moved to it; identical content → nothing."""
    rows = prepared.rows
    stored = Stored(entries=pl.DataFrame(schema=ENTRY_SCHEMA))
    stored.unchanged = prepared.accepted - rows.height  # earlier rows of a key repeated in the chunk
    if rows.height == 0:
        return stored
    current = record_store.get_current(conn, dataset=dataset.name, keys=rows[KEY])
    joined = rows.join(current, left_on=KEY, right_on="business_key", how="left", maintain_order="left")
    new = joined.filter(pl.col("record_id").is_null())
    changed = joined.filter(pl.col("record_id").is_not_null() & (pl.col("content_hash") != pl.col(HASH)))
    stored.unchanged += joined.height - new.height - changed.height
    if ORIGIN_VERSION in rows.columns and changed.height:
        before = changed.height
        changed = _newer_than_held(conn, changed, lineage.origin_hub)
        stored.stale = before - changed.height
        stored.unchanged += stored.stale
    if new.height == 0 and changed.height == 0:
        return stored
    when = pl.lit(stamp, dtype=pl.Datetime("us", "UTC"))

    record_ids = record_store.allocate_ids(conn, record_store.records, new.height)
    new = new.with_columns(record_ids.alias("record_id"), pl.lit(0, dtype=pl.Int64).alias("version_no"))
    record_store.insert_frame(
        conn,
        record_store.records,
        new.select(
            pl.col("record_id").alias("id"),
            pl.lit(dataset.name).alias("dataset"),
            pl.col(KEY).alias("business_key"),
            pl.lit(1, dtype=pl.Int64).alias("version_no"),
            pl.col(HASH).alias("content_hash"),
            *SUMMARY,
            when.alias("created_at"),
            when.alias("updated_at"),
        ),
    )
    # New and changed rows alike: version_no is the current one (0 for a new record) and goes up by one.
    written = pl.concat([new, changed]).with_columns((pl.col("version_no") + 1).alias("version_no"))
    version_ids = record_store.allocate_ids(conn, record_store.versions, written.height)
    record_store.insert_frame(
        conn,
        record_store.versions,
        written.select(
            version_ids.alias("id"),
            "record_id",
            "version_no",
            pl.col(HASH).alias("content_hash"),
            pl.col(CONTENT).alias("data"),
            "status",
            pl.lit(lineage.submission_id).alias("submission_id"),
            pl.col(ROW).alias("row"),
            pl.lit(lineage.principal).alias("principal"),
            pl.lit(lineage.channel).alias("channel"),
            *_origin_columns(written, lineage),
            when.alias("received_at"),
        ),
    )
    record_store.update_current(
        conn,
        written.filter(pl.col("version_no") > 1).select(
            pl.col("record_id").alias("id"),
            "version_no",
            pl.col(HASH).alias("content_hash"),
            *SUMMARY,
            when.alias("updated_at"),
        ),
    )
    revocable = "status" in dataset.names and dataset.element("status").codeset == "record_status"
    revoked = pl.col("status") == REVOKED_STATUS if revocable else pl.lit(False)
    kind = (
        pl.when(revoked.fill_null(False))
        .then(pl.lit("revoked"))
        .when(pl.col("version_no") == 1)
        .then(pl.lit("created"))
        .otherwise(pl.lit("updated"))
    )
    stored.entries = written.select(
        "record_id", version_ids.alias("version_id"), kind.alias("kind"), "region"
    )
    kinds = stored.entries["kind"].value_counts()
    tally = dict(zip(kinds["kind"].to_list(), kinds["count"].to_list(), strict=True))
    stored.created, stored.updated, stored.revoked = (
        int(tally.get("created", 0)),
        int(tally.get("updated", 0)),
        int(tally.get("revoked", 0)),
    )
    return stored


def _newer_than_held(conn: Connection, changed: pl.DataFrame, origin_hub: str) -> pl.DataFrame:
    """Relayed rows newer than every version this hub holds of the record from the same origin: a
    replayed or out-of-order relay never takes a record back to an older state.

    The origin is each row's own (`ORIGIN_HUB`, read from the relay lines): the submission's lineage
    is set before the relay body is read, so it cannot name the origin."""
    origin = pl.col(ORIGIN_HUB).fill_null(origin_hub) if ORIGIN_HUB in changed.columns else pl.lit(origin_hub)
    keyed = changed.with_columns(origin.cast(pl.Utf8).alias("__held_origin"))
    held = pl.concat(
        [
            federation_store.held_origin_versions(
                conn, record_ids=changed["record_id"], origin_hub=hub
            ).with_columns(pl.lit(hub, dtype=pl.Utf8).alias("__held_origin"))
            for hub in keyed["__held_origin"].unique().to_list()
        ]
    )
    return (
        keyed.join(held, on=["record_id", "__held_origin"], how="left", maintain_order="left")
        .filter(pl.col("held_version").is_null() | (pl.col(ORIGIN_VERSION) > pl.col("held_version")))
        .drop("held_version", "__held_origin")
    )


def _origin_columns(frame: pl.DataFrame, lineage: Lineage) -> list[pl.Expr]:
    """The version's origin lineage: per row for relayed versions, else this submission's own."""

    def per_row(name: str, fallback: Any, dtype: Any) -> pl.Expr:
        if name in frame.columns:
            return pl.col(name).cast(dtype).fill_null(pl.lit(fallback, dtype=dtype))
        return pl.lit(fallback, dtype=dtype)

    return [
        per_row(SOURCE_SYSTEM, lineage.source_system, pl.Utf8).alias("source_system"),
        per_row(ORIGIN_HUB, lineage.origin_hub, pl.Utf8).alias("origin_hub"),
        per_row(ORIGIN_SUBMISSION, lineage.origin_submission, pl.Utf8).alias("origin_submission"),
        per_row(ORIGIN_PRINCIPAL, None, pl.Utf8).alias("origin_principal"),
        per_row(ORIGIN_RECEIVED_AT, None, pl.Datetime("us", "UTC")).alias("origin_received_at"),
        per_row(ORIGIN_VERSION, None, pl.Int64).alias("origin_version"),
    ]


class ChangeEntries:
    """A submission's change-log entries, kept as compact frames until the final numbered append."""

    def __init__(self) -> None:
        self._frames: list[pl.DataFrame] = []

    def add(self, entries: pl.DataFrame) -> None:
        if entries.height:
            self._frames.append(entries)

    def frame(self, dataset: str, submission_id: str) -> pl.DataFrame:
        entries = pl.concat(self._frames) if self._frames else pl.DataFrame(schema=ENTRY_SCHEMA)
        return entries.select(
            pl.lit(dataset).alias("dataset"),
            "record_id",
            "version_id",
            "kind",
            "region",
            pl.lit(submission_id).alias("submission_id"),
        )


T = TypeVar("T")
_DONE = object()


class Prefetch(Generic[T]):
    """Iterate `source` in a worker thread, up to `depth` items ahead of the consumer.

    polars releases the GIL while it computes, so reading and validating chunk N+1 overlaps with
    storing chunk N. An exception in the worker is raised in the consumer; leaving the `with` block
    (also by an exception) stops the worker after its current item and closes `source`.
    """

    def __init__(self, source: Iterator[T], depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-prefetch", daemon=True)

    def __enter__(self) -> Iterator[T]:
        self._thread.start()
        return self._items()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a worker waiting to hand over an item
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _items(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            self._put(_Failure(error))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()


@dataclass(frozen=True)
class _Failure:
    error: BaseException
