"""数据质量 Data quality: rows received, accepted and rejected; errors by code, by submitting agency and
over time; agencies of the registry that never or rarely report (coverage); the worst files of the week.

Everything over findings is grouped in SQL (findings can be millions); Python only sees one row per
code, per submission or per agency. Definitions: docs/supervision.md, "Dashboard pages".
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from enforcehub.store.schema import findings, submissions
from enforcehub.store.supervision import agency_totals, current_data
from enforcehub.supervise.pages.common import DATASET_TITLES, SHANGHAI, city_label, months, today
from enforcehub.supervise.pages.submitted import (
    KEY,
    local_time,
    month_bounds,
    receipt_links,
    scoped_submissions,
    submission_region,
)
from enforcehub.supervise.view import Card, Chart, Column, Page, Scope, TableView, page

FEW_RECORDS = 5  # an active agency with fewer action records than this in the period is flagged 报送偏少
WORST_MIN_ROWS = 10  # a file needs at least this many rows to rank among the worst of the week
WORST_LIMIT = 20
COVERAGE_LIMIT = 500
AGENCY_LIMIT = 100
ACTIVE = "01"  # agency_status 有效


@functools.cache
def code_titles() -> dict[str, tuple[str, str]]:
    """Finding code → (Chinese title, English title): the standard's rule titles for rule codes, else the
    catalogue's message with its placeholders shown as …"""
    from enforcehub.standard.loader import standard
    from enforcehub.validate.catalogue import CATALOGUE

    def plain(template: str) -> str:
        return re.sub(r"\{[a-z_]+\}", "…", template)

    titles = {code: (plain(m.zh), plain(m.en)) for code, m in CATALOGUE.items()}
    for dataset in standard().datasets.values():
        for rule in dataset.rules:
            if rule.code and rule.title and rule.code not in titles:
                titles[rule.code] = (rule.title, rule.title_en or rule.title)
    return titles


def _period(params: Mapping[str, str]) -> tuple[str, str, dt.datetime, dt.datetime]:
    month_from, month_to = months(params, default_months=12)
    start, end = month_bounds(month_from, month_to)
    return month_from, month_to, start, end


@page("quality", "数据质量", "Data quality", order=20)
def quality(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    month_from, month_to, start, end = _period(params)
    bucket = params.get("bucket") or "month"
    if bucket not in ("week", "month"):
        raise ValueError(f"bucket must be week or month: {bucket!r}")
    en = scope.lang == "en"
    joined, in_scope = scoped_submissions(scope)
    done = (
        (submissions.c.status == "done")
        & submissions.c.duplicate_of.is_(None)
        & (submissions.c.received_at >= start)
        & (submissions.c.received_at < end)
        & in_scope
    )
    totals = conn.execute(
        select(
            func.count().label("n"),
            func.coalesce(func.sum(submissions.c.received), 0).label("received"),
            func.coalesce(func.sum(submissions.c.accepted), 0).label("accepted"),
            func.coalesce(func.sum(submissions.c.rejected), 0).label("rejected"),
            func.coalesce(func.sum(submissions.c.errors), 0).label("errors"),
            func.coalesce(func.sum(submissions.c.warnings), 0).label("warnings"),
        )
        .select_from(joined)
        .where(done)
    ).one()
    received, rejected = int(totals.received), int(totals.rejected)
    counted = _findings_counted(conn, joined, done)  # the one pass over the findings
    over_time = _errors_over_time(conn, joined, done, bucket, counted)
    by_code = _errors_by_code(counted, en)
    by_agency = _by_agency(conn, joined, done)
    coverage, coverage_counts = _coverage(conn, scope, month_from, month_to)
    worst = _worst_of_week(conn, scope, params)
    return Page(
        slug="quality",
        title="数据质量",
        title_en="Data quality",
        filters={"month_from": month_from, "month_to": month_to, "bucket": bucket, "week_to": worst["to"]},
        cards=[
            Card("报送批次", "Submissions", int(totals.n)),
            Card("收到记录", "Rows received", received),
            Card("入库记录", "Rows accepted", int(totals.accepted)),
            Card("退回记录", "Rows rejected", rejected),
            Card(
                "错误率",
                "Error rate",
                round(rejected / received * 100, 2) if received else None,
                unit="%",
                hint="退回记录 ÷ 收到记录" if not en else "rows rejected ÷ rows received",
            ),
            Card("错误数", "Errors", int(totals.errors)),
            Card("提示数", "Warnings", int(totals.warnings)),
            Card("名录内有效执法主体", "Active agencies in the registry", coverage_counts["agencies"]),
            Card("期内未报送的主体", "Agencies with no records", coverage_counts["none"]),
            Card(
                f"期内报送不足{FEW_RECORDS}条的主体",
                f"Agencies with < {FEW_RECORDS} records",
                coverage_counts["few"],
            ),
        ],
        charts=[
            Chart(
                "errors-over-time",
                "各期错误数（按收到时间）",
                "Errors over time (by time received)",
                {
                    "tooltip": {"trigger": "axis"},
                    "legend": {},
                    "xAxis": {"type": "category", "data": over_time["period"].to_list()},
                    "yAxis": [{"type": "value"}, {"type": "value", "axisLabel": {"formatter": "{value}%"}}],
                    "series": [
                        {
                            "name": "Errors" if en else "错误",
                            "type": "bar",
                            "data": over_time["errors"].to_list(),
                        },
                        {
                            "name": "Warnings" if en else "提示",
                            "type": "bar",
                            "data": over_time["warnings"].to_list(),
                        },
                        {
                            "name": "Rows rejected (%)" if en else "退回率(%)",
                            "type": "line",
                            "yAxisIndex": 1,
                            "data": over_time["rejected_pct"].to_list(),
                        },
                    ],
                },
            ),
        ],
        tables=[
            TableView(
                "by-code",
                "错误类型",
                "Findings by code",
                [
                    Column("code", "代码", "Code"),
                    Column("title", "说明", "Meaning"),
                    Column("severity", "级别", "Severity"),
                    Column("findings", "次数", "Findings"),
                    Column("submissions", "涉及批次", "Submissions"),
                    Column("share_pct", "占比(%)", "Share (%)"),
                ],
                by_code,
                note=(
                    "Counted over the findings kept (at most 100,000 per submission)."
                    if en
                    else "按保存的校验结果计数（每批次最多保存 100,000 条）。"
                ),
            ),
            TableView(
                "by-agency",
                f"各报送主体的数据质量（前{AGENCY_LIMIT}）",
                f"Quality by submitting agency (top {AGENCY_LIMIT})",
                [
                    Column("principal", "报送方", "Submitted by"),
                    Column("agency_uscc", "执法主体代码", "Agency USCC"),
                    Column("city_name", "地市", "City"),
                    Column("submissions", "批次", "Submissions"),
                    Column("received", "收到", "Received"),
                    Column("accepted", "入库", "Accepted"),
                    Column("rejected", "退回", "Rejected"),
                    Column("errors", "错误", "Errors"),
                    Column("rejected_pct", "退回率(%)", "Rejected (%)"),
                ],
                [{**row, "city_name": city_label(row["city"], scope.lang)} for row in by_agency],
                note=(
                    "By the key that submitted: its agency, else its name (platforms relay many agencies)."
                    if en
                    else "按报送所用密钥统计：有所属执法主体的按主体，否则按密钥名称（平台代多个主体报送）。"
                ),
            ),
            TableView(
                "coverage",
                "执法主体报送覆盖情况",
                "Reporting coverage of the agency registry",
                [
                    Column("agency_uscc", "执法主体代码", "Agency USCC"),
                    Column("agency_name", "执法主体", "Agency"),
                    Column("city_name", "地市", "City"),
                    Column("records", "期内记录数", "Records in the period"),
                    Column("flag", "情况", "Flag"),
                ]
                + [Column(d, DATASET_TITLES[d][0], DATASET_TITLES[d][1]) for d in DATASET_TITLES],
                coverage,
                note=(
                    f"Active agencies (status 01) of the registry in scope; action records by act month in "
                    f"{month_from} … {month_to}; flagged: none, or fewer than {FEW_RECORDS}. "
                    f"Fewest first, at most {COVERAGE_LIMIT} rows."
                    if en
                    else f"名录中状态为有效的执法主体；记录按执法决定（检查）月份"
                    f" {month_from} 至 {month_to} 计；"
                    f"未报送或少于 {FEW_RECORDS} 条的标注。按记录数从少到多，最多 {COVERAGE_LIMIT} 行。"
                ),
            ),
            TableView(
                "worst-files",
                "本周问题最多的文件",
                "Worst files of the week",
                [
                    Column("id", "批次", "Submission", link="/api/v1/submissions/{id}"),
                    Column("received_at", "收到时间", "Received"),
                    Column("dataset", "数据集", "Dataset"),
                    Column("filename", "文件", "File"),
                    Column("principal", "报送方", "Submitted by"),
                    Column("received", "收到", "Received"),
                    Column("rejected", "退回", "Rejected"),
                    Column("rejected_pct", "退回率(%)", "Rejected (%)"),
                    Column("errors", "错误", "Errors"),
                    Column(
                        "errors_xlsx",
                        "错误清单",
                        "Errors (XLSX)",
                        link="/api/v1/submissions/{id}/errors.xlsx",
                    ),
                    Column(
                        "errors_csv", "错误行", "Errors (CSV)", link="/api/v1/submissions/{id}/errors.csv"
                    ),
                ],
                worst["rows"],
                note=(
                    f"Received {worst['from']} … {worst['to']} (Asia/Shanghai), "
                    f"at least {WORST_MIN_ROWS} rows, "
                    f"highest share of rows rejected first (then most errors); top {WORST_LIMIT}."
                    if en
                    else f"{worst['from']} 至 {worst['to']} 收到、不少于 {WORST_MIN_ROWS} 行的文件，"
                    "按退回比例"
                    f"从高到低（其次按错误数），前 {WORST_LIMIT} 个。"
                ),
            ),
        ],
        notes=[
            (
                "Submissions: finished (status done), duplicates not counted, received in the period; a city "
                "supervisor sees those made with keys of the city (or of agencies registered in it)."
                if en
                else "报送批次：已处理完成、不含重复报送、期内收到；"
                "地市用户只看本市密钥（或本市执法主体的密钥）所报。"
            ),
        ],
    )


def _findings_counted(conn: Connection, joined: Any, done: Any) -> pl.DataFrame:
    """The findings of the submissions in scope counted per submission, code and severity, in SQL: one
    pass over the findings (they can be millions), a few rows per submission for Python."""
    rows = conn.execute(
        select(findings.c.submission_id, findings.c.code, findings.c.severity, func.count())
        .select_from(joined.join(findings, findings.c.submission_id == submissions.c.id))
        .where(done)
        .group_by(findings.c.submission_id, findings.c.code, findings.c.severity)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"submission_id": pl.Utf8, "code": pl.Utf8, "severity": pl.Utf8, "n": pl.Int64},
        orient="row",
    )


def _errors_over_time(
    conn: Connection, joined: Any, done: Any, bucket: str, counted: pl.DataFrame
) -> pl.DataFrame:
    """Per period (week from Monday or month, Asia/Shanghai): errors and warnings (the findings of the
    submissions in scope, counted per submission), rows received and rejected."""
    rows = conn.execute(
        select(submissions.c.id, submissions.c.received_at, submissions.c.received, submissions.c.rejected)
        .select_from(joined)
        .where(done)
    ).all()
    per_submission = counted.group_by("submission_id").agg(
        pl.col("n").filter(pl.col("severity") == "error").sum().alias("errors"),
        pl.col("n").filter((pl.col("severity") != "error").fill_null(False)).sum().alias("warnings"),
    )
    frame = (
        pl.DataFrame(
            {
                "submission_id": [str(r[0]) for r in rows],
                "at": [local_time(r[1]) for r in rows],
                "received": [int(r[2]) for r in rows],
                "rejected": [int(r[3]) for r in rows],
            },
            schema={
                "submission_id": pl.Utf8,
                "at": pl.Datetime("us", str(SHANGHAI)),
                "received": pl.Int64,
                "rejected": pl.Int64,
            },
        )
        .join(per_submission, on="submission_id", how="left")
        .with_columns(pl.col("errors", "warnings").fill_null(0).cast(pl.Int64))
    )
    period = (
        pl.col("at").dt.truncate("1w").dt.strftime("%Y-%m-%d")
        if bucket == "week"
        else pl.col("at").dt.strftime("%Y-%m")
    )
    return (
        frame.group_by(period.alias("period"))
        .agg(pl.col("received", "rejected", "errors", "warnings").sum())
        .with_columns(
            pl.when(pl.col("received") > 0)
            .then((pl.col("rejected") / pl.col("received") * 100).round(2))
            .alias("rejected_pct")
        )
        .sort("period")
    )


def _errors_by_code(counted: pl.DataFrame, en: bool) -> list[dict[str, Any]]:
    """Findings per code and severity: how many, in how many submissions, their share."""
    found = (
        counted.group_by("code", "severity")
        .agg(pl.col("n").sum().alias("findings"), pl.col("submission_id").n_unique().alias("submissions"))
        .sort(["findings", "code", "severity"], descending=[True, False, False])
    )
    total = int(found["findings"].sum() or 0)
    titles = code_titles()
    return [
        {
            "code": code,
            "title": titles.get(code, (code, code))[1 if en else 0],
            "severity": severity,
            "findings": int(n),
            "submissions": int(subs),
            "share_pct": round(int(n) / total * 100, 2) if total else None,
        }
        for code, severity, n, subs in found.iter_rows()
    ]


def _by_agency(conn: Connection, joined: Any, done: Any) -> list[dict[str, Any]]:
    who = func.coalesce(KEY.c.agency_uscc, submissions.c.principal)
    rejected = func.sum(submissions.c.rejected).label("rejected")
    query = (
        select(
            who.label("who"),
            func.max(submissions.c.principal).label("principal"),
            func.max(KEY.c.agency_uscc).label("agency_uscc"),
            func.max(submission_region()).label("region"),
            func.count().label("submissions"),
            func.sum(submissions.c.received).label("received"),
            func.sum(submissions.c.accepted).label("accepted"),
            rejected,
            func.sum(submissions.c.errors).label("errors"),
        )
        .select_from(joined)
        .where(done)
        .group_by(who)
        .order_by(rejected.desc(), who)
        .limit(AGENCY_LIMIT)
    )
    rows = []
    for r in conn.execute(query):
        received = int(r.received or 0)
        region = r.region
        rows.append(
            {
                "principal": r.principal,
                "agency_uscc": r.agency_uscc,
                "city": (region if region == "440000" else region[:4] + "00") if region else None,
                "submissions": int(r.submissions),
                "received": received,
                "accepted": int(r.accepted or 0),
                "rejected": int(r.rejected or 0),
                "errors": int(r.errors or 0),
                "rejected_pct": round(int(r.rejected or 0) / received * 100, 2) if received else None,
            }
        )
    return rows


def _registry(conn: Connection) -> pl.DataFrame:
    """The agency registry's current records: uscc, name, region, status."""
    names = ("agency_uscc", "agency_name", "region_code", "status")
    data = current_data(conn, "agency")
    if not data:
        return pl.DataFrame(schema={n: pl.Utf8 for n in names})
    return (
        pl.Series("data", data)
        .str.json_decode(dtype=pl.Struct({n: pl.Utf8 for n in names}))
        .struct.unnest()
        .with_columns(pl.col("agency_uscc").str.strip_chars().str.to_uppercase())
    )


def _coverage(
    conn: Connection, scope: Scope, month_from: str, month_to: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    registry = _registry(conn).filter(
        (pl.col("status").is_null() | (pl.col("status") == ACTIVE)) & pl.col("agency_uscc").is_not_null()
    )
    if scope.region_prefix is not None:
        registry = registry.filter(pl.col("region_code").fill_null("").str.starts_with(scope.region_prefix))
    # records per agency and dataset in the months: grouped in SQL over the month × city × agency rollups
    counts = agency_totals(
        conn, month_from=month_from, month_to=month_to, measures=[f"n_{d}" for d in DATASET_TITLES]
    ).select("agency_uscc", *(pl.col(f"n_{d}").alias(d) for d in DATASET_TITLES))
    for dataset in DATASET_TITLES:
        if dataset not in counts.columns:
            counts = counts.with_columns(pl.lit(0, dtype=pl.Int64).alias(dataset))
    table = (
        registry.join(counts, on="agency_uscc", how="left")
        .with_columns(pl.col(list(DATASET_TITLES)).fill_null(0).cast(pl.Int64))
        .with_columns(pl.sum_horizontal(list(DATASET_TITLES)).alias("records"))
        .sort("records", "agency_uscc")
    )
    none = int((table["records"] == 0).sum())
    few = int(((table["records"] > 0) & (table["records"] < FEW_RECORDS)).sum())
    rows = []
    for row in table.head(COVERAGE_LIMIT).iter_rows(named=True):
        n = row["records"]
        flag = ("未报送" if scope.lang != "en" else "none") if n == 0 else None
        if 0 < n < FEW_RECORDS:
            flag = "报送偏少" if scope.lang != "en" else "few"
        region = row["region_code"]
        city = (region if region == "440000" else region[:4] + "00") if region else None
        rows.append(
            {
                "agency_uscc": row["agency_uscc"],
                "agency_name": row["agency_name"],
                "city": city,
                "city_name": city_label(city, scope.lang),
                "records": n,
                "flag": flag,
                **{d: row[d] for d in DATASET_TITLES},
            }
        )
    return rows, {"agencies": table.height, "none": none, "few": few}


def _worst_of_week(conn: Connection, scope: Scope, params: Mapping[str, str]) -> dict[str, Any]:
    """Files received in the 7 days ending `week_to` (default today, Asia/Shanghai) with the highest
    share of rows rejected."""
    text = params.get("week_to")
    last = dt.date.fromisoformat(text) if text else today()
    first = last - dt.timedelta(days=6)
    start = dt.datetime.combine(first, dt.time(), SHANGHAI).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), SHANGHAI).astimezone(dt.UTC)
    joined, in_scope = scoped_submissions(scope)
    share = (submissions.c.rejected * 1.0 / submissions.c.received).label("share")
    query = (
        select(
            submissions.c.id,
            submissions.c.received_at,
            submissions.c.dataset,
            submissions.c.filename,
            submissions.c.principal,
            submissions.c.received,
            submissions.c.rejected,
            submissions.c.errors,
            share,
        )
        .select_from(joined)
        .where(
            in_scope,
            submissions.c.status == "done",
            submissions.c.duplicate_of.is_(None),
            submissions.c.received >= WORST_MIN_ROWS,
            submissions.c.rejected > 0,
            submissions.c.received_at >= start,
            submissions.c.received_at < end,
        )
        .order_by(share.desc(), submissions.c.errors.desc(), submissions.c.id)
        .limit(WORST_LIMIT)
    )
    rows = []
    for r in conn.execute(query):
        at = local_time(r.received_at)
        rows.append(
            {
                "id": r.id,
                "received_at": at.strftime("%Y-%m-%d %H:%M") if at else None,
                "dataset": r.dataset,
                "filename": r.filename,
                "principal": r.principal,
                "received": int(r.received),
                "rejected": int(r.rejected),
                "rejected_pct": round(int(r.rejected) / int(r.received) * 100, 2),
                "errors": int(r.errors),
                "errors_xlsx": "XLSX",
                "errors_csv": "CSV",
                **receipt_links(r.id),
            }
        )
    return {"rows": rows, "from": first.isoformat(), "to": last.isoformat()}
