"""What the dashboard reads instead of the facts: two coarser rollups and the timeliness rows.

Kept by the same deltas, in the same write transaction, as the facts and `supervision_rollups`
(supervise.facts.apply_changes), so they always equal a from-scratch computation over the facts
(`city_rollups_from_facts`, `agency_rollups_from_facts`, `timeliness_items`):

- `supervision_city_rollups`   dataset × month × city: the rollup measures and the timeliness counters
  (overview, the timeliness cards and chart);
- `supervision_agency_rollups` month × city × agency, the datasets summed with a count per dataset
  (the agency tables of overview, quality, timeliness and assessment);
- `supervision_timeliness`     one row per record and finding (late report, late publication, decided
  after 90 days, seizure beyond its period, publicity not withdrawn) ranked as the page's lists sort,
  and the open cases (unpublished decisions, measures still held) with the day they become late —
  whether an open case is late depends on the day asked (`as_of`), so the rollups count the
  open cases and the page subtracts those not yet due on that day.

The definitions are the timeliness page's (pages/timeliness.py `measures`, the reference computation
over the facts), split into the part that does not depend on `as_of`.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, select

from enforcehub.store import supervision as store
from enforcehub.store.schema import supervision_facts
from enforcehub.supervise.calendar import add_working_days_expr, working_days_between

PUBLICITY_WORKING_DAYS = 7
DECISION_DAYS = 90
SEIZURE_DAYS, SEIZURE_EXTENDED_DAYS = 30, 60
WITHDRAWN = ("1", "2")  # publicity_status 撤销, 删除
NOT_EFFECTIVE = ("03", "04", "05")
KINDS = ("report", "publicity", "unpublished", "decision", "seizure", "held", "withdrawal")
BACKFILL_BATCH = 200_000


# Which facts each timeliness measure applies to — one definition for the rollups kept here and for
# the timeliness page's computation over facts (pages/timeliness.py, a district's scope).
EFFECTIVE = pl.col("effective").fill_null(False)
PENALTY = pl.col("dataset") == "penalty"
TO_PUBLISH = (  # penalties to publicize within 7 working days of the decision
    PENALTY
    & EFFECTIVE
    & pl.col("decision_date").is_not_null()
    & pl.col("publish").fill_null(True)  # not said: to be published
    & ~pl.col("minor_involved").fill_null(False)
    & ~pl.col("publicity_status").fill_null("").is_in(WITHDRAWN)
)
ORDINARY = PENALTY & EFFECTIVE & (pl.col("procedure_type") == "02")  # 普通程序: 90 days from 立案
SEIZURE = (  # 查封、扣押 with a start date
    (pl.col("dataset") == "coercion")
    & EFFECTIVE
    & (pl.col("coercion_type") == "01")
    & pl.col("measure").is_in(["02", "03"])
    & pl.col("measure_start_date").is_not_null()
)
SEIZURE_LIMIT = (
    pl.when(pl.col("extended").fill_null(False)).then(SEIZURE_EXTENDED_DAYS).otherwise(SEIZURE_DAYS)
)


def publicity_deadline() -> pl.Expr:
    """The last day to publicize a decision (the calendar table is built on first use, not at import)."""
    return add_working_days_expr(pl.col("decision_date"), PUBLICITY_WORKING_DAYS)


def flags(facts: pl.DataFrame) -> pl.DataFrame:
    """The facts with the timeliness flags that do not depend on the day asked (prefixed `t_`)."""
    penalty, to_publish, seizure, limit = PENALTY, TO_PUBLISH, SEIZURE, SEIZURE_LIMIT
    deadline = publicity_deadline()
    published = pl.col("published_date").is_not_null()
    ordinary = ORDINARY & pl.col("filing_date").is_not_null() & pl.col("decision_date").is_not_null()
    ended = pl.coalesce(pl.col("release_date"), pl.col("closing_date"))
    revoked = penalty & pl.col("status").is_in(NOT_EFFECTIVE).fill_null(False)
    return facts.with_columns(
        to_publish.fill_null(False).alias("t_to_publish"),
        pl.when(to_publish).then(deadline).alias("t_deadline"),
        pl.when(to_publish & published)
        .then(working_days_between(pl.col("decision_date"), pl.col("published_date")))
        .alias("t_publicity_lag"),
        (to_publish & published & (deadline < pl.col("published_date")))
        .fill_null(False)
        .alias("t_published_late"),
        (to_publish & ~published).fill_null(False).alias("t_unpublished"),
        ordinary.fill_null(False).alias("t_ordinary"),
        pl.when(ordinary)
        .then((pl.col("decision_date") - pl.col("filing_date")).dt.total_days())
        .alias("t_decision_days"),
        seizure.fill_null(False).alias("t_seizure"),
        pl.when(seizure).then(limit).alias("t_limit"),
        pl.when(seizure & ended.is_not_null())
        .then((ended - pl.col("measure_start_date")).dt.total_days())
        .alias("t_held_closed"),
        (seizure & ended.is_null()).fill_null(False).alias("t_still_held"),
        revoked.alias("t_revoked"),
        (revoked & ~pl.col("publicity_status").fill_null("").is_in(WITHDRAWN)).alias("t_not_withdrawn"),
    ).with_columns(
        (pl.col("t_decision_days") > DECISION_DAYS).fill_null(False).alias("t_decided_late"),
        (pl.col("t_held_closed") > pl.col("t_limit")).fill_null(False).alias("t_seizures_closed_late"),
    )


def _as_int(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(False).cast(pl.Int64)


def contributions(facts: pl.DataFrame, flagged: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each fact's contribution to its rows of the city and agency rollups: the key columns
    (dataset, month, city, agency_uscc; '' when unknown) and one value per measure."""
    effective = EFFECTIVE
    fined = effective & (pl.col("fine_cents").fill_null(0) > 0)
    return (flags(facts) if flagged is None else flagged).select(
        pl.col("dataset"),
        pl.col("act_month").fill_null("").alias("month"),
        pl.col("city").fill_null("").alias("city"),
        pl.col("agency_uscc").fill_null("").alias("agency_uscc"),
        pl.lit(1, dtype=pl.Int64).alias("records"),
        *(_as_int(pl.col("dataset") == name[2:]).alias(name) for name in store.DATASET_COUNTS),
        _as_int(effective).alias("effective"),
        _as_int(pl.col("reported_late") == False).alias("reported_on_time"),  # noqa: E712
        _as_int(pl.col("reported_late") == True).alias("reported_late"),  # noqa: E712
        _as_int(fined).alias("fined"),
        pl.when(fined).then(pl.col("fine_cents")).otherwise(0).cast(pl.Int64).alias("fines_cents"),
        _as_int(effective & pl.col("major_decision").fill_null(False)).alias("major_decisions"),
        _as_int(pl.col("t_to_publish")).alias("to_publish"),
        _as_int(pl.col("t_published_late")).alias("published_late"),
        _as_int(pl.col("t_unpublished")).alias("unpublished"),
        _as_int(pl.col("t_ordinary")).alias("ordinary"),
        _as_int(pl.col("t_decided_late")).alias("decided_late"),
        _as_int(pl.col("t_seizure")).alias("seizures"),
        _as_int(pl.col("t_seizures_closed_late")).alias("seizures_closed_late"),
        _as_int(pl.col("t_still_held")).alias("still_held"),
        _as_int(pl.col("t_revoked")).alias("revoked"),
        _as_int(pl.col("t_not_withdrawn")).alias("not_withdrawn"),
    )


def _grouped(parts: pl.DataFrame, table: str) -> pl.DataFrame:
    _target, key, measures = store.ROLLUP_TABLES[table]
    return parts.group_by(list(key)).agg(pl.col(m).sum().cast(pl.Int64) for m in measures).sort(list(key))


def city_rollups_from_facts(facts: pl.DataFrame) -> pl.DataFrame:
    """supervision_city_rollups as a from-scratch GROUP BY over facts."""
    return _grouped(contributions(facts), "supervision_city_rollups")


def agency_rollups_from_facts(facts: pl.DataFrame) -> pl.DataFrame:
    """supervision_agency_rollups as a from-scratch GROUP BY over facts."""
    return _grouped(contributions(facts), "supervision_agency_rollups")


def _deltas(old: pl.DataFrame, new: pl.DataFrame, table: str) -> pl.DataFrame:
    _target, _key, measures = store.ROLLUP_TABLES[table]
    minus = old.with_columns(pl.col(m) * -1 for m in measures)
    summed = _grouped(pl.concat([new, minus], how="vertical"), table)
    return summed.filter(pl.any_horizontal([pl.col(m) != 0 for m in measures]))


LAST = 2**62  # the rank of a row whose sort value is unknown: after every other (the reference's nulls last)


def _days(day: pl.Expr) -> pl.Expr:
    """A date as days since 1970-01-01."""
    return day.cast(pl.Date).cast(pl.Int64)


def _highest(value: pl.Expr) -> pl.Expr:
    """Rank of a value listed highest first."""
    return -value.cast(pl.Int64)


def timeliness_items(facts: pl.DataFrame, flagged: pl.DataFrame | None = None) -> pl.DataFrame:
    """The supervision_timeliness rows of facts (TIMELINESS_SCHEMA): one per record and kind, `rank`
    ordering each kind's list as the page does (ascending, then record_id): the value highest first
    (report, publicity, decision, seizure: −value), the decision latest first (withdrawal: −day), the
    open case earliest first (unpublished, held: its decision or start day; the longest lag first)."""
    flagged = flags(facts) if flagged is None else flagged
    none_date = pl.lit(None, dtype=pl.Date)
    held_due = pl.col("measure_start_date") + pl.duration(days=pl.col("t_limit"))
    parts = [
        ("report", pl.col("reported_late").fill_null(False), _highest(pl.col("report_lag_wd")), none_date),
        ("publicity", pl.col("t_published_late"), _highest(pl.col("t_publicity_lag")), none_date),
        ("unpublished", pl.col("t_unpublished"), _days(pl.col("decision_date")), pl.col("t_deadline")),
        ("decision", pl.col("t_decided_late"), _highest(pl.col("t_decision_days")), none_date),
        ("seizure", pl.col("t_seizures_closed_late"), _highest(pl.col("t_held_closed")), none_date),
        ("held", pl.col("t_still_held"), _days(pl.col("measure_start_date")), held_due),
        (
            "withdrawal",
            pl.col("t_not_withdrawn").fill_null(False),
            -_days(pl.col("decision_date")),
            none_date,
        ),
    ]
    frames = [
        flagged.filter(condition).select(
            pl.col("record_id"),
            pl.lit(kind).alias("kind"),
            pl.col("dataset"),
            pl.col("act_month"),
            pl.col("city"),
            pl.col("region"),
            pl.col("agency_uscc"),
            rank.fill_null(LAST).alias("rank"),
            due.cast(pl.Date).alias("due"),
        )
        for kind, condition, rank, due in parts
    ]
    return pl.concat(frames, how="vertical").select(
        [pl.col(n).cast(t) for n, t in store.TIMELINESS_SCHEMA.items()]
    )


def apply_derived(conn: Connection, old: pl.DataFrame, new: pl.DataFrame) -> None:
    """Inside the facts' transaction: move the city and agency rollups by the difference between the
    replaced facts `old` and their new versions `new`, and replace the records' timeliness rows."""
    flagged = flags(new)  # once for both
    before, after = contributions(old), contributions(new, flagged)
    for table in ("supervision_city_rollups", "supervision_agency_rollups"):
        store.apply_rollup_deltas(conn, _deltas(before, after, table), table)
    store.replace_timeliness(
        conn, record_ids=new["record_id"].to_list(), items=timeliness_items(new, flagged)
    )


def fill_derived(conn: Connection, facts: pl.DataFrame) -> None:
    """Add facts that are not counted yet (a backfill, the benchmark's generated facts) to the city
    and agency rollups and the timeliness rows — what apply_derived does for a new record."""
    flagged = flags(facts)
    parts = contributions(facts, flagged)
    for table in ("supervision_city_rollups", "supervision_agency_rollups"):
        store.apply_rollup_deltas(conn, _grouped(parts, table), table)
    store.insert_timeliness(conn, timeliness_items(facts, flagged))


def backfill(conn: Connection, *, batch: int | None = None) -> int:
    """Fill the city and agency rollups and the timeliness rows from the facts already kept (a hub
    upgraded to the schema that added them), in batches of record ids; returns the facts read."""
    store.clear_dashboard_tables(conn)
    batch = batch or BACKFILL_BATCH
    after, done = -1, 0
    columns = list(store.FACT_SCHEMA)
    while True:
        ids = [
            int(r)
            for r in conn.execute(
                select(supervision_facts.c.record_id)
                .where(supervision_facts.c.record_id > after)
                .order_by(supervision_facts.c.record_id)
                .limit(batch)
            ).scalars()
        ]
        if not ids:
            return done
        facts = store.read_facts(conn, columns=columns, record_ids=ids)
        fill_derived(conn, facts)
        after, done = ids[-1], done + len(ids)
