"""及时性 Timeliness, from supervision_facts: records reported within their deadline (working days),
penalty decisions publicized within 7 working days, penalties decided within 90 days of 立案, 查封/扣押
released within 30 (60) days, revoked decisions whose publicity is not reported withdrawn.

The same definitions as the alert rules (supervise/rules/late-publicity.yaml, decision-overdue.yaml,
seizure-overdue.yaml), with the vectorised working-day calendar (supervise/calendar.py). Definitions:
docs/supervision.md, "Dashboard pages".

Two ways to the same figures: for the province and a city (the usual scopes) from the dataset × month ×
city and month × city × agency rollups and the timeliness rows (supervise/derived.py: counts grouped
in SQL, the lists' records found through indexes, only those few hundred facts read); for a narrower
scope (a district) from the facts of the period (`measures`, the reference computation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from enforcehub.store import supervision as store
from enforcehub.store.schema import supervision_facts
from enforcehub.store.supervision import FACT_SCHEMA, _copy_frame, _frame
from enforcehub.supervise.calendar import (
    FIRST_OFFICIAL_YEAR,
    LAST_OFFICIAL_YEAR,
    count_working_days,
    working_days_between,
)
from enforcehub.supervise.derived import (
    DECISION_DAYS,
    NOT_EFFECTIVE,
    ORDINARY,
    PENALTY,
    SEIZURE,
    SEIZURE_LIMIT,
    TO_PUBLISH,
    WITHDRAWN,
    publicity_deadline,
)
from enforcehub.supervise.facts import ACTION_DATASETS
from enforcehub.supervise.pages.common import DATASET_TITLES, city_label, months, today
from enforcehub.supervise.view import Card, Chart, Column, Page, Scope, TableView, page

TOP = 200
EPOCH = dt.date(1970, 1, 1)
AGENCY_LIMIT = 100
RECORD_LINK = "/dashboard/record/{dataset}/{record_id}"
COLUMNS = (
    "record_id",
    "dataset",
    "business_key",
    "agency_uscc",
    "agency_name",
    "city",
    "act_date",
    "act_month",
    "decision_date",
    "filing_date",
    "first_received_at",
    "report_lag_wd",
    "reported_late",
    "status",
    "effective",
    "procedure_type",
    "coercion_type",
    "measure",
    "measure_start_date",
    "extended",
    "release_date",
    "closing_date",
    "published_date",
    "publish",
    "minor_involved",
    "publicity_status",
)


def _as_of(params: Mapping[str, str]) -> dt.date:
    text = params.get("as_of")
    if not text:
        return today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"as_of is not a date (YYYY-MM-DD): {text!r}") from None


def read_period(conn: Connection, scope: Scope, month_from: str, month_to: str) -> pl.DataFrame:
    """The facts (COLUMNS) of the action records of the months in scope, filtered in SQL (index
    dataset, city, act_month); read with COPY on PostgreSQL like store.supervision.read_facts."""
    t = supervision_facts.c
    query = select(*(t[n] for n in COLUMNS)).where(
        t.dataset.in_(list(ACTION_DATASETS)), t.act_month >= month_from, t.act_month <= month_to
    )
    if scope.region_prefix is not None:
        query = query.where(t.region.startswith(scope.region_prefix, autoescape=True))
    schema = {n: FACT_SCHEMA[n] for n in COLUMNS}
    if conn.dialect.name == "postgresql":
        return _copy_frame(conn, query, schema)
    return _frame(list(conn.execute(query).cursor.fetchall()), schema)


def measures(facts: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Each fact with the timeliness flags (null: the measure does not apply to the record)."""
    penalty, to_publish, ordinary, seizure, limit = PENALTY, TO_PUBLISH, ORDINARY, SEIZURE, SEIZURE_LIMIT
    deadline = publicity_deadline()
    published_end = pl.coalesce(pl.col("published_date"), pl.lit(as_of))
    held_until = pl.coalesce(pl.col("release_date"), pl.col("closing_date"), pl.lit(as_of))
    return facts.with_columns(
        pl.when(to_publish).then(deadline).alias("publicity_deadline"),
        pl.when(to_publish)
        .then(working_days_between(pl.col("decision_date"), published_end))
        .alias("publicity_lag_wd"),
        pl.when(to_publish & (deadline < published_end))
        .then(True)
        .when(to_publish)
        .then(False)
        .alias("publicized_late"),
        pl.when(to_publish & pl.col("published_date").is_null() & (deadline < as_of))
        .then(True)
        .when(to_publish)
        .then(False)
        .alias("unpublished_overdue"),
        pl.when(to_publish)
        .then(pl.col("decision_date").dt.year().is_between(FIRST_OFFICIAL_YEAR, LAST_OFFICIAL_YEAR))
        .alias("official_calendar"),
        pl.when(ordinary & pl.col("filing_date").is_not_null() & pl.col("decision_date").is_not_null())
        .then((pl.col("decision_date") - pl.col("filing_date")).dt.total_days())
        .alias("decision_days"),
        pl.when(seizure).then(limit).alias("seizure_limit"),
        pl.when(seizure).then((held_until - pl.col("measure_start_date")).dt.total_days()).alias("held_days"),
        pl.when(seizure)
        .then(pl.col("release_date").is_null() & pl.col("closing_date").is_null())
        .alias("still_held"),
        pl.when(penalty & pl.col("status").is_in(NOT_EFFECTIVE))
        .then(~pl.col("publicity_status").fill_null("").is_in(WITHDRAWN))
        .alias("not_withdrawn"),
    ).with_columns(
        pl.when(pl.col("decision_days").is_not_null())
        .then(pl.col("decision_days") > DECISION_DAYS)
        .alias("decided_late"),
        pl.when(pl.col("held_days").is_not_null())
        .then(pl.col("held_days") > pl.col("seizure_limit"))
        .alias("seizure_overdue"),
    )


def _pct(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 1) if whole else None


def _count(frame: pl.DataFrame, column: str) -> tuple[int, int]:
    """(records where the flag is true, records where it applies)."""
    values = frame[column]
    return int(values.sum() or 0), int(values.is_not_null().sum())


def _day(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else None


@dataclass
class Figures:
    """What the page shows, however computed: totals, per city, per agency (top AGENCY_LIMIT), and the
    facts with their measures that the record lists are taken from (all of the period, or a superset
    of each list's first TOP)."""

    totals: dict[str, int]
    by_city: pl.DataFrame
    by_agency: pl.DataFrame
    listed: pl.DataFrame


CITY_COLUMNS = (
    "records",
    "reported_late",
    "reportable",
    "publicized_late",
    "to_publish",
    "decided_late",
    "ordinary",
    "seizure_overdue",
    "seizures",
)
AGENCY_COLUMNS = (
    "records",
    "reported_late",
    "reportable",
    "publicized_late",
    "decided_late",
    "seizure_overdue",
    "not_withdrawn",
)


def _issues(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.with_columns(
            (
                pl.col("reported_late")
                + pl.col("publicized_late")
                + pl.col("decided_late")
                + pl.col("seizure_overdue")
                + pl.col("not_withdrawn")
            ).alias("issues")
        )
        .sort(["issues", "records", "agency_uscc"], descending=[True, True, False])
        .head(AGENCY_LIMIT)
    )


def from_facts(conn: Connection, scope: Scope, month_from: str, month_to: str, as_of: dt.date) -> Figures:
    """The reference computation: every fact of the period in scope, with its measures."""
    frame = measures(read_period(conn, scope, month_from, month_to), as_of)
    totals: dict[str, int] = {"records": frame.height}
    for name, (flag, whole) in {
        "late_reports": ("reported_late", "reportable"),
        "late_publicity": ("publicized_late", "to_publish"),
        "unpublished": ("unpublished_overdue", ""),
        "decided_late": ("decided_late", "ordinary"),
        "seizures_overdue": ("seizure_overdue", "seizures"),
        "not_withdrawn": ("not_withdrawn", "revoked"),
    }.items():
        part, applies = _count(frame, flag)
        totals[name] = part
        if whole:
            totals[whole] = applies
    by_city = (
        frame.group_by("city")
        .agg(
            pl.len().alias("records"),
            pl.col("reported_late").sum().alias("reported_late"),
            pl.col("reported_late").is_not_null().sum().alias("reportable"),
            pl.col("publicized_late").sum().alias("publicized_late"),
            pl.col("publicized_late").is_not_null().sum().alias("to_publish"),
            pl.col("decided_late").sum().alias("decided_late"),
            pl.col("decided_late").is_not_null().sum().alias("ordinary"),
            pl.col("seizure_overdue").sum().alias("seizure_overdue"),
            pl.col("seizure_overdue").is_not_null().sum().alias("seizures"),
        )
        .sort("city")
    )
    by_agency = _issues(
        frame.group_by("agency_uscc").agg(
            pl.col("agency_name").drop_nulls().first(),
            pl.col("city").first(),
            pl.len().alias("records"),
            pl.col("reported_late").sum().alias("reported_late"),
            pl.col("reported_late").is_not_null().sum().alias("reportable"),
            pl.col("publicized_late").sum().alias("publicized_late"),
            pl.col("decided_late").sum().alias("decided_late"),
            pl.col("seizure_overdue").sum().alias("seizure_overdue"),
            pl.col("not_withdrawn").sum().alias("not_withdrawn"),
        )
    )
    return Figures(totals, by_city, by_agency, frame)


def _not_due(conn: Connection, scope: Scope, month_from: str, month_to: str, as_of: dt.date) -> pl.DataFrame:
    """Open cases not late on as_of, per kind, city and agency ('' for unknown, as in the rollups)."""
    return store.open_not_due(
        conn, month_from=month_from, month_to=month_to, region_prefix=scope.region_prefix, as_of=as_of
    ).with_columns(pl.col("city", "agency_uscc").fill_null(""))


def _minus_not_due(frame: pl.DataFrame, not_due: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """publicized_late and seizure_overdue on as_of: the closed cases that were late plus the open cases
    minus those not yet due."""
    pending = (
        not_due.group_by(on).agg(
            pl.col("n").filter(pl.col("kind") == "unpublished").sum().alias("__unpublished"),
            pl.col("n").filter(pl.col("kind") == "held").sum().alias("__held"),
        )
        if not_due.height
        else pl.DataFrame(schema={**{c: pl.Utf8 for c in on}, "__unpublished": pl.Int64, "__held": pl.Int64})
    )
    return (
        frame.join(pending, on=on, how="left")
        .with_columns(pl.col("__unpublished", "__held").fill_null(0))
        .with_columns(
            (pl.col("published_late") + pl.col("unpublished") - pl.col("__unpublished")).alias(
                "publicized_late"
            ),
            (pl.col("unpublished") - pl.col("__unpublished")).alias("unpublished_overdue"),
            (pl.col("seizures_closed_late") + pl.col("still_held") - pl.col("__held")).alias(
                "seizure_overdue"
            ),
            (pl.col("reported_on_time") + pl.col("reported_late")).alias("reportable"),
        )
    )


def _last_day_with_lag(day: dt.date, as_of: dt.date) -> dt.date:
    """The last day after `day` (before as_of) from which as many working days run to as_of."""
    lag = count_working_days(day, as_of)
    while day + dt.timedelta(days=1) < as_of and count_working_days(day + dt.timedelta(days=1), as_of) == lag:
        day += dt.timedelta(days=1)
    return day


def _listed_ids(conn: Connection, scope: Scope, month_from: str, month_to: str, as_of: dt.date) -> list[int]:
    """Records that include each list's first TOP (ties included): each kind's rows are ranked as its
    list sorts, so SQL takes the first TOP through the index; an open case's lag grows with as_of and
    is the same for decisions a weekend or holiday apart, so the unpublished list takes every case
    sharing the lag of its TOP-th (measures() then sorts the candidates exactly as the reference)."""

    def ids(
        kind: str, limit: int | None = TOP, due_before: dt.date | None = None, rank_until: int | None = None
    ) -> list[tuple[int, int]]:
        return store.timeliness_ids(
            conn,
            kind,
            month_from=month_from,
            month_to=month_to,
            region_prefix=scope.region_prefix,
            limit=limit,
            due_before=due_before,
            rank_until=rank_until,
        )

    found: set[int] = set()
    for kind in ("report", "publicity", "decision", "seizure", "withdrawal"):
        found.update(r for r, _ in ids(kind))
    for kind in ("unpublished", "held"):  # ranked by their day (decision, start): the longest lag first
        first = ids(kind, due_before=as_of)
        found.update(r for r, _ in first)
        if len(first) == TOP:
            last = EPOCH + dt.timedelta(days=first[-1][1])
            until = _last_day_with_lag(last, as_of) if kind == "unpublished" else last
            found.update(r for r, _ in ids(kind, None, as_of, (until - EPOCH).days))
    return sorted(found)


def from_rollups(conn: Connection, scope: Scope, month_from: str, month_to: str, as_of: dt.date) -> Figures:
    """The same figures from the rollups and the timeliness rows (province or city scope)."""
    prefix = scope.region_prefix
    not_due = _not_due(conn, scope, month_from, month_to, as_of)
    cities = store.read_city_rollups(conn, month_from=month_from, month_to=month_to, city_prefix=prefix)
    summed = list(store.CITY_MEASURES)
    per_city = _minus_not_due(
        cities.group_by("city").agg(pl.col(m).sum() for m in summed), not_due, ["city"]
    ).sort("city")
    totals = {
        "records": int(per_city["records"].sum() or 0),
        "late_reports": int(per_city["reported_late"].sum() or 0),
        "reportable": int(per_city["reportable"].sum() or 0),
        "late_publicity": int(per_city["publicized_late"].sum() or 0),
        "to_publish": int(per_city["to_publish"].sum() or 0),
        "unpublished": int(per_city["unpublished_overdue"].sum() or 0),
        "decided_late": int(per_city["decided_late"].sum() or 0),
        "ordinary": int(per_city["ordinary"].sum() or 0),
        "seizures_overdue": int(per_city["seizure_overdue"].sum() or 0),
        "seizures": int(per_city["seizures"].sum() or 0),
        "not_withdrawn": int(per_city["not_withdrawn"].sum() or 0),
        "revoked": int(per_city["revoked"].sum() or 0),
    }
    by_city = per_city.select("city", *CITY_COLUMNS)
    agencies = store.agency_totals(
        conn,
        month_from=month_from,
        month_to=month_to,
        city_prefix=prefix,
        measures=(
            "records",
            "reported_on_time",
            "reported_late",
            "published_late",
            "unpublished",
            "decided_late",
            "seizures_closed_late",
            "still_held",
            "not_withdrawn",
        ),
    )
    per_agency = _minus_not_due(
        agencies, not_due.group_by("kind", "agency_uscc").agg(pl.col("n").sum()), ["agency_uscc"]
    )
    top = _issues(per_agency.select("agency_uscc", "city", *AGENCY_COLUMNS))
    names = store.agency_names(conn, top["agency_uscc"].to_list())
    by_agency = top.with_columns(
        pl.col("agency_uscc").replace_strict(names, default=None, return_dtype=pl.Utf8).alias("agency_name"),
        pl.when(pl.col("agency_uscc") != "").then(pl.col("agency_uscc")).alias("agency_uscc"),
        pl.when(pl.col("city") != "").then(pl.col("city")).alias("city"),
    )
    ids = _listed_ids(conn, scope, month_from, month_to, as_of)
    facts = (
        store.read_facts(conn, columns=COLUMNS, record_ids=ids)
        if ids
        else pl.DataFrame(schema={n: FACT_SCHEMA[n] for n in COLUMNS})
    )
    return Figures(totals, by_city, by_agency, measures(facts, as_of))


def figures(conn: Connection, scope: Scope, month_from: str, month_to: str, as_of: dt.date) -> Figures:
    """From the rollups for the province and a city; from the facts for a narrower region (the rollups
    are per city)."""
    prefix = scope.region_prefix
    if prefix is None or len(prefix) <= 4:  # city = region[:4] + "00": the same records either way
        return from_rollups(conn, scope, month_from, month_to, as_of)
    return from_facts(conn, scope, month_from, month_to, as_of)


@page("timeliness", "及时性", "Timeliness", order=30)
def timeliness(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    month_from, month_to = months(params, default_months=12)
    as_of = _as_of(params)
    en = scope.lang == "en"
    found = figures(conn, scope, month_from, month_to, as_of)
    totals, by_city, by_agency, frame = found.totals, found.by_city, found.by_agency, found.listed
    late_reports, reportable = totals["late_reports"], totals["reportable"]
    late_publicity, to_publish = totals["late_publicity"], totals["to_publish"]
    unpublished = totals["unpublished"]
    decided_late, ordinary = totals["decided_late"], totals["ordinary"]
    seizures_overdue, seizures = totals["seizures_overdue"], totals["seizures"]
    not_withdrawn, revoked = totals["not_withdrawn"], totals["revoked"]
    cities = [city_label(c, scope.lang) for c in by_city["city"].to_list()]

    def shares(part: str, whole: str) -> list[float | None]:
        return [_pct(int(p or 0), int(w or 0)) for p, w in by_city.select(part, whole).iter_rows()]

    record_columns = [
        Column("business_key", "记录", "Record", link=RECORD_LINK),
        Column("dataset_title", "类别", "Kind"),
        Column("agency_name", "执法主体", "Agency"),
        Column("city_name", "地市", "City"),
    ]

    def records_of(flag: str, order: str, extra: list[str]) -> list[dict[str, Any]]:
        hits = frame.filter(pl.col(flag).fill_null(False)).sort(
            [order, "record_id"], descending=[True, False], nulls_last=True
        )
        rows = []
        for row in hits.head(TOP).iter_rows(named=True):
            rows.append(
                {
                    "record_id": row["record_id"],
                    "dataset": row["dataset"],
                    "business_key": row["business_key"],
                    "dataset_title": DATASET_TITLES.get(row["dataset"], (row["dataset"],) * 2)[
                        1 if en else 0
                    ],
                    "agency_uscc": row["agency_uscc"],
                    "agency_name": row["agency_name"] or row["agency_uscc"],
                    "city_name": city_label(row["city"], scope.lang),
                    **{
                        name: _day(row[name]) if isinstance(row[name], dt.date) else row[name]
                        for name in extra
                    },
                }
            )
        return rows

    top_note = f"At most {TOP} records, the latest first." if en else f"最多 {TOP} 条，超期最多的在前。"
    return Page(
        slug="timeliness",
        title="及时性",
        title_en="Timeliness",
        filters={"month_from": month_from, "month_to": month_to, "as_of": as_of.isoformat()},
        cards=[
            Card("记录数", "Records", totals["records"]),
            Card(
                "逾期报送率",
                "Reported late",
                _pct(late_reports, reportable),
                unit="%",
                hint=f"{late_reports} / {reportable}",
            ),
            Card(
                "处罚决定逾期公示率",
                "Penalties publicized late",
                _pct(late_publicity, to_publish),
                unit="%",
                hint=f"{late_publicity} / {to_publish}"
                + (f"（其中未公示 {unpublished}）" if not en else f" ({unpublished} unpublished)"),
            ),
            Card(
                "超过90日作出处罚决定",
                "Penalties decided after 90 days",
                _pct(decided_late, ordinary),
                unit="%",
                hint=f"{decided_late} / {ordinary}",
            ),
            Card(
                "查封扣押超期",
                "Seizures beyond their period",
                _pct(seizures_overdue, seizures),
                unit="%",
                hint=f"{seizures_overdue} / {seizures}",
            ),
            Card(
                "撤销后未撤下公示",
                "Revoked, publicity not withdrawn",
                not_withdrawn,
                hint=f"{not_withdrawn} / {revoked}",
            ),
        ],
        charts=[
            Chart(
                "timeliness-by-city",
                "各市及时性（超期比例）",
                "Late shares by city",
                {
                    "tooltip": {"trigger": "axis"},
                    "legend": {},
                    "grid": {"bottom": 80},
                    "xAxis": {"type": "category", "data": cities, "axisLabel": {"rotate": 45}},
                    "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
                    "series": [
                        {
                            "name": "Reported late" if en else "逾期报送",
                            "type": "bar",
                            "data": shares("reported_late", "reportable"),
                        },
                        {
                            "name": "Publicized late" if en else "逾期公示",
                            "type": "bar",
                            "data": shares("publicized_late", "to_publish"),
                        },
                        {
                            "name": "Decided after 90 days" if en else "超90日决定",
                            "type": "bar",
                            "data": shares("decided_late", "ordinary"),
                        },
                        {
                            "name": "Seizures overdue" if en else "查封扣押超期",
                            "type": "bar",
                            "data": shares("seizure_overdue", "seizures"),
                        },
                    ],
                },
                height=360,
            )
        ],
        tables=[
            TableView(
                "late-reports",
                "逾期报送的记录",
                "Records reported late",
                [
                    *record_columns,
                    Column("act_date", "决定（检查）日期", "Act date"),
                    Column("received_date", "首次报送日期", "First received"),
                    Column("report_lag_wd", "间隔工作日", "Working days"),
                ],
                _with_received(records_of("reported_late", "report_lag_wd", ["act_date"]), frame),
                note=top_note,
            ),
            TableView(
                "late-publicity",
                "逾期公示的处罚决定",
                "Penalty decisions publicized late",
                [
                    *record_columns,
                    Column("decision_date", "决定日期", "Decision date"),
                    Column("publicity_deadline", "公示期限", "Deadline"),
                    Column("published_date", "公示日期", "Published"),
                    Column("publicity_lag_wd", "间隔工作日", "Working days"),
                ],
                records_of(
                    "publicized_late",
                    "publicity_lag_wd",
                    ["decision_date", "publicity_deadline", "published_date", "publicity_lag_wd"],
                ),
                note=top_note
                + (
                    " Not yet publicized: counted to the as_of day."
                    if en
                    else "未填公示日期的按截至 as_of 日计算。"
                ),
            ),
            TableView(
                "decided-late",
                "立案后超过90日作出决定的处罚",
                "Penalties decided more than 90 days after filing",
                [
                    *record_columns,
                    Column("filing_date", "立案日期", "Filed"),
                    Column("decision_date", "决定日期", "Decided"),
                    Column("decision_days", "间隔天数", "Days"),
                ],
                records_of(
                    "decided_late", "decision_days", ["filing_date", "decision_date", "decision_days"]
                ),
                note=top_note,
            ),
            TableView(
                "seizures-overdue",
                "超期的查封、扣押",
                "Seizures and impoundments beyond their period",
                [
                    *record_columns,
                    Column("measure_start_date", "起始日期", "Start"),
                    Column("release_date", "解除日期", "Released"),
                    Column("seizure_limit", "期限(日)", "Limit (days)"),
                    Column("held_days", "已持续(日)", "Held (days)"),
                    Column("still_held", "仍未解除", "Still held"),
                ],
                records_of(
                    "seizure_overdue",
                    "held_days",
                    ["measure_start_date", "release_date", "seizure_limit", "held_days", "still_held"],
                ),
                note=top_note,
            ),
            TableView(
                "not-withdrawn",
                "已撤销等但报送的公示状态未撤下的处罚",
                "Revoked penalties whose reported publicity is not withdrawn",
                [
                    *record_columns,
                    Column("status", "记录状态", "Status"),
                    Column("publicity_status", "公示状态", "Publicity status"),
                    Column("decision_date", "决定日期", "Decision date"),
                ],
                records_of("not_withdrawn", "decision_date", ["status", "publicity_status", "decision_date"]),
                note=(
                    "The facts carry neither the revocation date nor the withdrawal date: lateness cannot be "
                    "measured, only the reported state (the hub itself withdraws its publication on receipt)."
                    if en
                    else "事实表没有撤销日期和撤下公示日期，无法计算撤下是否逾期"
                    "（行政处罚法第四十八条：三个工作日），"
                    "只列出报送的公示状态仍为正常的记录（枢纽收到撤销后会自行撤下已推送的公示）。"
                ),
            ),
            TableView(
                "agencies",
                f"各执法主体及时性（问题最多的前{AGENCY_LIMIT}）",
                f"Timeliness by agency (top {AGENCY_LIMIT} by issues)",
                [
                    Column("agency_uscc", "执法主体代码", "Agency USCC"),
                    Column("agency_name", "执法主体", "Agency"),
                    Column("city_name", "地市", "City"),
                    Column("records", "记录数", "Records"),
                    Column("reported_late", "逾期报送", "Reported late"),
                    Column("reported_late_pct", "逾期报送率(%)", "Reported late (%)"),
                    Column("publicized_late", "逾期公示", "Publicized late"),
                    Column("decided_late", "超90日决定", "Decided after 90 days"),
                    Column("seizure_overdue", "查封扣押超期", "Seizures overdue"),
                    Column("not_withdrawn", "撤销未撤公示", "Not withdrawn"),
                ],
                [
                    {
                        **row,
                        "city_name": city_label(row["city"], scope.lang),
                        "reported_late_pct": _pct(
                            int(row["reported_late"] or 0), int(row["reportable"] or 0)
                        ),
                    }
                    for row in by_agency.iter_rows(named=True)
                ],
            ),
        ],
        notes=_notes(en, month_from, month_to, as_of),
    )


def _with_received(rows: list[dict[str, Any]], frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Add the first receipt day (Asia/Shanghai) and the lag to the late-report rows."""
    if not rows:
        return rows
    wanted = frame.filter(pl.col("record_id").is_in([r["record_id"] for r in rows])).select(
        "record_id",
        pl.col("first_received_at").dt.convert_time_zone("Asia/Shanghai").dt.date().alias("received"),
        "report_lag_wd",
    )
    by_id = {r: (day, lag) for r, day, lag in wanted.iter_rows()}
    return [
        {**r, "received_date": _day(by_id[r["record_id"]][0]), "report_lag_wd": by_id[r["record_id"]][1]}
        for r in rows
    ]


def _notes(en: bool, month_from: str, month_to: str, as_of: dt.date) -> list[str]:
    if en:
        return [
            "Records whose act month (decision date; inspections: their day) is in "
            f"{month_from} … {month_to}.",
            "Reported late: first receipt by the hub more than 7 working days (penalties, licences) or 20 "
            "(other decisions) after the act date; official calendar with 调休 (chinese-calendar), the "
            "start day not counted.",
            "Publicized late: effective penalties to be public (not marked private, no minor, publicity not "
            f"withdrawn) published after the 7th working day after the decision, or still unpublished on "
            f"{as_of.isoformat()} (as_of) with that day passed. Licences carry no publication date.",
            "Decided after 90 days: ordinary-procedure penalties decided more than 90 calendar days after "
            "filing; extensions and suspended periods are not in the data.",
            "Seizures: 查封/扣押 released (else closed, else still held on "
            f"{as_of.isoformat()}) more than 30 "
            "calendar days after their start, 60 when extended.",
            "Withdrawal after revocation: the facts carry no revocation or withdrawal date, so only revoked "
            "penalties whose reported publicity status is not withdrawn are listed.",
        ]
    return [
        f"统计执法决定（检查）月份在 {month_from} 至 {month_to} 的记录。",
        "逾期报送：首次报送到枢纽的日期晚于决定（检查）日期后第 7 个工作日（处罚、许可）或第 20 个工作日"
        "（其他决定）；按国务院节假日和调休安排（chinese-calendar）计算，起始日不计。",
        "逾期公示：应公开的有效处罚决定（未标不公开、不涉及未成年人、公示未撤下），公示日期晚于决定日期后第"
        f" 7 个工作日，或到 {as_of.isoformat()}（as_of）仍未公示且已过该日。行政许可没有公示日期数据元。",
        "超过90日：普通程序处罚的决定日期晚于立案日期后 90 个自然日；依法延长、中止的期间不在数据中。",
        f"查封扣押：解除日期（无则办结日期，都无则按 {as_of.isoformat()} 仍未解除）晚于起始日期后 30 日"
        "（经批准延长的 60 日）。",
        "撤销后撤下公示：事实表没有撤销日期和撤下日期，只能列出已撤销等而报送的公示状态仍未撤下的处罚。",
    ]
