"""共享 Sharing: every consumer's delivery mode, state, position, lag, failures and dead letters, lag by
consumer, and per webhook consumer its dead letters with the form that replays one (admin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from enforcehub.errors import EnforcehubError
from enforcehub.share import consumers as consumer_service
from enforcehub.share import webhooks
from enforcehub.standard.loader import standard
from enforcehub.store import consumers as consumer_store
from enforcehub.supervise.pages.links import local_time
from enforcehub.supervise.view import Action, Card, Chart, Column, Page, Scope, TableView, page

DEAD_LIMIT = 200
MODES = {"feed": "拉取", "webhook": "推送", "export": "定时导出", "internal": "内部", "relay": "上级中继"}
STATES = {"active": "运行", "paused": "暂停", "disabled": "停用"}


def visible(scope: Scope, row: dict[str, Any]) -> bool:
    """A city supervisor sees the consumers of its region; the province's see every consumer."""
    if scope.region_prefix is None:
        return True
    region = row["region"]
    return region is not None and region != "440000" and region.startswith(scope.region_prefix)


@page("sharing", "共享", "Sharing", order=60)
def sharing_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    std = standard()
    rows = [r for r in consumer_store.list_consumers(conn) if visible(scope, r)]
    statuses = []
    for row in rows:
        try:
            found = consumer_service.status(conn, row, std)
        except EnforcehubError:  # a consumer whose profile is gone: shown, without a lag
            found = {
                "name": row["name"],
                "mode": row["mode"],
                "state": row["state"],
                "position": row["delivered_seq"] if row["mode"] == "webhook" else row["acked_seq"],
                "lag": None,
                "failures": row["failures"],
                "last_success_at": row["last_success_at"],
                "last_failure_at": row["last_failure_at"],
                "last_error": row["last_error"],
                "dead_letters": 0,
            }
        statuses.append(
            {
                **found,
                "title": row["title"],
                "profile": row["profile"],
                "region": row["region"],
                "mode_name": found["mode"] if en else MODES.get(found["mode"], found["mode"]),
                "state_name": found["state"] if en else STATES.get(found["state"], found["state"]),
                "last_success": local_time(found["last_success_at"]),
                "last_failure": local_time(found["last_failure_at"]),
            }
        )
    statuses.sort(key=lambda s: (-int(s["lag"] or 0), str(s["name"])))
    tables = [
        TableView(
            "consumers",
            "共享消费方",
            "Consumers",
            [
                Column("name", "名称", "Name"),
                Column("title", "说明", "Title"),
                Column("profile", "画像", "Profile"),
                Column("region", "区划", "Region"),
                Column("mode_name", "方式", "Mode"),
                Column("state_name", "状态", "State"),
                Column("position", "已送达位置", "Position"),
                Column("lag", "积压（变更数）", "Lag (changes)"),
                Column("failures", "连续失败", "Failures"),
                Column("last_success", "最近成功", "Last success"),
                Column("last_failure", "最近失败", "Last failure"),
                Column("last_error", "最近错误", "Last error"),
                Column("dead_letters", "死信", "Dead letters"),
            ],
            statuses,
            note="时间为北京时间。" if not en else "Times in Asia/Shanghai.",
        )
    ]
    actions: list[Action] = []
    for row in rows:
        if row["mode"] != "webhook":
            continue
        dead = webhooks.dead_letters(conn, row["name"], limit=DEAD_LIMIT)
        tables.append(
            TableView(
                f"dead-{row['name']}",
                f"死信：{row['name']}",
                f"Dead letters: {row['name']}",
                [
                    Column("id", "消息编号", "Message id"),
                    Column("first_seq", "起始变更", "First change"),
                    Column("last_seq", "结束变更", "Last change"),
                    Column("events", "事件数", "Events"),
                    Column("attempts", "尝试次数", "Attempts"),
                    Column("last_status", "最后状态码", "Last status"),
                    Column("last_error", "最后错误", "Last error"),
                    Column("created", "生成时间", "Created"),
                ],
                [{**m, "created": local_time(m["created_at"])} for m in dead],
            )
        )
        if dead and scope.role == "admin":
            actions.append(
                Action(
                    f"重放 {row['name']} 的死信",
                    f"Replay a dead letter of {row['name']}",
                    f"/dashboard/sharing/{row['name']}/replay",
                    [("message_id", "消息编号 msg_…" if not en else "message id msg_…")],
                )
            )
    return Page(
        slug="sharing",
        title="共享",
        title_en="Sharing",
        cards=[
            Card("消费方", "Consumers", len(statuses)),
            Card("运行中", "Active", sum(1 for s in statuses if s["state"] == "active")),
            Card("积压变更", "Changes waiting", sum(int(s["lag"] or 0) for s in statuses)),
            Card("死信", "Dead letters", sum(int(s["dead_letters"]) for s in statuses)),
        ],
        charts=[
            Chart(
                "lag-by-consumer",
                "各消费方积压（变更数）",
                "Lag by consumer (changes)",
                {
                    "tooltip": {"trigger": "axis"},
                    "grid": {"left": 140},
                    "xAxis": {"type": "value"},
                    "yAxis": {"type": "category", "inverse": True, "data": [s["name"] for s in statuses]},
                    "series": [{"type": "bar", "data": [s["lag"] or 0 for s in statuses]}],
                },
                height=max(200, 26 * len(statuses) + 60),
            )
        ],
        tables=tables,
        actions=actions,
    )
