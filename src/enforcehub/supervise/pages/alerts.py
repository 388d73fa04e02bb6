"""预警 Alerts: counts by rule with the rule's legal basis, alerts by city, the alerts table (filtered by
rule, status and city), and one alert's page with the form that closes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from enforcehub.store.schema import alerts
from enforcehub.store.supervision import AlertFilter, get_alert, list_alerts
from enforcehub.supervise.pages.common import DATASET_TITLES, city_label
from enforcehub.supervise.pages.links import (
    ALERT_LINK,
    RECORD_LINK,
    SEVERITY,
    STATUS,
    in_scope,
    label,
    local_time,
    shown,
)
from enforcehub.supervise.ruleset import Rule, load_rules
from enforcehub.supervise.view import Action, Card, Chart, Column, Page, Scope, Section, TableView, page

TABLE_LIMIT = 500
CLOSERS = ("supervisor", "admin")


def basis_text(rule: Rule) -> str:
    """《行政处罚法》第六十条；… — the articles a rule rests on."""
    return "；".join(f"《{b.law}》{b.article}" for b in rule.basis)


def _rule_title(rules: dict[str, Rule], rule_id: str, en: bool) -> str:
    rule = rules.get(rule_id)
    if rule is None:
        return rule_id
    return rule.title_en if en else rule.title


def _counts(conn: Connection, scope: Scope) -> list[tuple[str, str | None, str, int]]:
    """(rule, city, status, alerts) within the scope."""
    t = alerts.c
    query = select(t.rule, t.city, t.status, func.count()).group_by(t.rule, t.city, t.status)
    if scope.region_prefix is not None:
        query = query.where(t.region.startswith(scope.region_prefix, autoescape=True))
    return [(r, c, s, int(n)) for r, c, s, n in conn.execute(query)]


@page("alerts", "预警", "Alerts", order=40)
def alerts_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    rules = load_rules()
    rule = (params.get("rule") or "").strip() or None
    status = (params.get("status") or "open").strip()
    city = (params.get("city") or "").strip() or None
    if status not in ("open", "closed", "all"):
        raise ValueError(f"status must be open, closed or all, not {status!r}")
    if rule is not None and rule not in rules:
        raise ValueError(f"unknown rule {rule!r}")
    counts = _counts(conn, scope)
    open_total = sum(n for _, _, s, n in counts if s == "open")
    closed_total = sum(n for _, _, s, n in counts if s == "closed")
    by_rule: dict[str, dict[str, int]] = {}
    for r, _, s, n in counts:
        tally = by_rule.setdefault(r, {"open": 0, "closed": 0})
        tally[s] = tally.get(s, 0) + n
    rule_rows = []
    for rule_id in sorted(set(rules) | set(by_rule)):
        found = rules.get(rule_id)
        tally = by_rule.get(rule_id, {})
        rule_rows.append(
            {
                "rule": rule_id,
                "title": _rule_title(rules, rule_id, en),
                "dataset": label(DATASET_TITLES.get(found.dataset, (found.dataset, found.dataset)), scope)
                if found
                else None,
                "severity": label(SEVERITY[found.severity], scope) if found else None,
                "basis": basis_text(found) if found else None,
                "open": tally.get("open", 0),
                "closed": tally.get("closed", 0),
            }
        )
    rule_rows.sort(key=lambda r: (-int(r["open"] or 0), str(r["rule"])))
    open_by_city: dict[str, int] = {}
    for _, c, s, n in counts:
        if s == "open":
            open_by_city[c or ""] = open_by_city.get(c or "", 0) + n
    cities = sorted(open_by_city, key=lambda c: (-open_by_city[c], c))
    total, listed = list_alerts(
        conn,
        AlertFilter(
            rule=rule,
            status=None if status == "all" else status,
            city=city,
            region_prefix=scope.region_prefix,
        ),
        limit=TABLE_LIMIT,
    )
    rows = [alert_row(a, rules, scope) for a in listed]
    note = (
        f"共 {total} 条，显示最新发现的 {len(rows)} 条。"
        if not en
        else f"{total} alerts, the {len(rows)} most recently detected shown."
    )
    return Page(
        slug="alerts",
        title="预警",
        title_en="Alerts",
        filters={"rule": rule or "", "status": status, "city": city or ""},
        cards=[
            Card("待处理预警", "Open alerts", open_total),
            Card("已关闭预警", "Closed alerts", closed_total),
            Card("有预警的规则", "Rules with open alerts", sum(1 for r in rule_rows if r["open"])),
            Card("涉及地市", "Cities with open alerts", len([c for c in cities if open_by_city[c]])),
        ],
        charts=[
            Chart(
                "alerts-by-city",
                "各市待处理预警",
                "Open alerts by city",
                {
                    "tooltip": {"trigger": "axis"},
                    "grid": {"left": 110},
                    "xAxis": {"type": "value"},
                    "yAxis": {
                        "type": "category",
                        "inverse": True,
                        "data": [city_label(c or None, scope.lang) for c in cities],
                    },
                    "series": [{"type": "bar", "data": [open_by_city[c] for c in cities]}],
                },
                height=max(240, 22 * len(cities) + 60),
            )
        ],
        tables=[
            TableView(
                "rules",
                "各规则预警数及法律依据",
                "Alerts by rule, with the legal basis",
                [
                    Column("title", "规则", "Rule", link="/dashboard/alerts?rule={rule}&status=open"),
                    Column("dataset", "数据集", "Dataset"),
                    Column("severity", "级别", "Severity"),
                    Column("open", "待处理", "Open"),
                    Column("closed", "已关闭", "Closed"),
                    Column("basis", "法律依据", "Legal basis"),
                ],
                rule_rows,
            ),
            TableView(
                "alerts",
                "预警列表",
                "Alerts",
                ALERT_COLUMNS,
                rows,
                note=note,
            ),
        ],
    )


ALERT_COLUMNS = [
    Column("id", "编号", "Id", link=ALERT_LINK),
    Column("rule_title", "规则", "Rule"),
    Column("severity", "级别", "Severity"),
    Column("city_name", "地市", "City"),
    Column("agency_uscc", "执法主体代码", "Agency USCC"),
    Column("record_key", "记录", "Record", link=RECORD_LINK),
    Column("record_count", "记录数", "Records"),
    Column("detected_at", "发现时间", "Detected"),
    Column("status", "状态", "Status"),
]


def alert_row(alert: dict[str, Any], rules: dict[str, Rule], scope: Scope) -> dict[str, Any]:
    """An alert as a table row: its first record linked to the record's page."""
    ids = alert["record_ids"] or []
    keys = alert["record_keys"] or []
    return {
        "id": alert["id"],
        "rule": alert["rule"],
        "rule_title": _rule_title(rules, alert["rule"], scope.lang == "en"),
        "severity": label(SEVERITY.get(alert["severity"], (alert["severity"], alert["severity"])), scope),
        "city": alert["city"],
        "city_name": city_label(alert["city"], scope.lang),
        "agency_uscc": alert["agency_uscc"],
        "dataset": alert["dataset"],
        "record_id": ids[0] if ids else None,
        "record_key": (keys[0] if keys else None) if ids else None,
        "record_count": alert["record_count"],
        "detected_at": local_time(alert["detected_at"]),
        "status": label(STATUS.get(alert["status"], (alert["status"], alert["status"])), scope),
    }


@page("alert", "预警详情", "Alert", order=41, in_nav=False)
def alert_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    raw = (params.get("id") or "").strip()
    if not raw:
        return Page(
            slug="alert",
            title="预警详情",
            title_en="Alert",
            filters={"id": ""},
            notes=["Give an alert id." if en else "请给出预警编号。"],
        )
    if not raw.isdigit():
        raise ValueError(f"not an alert id: {raw!r}")
    found = get_alert(conn, int(raw))
    if found is None or not in_scope(scope, found["region"]):
        return Page(
            slug="alert",
            title="预警详情",
            title_en="Alert",
            filters={"id": raw},
            notes=[
                f"No alert {raw} (it does not exist, or is outside your region)."
                if en
                else f"找不到预警 {raw}（不存在，或不在您的管辖区域内）。"
            ],
        )
    rules = load_rules()
    rule = rules.get(found["rule"])
    row = alert_row(found, rules, scope)
    facts: list[tuple[str, Any]] = [
        ("编号" if not en else "Id", found["id"]),
        ("规则" if not en else "Rule", f"{row['rule_title']} ({found['rule']})"),
        ("级别" if not en else "Severity", row["severity"]),
        ("状态" if not en else "Status", row["status"]),
        ("数据集" if not en else "Dataset", found["dataset"]),
        ("地市" if not en else "City", row["city_name"]),
        ("行政区划" if not en else "Region", found["region"]),
        ("执法主体代码" if not en else "Agency USCC", found["agency_uscc"]),
        ("最早行为日期" if not en else "Earliest act date", shown(found["act_date"])),
        ("发现时间" if not en else "Detected", local_time(found["detected_at"])),
        ("更新时间" if not en else "Updated", local_time(found["updated_at"])),
        ("关闭人" if not en else "Closed by", found["closed_by"]),
        ("关闭时间" if not en else "Closed at", local_time(found["closed_at"])),
        ("说明" if not en else "Note", found["note"]),
    ]
    sections = [Section("预警", "Alert", facts)]
    if rule is not None:
        sections.append(
            Section(
                "法律依据",
                "Legal basis",
                [(f"《{b.law}》{b.article}", b.note or "") for b in rule.basis]
                + [
                    ("规则说明" if not en else "What the rule checks", rule.description),
                    ("统计口径" if not en else "How it is computed", rule.statistic),
                    ("局限" if not en else "Limits", rule.limits),
                ],
            )
        )
    detail = found["detail"] or {}
    if isinstance(detail, dict) and detail:
        sections.append(Section("检出情况", "What the rule saw", [(k, shown(v)) for k, v in detail.items()]))
    records_rows = [
        {"dataset": found["dataset"], "record_id": rid, "record_key": key}
        for rid, key in zip(found["record_ids"] or [], found["record_keys"] or [], strict=False)
    ]
    actions = []
    if found["status"] == "open" and scope.role in CLOSERS:
        actions.append(
            Action(
                "关闭预警",
                "Close the alert",
                f"/dashboard/alerts/{found['id']}/close",
                [("note", "关闭说明（必填）" if not en else "Why no further action is needed (required)")],
            )
        )
    return Page(
        slug="alert",
        title="预警详情",
        title_en="Alert",
        filters={"id": raw},
        sections=sections,
        actions=actions,
        tables=[
            TableView(
                "records",
                "涉及记录",
                "Records",
                [
                    Column("record_id", "记录编号", "Record id", link=RECORD_LINK),
                    Column("record_key", "业务主键", "Business key", link=RECORD_LINK),
                ],
                records_rows,
            )
        ],
    )
