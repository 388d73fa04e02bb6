"""What each kind of supervision rule computes: polars over the facts of the rule's dataset.

Every kind returns its detections as a frame with the same columns (DETECTION_SCHEMA): a stable
`key` (the same finding always gets the same key, so re-evaluating never duplicates an alert), the
records involved (ids and business keys, sorted), the agency and city the alert belongs to, the
earliest act date and a JSON `detail` of what the rule saw.

- `record-condition`: records where `where` and `violation` hold; key = rule:record_id.
- `deadline`: `end` (the first present of the `end` columns; the evaluation day when none and
  open_end is as-of) later than `start` + `limit` calendar days or working days (+ the extension's
  limit when its flag is true); key = rule:record_id.
- `min-officers`: fewer than `min` distinct 执法证号 valid on the act date per the officer registry.
- `distinct-agencies-in-window`: a counterparty inspected by ≥ `min_agencies` agencies within
  `window_days` consecutive days; overlapping windows merge; key = rule:counterparty:first day.
- `group-spread`: the ratio of the highest to the lowest per-unit median fine in a group.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from enforcehub.supervise.calendar import add_working_days_expr, official, working_days_between
from enforcehub.supervise.ruleset import Rule, condition_expr, where_expr

DETECTION_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.Utf8(),
    "record_ids": pl.List(pl.Int64()),
    "record_keys": pl.List(pl.Utf8()),
    "agency_uscc": pl.Utf8(),
    "region": pl.Utf8(),
    "city": pl.Utf8(),
    "act_date": pl.Date(),
    "detail": pl.Utf8(),
}
PROVINCE = "440000"  # the city of alerts spanning several cities


@dataclass(frozen=True)
class Context:
    as_of: dt.date
    officers: pl.DataFrame | None = None  # cert_number, officer_agency, cert_issue_date, cert_valid_until


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=DETECTION_SCHEMA)


def _one_record(hits: pl.DataFrame, rule: Rule, detail: pl.Expr) -> pl.DataFrame:
    if not hits.height:
        return _empty()
    return hits.select(
        (pl.lit(f"{rule.id}:") + pl.col("record_id").cast(pl.Utf8)).alias("key"),
        pl.concat_list(pl.col("record_id")).alias("record_ids"),
        pl.concat_list(pl.col("business_key")).alias("record_keys"),
        "agency_uscc",
        "region",
        "city",
        "act_date",
        detail.alias("detail"),
    ).cast(DETECTION_SCHEMA)  # type: ignore[arg-type]


def record_condition(rule: Rule, frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    assert rule.violation is not None
    hits = frame.filter(where_expr(rule) & condition_expr(rule.violation, rule))
    shown = [pl.col(c) for c in rule.show] or [pl.lit(True).alias("violation")]
    return _one_record(hits, rule, pl.struct(shown).struct.json_encode())


def deadline(rule: Rule, frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    p = rule.parameters
    start = pl.col(p["start"])
    end = pl.coalesce([pl.col(c) for c in p["end"]])
    as_of = pl.lit(context.as_of, dtype=pl.Date)
    limit = pl.lit(int(p["limit"]), dtype=pl.Int64)
    extension = p.get("extension")
    if extension:
        extended = (pl.col(extension["field"]) == True).fill_null(False)  # noqa: E712
        limit = pl.when(extended).then(pl.lit(int(extension["limit"]), dtype=pl.Int64)).otherwise(limit)
    working = p["unit"] == "working"
    due = add_working_days_expr(start, limit) if working else start + pl.duration(days=limit)
    if p["open_end"] == "as-of":
        until = pl.min_horizontal(end.fill_null(as_of), as_of)
    else:
        until = pl.when(end <= as_of).then(end)
    over = (
        working_days_between(pl.col("__due"), pl.col("__until"))
        if working
        else (pl.col("__until") - pl.col("__due")).dt.total_days()
    )
    hits = (
        frame.filter(where_expr(rule) & start.is_not_null() & (start <= as_of))
        .with_columns(due.alias("__due"), until.alias("__until"), limit.alias("__limit"), end.alias("__end"))
        .filter((pl.col("__until") > pl.col("__due")).fill_null(False))
    )
    calendar = (
        pl.when(official(start) & official(pl.col("__until")))
        .then(pl.lit("official"))
        .otherwise(pl.lit("weekends-only"))
        if working
        else pl.lit("calendar-days")
    )
    detail = pl.struct(
        start.alias("start"),
        pl.col("__end").alias("end"),
        pl.col("__due").alias("deadline"),
        pl.col("__limit").alias("limit"),
        pl.lit(p["unit"]).alias("unit"),
        over.alias("days_over"),
        (pl.col("__end").is_null() | (pl.col("__end") > as_of)).alias("open"),
        calendar.alias("calendar"),
    ).struct.json_encode()
    return _one_record(hits, rule, detail)


def min_officers(rule: Rule, frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    minimum = int(rule.parameters["min"])
    base = frame.filter(where_expr(rule))
    if not base.height:
        return _empty()
    certs = (
        base.select(
            "record_id", "agency_uscc", "act_date", pl.col("officer_certs").str.split(";").alias("cert")
        )
        .explode("cert")
        .filter(pl.col("cert").is_not_null() & (pl.col("cert") != ""))
    )
    registry = context.officers
    reason: pl.Expr
    if registry is not None and registry.height:
        certs = certs.join(registry, left_on="cert", right_on="cert_number", how="left")
        reason = (
            pl.when(pl.col("officer_agency").is_null())
            .then(pl.lit("unregistered"))
            .when(pl.col("officer_agency") != pl.col("agency_uscc"))
            .then(pl.lit("other-agency"))
            .when(pl.col("cert_issue_date") > pl.col("act_date"))
            .then(pl.lit("not-yet-valid"))
            .when(pl.col("cert_valid_until") < pl.col("act_date"))
            .then(pl.lit("expired"))
        )
    else:
        reason = pl.lit(None, dtype=pl.Utf8)
    per_record = (
        certs.with_columns(reason.alias("reason"))
        .sort("record_id", "cert")
        .group_by("record_id", maintain_order=True)
        .agg(
            pl.col("cert").alias("officers"),
            pl.col("reason").is_null().sum().cast(pl.Int64).alias("qualified"),
            pl.struct("cert", "reason").filter(pl.col("reason").is_not_null()).alias("unqualified"),
        )
    )
    hits = (
        base.join(per_record, on="record_id", how="left")
        .with_columns(pl.col("qualified").fill_null(0))
        .filter(pl.col("qualified") < minimum)
    )
    detail = pl.struct(
        pl.col("officers"),
        pl.col("qualified"),
        pl.lit(minimum).alias("min"),
        pl.col("unqualified"),
        pl.lit(registry is not None and registry.height > 0).alias("registry"),
    ).struct.json_encode()
    return _one_record(hits, rule, detail)


def distinct_agencies_in_window(rule: Rule, frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    p = rule.parameters
    minimum, days = int(p["min_agencies"]), int(p["window_days"])
    inspections = (
        frame.filter(
            where_expr(rule)
            & pl.col("counterparty_code").is_not_null()
            & pl.col("act_date").is_not_null()
            & pl.col("agency_uscc").is_not_null()
        )
        .select("record_id", "business_key", "counterparty_code", "agency_uscc", "region", "city", "act_date")
        .sort("counterparty_code", "act_date", "record_id")
    )
    if not inspections.height:
        return _empty()
    windows = (
        inspections.rolling(index_column="act_date", period=f"{days}d", group_by="counterparty_code")
        .agg(pl.col("agency_uscc").n_unique().alias("agencies"))
        .filter(pl.col("agencies") >= minimum)
        .select(
            "counterparty_code",
            (pl.col("act_date") - pl.duration(days=days - 1)).alias("lo"),
            pl.col("act_date").alias("hi"),
        )
        .unique()
        .sort("counterparty_code", "lo", "hi")
    )
    if not windows.height:
        return _empty()
    # Merge overlapping windows of a counterparty into episodes (a window starting after every earlier
    # one has ended opens a new episode).
    episodes = (
        windows.with_columns(
            (pl.col("lo") > pl.col("hi").cum_max().shift(1).over("counterparty_code"))
            .fill_null(True)
            .cum_sum()
            .over("counterparty_code")
            .alias("episode")
        )
        .group_by("counterparty_code", "episode")
        .agg(pl.col("lo").min(), pl.col("hi").max())
    )
    members = (
        inspections.join(episodes, on="counterparty_code", how="inner")
        .filter(pl.col("act_date").is_between(pl.col("lo"), pl.col("hi")))
        .sort("act_date", "record_id")
    )
    grouped = members.group_by("counterparty_code", "episode").agg(
        pl.col("record_id").alias("record_ids"),
        pl.col("business_key").alias("record_keys"),
        pl.col("act_date").min().alias("first"),
        pl.col("act_date").max().alias("last"),
        pl.col("agency_uscc").unique().sort().alias("agencies"),
        pl.col("city").unique().sort().alias("cities"),
        pl.col("region").unique().sort().alias("regions"),
    )
    detail = pl.struct(
        pl.col("counterparty_code"),
        pl.col("agencies"),
        pl.col("agencies").list.len().alias("agency_count"),
        pl.col("record_ids").list.len().alias("inspections"),
        pl.col("first"),
        pl.col("last"),
        pl.lit(days).alias("window_days"),
        pl.lit(minimum).alias("min_agencies"),
    ).struct.json_encode()
    return grouped.select(
        (
            pl.lit(f"{rule.id}:") + pl.col("counterparty_code") + pl.lit(":") + pl.col("first").cast(pl.Utf8)
        ).alias("key"),
        "record_ids",
        "record_keys",
        pl.lit(None, dtype=pl.Utf8).alias("agency_uscc"),
        _common("regions", _common("cities", pl.lit(PROVINCE))).alias("region"),
        _common("cities", pl.lit(PROVINCE)).alias("city"),
        pl.col("first").alias("act_date"),
        detail.alias("detail"),
    ).cast(DETECTION_SCHEMA)  # type: ignore[arg-type]


def _common(column: str, otherwise: pl.Expr) -> pl.Expr:
    """The one value of a list column when all members share it, else `otherwise`."""
    return pl.when(pl.col(column).list.len() == 1).then(pl.col(column).list.first()).otherwise(otherwise)


def _group_key(values: list[str | None]) -> str:
    text = "\x1f".join("" if v is None else v for v in values)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def group_spread(rule: Rule, frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    p = rule.parameters
    group = [str(c) for c in p["group_by"]]
    unit = str(p["compare"])
    extra = [c for c in ("region", "city") if c != unit and c not in group]
    decisions = frame.filter(where_expr(rule) & pl.col(unit).is_not_null()).select(
        "record_id", "business_key", "act_date", "fine_cents", unit, *[c for c in group if c != unit], *extra
    )
    units = (
        decisions.group_by([*group, unit])
        .agg(pl.len().alias("n"), pl.col("fine_cents").median().alias("median"))
        .filter(pl.col("n") >= int(p["min_per_unit"]))
    )
    if not units.height:
        return _empty()
    ranked = units.sort(unit).with_columns(pl.len().over(group).alias("__units"))
    summary = (
        ranked.filter(pl.col("__units") >= int(p["min_units"]))
        .group_by(group)
        .agg(
            # ties: the smaller unit code, both for the highest and for the lowest median
            pl.col(unit)
            .sort_by([pl.col("median"), pl.col(unit)], descending=[True, False])
            .first()
            .alias("high"),
            pl.col(unit).sort_by([pl.col("median"), pl.col(unit)]).first().alias("low"),
            pl.col("median").max().alias("high_median"),
            pl.col("median").min().alias("low_median"),
            pl.struct(pl.col(unit).alias("unit"), "n", (pl.col("median") / 100).alias("median")).alias(
                "units"
            ),
        )
        .with_columns((pl.col("high_median") / pl.col("low_median")).alias("ratio"))
        .filter(pl.col("ratio") > float(p["max_ratio"]))
    )
    if not summary.height:
        return _empty()
    members = (
        decisions.join(summary.select(*group, "high", "low"), on=group, how="inner", nulls_equal=True)
        .filter((pl.col(unit) == pl.col("high")) | (pl.col(unit) == pl.col("low")))
        .sort("record_id")
        .group_by(group)
        .agg(
            pl.col("record_id").alias("record_ids"),
            pl.col("business_key").alias("record_keys"),
            pl.col("act_date").min().alias("act_date"),
            pl.col("region").unique().sort().alias("regions"),
            pl.col("city").unique().sort().alias("cities"),
        )
    )
    found = summary.join(members, on=group, how="inner", nulls_equal=True)
    keys = [
        f"{rule.id}:{_group_key([None if v is None else str(v) for v in row])}"
        for row in found.select(group).iter_rows()
    ]
    detail = pl.struct(
        *[pl.col(c) for c in group],
        pl.lit(unit).alias("compare"),
        pl.col("high"),
        pl.col("low"),
        (pl.col("high_median") / 100).alias("high_median"),
        (pl.col("low_median") / 100).alias("low_median"),
        pl.col("ratio").round(3),
        pl.lit(float(p["max_ratio"])).alias("max_ratio"),
        pl.col("units"),
    ).struct.json_encode()
    return found.select(
        pl.Series("key", keys, dtype=pl.Utf8),
        "record_ids",
        "record_keys",
        pl.lit(None, dtype=pl.Utf8).alias("agency_uscc"),
        _common("regions", _common("cities", pl.lit(PROVINCE))).alias("region"),
        _common("cities", pl.lit(PROVINCE)).alias("city"),
        "act_date",
        detail.alias("detail"),
    ).cast(DETECTION_SCHEMA)  # type: ignore[arg-type]


COMPUTE: dict[str, Callable[[Rule, pl.DataFrame, Context], pl.DataFrame]] = {
    "record-condition": record_condition,
    "deadline": deadline,
    "min-officers": min_officers,
    "distinct-agencies-in-window": distinct_agencies_in_window,
    "group-spread": group_spread,
}


def detect(rule: Rule, frame: pl.DataFrame, context: Context) -> pl.DataFrame:
    """The rule's detections over a rule frame of its dataset (ruleset.rule_frame of the facts)."""
    return COMPUTE[rule.kind](rule, frame, context)
