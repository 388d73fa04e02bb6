"""考核 Assessment: a score per city and per agency for a period, from documented indicators.

The indicators, their definitions, formulas, weights and directions are declared in
`assessment.yaml` (next to this module) and documented in docs/supervision.md ("Assessment (考核)").
Every figure comes from small aggregates — the rollups of the period's months, grouped SQL over
`submissions` and `alerts` and the agency registry — never from a scan of the facts, so a score table
costs the same at 10,000,000 records as at 10,000.

One function, `assess`, computes the numbers; `score_table` turns them into the table the dashboard
page shows and `enforcehub report` writes — the page and the report cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import yaml
from sqlalchemy import Connection, and_, case, func, select

from enforcehub.errors import EnforcehubError
from enforcehub.store.schema import alerts, api_keys, submissions
from enforcehub.store.supervision import current_data, read_agency_rollups
from enforcehub.supervise.view import Column, TableView

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVINCE = "440000"
ACTION_DATASETS = ("penalty", "license", "coercion", "inspection", "levy", "requisition")
ACTIVE_AGENCY = "01"  # agency_status 有效
INDICATOR_IDS = ("coverage", "timeliness", "quality", "alerts_closed")
LEVELS = ("city", "agency")


class PeriodError(EnforcehubError, ValueError):
    """A period that cannot be parsed (a ValueError too: pages answer it with 422)."""

    code = "bad-period"


# --- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar period of whole months: [start, end) in Asia/Shanghai days."""

    label: str  # 2025Q4, 2025H1, 2025, 2025-10
    start: dt.date
    end: dt.date  # exclusive
    title: str  # 2025年第四季度
    title_en: str  # Q4 2025

    @property
    def months(self) -> list[str]:
        out: list[str] = []
        year, month = self.start.year, self.start.month
        while dt.date(year, month, 1) < self.end:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period's first and first-after instants (midnight, Asia/Shanghai) in UTC."""

        def at(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)

        return at(self.start), at(self.end)


def _month_start(year: int, month: int) -> dt.date:
    return dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


_CN_NUM = "一二三四"


def parse_period(text: str) -> Period:
    """`2025Q4` (quarter), `2025H1` (half year), `2025` (year) or `2025-10` (month)."""
    value = (text or "").strip().upper()
    match = re.fullmatch(r"(\d{4})(?:-?(Q)([1-4])|-?(H)([12])|-(\d{2}))?", value)
    if not match or not 2000 <= int(match.group(1)) <= 2099:
        raise PeriodError(
            f"考核期「{text}」无效，应为 2025Q4（季度）、2025H1（半年）、2025（年度）或 2025-10（月）",
            message_en=(
                f"bad period {text!r}: use 2025Q4 (quarter), 2025H1 (half year), 2025 (year) "
                "or 2025-10 (month)"
            ),
        )
    year = int(match.group(1))
    if match.group(2):
        q = int(match.group(3))
        start = dt.date(year, 3 * q - 2, 1)
        return Period(
            f"{year}Q{q}",
            start,
            _month_start(year, 3 * q + 1),
            f"{year}年第{_CN_NUM[q - 1]}季度",
            f"Q{q} {year}",
        )
    if match.group(4):
        h = int(match.group(5))
        start = dt.date(year, 6 * h - 5, 1)
        return Period(
            f"{year}H{h}",
            start,
            _month_start(year, 6 * h + 1),
            f"{year}年{'上' if h == 1 else '下'}半年",
            f"H{h} {year}",
        )
    if match.group(6):
        month = int(match.group(6))
        if not 1 <= month <= 12:
            raise PeriodError(
                f"考核期「{text}」的月份无效（01–12）", message_en=f"bad month in period {text!r} (01-12)"
            )
        return Period(
            f"{year}-{month:02d}",
            dt.date(year, month, 1),
            _month_start(year, month + 1),
            f"{year}年{month}月",
            f"{year}-{month:02d}",
        )
    return Period(str(year), dt.date(year, 1, 1), dt.date(year + 1, 1, 1), f"{year}年度", f"Year {year}")


def last_finished_quarter(today: dt.date | None = None) -> Period:
    """The quarter before today's (Asia/Shanghai)."""
    day = today or dt.datetime.now(SHANGHAI).date()
    quarter = (day.month - 1) // 3 + 1
    year, quarter = (day.year - 1, 4) if quarter == 1 else (day.year, quarter - 1)
    return parse_period(f"{year}Q{quarter}")


# --- indicators ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    title_en: str
    definition: str
    definition_en: str
    formula: str
    weight: float
    direction: str  # higher | lower


@functools.cache
def indicators() -> tuple[Indicator, ...]:
    """The declared indicators (assessment.yaml), checked: known ids, weights summing to 1."""
    text = resources.files("enforcehub.supervise").joinpath("assessment.yaml").read_text(encoding="utf-8")
    declared: list[dict[str, Any]] = yaml.safe_load(text)["indicators"]
    found = tuple(Indicator(**{**d, "weight": float(d["weight"])}) for d in declared)
    ids = [i.id for i in found]
    if sorted(ids) != sorted(INDICATOR_IDS) or any(i.direction not in ("higher", "lower") for i in found):
        raise EnforcehubError(f"assessment.yaml: unexpected indicators {ids}", code="standard-invalid")
    if abs(sum(i.weight for i in found) - 1) > 1e-9 or any(i.weight < 0 for i in found):
        raise EnforcehubError("assessment.yaml: weights must be ≥ 0 and sum to 1", code="standard-invalid")
    return found


# --- the computation -------------------------------------------------------------------------------


@dataclass
class Assessment:
    period: Period
    cities: pl.DataFrame  # one row per city (21 + 440000) in scope
    agencies: pl.DataFrame  # registered active agencies in scope, and any agency with records in the period


def _city_of(region: pl.Expr) -> pl.Expr:
    return pl.when(region == PROVINCE).then(region).otherwise(region.str.slice(0, 4) + "00")


def registry(conn: Connection) -> pl.DataFrame:
    """The agency registry's current versions: uscc, name, region, city, active."""
    rows = []
    for text in current_data(conn, "agency"):
        data = json.loads(text)
        rows.append(
            (
                data.get("agency_uscc"),
                data.get("agency_name"),
                data.get("region_code"),
                data.get("status") in (None, ACTIVE_AGENCY),
            )
        )
    frame = pl.DataFrame(
        rows,
        schema={"agency_uscc": pl.Utf8, "agency_name": pl.Utf8, "region": pl.Utf8, "active": pl.Boolean},
        orient="row",
    )
    return (
        frame.filter(pl.col("agency_uscc").is_not_null())
        .unique("agency_uscc", keep="last")
        .with_columns(_city_of(pl.col("region")).alias("city"))
    )


def _quality_rows(conn: Connection, period: Period) -> pl.DataFrame:
    """Finished, non-duplicate submissions received in the period, summed by the key's region and agency."""
    start, end = period.utc_bounds()
    s, k = submissions.c, api_keys.c
    query = (
        select(k.region, k.agency_uscc, func.sum(s.received), func.sum(s.accepted))
        .select_from(submissions.join(api_keys, api_keys.c.id == s.principal_id))
        .where(
            s.status == "done",
            s.duplicate_of.is_(None),
            s.received_at >= start,
            s.received_at < end,
        )
        .group_by(k.region, k.agency_uscc)
    )
    return pl.DataFrame(
        [tuple(r) for r in conn.execute(query)],
        schema={"key_region": pl.Utf8, "key_agency": pl.Utf8, "received": pl.Int64, "accepted": pl.Int64},
        orient="row",
    )


def _alert_rows(conn: Connection, period: Period) -> pl.DataFrame:
    a = alerts.c
    query = (
        select(a.agency_uscc, a.city, func.count(), func.sum(case((a.status == "closed", 1), else_=0)))
        .where(and_(a.act_date >= period.start, a.act_date < period.end))
        .group_by(a.agency_uscc, a.city)
    )
    return pl.DataFrame(
        [tuple(r) for r in conn.execute(query)],
        schema={
            "agency_uscc": pl.Utf8,
            "alert_city": pl.Utf8,
            "alerts": pl.Int64,
            "alerts_closed_n": pl.Int64,
        },
        orient="row",
    )


def _score(frame: pl.DataFrame) -> pl.DataFrame:
    """score = Σ wᵢ·100·sᵢ / Σ wᵢ over the indicators with a value; rank 1 = best (ties share a rank)."""
    weighted: list[pl.Expr] = []
    weights: list[pl.Expr] = []
    for ind in indicators():
        share = pl.col(ind.id) if ind.direction == "higher" else 1 - pl.col(ind.id)
        weighted.append((share * 100 * ind.weight).fill_null(0))
        weights.append(pl.when(pl.col(ind.id).is_not_null()).then(ind.weight).otherwise(0.0))
    total = pl.sum_horizontal(weights)
    frame = frame.with_columns(
        pl.when(total > 0).then(pl.sum_horizontal(weighted) / total).otherwise(None).round(1).alias("score")
    )
    return frame.with_columns(pl.col("score").rank("min", descending=True).cast(pl.Int64).alias("rank")).sort(
        ["rank", frame.columns[0]], nulls_last=True
    )


def _share(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def assess(conn: Connection, period: Period, region_prefix: str | None = None) -> Assessment:
    """Scores of every city (the 21 and 省直部门) and every agency in `region_prefix` (None = province)."""
    from enforcehub.supervise.pages.common import city_names

    n_months = len(period.months)
    agencies = registry(conn)
    rollups = read_agency_rollups(  # month × city × agency, the action datasets summed
        conn,
        month_from=period.months[0],
        month_to=period.months[-1],
        measures=("records", "reported_on_time", "reported_late"),
    )

    # coverage: (agency, month) pairs with ≥ 1 record, over active registered agencies × months
    months_with = (
        rollups.filter(pl.col("agency_uscc") != "")
        .group_by("agency_uscc", "month")
        .agg(pl.col("records").sum())
        .filter(pl.col("records") > 0)
        .group_by("agency_uscc")
        .agg(pl.len().cast(pl.Int64).alias("months_reported"))
    )
    by_agency = rollups.group_by("agency_uscc").agg(
        pl.col("records").sum(),
        pl.col("reported_on_time").sum().alias("on_time"),
        pl.col("reported_late").sum().alias("late"),
        pl.col("city").sort_by("records", descending=True).first().alias("records_city"),
    )
    quality = (
        _quality_rows(conn, period)
        .join(
            agencies.select("agency_uscc", pl.col("region").alias("registry_region")),
            left_on="key_agency",
            right_on="agency_uscc",
            how="left",
        )
        .with_columns(_city_of(pl.coalesce("key_region", "registry_region")).alias("city"))
    )
    alert_rows = (
        _alert_rows(conn, period)
        .join(
            agencies.select("agency_uscc", pl.col("city").alias("registry_city")),
            on="agency_uscc",
            how="left",
        )
        .with_columns(pl.coalesce("registry_city", "alert_city").alias("city"))
    )

    # --- agencies ---
    table = (
        agencies.select("agency_uscc", "agency_name", "region", "city", "active")
        .join(by_agency.filter(pl.col("agency_uscc") != ""), on="agency_uscc", how="full", coalesce=True)
        .filter(pl.col("active").fill_null(False) | (pl.col("records").fill_null(0) > 0))
        .with_columns(pl.coalesce("city", "records_city").alias("city"))
        .join(months_with, on="agency_uscc", how="left")
        .join(
            quality.filter(pl.col("key_agency").is_not_null())
            .group_by("key_agency")
            .agg(pl.col("received").sum(), pl.col("accepted").sum()),
            left_on="agency_uscc",
            right_on="key_agency",
            how="left",
        )
        .join(
            alert_rows.filter(pl.col("agency_uscc").is_not_null())
            .group_by("agency_uscc")
            .agg(pl.col("alerts").sum(), pl.col("alerts_closed_n").sum()),
            on="agency_uscc",
            how="left",
        )
        .with_columns(
            pl.col("records", "on_time", "late", "months_reported", "received", "accepted").fill_null(0),
            pl.col("alerts", "alerts_closed_n").fill_null(0),
            pl.when(pl.col("active").fill_null(False)).then(n_months).otherwise(0).alias("agency_months"),
        )
    )
    if region_prefix is not None:
        table = table.filter(
            pl.coalesce("region", "city").str.starts_with(region_prefix)
            | pl.col("city").str.starts_with(region_prefix)
        )
    table = table.with_columns(
        _share("months_reported", "agency_months").alias("coverage"),
        (pl.col("on_time") / (pl.col("on_time") + pl.col("late"))).fill_nan(None).alias("timeliness"),
        _share("accepted", "received").alias("quality"),
        _share("alerts_closed_n", "alerts").alias("alerts_closed"),
    )
    agency_frame = _score(
        table.select(
            "agency_uscc",
            pl.col("agency_name"),
            "city",
            "records",
            "months_reported",
            "agency_months",
            "on_time",
            "late",
            "received",
            "accepted",
            "alerts",
            "alerts_closed_n",
            *INDICATOR_IDS,
        )
    )

    # --- cities ---
    active = agencies.filter(pl.col("active"))
    city_coverage = (
        active.join(months_with, on="agency_uscc", how="left")
        .group_by("city")
        .agg(
            pl.len().cast(pl.Int64).alias("agencies"),
            pl.col("months_reported").fill_null(0).sum().alias("months_reported"),
        )
        .with_columns((pl.col("agencies") * n_months).alias("agency_months"))
    )
    city_records = rollups.group_by("city").agg(
        pl.col("records").sum(),
        pl.col("reported_on_time").sum().alias("on_time"),
        pl.col("reported_late").sum().alias("late"),
    )
    cities = pl.DataFrame({"city": list(city_names())}, schema={"city": pl.Utf8}).with_columns(
        pl.col("city").replace_strict(city_names(), default=None).alias("city_name")
    )
    city_table = (
        cities.join(city_coverage, on="city", how="left")
        .join(city_records, on="city", how="left")
        .join(
            quality.group_by("city").agg(pl.col("received").sum(), pl.col("accepted").sum()),
            on="city",
            how="left",
        )
        .join(
            alert_rows.group_by("city").agg(pl.col("alerts").sum(), pl.col("alerts_closed_n").sum()),
            on="city",
            how="left",
        )
        .with_columns(
            pl.col(
                "agencies",
                "months_reported",
                "agency_months",
                "records",
                "on_time",
                "late",
                "received",
                "accepted",
                "alerts",
                "alerts_closed_n",
            ).fill_null(0)
        )
        .with_columns(
            _share("months_reported", "agency_months").alias("coverage"),
            (pl.col("on_time") / (pl.col("on_time") + pl.col("late"))).fill_nan(None).alias("timeliness"),
            _share("accepted", "received").alias("quality"),
            _share("alerts_closed_n", "alerts").alias("alerts_closed"),
        )
    )
    if region_prefix is not None:
        city_table = city_table.filter(pl.col("city").str.starts_with(region_prefix))
    return Assessment(period, _score(city_table), agency_frame)


# --- the table the page shows and the report writes ------------------------------------------------


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def score_table(result: Assessment, level: str, lang: str = "zh") -> TableView:
    """The score table of `level` (city | agency): the same rows on the page, its XLSX and the report."""
    from enforcehub.supervise.pages.common import city_label

    indicator_columns = [Column(i.id, f"{i.title}(%)", f"{i.title_en} (%)") for i in indicators()]
    tail = [Column("score", "得分", "Score"), Column("rank", "排名", "Rank")]
    counts = [
        Column("records", "执法记录", "Records"),
        Column("received", "收到行数", "Rows received"),
        Column("alerts", "预警数", "Alerts"),
    ]
    if level == "city":
        columns = [
            Column("rank", "排名", "Rank"),
            Column("city", "区划代码", "Code"),
            Column("city_name", "地市", "City"),
            Column("agencies", "有效执法主体", "Active agencies"),
            *counts,
            *indicator_columns,
            tail[0],
        ]
        frame = result.cities
    else:
        columns = [
            Column("rank", "排名", "Rank"),
            Column("agency_uscc", "执法主体代码", "Agency USCC"),
            Column("agency_name", "执法主体", "Agency"),
            Column("city_name", "地市", "City"),
            *counts,
            *indicator_columns,
            tail[0],
        ]
        frame = result.agencies
    rows: list[dict[str, Any]] = []
    for row in frame.iter_rows(named=True):
        out = {c.key: row.get(c.key) for c in columns}
        out["city"] = row["city"]
        out["city_name"] = city_label(row["city"], lang)
        for ind in INDICATOR_IDS:
            out[ind] = _pct(row[ind])
        rows.append(out)
    title = "各地市考核得分" if level == "city" else "各执法主体考核得分"
    title_en = "City scores" if level == "city" else "Agency scores"
    period = result.period
    return TableView(
        f"{level}-scores",
        f"{title}（{period.title}）",
        f"{title_en} ({period.title_en})",
        columns,
        rows,
        note="得分 = 各指标（有值者）按权重加权平均；无分母的指标不计，权重按其余指标重新归一。",
    )


def indicator_table() -> TableView:
    return TableView(
        "indicators",
        "考核指标",
        "Indicators",
        [
            Column("id", "指标代码", "Id"),
            Column("title", "指标", "Indicator"),
            Column("title_en", "指标（英文）", "Indicator (English)"),
            Column("weight", "权重", "Weight"),
            Column("direction", "方向", "Direction"),
            Column("formula", "计算公式", "Formula"),
            Column("definition", "定义", "Definition"),
            Column("definition_en", "定义（英文）", "Definition (English)"),
        ],
        [
            {
                "id": i.id,
                "title": i.title,
                "title_en": i.title_en,
                "weight": i.weight,
                "direction": "越高越好" if i.direction == "higher" else "越低越好",
                "formula": i.formula,
                "definition": i.definition,
                "definition_en": i.definition_en,
            }
            for i in indicators()
        ],
    )
