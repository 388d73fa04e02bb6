"""Reading the thematic database: records, versions (time travel), entity profiles (一户一档)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from enforcehub.store import reads
from enforcehub.store.audit import append_audit
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.web.deps import ApiError, Caller, Hub, region_prefix, require

router = APIRouter(prefix="/api/v1", tags=["records"])
READERS = ("admin", "agency", "platform", "supervisor", "hub")


def _dataset(context: Any, dataset: str) -> None:
    if dataset not in context.standard.datasets:
        raise ApiError(404, "unknown-dataset", f"未知数据集「{dataset}」", f"unknown dataset {dataset!r}")


@router.get("/records/{dataset}", summary="Current records, filtered, with keyset pagination")
def list_records(
    dataset: str,
    context: Hub,
    caller: Caller,
    after: Annotated[int, Query(ge=0, description="The `next` cursor of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    region: Annotated[str | None, Query(pattern=r"^\d{2,6}$")] = None,
    agency: Annotated[str | None, Query(max_length=18)] = None,
    counterparty: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, Any]:
    require(caller, *READERS)
    _dataset(context, dataset)
    scope = region_prefix(caller, context)
    wanted = region.rstrip("0") if region else None
    if scope and wanted and not wanted.startswith(scope):
        raise ApiError(
            403, "out-of-scope", f"无权读取区划 {region} 的数据", f"region {region} is outside your scope"
        )
    if caller.role == "agency":
        agency = caller.agency_uscc
    with read_transaction(context.engine) as conn:
        page = reads.list_records(
            conn,
            dataset=dataset,
            after_id=after,
            limit=limit,
            region_prefix=wanted or scope,
            agency_uscc=agency,
            counterparty_code=counterparty,
            status=status,
            date_from=date_from,
            date_to=date_to,
        )
    return {"records": page, "next": page[-1]["id"] if len(page) == limit else None}


@router.get("/records/{dataset}/{record_id}", summary="One record: its current version, or as of a date")
def get_record(
    dataset: str, record_id: int, context: Hub, caller: Caller, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    record, history = _record_and_versions(dataset, record_id, context, caller, as_of)
    if not history:
        raise ApiError(404, "no-version", "该时点尚无此记录", "the record had no version at that time")
    return {
        "id": record["id"],
        "dataset": dataset,
        "key": record["business_key"],
        "current": history[-1],
        "versions": len(history),
    }


@router.get("/records/{dataset}/{record_id}/versions", summary="Every version with its lineage")
def get_versions(dataset: str, record_id: int, context: Hub, caller: Caller) -> dict[str, Any]:
    record, history = _record_and_versions(dataset, record_id, context, caller, None)
    return {"id": record["id"], "dataset": dataset, "key": record["business_key"], "versions": history}


def _record_and_versions(
    dataset: str, record_id: int, context: Any, caller: Any, as_of: dt.datetime | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    require(caller, *READERS)
    _dataset(context, dataset)
    with read_transaction(context.engine) as conn:
        record = reads.get_record(conn, dataset=dataset, record_id=record_id)
        scope = region_prefix(caller, context)
        if (
            record is None
            or (scope and not (record["region"] or "").startswith(scope))
            or (caller.role == "agency" and record["agency_uscc"] != caller.agency_uscc)
        ):
            raise ApiError(404, "unknown-record", f"找不到记录 {record_id}", f"no record {record_id}")
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.UTC)
        history = reads.list_versions(conn, record_id=record_id, as_of=as_of)
    return record, history


@router.get("/entities/{code}", summary="Everything the hub holds about one counterparty (一户一档)")
def get_entity(code: str, context: Hub, caller: Caller) -> dict[str, Any]:
    """Records of every dataset whose counterparty is `code` (USCC or ID number). Reads of a natural
    person's profile are written to the audit log."""
    require(caller, "admin", "supervisor", "platform", "hub")
    if len(code) > 64:
        raise ApiError(422, "invalid-code", "代码过长", "code too long")
    with read_transaction(context.engine) as conn:
        found = reads.list_entity_records(conn, code=code, region_prefix=region_prefix(caller, context))
    with write_transaction(context.engine) as conn:
        append_audit(
            conn, principal=caller.name, action="read-entity", target=code, detail={"records": len(found)}
        )
    by_dataset: dict[str, int] = {}
    for item in found:
        by_dataset[item["dataset"]] = by_dataset.get(item["dataset"], 0) + 1
    return {"code": code, "records": found, "by_dataset": by_dataset}
