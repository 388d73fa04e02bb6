"""概览 Overview: records by dataset, month, city and agency; submissions and acceptance; cities ranked."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from sqlalchemy import Connection, func, select

from enforcehub.store.schema import api_keys, submissions
from enforcehub.store.supervision import agency_totals, read_city_rollups
from enforcehub.supervise.pages.common import DATASET_TITLES, city_label, months, scoped
from enforcehub.supervise.view import Card, Chart, Column, Page, Scope, TableView, page


@page("overview", "概览", "Overview", order=10)
def overview(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    month_from, month_to = months(params)
    en = scope.lang == "en"
    # the dataset × month × city rollups (a few thousand rows) and the top agencies grouped in SQL over
    # the month × city × agency rollups: never the facts, never a row per agency and dataset
    actions = scoped(read_city_rollups(conn, month_from=month_from, month_to=month_to), scope).filter(
        pl.col("dataset").is_in(list(DATASET_TITLES))
    )
    by_dataset = (
        actions.group_by("dataset")
        .agg(pl.col("records").sum())
        .sort(["records", "dataset"], descending=[True, False])
    )
    by_month = (
        actions.group_by("month", "dataset").agg(pl.col("records").sum()).sort("month", "dataset")
        if actions.height
        else actions
    )
    by_city = (
        actions.group_by("city")
        .agg(
            pl.col("records").sum(),
            pl.col("reported_late").sum(),
            pl.col("reported_on_time").sum(),
            pl.col("fines_cents").sum(),
        )
        .with_columns(
            (pl.col("reported_on_time") / (pl.col("reported_on_time") + pl.col("reported_late")))
            .fill_nan(None)
            .alias("on_time_share")
        )
        .sort(["records", "city"], descending=[True, False])
    )
    by_agency = agency_totals(
        conn,
        month_from=month_from,
        month_to=month_to,
        measures=("records", "reported_late"),
        city_prefix=scope.region_prefix,
        order_by="records",
        limit=50,
    ).select("agency_uscc", "records", "reported_late", "city")
    submitted = _submissions(conn, scope)
    total = int(actions["records"].sum() or 0)
    received, accepted = submitted["received"], submitted["accepted"]
    months_axis = sorted(set(by_month["month"].to_list())) if by_month.height else []
    series = []
    for dataset, (zh, en_title) in DATASET_TITLES.items():
        counts = {
            m: c for m, d, c in by_month.select("month", "dataset", "records").iter_rows() if d == dataset
        }
        if counts:
            series.append(
                {
                    "name": en_title if en else zh,
                    "type": "bar",
                    "stack": "all",
                    "data": [counts.get(m, 0) for m in months_axis],
                }
            )
    return Page(
        slug="overview",
        title="概览",
        title_en="Overview",
        filters={"month_from": month_from, "month_to": month_to},
        cards=[
            Card("执法记录（行为类）", "Enforcement records (actions)", total),
            Card("报送批次", "Submissions", submitted["count"]),
            Card("收到记录", "Records received", received),
            Card(
                "入库率",
                "Acceptance rate",
                round(accepted / received * 100, 1) if received else None,
                unit="%",
            ),
        ],
        charts=[
            Chart(
                "records-by-month",
                "各月执法记录（按类别）",
                "Records by month and kind",
                {
                    "tooltip": {"trigger": "axis"},
                    "legend": {},
                    "xAxis": {"type": "category", "data": months_axis},
                    "yAxis": {"type": "value"},
                    "series": series,
                },
            ),
            Chart(
                "records-by-dataset",
                "执法记录构成",
                "Records by kind",
                {
                    "tooltip": {"trigger": "item"},
                    "series": [
                        {
                            "type": "pie",
                            "radius": ["35%", "65%"],
                            "data": [
                                {"name": DATASET_TITLES[d][1 if en else 0], "value": n}
                                for d, n in by_dataset.iter_rows()
                            ],
                        }
                    ],
                },
            ),
            Chart(
                "cities-ranked",
                "各市执法记录排名",
                "Cities ranked by records",
                {
                    "tooltip": {"trigger": "axis"},
                    "grid": {"left": 110},
                    "xAxis": {"type": "value"},
                    "yAxis": {
                        "type": "category",
                        "inverse": True,
                        "data": [city_label(c, scope.lang) for c in by_city["city"].to_list()],
                    },
                    "series": [{"type": "bar", "data": by_city["records"].to_list()}],
                },
                height=max(320, 22 * by_city.height + 60),
            ),
        ],
        tables=[
            TableView(
                "cities",
                "各市报送情况",
                "Cities",
                [
                    Column("city_name", "地市", "City"),
                    Column("records", "记录数", "Records"),
                    Column("reported_late", "逾期报送", "Reported late"),
                    Column("on_time_pct", "按时报送率(%)", "On time (%)"),
                    Column("fines", "罚没金额(元)", "Fines (yuan)"),
                ],
                [
                    {
                        "city": c,
                        "city_name": city_label(c, scope.lang),
                        "records": n,
                        "reported_late": late,
                        "on_time_pct": round(share * 100, 1) if share is not None else None,
                        "fines": round(cents / 100, 2),
                    }
                    for c, n, late, _on_time, cents, share in by_city.iter_rows()
                ],
            ),
            TableView(
                "agencies",
                "报送最多的执法主体（前50）",
                "Agencies with the most records (top 50)",
                [
                    Column("agency_uscc", "执法主体代码", "Agency USCC"),
                    Column("city_name", "地市", "City"),
                    Column("records", "记录数", "Records"),
                    Column("reported_late", "逾期报送", "Reported late"),
                ],
                [
                    {
                        "agency_uscc": a,
                        "records": n,
                        "reported_late": late,
                        "city_name": city_label(c, scope.lang),
                    }
                    for a, n, late, c in by_agency.iter_rows()
                ],
            ),
        ],
    )


def _submissions(conn: Connection, scope: Scope) -> dict[str, int]:
    """Finished submissions (duplicates not counted): how many, rows received and accepted. A city's
    supervisor sees those made with keys of the city's region."""
    query = select(
        func.count().label("n"),
        func.coalesce(func.sum(submissions.c.received), 0).label("received"),
        func.coalesce(func.sum(submissions.c.accepted), 0).label("accepted"),
    ).where(submissions.c.status == "done", submissions.c.duplicate_of.is_(None))
    if scope.region_prefix is not None:
        query = query.join(api_keys, api_keys.c.id == submissions.c.principal_id).where(
            api_keys.c.region.startswith(scope.region_prefix)
        )
    row = conn.execute(query).one()
    return {"count": int(row.n), "received": int(row.received), "accepted": int(row.accepted)}
