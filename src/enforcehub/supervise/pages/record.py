"""记录详情 Record detail: the current version's fields by their Chinese element titles, every version with
its lineage, and the alerts raised on the record. Out of the principal's region = not found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from enforcehub.standard.loader import standard
from enforcehub.store import reads
from enforcehub.store.supervision import AlertFilter, list_alerts
from enforcehub.supervise.pages.common import DATASET_TITLES, city_label
from enforcehub.supervise.pages.links import (
    ALERT_LINK,
    ENTITY_LINK,
    SEVERITY,
    STATUS,
    in_scope,
    label,
    local_time,
    shown,
)
from enforcehub.supervise.ruleset import load_rules
from enforcehub.supervise.view import Column, Page, Scope, Section, TableView, page

TITLE, TITLE_EN = "记录详情", "Record"


def _empty(scope: Scope, filters: dict[str, Any], note_zh: str, note_en: str) -> Page:
    return Page(
        slug="record",
        title=TITLE,
        title_en=TITLE_EN,
        filters=filters,
        notes=[note_en if scope.lang == "en" else note_zh],
    )


@page("record", TITLE, TITLE_EN, order=90, in_nav=False)
def record_page(conn: Connection, scope: Scope, params: Mapping[str, str]) -> Page:
    dataset = (params.get("dataset") or "").strip()
    raw_id = (params.get("record_id") or "").strip()
    filters: dict[str, Any] = {"dataset": dataset, "record_id": raw_id}
    if not dataset or not raw_id:
        return _empty(scope, filters, "请给出数据集和记录编号。", "Give a dataset and a record id.")
    std = standard()
    if dataset not in std.datasets:
        raise ValueError(f"unknown dataset {dataset!r}")
    if not raw_id.isdigit():
        raise ValueError(f"not a record id: {raw_id!r}")
    record_id = int(raw_id)
    record = reads.get_record(conn, dataset=dataset, record_id=record_id)
    if record is None or not in_scope(scope, record["region"]):
        return _empty(
            scope,
            filters,
            f"找不到记录 {dataset}/{record_id}（不存在，或不在您的管辖区域内）。",
            f"No record {dataset}/{record_id} (it does not exist, or is outside your region).",
        )
    history = reads.list_versions(conn, record_id=record_id)
    en = scope.lang == "en"
    spec = std.datasets[dataset]
    current = history[-1]["data"] if history else {}
    titles = {e.name: (e.title_en or e.name) if en else e.title for e in spec.elements}
    fields = [(titles[e.name], shown(current[e.name])) for e in spec.elements if e.name in current]
    fields += [(name, shown(value)) for name, value in current.items() if name not in titles]
    dataset_title = DATASET_TITLES.get(dataset, (spec.title, spec.title_en))
    identity: list[tuple[str, Any]] = [
        ("数据集" if not en else "Dataset", f"{dataset_title[1 if en else 0]} ({dataset})"),
        ("记录编号" if not en else "Record id", record["id"]),
        ("业务主键" if not en else "Business key", record["business_key"]),
        ("当前版本" if not en else "Current version", record["version_no"]),
        ("状态" if not en else "Status", record["status"]),
        ("执法主体代码" if not en else "Agency USCC", record["agency_uscc"]),
        ("行政区划" if not en else "Region", record["region"]),
        ("地市" if not en else "City", city_label((record["region"] or "")[:4] + "00", scope.lang)),
        ("行为日期" if not en else "Act date", shown(record["act_date"])),
        ("相对人代码" if not en else "Counterparty code", record["counterparty_code"]),
        ("首次入库" if not en else "Created", local_time(record["created_at"])),
        ("最后更新" if not en else "Updated", local_time(record["updated_at"])),
    ]
    version_rows = [
        {
            "version": v["version"],
            "status": v["status"],
            "content_hash": v["content_hash"],
            "submission_id": v["lineage"]["submission_id"],
            "row": v["lineage"]["row"],
            "principal": v["lineage"]["principal"],
            "channel": v["lineage"]["channel"],
            "source_system": v["lineage"]["source_system"],
            "origin_hub": v["lineage"]["origin_hub"],
            "origin_submission": v["lineage"]["origin_submission"],
            "received_at": local_time(v["lineage"]["received_at"]),
        }
        for v in reversed(history)
    ]
    _, found = list_alerts(
        conn,
        AlertFilter(dataset=dataset, record_id=record_id, region_prefix=scope.region_prefix),
        limit=500,
    )
    rules = load_rules()
    alert_rows = [
        {
            "id": a["id"],
            "rule": a["rule"],
            "rule_title": (rules[a["rule"]].title_en if en else rules[a["rule"]].title)
            if a["rule"] in rules
            else a["rule"],
            "severity": label(SEVERITY.get(a["severity"], (a["severity"], a["severity"])), scope),
            "status": label(STATUS.get(a["status"], (a["status"], a["status"])), scope),
            "detected_at": local_time(a["detected_at"]),
            "closed_by": a["closed_by"],
        }
        for a in found
    ]
    sections = [
        Section("记录", "Record", identity),
        Section("当前版本字段", "Current version's fields", fields),
    ]
    tables = [
        TableView(
            "versions",
            "版本历史与来源",
            "Versions and lineage",
            [
                Column("version", "版本", "Version"),
                Column("status", "状态", "Status"),
                Column("submission_id", "报送批次", "Submission"),
                Column("row", "行号", "Row"),
                Column("principal", "报送主体", "Principal"),
                Column("channel", "渠道", "Channel"),
                Column("source_system", "来源系统", "Source system"),
                Column("origin_hub", "来源节点", "Origin hub"),
                Column("origin_submission", "原始批次", "Origin submission"),
                Column("received_at", "接收时间", "Received"),
                Column("content_hash", "内容摘要", "Content hash"),
            ],
            version_rows,
            note="最新版本在前；时间为北京时间。" if not en else "Newest first; times in Asia/Shanghai.",
        ),
        TableView(
            "alerts",
            "本记录的预警",
            "Alerts on this record",
            [
                Column("id", "预警编号", "Alert", link=ALERT_LINK),
                Column("rule_title", "规则", "Rule"),
                Column("severity", "级别", "Severity"),
                Column("status", "状态", "Status"),
                Column("detected_at", "发现时间", "Detected"),
                Column("closed_by", "关闭人", "Closed by"),
            ],
            alert_rows,
        ),
    ]
    code = record["counterparty_code"]
    if code:
        tables.append(
            TableView(
                "entity",
                "相对人",
                "Counterparty",
                [Column("code", "相对人代码（一户一档）", "Counterparty code (profile)", link=ENTITY_LINK)],
                [{"code": code}],
            )
        )
    return Page(
        slug="record",
        title=TITLE,
        title_en=TITLE_EN,
        filters=filters,
        sections=sections,
        tables=tables,
    )
