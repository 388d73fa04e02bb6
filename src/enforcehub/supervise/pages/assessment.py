"""考核 Assessment: scores per city and per agency for a period (indicators in supervise/assessment.yaml).

Parameters: `period` (2025Q4, 2025H1, 2025, 2025-10; default the last finished quarter, Asia/Shanghai)
and `level` (city | agency: which score table comes first). `enforcehub report` writes the same
tables (supervise.assessment.score_table).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from enforcehub.supervise.assessment import (
    LEVELS,
    assess,
    indicator_table,
    indicators,
    last_finished_quarter,
    parse_period,
    score_table,
)
from enforcehub.supervise.pages.common import today
from enforcehub.supervise.view import Card, Chart, Page, Scope, page


@page("assessment", "考核", "Assessment", order=80)
def assessment(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    period = parse_period(params["period"]) if params.get("period") else last_finished_quarter(today())
    level = params.get("level") or "city"
    if level not in LEVELS:
        raise ValueError(f"level 应为 city 或 agency / level must be city or agency: {level!r}")
    result = assess(conn, period, scope.region_prefix)
    cities = score_table(result, "city", scope.lang)
    agencies = score_table(result, "agency", scope.lang)
    scored = [r for r in cities.rows if r["score"] is not None]
    agency_scores = [r["score"] for r in agencies.rows if r["score"] is not None]
    best = scored[0] if scored else None
    worst = scored[-1] if scored else None
    ordered = sorted(scored, key=lambda r: r["score"])
    tables = [cities, agencies] if level == "city" else [agencies, cities]
    return Page(
        slug="assessment",
        title="考核",
        title_en="Assessment",
        filters={"period": period.label, "level": level},
        cards=[
            Card("考核期", "Period", period.title_en if en else period.title),
            Card(
                "地市平均得分",
                "Mean city score",
                round(sum(r["score"] for r in scored) / len(scored), 1) if scored else None,
            ),
            Card(
                "执法主体平均得分",
                "Mean agency score",
                round(sum(agency_scores) / len(agency_scores), 1) if agency_scores else None,
                hint=f"{len(agency_scores)} 个主体" if not en else f"{len(agency_scores)} agencies",
            ),
            Card("最高", "Highest", f"{best['city_name']} {best['score']}" if best else None),
            Card("最低", "Lowest", f"{worst['city_name']} {worst['score']}" if worst else None),
        ],
        charts=[
            Chart(
                "city-scores",
                f"各地市考核得分（{period.title}）",
                f"City scores ({period.title_en})",
                {
                    "tooltip": {"trigger": "axis"},
                    "grid": {"left": 110},
                    "xAxis": {"type": "value", "min": 0, "max": 100},
                    "yAxis": {
                        "type": "category",
                        "data": [r["city_name"] for r in ordered],
                    },
                    "series": [{"type": "bar", "data": [r["score"] for r in ordered]}],
                },
                height=max(320, 22 * len(ordered) + 60),
            )
        ],
        tables=[*tables, indicator_table()],
        notes=[
            (
                f"{i.title_en} (weight {i.weight:g}): {i.definition_en} Formula: {i.formula}."
                if en
                else f"{i.title}（权重 {i.weight:g}）：{i.definition} 公式：{i.formula}。"
            )
            for i in indicators()
        ]
        + [
            "Score = weighted mean of the indicators that have a value (weights renormalised); 0–100."
            if en
            else "得分 = 有值指标的加权平均（权重按有值指标重新归一），0–100 分。"
        ],
    )
