"""The pull feed and consumer management over HTTP.

A consumer key reads only its own consumer's feed; admins read any. Consumers are managed by admins.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from enforcehub.errors import EnforcehubError
from enforcehub.pipeline import HubContext, Principal
from enforcehub.share import consumers as consumer_service
from enforcehub.share.feed import MAX_LIMIT, FeedPage, decode_cursor, encode_cursor, read_page
from enforcehub.store import consumers as consumer_store
from enforcehub.store import feeds
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.web.deps import ApiError, Caller, Hub, require

router = APIRouter(prefix="/api/v1", tags=["sharing"])
POLL_INTERVAL = 0.2


def _api_error(exc: EnforcehubError, status: int = 422) -> ApiError:
    if isinstance(exc, consumer_service.ConsumerNotFound):
        status = 404
    return ApiError(status, exc.code, exc.message_zh, exc.message_en)


def _consumer_for(context: HubContext, caller: Principal, name: str) -> dict[str, Any]:
    """The consumer `name` if the caller may read its feed (its own consumer key, or an admin)."""
    require(caller, "consumer", "admin")
    if caller.role == "consumer" and caller.consumer != name:
        raise ApiError(
            403,
            "other-consumer",
            f"此密钥只能读取消费方「{caller.consumer}」的数据",
            f"this key reads only consumer {caller.consumer!r}",
        )
    with read_transaction(context.engine) as conn:
        row = consumer_store.get_consumer(conn, name)
    if row is None:
        raise ApiError(404, "consumer-not-found", f"消费方 {name} 不存在", f"no consumer named {name}")
    return row


def _read(context: HubContext, row: dict[str, Any], after: int, limit: int) -> FeedPage:
    with read_transaction(context.engine) as conn:
        page, _ = read_page(
            conn, row, after=after, limit=limit, standard=context.standard, hub_id=context.hub_id
        )
    return page


def _last_seq(context: HubContext) -> int:
    with read_transaction(context.engine) as conn:
        return feeds.last_seq(conn)


@router.get(
    "/feeds/{consumer}",
    summary="The consumer's events after a cursor, in its own shape",
    response_description='{"events": [...], "next": "<cursor>", "more": bool}',
)
async def read_feed(
    consumer: str,
    context: Hub,
    caller: Caller,
    after: Annotated[
        str | None, Query(description="`next` of the previous page; default: the acked cursor")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Changes to look at")] = 1000,
    wait: Annotated[float, Query(ge=0, le=60, description="Long-poll: seconds to wait for new events")] = 0,
) -> Response:
    row = await run_in_threadpool(_consumer_for, context, caller, consumer)
    try:
        position = decode_cursor(after) if after else int(row["acked_seq"])
    except EnforcehubError as exc:
        raise _api_error(exc, 400) from exc
    deadline = time.monotonic() + wait
    while True:
        page = await run_in_threadpool(_read, context, row, position, limit)
        if page.events or page.more or time.monotonic() >= deadline:
            break
        position = page.position
        while time.monotonic() < deadline and await run_in_threadpool(_last_seq, context) <= position:
            await asyncio.sleep(POLL_INTERVAL)
    return Response(page.body(), media_type="application/json")


class AckBody(BaseModel):
    cursor: str = Field(description="A `next` cursor returned by the feed")


@router.post("/feeds/{consumer}/ack", summary="Commit a cursor on the server (it only moves forward)")
def ack_feed(consumer: str, body: AckBody, context: Hub, caller: Caller) -> dict[str, Any]:
    _consumer_for(context, caller, consumer)
    try:
        seq = decode_cursor(body.cursor)
    except EnforcehubError as exc:
        raise _api_error(exc, 400) from exc
    with write_transaction(context.engine) as conn:
        if seq > feeds.last_seq(conn):
            raise ApiError(
                400, "cursor-ahead", "游标超出已提交的变更", "the cursor is beyond the last change"
            )
        position = consumer_store.ack(conn, consumer, seq=seq, now=dt.datetime.now(dt.UTC))
    return {"consumer": consumer, "cursor": encode_cursor(position)}


class ConsumerBody(BaseModel):
    name: str
    profile: str = Field(
        description="A built-in profile: credit, internet-plus-supervision, double-random, …"
    )
    title: str = ""
    datasets: list[str] = []
    region: str | None = None
    mode: str = Field("feed", pattern="^(feed|webhook|export)$")
    webhook_url: str | None = None
    batch_size: int = 100
    profile_yaml: str | None = Field(None, description="A custom profile, as YAML (instead of `profile`)")


@router.post("/admin/consumers", status_code=201, tags=["admin"], summary="Register a consumer")
def add_consumer(body: ConsumerBody, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin")
    spec = consumer_service.ConsumerSpec(
        name=body.name,
        profile=body.profile,
        title=body.title,
        datasets=tuple(body.datasets),
        region=body.region,
        mode=body.mode,  # type: ignore[arg-type]  # checked by add_consumer
        webhook_url=body.webhook_url,
        batch_size=body.batch_size,
    )
    try:
        with write_transaction(context.engine) as conn:
            if body.profile_yaml is not None:
                created = consumer_service.add_custom_consumer(
                    conn, spec, body.profile_yaml, standard=context.standard, now=dt.datetime.now(dt.UTC)
                )
            else:
                created = consumer_service.add_consumer(
                    conn, spec, standard=context.standard, now=dt.datetime.now(dt.UTC)
                )
    except EnforcehubError as exc:
        raise _api_error(exc) from exc
    return {**consumer_service.view(created), "webhook_secret": created["webhook_secret"]}


@router.get("/admin/consumers", tags=["admin"], summary="Consumers with their lag and failures")
def list_consumers(context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin", "supervisor")
    with read_transaction(context.engine) as conn:
        rows = consumer_store.list_consumers(conn)
        return {
            "consumers": [
                {**consumer_service.view(r), "status": consumer_service.status(conn, r, context.standard)}
                for r in rows
            ]
        }


@router.get("/admin/consumers/{name}", tags=["admin"], summary="One consumer and its status")
def show_consumer(name: str, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin", "supervisor")
    try:
        with read_transaction(context.engine) as conn:
            row = consumer_service.get(conn, name)
            return {
                **consumer_service.view(row),
                "status": consumer_service.status(conn, row, context.standard),
            }
    except EnforcehubError as exc:
        raise _api_error(exc) from exc


def _set_state(context: HubContext, name: str, state: str) -> dict[str, Any]:
    try:
        with write_transaction(context.engine) as conn:
            return consumer_service.view(
                consumer_service.set_state(conn, name, state, now=dt.datetime.now(dt.UTC))
            )
    except EnforcehubError as exc:
        raise _api_error(exc) from exc


@router.post("/admin/consumers/{name}/pause", tags=["admin"], summary="Pause deliveries to a consumer")
def pause_consumer(name: str, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin")
    return _set_state(context, name, "paused")


@router.post("/admin/consumers/{name}/resume", tags=["admin"], summary="Resume (also a disabled webhook)")
def resume_consumer(name: str, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin")
    return _set_state(context, name, "active")


@router.post("/admin/consumers/{name}/rotate-secret", tags=["admin"], summary="New webhook secret")
def rotate_secret(name: str, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin")
    try:
        with write_transaction(context.engine) as conn:
            secret = consumer_service.rotate_secret(conn, name, now=dt.datetime.now(dt.UTC))
    except EnforcehubError as exc:
        raise _api_error(exc) from exc
    return {"consumer": name, "webhook_secret": secret}


@router.delete("/admin/consumers/{name}", tags=["admin"], summary="Remove a consumer (records untouched)")
def remove_consumer(name: str, context: Hub, caller: Caller) -> dict[str, Any]:
    require(caller, "admin")
    with write_transaction(context.engine) as conn:
        if not consumer_store.remove_consumer(conn, name):
            raise ApiError(404, "consumer-not-found", f"消费方 {name} 不存在", f"no consumer named {name}")
    return {"removed": name}


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson",
}


@router.get("/feeds/{consumer}/export", summary="The consumer's events of a date range as CSV, XLSX or JSONL")
def export_feed(
    consumer: str,
    context: Hub,
    caller: Caller,
    request: Request,
    date_from: Annotated[dt.date, Query(description="First day (Asia/Shanghai)")],
    date_to: Annotated[dt.date, Query(description="Last day (Asia/Shanghai)")],
    format: Annotated[str, Query(pattern="^(csv|xlsx|jsonl)$")] = "csv",
) -> FileResponse:
    from enforcehub.share.exports import seq_range, write_export

    row = _consumer_for(context, caller, consumer)
    if date_to < date_from or (date_to - date_from).days > 366:
        raise ApiError(
            422,
            "bad-range",
            "日期范围无效（起止颠倒或超过一年）",
            "invalid date range (reversed or over a year)",
        )
    with read_transaction(context.engine) as conn:
        after, until = seq_range(conn, date_from, date_to)
    folder = request.app.state.settings.data_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, suffix=f".{format}", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            write_export(
                context.engine,
                row,
                handle,
                after=after,
                until=until,
                export_format=format,
                standard=context.standard,
                hub_id=context.hub_id,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    name = f"{consumer}_{date_from}_{date_to}.{format}"
    return FileResponse(
        path,
        media_type=EXPORT_TYPES[format],
        filename=name,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
