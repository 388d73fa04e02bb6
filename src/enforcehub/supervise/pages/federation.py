"""两级 Federation: each link of this hub — a city's relay to the province and the registries it reads
back, or, on the province, each city hub that relays to it — with its health, lag, volume and errors
(the same figures as GET /api/v1/federation/status and `enforcehub federation status`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from enforcehub.federation import status as federation_status
from enforcehub.store.schema import api_keys
from enforcehub.supervise.pages.links import local_time
from enforcehub.supervise.view import Card, Chart, Column, Page, Scope, TableView, page

DIRECTIONS = {"uplink": "上报省级", "downlink": "省级名录下发", "inbound": "市级中继接收"}
HEALTH = {"ok": "正常", "failing": "失败重试中", "stalled": "停滞", "idle": "未运行"}


def _regions(conn: Connection) -> dict[str, str | None]:
    """The region of each hub key by its name (a relaying city's key is named by the city's hub id)."""
    query = select(api_keys.c.name, api_keys.c.region).where(api_keys.c.role == "hub")
    return {name: region for name, region in conn.execute(query)}


def visible(scope: Scope, link: dict[str, Any], regions: dict[str, str | None]) -> bool:
    """This hub's own uplink and downlink are everyone's; of the province's inbound links a city
    supervisor sees only their city's."""
    if scope.region_prefix is None or link["direction"] != "inbound":
        return True
    region = regions.get(str(link["peer"])) or ""
    return region != "440000" and region.startswith(scope.region_prefix)


@page("federation", "两级链路", "Federation", order=65)
def federation_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    regions = _regions(conn)
    links = [lnk for lnk in federation_status.links(conn, hub_id=None) if visible(scope, lnk, regions)]
    rows = [
        {
            **lnk,
            "direction_name": lnk["direction"] if en else DIRECTIONS.get(lnk["direction"], lnk["direction"]),
            "health_name": lnk["health"] if en else HEALTH.get(lnk["health"], lnk["health"]),
            "region": regions.get(str(lnk["peer"])) if lnk["direction"] == "inbound" else None,
            "last_lag_s": round(lnk["last_lag_ms"] / 1000, 2) if lnk["last_lag_ms"] is not None else None,
            "last_success": local_time(lnk["last_success_at"]),
            "last_failure": local_time(lnk["last_failure_at"]),
        }
        for lnk in links
    ]
    names = [r["name"] for r in rows]
    table = TableView(
        "links",
        "链路",
        "Links",
        [
            Column("name", "链路", "Link"),
            Column("direction_name", "方向", "Direction"),
            Column("peer", "对端", "Peer"),
            Column("region", "区划", "Region"),
            Column("health_name", "状态", "Health"),
            Column("position", "已送达位置", "Position"),
            Column("lag_changes", "积压（变更数）", "Lag (changes)"),
            Column("lag_seconds", "最早积压（秒）", "Oldest waiting (s)"),
            Column("last_lag_s", "最近批次时延（秒）", "Last batch lag (s)"),
            Column("versions", "已传版本", "Versions"),
            Column("rejected", "被拒行", "Rejected rows"),
            Column("batches", "批次", "Batches"),
            Column("failures", "连续失败", "Failures"),
            Column("last_success", "最近成功", "Last success"),
            Column("last_failure", "最近失败", "Last failure"),
            Column("last_error", "最近错误", "Last error"),
        ],
        rows,
        note=(
            "时间为北京时间。市级：上报省级的积压为本级接收、尚未进入省级主题库的变更；省级：每个中继的市级枢纽一行，"
            "时延为该批次在市级入库到在省级入库的间隔。"
            if not en
            else "Times in Asia/Shanghai. A city's uplink lag counts the changes it received that are "
            "not yet in the province; on the province, one row per relaying city hub, its lag from the "
            "city's commit to the province's commit of the last batch."
        ),
    )
    return Page(
        slug="federation",
        title="两级链路",
        title_en="Federation",
        cards=[
            Card("链路", "Links", len(rows)),
            Card("异常", "Not healthy", sum(1 for r in rows if r["health"] in ("failing", "stalled"))),
            Card("积压变更", "Changes waiting", sum(int(r["lag_changes"] or 0) for r in rows)),
            Card("已传版本", "Versions moved", sum(int(r["versions"]) for r in rows)),
            Card("被拒行", "Rejected rows", sum(int(r["rejected"]) for r in rows)),
        ],
        charts=[
            Chart(
                "versions-by-link",
                "各链路已传版本与积压",
                "Versions moved and waiting, by link",
                {
                    "tooltip": {"trigger": "axis"},
                    "legend": {"data": ["已传版本", "积压"] if not en else ["Versions", "Waiting"]},
                    "grid": {"left": 160},
                    "xAxis": {"type": "value"},
                    "yAxis": {"type": "category", "inverse": True, "data": names},
                    "series": [
                        {
                            "name": "已传版本" if not en else "Versions",
                            "type": "bar",
                            "data": [r["versions"] for r in rows],
                        },
                        {
                            "name": "积压" if not en else "Waiting",
                            "type": "bar",
                            "data": [r["lag_changes"] or 0 for r in rows],
                        },
                    ],
                },
                height=max(200, 40 * len(rows) + 80),
            )
        ],
        tables=[table],
        notes=[]
        if rows
        else [
            "本枢纽尚无两级链路：市级枢纽以 --upstream 启动后出现上报与下发链路，"
            "省级在市级首次中继后出现接收链路。"
            if not en
            else "No federation links yet: a city hub started with --upstream gets its uplink and downlink; "
            "the province gets one link per city hub once it relays."
        ],
    )
