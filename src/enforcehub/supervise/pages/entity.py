"""一户一档 Entity profile: everything the hub holds about one counterparty (USCC or ID number) across
datasets, within the principal's region. Every view is written to the audit log (`read-entity`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from enforcehub.standard.loader import standard
from enforcehub.store import reads
from enforcehub.store.audit import append_audit
from enforcehub.store.db import write_transaction
from enforcehub.store.schema import alerts
from enforcehub.store.supervision import _alert
from enforcehub.supervise.pages.alerts import ALERT_COLUMNS, alert_row
from enforcehub.supervise.pages.common import DATASET_TITLES
from enforcehub.supervise.pages.links import RECORD_LINK, shown
from enforcehub.supervise.ruleset import load_rules
from enforcehub.supervise.view import Card, Column, Page, Scope, Section, TableView, page

TITLE, TITLE_EN = "一户一档", "Entity profile"
RECORD_LIMIT = 2000
# what identifies the counterparty, first found in its records' data
IDENTITY = (
    "counterparty_name",
    "counterparty_category",
    "counterparty_code",
    "legal_representative",
    "address",
)


def _dataset_title(dataset: str, en: bool) -> str:
    std = standard()
    spec = std.datasets.get(dataset)
    default = (spec.title, spec.title_en) if spec else (dataset, dataset)
    return DATASET_TITLES.get(dataset, default)[1 if en else 0]


@page("entity", TITLE, TITLE_EN, order=50)
def entity_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    en = scope.lang == "en"
    code = (params.get("code") or "").strip().upper()
    if len(code) > 64:
        raise ValueError("code too long")
    if not code:
        return Page(
            slug="entity",
            title=TITLE,
            title_en=TITLE_EN,
            filters={"code": ""},
            notes=[
                "Enter a unified social credit code or an ID number."
                if en
                else "请输入统一社会信用代码或身份证件号码查询。"
            ],
        )
    found = reads.list_entity_records(conn, code=code, region_prefix=scope.region_prefix, limit=RECORD_LIMIT)
    # the view is audited whether anything was found or not (who looked for whom)
    with write_transaction(conn.engine) as writer:
        append_audit(
            writer,
            principal=scope.principal,
            action="read-entity",
            target=code,
            detail={"records": len(found), "via": "dashboard", "region": scope.region_prefix},
        )
    std = standard()
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for item in found:
        by_dataset.setdefault(item["dataset"], []).append(item)
    identity: list[tuple[str, Any]] = [("代码" if not en else "Code", code)]
    seen: set[str] = set()
    for item in found:
        for name in IDENTITY:
            value = item["data"].get(name)
            if name in seen or value in (None, "") or name == "counterparty_code":
                continue
            seen.add(name)
            title = name
            for spec in (std.datasets.get(item["dataset"]),):
                if spec is not None:
                    element = next((e for e in spec.elements if e.name == name), None)
                    if element is not None:
                        title = (element.title_en or name) if en else element.title
            identity.append((title, shown(value)))
    tables: list[TableView] = []
    for dataset in sorted(by_dataset, key=lambda d: (d not in DATASET_TITLES, d)):
        items = by_dataset[dataset]
        tables.append(
            TableView(
                f"records-{dataset}",
                f"{_dataset_title(dataset, False)}（{len(items)}）",
                f"{_dataset_title(dataset, True)} ({len(items)})",
                [
                    Column("record_id", "记录编号", "Record id", link=RECORD_LINK),
                    Column("key", "业务主键", "Business key", link=RECORD_LINK),
                    Column("date", "日期", "Date"),
                    Column("status", "状态", "Status"),
                    Column("agency", "执法主体", "Agency"),
                    Column("summary", "摘要", "Summary"),
                ],
                [
                    {
                        "dataset": dataset,
                        "record_id": item["id"],
                        "key": item["key"],
                        "date": item["date"],
                        "status": item["status"],
                        "agency": item["data"].get("agency_name") or item["data"].get("agency_uscc"),
                        "summary": _summary(item["data"]),
                    }
                    for item in items
                ],
            )
        )
    ids = [item["id"] for item in found]
    alert_rows: list[dict[str, Any]] = []
    if ids:
        query = select(alerts).where(alerts.c.record_id.in_(ids)).order_by(alerts.c.detected_at.desc())
        if scope.region_prefix is not None:
            query = query.where(alerts.c.region.startswith(scope.region_prefix, autoescape=True))
        rules = load_rules()
        alert_rows = [alert_row(_alert(r), rules, scope) for r in conn.execute(query)]
    tables.append(TableView("alerts", "相关预警", "Alerts on these records", ALERT_COLUMNS, alert_rows))
    notes = []
    if not found:
        notes.append(
            "No record of this counterparty within your region."
            if en
            else "您的管辖区域内没有该相对人的记录。"
        )
    if len(found) >= RECORD_LIMIT:
        notes.append(
            f"仅显示前 {RECORD_LIMIT} 条记录。" if not en else f"Only the first {RECORD_LIMIT} records."
        )
    return Page(
        slug="entity",
        title=TITLE,
        title_en=TITLE_EN,
        filters={"code": code},
        cards=[
            Card("记录总数", "Records", len(found)),
            *(
                Card(_dataset_title(d, False), _dataset_title(d, True), len(items))
                for d, items in by_dataset.items()
            ),
            Card("相关预警", "Alerts", len(alert_rows)),
        ],
        sections=[Section("相对人", "Counterparty", identity)],
        tables=tables,
        notes=notes,
    )


def _summary(data: dict[str, Any]) -> str | None:
    """A few words on what the record is: its decision number, matter or violation."""
    for name in ("decision_number", "violation_type", "matter_name", "inspection_number", "license_number"):
        value = data.get(name)
        if value not in (None, ""):
            return str(shown(value))[:120]
    return None
