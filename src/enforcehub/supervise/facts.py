"""Supervision facts and monthly rollups, kept from the change log by the internal consumer `supervision`.

`supervision_facts` holds one compact row per action record (its current version): who decided
what, when, for whom, how much, by which procedure, how fast it reached the hub — the columns the
rules and the dashboard need, typed, instead of the canonical JSON of `versions.data`.
`supervision_rollups` holds dataset × month × city × agency counts and sums of those facts.

Kept exactly like the portal's index (share/portal_index.py): pages of the change log after the
consumer's cursor (`acked_seq`); each page is applied in ONE write transaction that replaces the facts
of the page's records, adds the difference their change makes to the rollups (new contribution
minus old contribution: a revocation moves a record from `effective` to not, a corrected fine moves
the sums) and acknowledges the page. So facts, rollups and cursor always agree, whatever crashes,
and the rollups always equal a GROUP BY over the facts. A change older than the fact already kept
for its record (a replay) changes nothing.

Vectorised: a page is decoded with one `json_decode` and turned into facts with polars expressions;
the only per-distinct-value work is the statutory fine ceiling (per distinct legal-basis text).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine

from enforcehub.pipeline.normalise import ACT_DATE_CANDIDATES
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store import feeds
from enforcehub.store import supervision as store
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.supervise.calendar import working_days_between
from enforcehub.supervise.derived import apply_derived
from enforcehub.supervise.statutes import statutory_max_cents
from enforcehub.validate.columns import separators_class

CONSUMER = "supervision"
PROFILE = "supervision-platform"  # the 执法监督 profile: every change, full fidelity
TITLE = "执法监督（事实表与汇总）"
ACTION_DATASETS = ("penalty", "license", "coercion", "inspection", "levy", "requisition")
PAGE_CHANGES = 5000
REQUEST_MAX_PAGES = 5
LOCAL_TZ = "Asia/Shanghai"
# Working days from the act to its first receipt by the hub counted as reported on time: 行政处罚、行政许可
# decisions are to be public within 7 working days (国办发〔2018〕118号) and the hub publishes on receipt;
# other 执法决定 within 20 working days.
REPORTING_DEADLINES = {"penalty": 7, "license": 7}
DEFAULT_REPORTING_DEADLINE = 20
NOT_EFFECTIVE = ("03", "04", "05")  # record_status 撤销, 确认违法, 确认无效
NATURAL_PERSON = "自然人"

# Elements read from a version's canonical JSON (every value a string or null).
FIELDS = (
    "agency_uscc",
    "agency_name",
    "region_code",
    "decision_date",
    "inspection_time",
    "received_date",
    "start_date",
    "version_date",
    "filing_date",
    "status",
    "counterparty_category",
    "counterparty_uscc",
    "matter_code",
    "violation_type",
    "procedure_type",
    "penalty_kinds",
    "fine_amount",
    "legal_basis",
    "officer_cert_numbers",
    "major_decision",
    "hearing_date",
    "legal_review_date",
    "coercion_type",
    "measure",
    "measure_start_date",
    "measure_end_date",
    "extended",
    "release_date",
    "closing_date",
    "published_date",
    "publish",
    "minor_involved",
    "publicity_status",
)

_REFRESH_LOCK = threading.Lock()


@dataclass(frozen=True)
class FactsRefresh:
    """What one refresh did: pages applied, changes read, fact rows written, time taken."""

    pages: int = 0
    changes: int = 0
    facts: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


# --- the pure part: a page of changes → fact rows → rollup contributions --------------------------------


def _text(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars()


def _date(name: str) -> pl.Expr:
    return pl.col(name).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _flag(name: str) -> pl.Expr:
    return pl.when(pl.col(name) == "true").then(True).when(pl.col(name) == "false").then(False)


def _deadline() -> pl.Expr:
    expr = pl.lit(DEFAULT_REPORTING_DEADLINE)
    for dataset, days in REPORTING_DEADLINES.items():
        expr = pl.when(pl.col("dataset") == dataset).then(days).otherwise(expr)
    return expr


def facts_of(page: pl.DataFrame, *, separators: str, first_received: pl.DataFrame) -> pl.DataFrame:
    """Fact rows (FACT_SCHEMA) for the records of a page of changes (store.feeds.read_changes, in seq
    order): one per record, from its last change in the page. `first_received` maps record_id to the
    time version 1 reached the hub for records whose version 1 is not in the page."""
    if not page.height:
        return pl.DataFrame(schema=store.FACT_SCHEMA)
    in_page = (
        page.filter(pl.col("_version") == 1)
        .group_by("_record_id")
        .agg(pl.col("_received_at").first().alias("__v1"))
        .rename({"_record_id": "record_id"})
    )
    latest = page.unique("_record_id", keep="last", maintain_order=True)
    decoded = latest["data"].str.json_decode(dtype=pl.Struct({name: pl.Utf8 for name in FIELDS}))
    frame = (
        latest.select(
            pl.col("_record_id").alias("record_id"),
            "dataset",
            pl.col("_key").alias("business_key"),
            pl.col("_version").alias("version_no"),
            pl.col("_seq").alias("seq"),
            pl.col("_region").alias("region"),
            pl.col("_received_at").alias("__this"),
        )
        .with_columns(decoded.struct.unnest())
        .join(in_page, on="record_id", how="left")
        .join(
            first_received.select("record_id", pl.col("first_received_at").alias("__known")),
            on="record_id",
            how="left",
        )
    )
    certs = (
        _text("officer_cert_numbers")
        .str.replace_all(separators, ";")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique()
        .list.sort()
    )
    category = _text("counterparty_category")
    act_date = pl.coalesce([_date(name) for name in ACT_DATE_CANDIDATES if name in FIELDS])
    region = pl.coalesce(pl.col("region"), _text("region_code"))
    first = pl.coalesce(pl.col("__v1"), pl.col("__known"), pl.col("__this"))
    received_day = pl.col("first_received_at").dt.convert_time_zone(LOCAL_TZ).dt.date()
    frame = frame.with_columns(
        region.alias("region"),
        pl.when(region == "440000").then(region).otherwise(region.str.slice(0, 4) + "00").alias("city"),
        act_date.alias("act_date"),
        first.alias("first_received_at"),
        certs.alias("__certs"),
        pl.when(pl.col("dataset") == "penalty").then(_text("legal_basis")).alias("legal_basis"),
    ).with_columns(
        pl.col("act_date").dt.strftime("%Y-%m").alias("act_month"),
        working_days_between(pl.col("act_date"), received_day).alias("report_lag_wd"),
    )
    maxima = statutory_max_cents(frame["legal_basis"], frame.select(_date("decision_date")).to_series())
    status = _text("status")
    fine = _text("fine_amount").cast(pl.Float64, strict=False)
    facts = frame.with_columns(maxima.alias("statutory_max_cents")).select(
        "record_id",
        "dataset",
        "business_key",
        "version_no",
        "seq",
        _text("agency_uscc").str.to_uppercase().alias("agency_uscc"),
        _text("agency_name").alias("agency_name"),
        "region",
        "city",
        "act_date",
        "act_month",
        _date("decision_date").alias("decision_date"),
        _date("filing_date").alias("filing_date"),
        pl.col("first_received_at").cast(pl.Datetime("us", "UTC")),
        "report_lag_wd",
        (pl.col("report_lag_wd") > _deadline()).alias("reported_late"),
        status.alias("status"),
        (status.is_null() | ~status.is_in(NOT_EFFECTIVE)).alias("effective"),
        category.alias("counterparty_category"),
        pl.when(category != NATURAL_PERSON)
        .then(_text("counterparty_uscc").str.to_uppercase())
        .alias("counterparty_code"),
        _text("matter_code").alias("matter_code"),
        _text("violation_type").alias("violation_type"),
        _text("procedure_type").alias("procedure_type"),
        _text("penalty_kinds").str.split(";").list.sort().list.join(";").alias("penalty_kinds"),
        (fine * 100).round(0).cast(pl.Int64).alias("fine_cents"),
        "statutory_max_cents",
        pl.col("__certs").list.len().cast(pl.Int64).alias("officer_count"),
        pl.col("__certs").list.join(";").alias("officer_certs"),
        _flag("major_decision").alias("major_decision"),
        _date("hearing_date").alias("hearing_date"),
        _date("legal_review_date").alias("legal_review_date"),
        _text("coercion_type").alias("coercion_type"),
        _text("measure").alias("measure"),
        _date("measure_start_date").alias("measure_start_date"),
        _date("measure_end_date").alias("measure_end_date"),
        _flag("extended").alias("extended"),
        _date("release_date").alias("release_date"),
        _date("closing_date").alias("closing_date"),
        _date("published_date").alias("published_date"),
        _flag("publish").alias("publish"),
        _flag("minor_involved").alias("minor_involved"),
        _text("publicity_status").alias("publicity_status"),
    )
    # A record without any officer number has no count (not "0 officers").
    facts = facts.with_columns(
        pl.when(pl.col("officer_certs") != "").then(pl.col("officer_count")).alias("officer_count"),
        pl.when(pl.col("officer_certs") != "").then(pl.col("officer_certs")).alias("officer_certs"),
    )
    return facts.cast(store.FACT_SCHEMA).select(list(store.FACT_SCHEMA))  # type: ignore[arg-type]


def rollup_contributions(facts: pl.DataFrame) -> pl.DataFrame:
    """Each fact's contribution to its rollup row (the key columns, then one value per measure)."""
    effective = pl.col("effective").fill_null(False)
    fined = effective & (pl.col("fine_cents").fill_null(0) > 0)
    return facts.select(
        pl.col("dataset"),
        pl.col("act_month").fill_null("").alias("month"),
        pl.col("city").fill_null("").alias("city"),
        pl.col("agency_uscc").fill_null("").alias("agency_uscc"),
        pl.lit(1, dtype=pl.Int64).alias("records"),
        effective.cast(pl.Int64).alias("effective"),
        (pl.col("reported_late") == False).fill_null(False).cast(pl.Int64).alias("reported_on_time"),  # noqa: E712
        (pl.col("reported_late") == True).fill_null(False).cast(pl.Int64).alias("reported_late"),  # noqa: E712
        fined.cast(pl.Int64).alias("fined"),
        pl.when(fined).then(pl.col("fine_cents")).otherwise(0).cast(pl.Int64).alias("fines_cents"),
        (effective & pl.col("major_decision").fill_null(False)).cast(pl.Int64).alias("major_decisions"),
    )


def rollups_from_facts(facts: pl.DataFrame) -> pl.DataFrame:
    """The rollups as a from-scratch GROUP BY over facts (what the kept table must always equal)."""
    key = list(store.ROLLUP_KEY)
    return (
        rollup_contributions(facts)
        .group_by(key)
        .agg(pl.col(m).sum().cast(pl.Int64) for m in store.ROLLUP_MEASURES)
        .sort(key)
    )


def rollup_deltas(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """New contributions minus old ones, summed per rollup row; rows with no change dropped."""
    key = list(store.ROLLUP_KEY)
    minus = rollup_contributions(old).with_columns(pl.col(m) * -1 for m in store.ROLLUP_MEASURES)
    summed = (
        pl.concat([rollup_contributions(new), minus], how="vertical")
        .group_by(key)
        .agg(pl.col(m).sum().cast(pl.Int64) for m in store.ROLLUP_MEASURES)
    )
    changed = pl.any_horizontal([pl.col(m) != 0 for m in store.ROLLUP_MEASURES])
    return summed.filter(changed).sort(key)


# --- the consumer -------------------------------------------------------------------------------------


def _ensure(engine: Engine, standard: Standard) -> dict[str, Any]:
    """The `supervision` consumer (internal, profile supervision-platform), registered when missing."""
    from enforcehub.share.consumers import ensure_internal_consumer

    return ensure_internal_consumer(engine, name=CONSUMER, profile=PROFILE, title=TITLE, standard=standard)


def is_behind(conn: Connection) -> bool:
    """Cheap: changes were committed after the consumer's cursor (or it is not registered yet).
    A paused consumer is never behind: the operator stopped it."""
    row = consumer_store.get_consumer(conn, CONSUMER)
    if row is None:
        return True
    return row["state"] == "active" and int(row["acked_seq"]) < feeds.last_seq(conn)


def refresh_facts(
    engine: Engine,
    standard: Standard | None = None,
    *,
    max_pages: int | None = None,
    page_size: int = PAGE_CHANGES,
) -> FactsRefresh:
    """Apply the change log after the `supervision` consumer's cursor to the facts and rollups, one write
    transaction per page of `page_size` changes, until caught up (or `max_pages`)."""
    with _REFRESH_LOCK:
        return _refresh(engine, standard, max_pages, page_size)


def refresh_if_behind(
    engine: Engine,
    standard: Standard | None = None,
    *,
    max_pages: int = REQUEST_MAX_PAGES,
    wait: float = 10.0,
) -> FactsRefresh:
    """refresh_facts when the cheap check says the facts are behind (for request handlers): waits up to
    `wait` seconds for a refresh running in another thread, then serves what is there."""
    with read_transaction(engine) as conn:
        if not is_behind(conn):
            return FactsRefresh()
    if not _REFRESH_LOCK.acquire(timeout=wait):
        return FactsRefresh()
    try:
        return _refresh(engine, standard, max_pages, PAGE_CHANGES)
    finally:
        _REFRESH_LOCK.release()


def rebuild_facts(engine: Engine, standard: Standard | None = None) -> FactsRefresh:
    """Empty facts and rollups, move the cursor back to 0 and replay the whole change log (after an
    upgrade of the law registry or of the facts' definition)."""
    std = _standard(standard)
    with _REFRESH_LOCK:
        _ensure(engine, std)
        with write_transaction(engine) as conn:
            consumer_store.get_consumer(conn, CONSUMER, for_update=True)
            store.clear_supervision(conn)
            consumer_store.update_consumer(conn, CONSUMER, now=dt.datetime.now(dt.UTC), acked_seq=0)
        return _refresh(engine, std, None, PAGE_CHANGES)


def _standard(standard: Standard | None) -> Standard:
    if standard is not None:
        return standard
    from enforcehub.standard.loader import standard as load_standard

    return load_standard()


def _refresh(
    engine: Engine, standard: Standard | None, max_pages: int | None, page_size: int
) -> FactsRefresh:
    started = time.perf_counter()
    std = _standard(standard)
    _ensure(engine, std)
    separators = separators_class(std.meta.multi_value_separators)
    pages = changes = written = 0
    while max_pages is None or pages < max_pages:
        with read_transaction(engine) as conn:  # cheap: no write lock while there is nothing to do
            if not is_behind(conn):
                break
        with write_transaction(engine) as conn:
            read, facts, more = _apply_page(conn, separators, page_size)
        if read < 0:
            break
        pages, changes, written = pages + 1, changes + read, written + facts
        if not more:
            break
    return FactsRefresh(pages, changes, written, time.perf_counter() - started)


def _apply_page(conn: Connection, separators: str, page_size: int) -> tuple[int, int, bool]:
    """One page inside the caller's write transaction: (changes of the log looked at, or -1 when there
    was nothing to do; fact rows written; more to read)."""
    row = consumer_store.get_consumer(conn, CONSUMER, for_update=True)  # serialises refreshes (PostgreSQL)
    if row is None or row["state"] != "active":
        return -1, 0, False
    after = int(row["acked_seq"])
    until = feeds.last_seq(conn)  # every change up to here is committed (commit-ordered numbering)
    if after >= until:
        return -1, 0, False
    page, last, more = store.read_action_changes(
        conn, after=after, until=until, limit=page_size, datasets=ACTION_DATASETS
    )
    written = apply_changes(conn, page, separators=separators) if page.height else 0
    # A page that is not full saw every change up to `until`: the cursor passes the reference datasets'
    # changes too, so the cheap check does not stay "behind" after them.
    position = last if more else until
    consumer_store.ack(conn, CONSUMER, seq=position, now=dt.datetime.now(dt.UTC))
    return position - after, written, more


def apply_changes(conn: Connection, page: pl.DataFrame, *, separators: str) -> int:
    """Replace the facts of a page's records and move the rollups by the difference (inside the
    caller's transaction); returns the fact rows written. Changes not newer than the kept fact of their
    record (a replay) are skipped."""
    ids = page["_record_id"].unique().sort().to_list()
    old = store.read_facts(conn, record_ids=ids)
    known = old.select("record_id", "first_received_at")
    v1_in_page = set(page.filter(pl.col("_version") == 1)["_record_id"].to_list())
    kept = set(known["record_id"].to_list())
    missing = [i for i in ids if i not in v1_in_page and i not in kept]
    if missing:
        found = store.first_receipts(conn, missing)
        extra = pl.DataFrame(
            {"record_id": list(found), "first_received_at": list(found.values())},
            schema={"record_id": pl.Int64, "first_received_at": pl.Datetime("us", "UTC")},
        )
        known = pl.concat([known, extra], how="vertical")
    new = facts_of(page, separators=separators, first_received=known)
    stored_seq = old.select("record_id", pl.col("seq").alias("__old_seq"))
    new = (
        new.join(stored_seq, on="record_id", how="left")
        .filter(pl.col("__old_seq").is_null() | (pl.col("seq") > pl.col("__old_seq")))
        .drop("__old_seq")
    )
    if not new.height:
        return 0
    replaced = old.filter(pl.col("record_id").is_in(new["record_id"].implode()))
    deltas = rollup_deltas(replaced, new)
    store.replace_facts(conn, record_ids=new["record_id"].to_list(), facts=new)
    store.apply_rollup_deltas(conn, deltas)
    apply_derived(conn, replaced, new)  # the dashboard's rollups and timeliness rows, same transaction
    return new.height
