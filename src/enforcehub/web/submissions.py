"""POST /api/v1/submissions (JSON or a file), receipts, the caller's submissions, and the agency's rows
with their problems."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import PurePath
from typing import Annotated, Any, cast

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from enforcehub.errors import EnforcehubError
from enforcehub.intake.archive import ArchiveError, archive_bytes, archive_chunks, blob_path
from enforcehub.pipeline import (
    Channel,
    HubContext,
    Policy,
    Principal,
    SubmissionRefused,
    SubmissionRequest,
    annotate,
    process,
    receipt_body,
    register,
    relay,
)
from enforcehub.pipeline.receipt import sign_receipt
from enforcehub.store import submissions as submission_store
from enforcehub.store.db import read_transaction
from enforcehub.validate.headers import map_headers
from enforcehub.web.deps import ApiError, Caller, Hub, region_prefix, require

router = APIRouter(prefix="/api/v1", tags=["submissions"])
SUBMITTERS = ("admin", "agency", "platform", "hub")
READERS = ("admin", "supervisor", "agency", "platform", "hub")  # who may read submissions (scoped)
STATUSES = ("received", "processing", "done", "failed")
SYNC_MAX_BYTES = (
    8 << 20
)  # bodies up to this size are processed before answering; larger ones in the background
FORMATS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xls": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def _safe_name(name: str | None) -> str | None:
    """Keep only the last path component of an uploaded file name (no path tricks reach disk or logs)."""
    if not name:
        return None
    leaf = PurePath(name.replace("\\", "/")).name
    return "".join(ch for ch in leaf if ch.isprintable())[:200] or None


@router.post("/submissions", status_code=201, summary="Submit records (JSON body or a file upload)")
async def submit(
    request: Request,
    context: Hub,
    caller: Caller,
    background: BackgroundTasks,
    dataset: Annotated[str, Query(description="Dataset name, e.g. penalty")],
    policy: Annotated[str, Query(pattern="^(accept-valid-rows|reject-submission)$")] = "accept-valid-rows",
    source_system: Annotated[str | None, Query(max_length=200)] = None,
    channel: Annotated[str | None, Query(pattern="^(api|file|platform|relay)$")] = None,
) -> JSONResponse:
    """Archive the body first, then validate and store. Small bodies answer with the final receipt (201);
    large files answer 202 with a `processing` receipt to poll at GET /api/v1/submissions/{id}."""
    require(caller, *SUBMITTERS)
    if dataset not in context.standard.datasets:
        raise ApiError(
            404,
            "unknown-dataset",
            f"未知数据集「{dataset}」",
            f"unknown dataset {dataset!r}",
            {"known": list(context.standard.datasets)},
        )
    settings = request.app.state.settings
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            form = await request.form(max_part_size=settings.max_upload_mb << 20)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(422, "missing-file", "表单中缺少 file 字段", "the form has no 'file' part")
            filename = _safe_name(upload.filename)
            fmt = FORMATS.get(PurePath(filename or "").suffix.lower())
            blob = archive_chunks(
                settings.archive_dir, _iter_upload(upload), max_bytes=settings.max_upload_mb << 20
            )
            used_channel = channel or "file"
        else:
            body = await request.body()
            if len(body) > settings.max_json_mb << 20:
                raise ApiError(
                    413,
                    "body-too-large",
                    f"请求体超过 {settings.max_json_mb} MB，请改用文件上传",
                    f"body larger than {settings.max_json_mb} MB; upload a file instead",
                )
            relayed = channel == "relay" and content_type.startswith(relay.CONTENT_TYPE)
            if relayed:
                _check_relay(caller)
            else:
                _check_json(body)
            blob = archive_bytes(settings.archive_dir, body)
            filename, used_channel = None, channel or "api"
            fmt = relay.FORMAT if relayed else "json"
    except ArchiveError as exc:
        raise ApiError(413, exc.code, exc.message_zh, exc.message_en) from None
    if used_channel == "relay" and caller.role != "hub":
        raise ApiError(
            403, "relay-needs-hub-key", "只有上级平台签发的 hub 密钥可以中继报送", "relay needs a hub key"
        )
    submission = SubmissionRequest(
        dataset=dataset,
        blob=blob,
        fmt=fmt,
        filename=filename,
        channel=cast(Channel, used_channel),  # both checked by the Query patterns above
        policy=cast(Policy, policy),
        source_system=source_system,
    )
    if fmt == relay.FORMAT:  # the province keeps each relaying city's link with the batch
        submission.origin_hub = caller.name  # a hub key relays only its own hub's versions
        submission.extra.update(
            link=f"inbound:{caller.name}",
            peer_seq=request.headers.get("x-relay-head"),
            peer_upto=request.headers.get("x-relay-upto"),
        )
    registered = register(context, submission, caller)
    if registered["status"] != "processing":
        return JSONResponse(registered, status_code=200)
    if blob.size > SYNC_MAX_BYTES and fmt != relay.FORMAT:  # a relaying hub waits for its receipts
        background.add_task(_process_quietly, context, registered["id"], caller, submission)
        return JSONResponse(
            {**registered, "poll": f"/api/v1/submissions/{registered['id']}"}, status_code=202
        )
    try:  # in a worker thread: the server keeps answering (health checks, other callers) meanwhile
        receipt = await run_in_threadpool(process, context, registered["id"], caller, submission)
    except SubmissionRefused as exc:
        raise ApiError(
            exc.status,
            exc.code,
            exc.message_zh,
            exc.message_en,
            {**exc.detail, "submission": registered["id"]},
        ) from None
    except EnforcehubError as exc:
        raise ApiError(
            422, exc.code, exc.message_zh, exc.message_en, {"submission": registered["id"]}
        ) from None
    return JSONResponse(receipt, status_code=201)


def _iter_upload(upload: UploadFile) -> Iterator[bytes]:
    """The uploaded file (already spooled to disk by the form parser) in 1 MB pieces."""
    upload.file.seek(0)
    return iter(lambda: upload.file.read(1 << 20), b"")


def _process_quietly(
    context: Any, submission_id: str, caller: Principal, submission: SubmissionRequest
) -> None:
    """Background processing: failures are recorded on the submission (status failed), never raised."""
    try:
        process(context, submission_id, caller, submission)
    except Exception:
        return


def _check_relay(caller: Principal) -> None:
    if caller.role != "hub":
        raise ApiError(
            403, "relay-needs-hub-key", "只有上级平台签发的 hub 密钥可以中继报送", "relay needs a hub key"
        )


def _check_json(body: bytes) -> None:
    """Refuse a body that is not JSON before it is archived as a submission."""
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "invalid-json", f"请求体不是合法的 JSON：{exc}", f"the body is not valid JSON: {exc}"
        ) from None
    records = parsed.get("records") if isinstance(parsed, dict) else parsed
    if not isinstance(records, list):
        raise ApiError(
            422,
            "invalid-body",
            '请求体应为 {"records": [...]} 或记录数组',
            'the body must be {"records": [...]} or an array of records',
        )
    if not records:
        raise ApiError(422, "no-records", "请求体中没有记录", "the body contains no records")


def visibility(caller: Principal, context: HubContext) -> submission_store.Visibility:
    """Which submissions `caller` may see (docs/api.md, "Who sees which submission")."""
    if caller.role in ("admin", "supervisor"):
        return submission_store.Visibility(
            "region", key_id=caller.key_id, region_prefix=region_prefix(caller, context)
        )
    if caller.role == "agency":
        return submission_store.Visibility("agency", key_id=caller.key_id, agency_uscc=caller.agency_uscc)
    return submission_store.Visibility("peers", key_id=caller.key_id, role=caller.role, region=caller.region)


def _utc(value: dt.datetime) -> dt.datetime:
    """Times without an offset are UTC (as everywhere in the API)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _cursor(row: dict[str, Any]) -> str:
    """The opaque keyset cursor after `row`: its received time and id."""
    text = f"{_utc(row['received_at']).isoformat()}|{row['id']}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, submission_id = text.split("|", 1)
        return _utc(dt.datetime.fromisoformat(at)), submission_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            422,
            "invalid-cursor",
            "after 参数不是上一页返回的 next 游标",
            "`after` is not a `next` cursor returned by the previous page",
        ) from None


def _receipt_of(context: HubContext, row: dict[str, Any]) -> dict[str, Any]:
    return sign_receipt(receipt_body(row), context.signing_secret)


@router.get("/submissions", summary="The submissions the caller may see, newest first, keyset-paginated")
def list_submission_receipts(
    context: Hub,
    caller: Caller,
    dataset: Annotated[str | None, Query(description="Only this dataset")] = None,
    status: Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")] = None,
    since: Annotated[dt.datetime | None, Query(description="Received at or after (UTC if no offset)")] = None,
    until: Annotated[dt.datetime | None, Query(description="Received before (UTC if no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(max_length=200, description="The `next` of the previous page")] = None,
) -> dict[str, Any]:
    """Receipts (signed, without findings) of the submissions the caller may see: an agency key those
    made with its agency's keys, a platform or hub key those of its own keys, admin and supervisor
    every submission of their region."""
    require(caller, *READERS)
    if dataset is not None and dataset not in context.standard.datasets:
        raise ApiError(404, "unknown-dataset", f"未知数据集「{dataset}」", f"unknown dataset {dataset!r}")
    with read_transaction(context.engine) as conn:
        rows = submission_store.list_submissions(
            conn,
            visibility=visibility(caller, context),
            hub_region=context.region,
            dataset=dataset,
            status=status,
            since=_utc(since) if since else None,
            until=_utc(until) if until else None,
            before=_after(after) if after else None,
            limit=limit,
        )
    return {
        "submissions": [_receipt_of(context, row) for row in rows],
        "next": _cursor(rows[-1]) if len(rows) == limit else None,
    }


def _visible_receipt(submission_id: str, context: HubContext, caller: Principal) -> dict[str, Any]:
    """The signed receipt, or 404 when it does not exist or the caller may not see it (403 for roles
    that never read submissions)."""
    require(caller, *READERS)
    with read_transaction(context.engine) as conn:
        rows = submission_store.list_submissions(
            conn,
            visibility=visibility(caller, context),
            hub_region=context.region,
            submission_id=submission_id,
            limit=1,
        )
    if not rows:
        raise ApiError(
            404, "unknown-submission", f"找不到报送记录 {submission_id}", f"no submission {submission_id}"
        )
    return _receipt_of(context, rows[0])


def _findings_of(receipt: dict[str, Any]) -> str:
    """Whose findings a receipt shows: a duplicate's are those of the submission it repeats."""
    return str(receipt["duplicate_of"] or receipt["id"])


@router.get("/submissions/{submission_id}", summary="A submission's receipt, with one page of its findings")
def get_submission(
    submission_id: str,
    context: Hub,
    caller: Caller,
    errors_page: Annotated[int, Query(ge=1, le=1_000_000, description="Page of findings, from 1")] = 1,
    errors_page_size: Annotated[
        int, Query(ge=0, le=1000, description="Findings per page (0: only the total)")
    ] = 100,
) -> dict[str, Any]:
    """The signed receipt plus `errors`: one page of findings ({items, page, page_size, total, next}).
    The signature covers the receipt, not the page (see docs/api.md)."""
    receipt = _visible_receipt(submission_id, context, caller)
    with read_transaction(context.engine) as conn:
        total, items = submission_store.list_findings(
            conn,
            submission_id=_findings_of(receipt),
            offset=(errors_page - 1) * errors_page_size,
            limit=errors_page_size,
        )
    more = errors_page_size > 0 and errors_page * errors_page_size < total
    return {
        **receipt,
        "errors": {
            "items": items,
            "page": errors_page,
            "page_size": errors_page_size,
            "total": total,
            "next": errors_page + 1 if more else None,
        },
    }


@router.get("/submissions/{submission_id}/errors", summary="A submission's findings, paged")
def get_findings(
    submission_id: str,
    context: Hub,
    caller: Caller,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    receipt = _visible_receipt(submission_id, context, caller)
    with read_transaction(context.engine) as conn:
        total, page = submission_store.list_findings(
            conn, submission_id=_findings_of(receipt), offset=offset, limit=limit
        )
    return {"total": total, "offset": offset, "limit": limit, "errors": page}


@router.get(
    "/submissions/{submission_id}/errors.csv", summary="The rows with problems, as sent, problems beside"
)
def get_errors_csv(submission_id: str, request: Request, context: Hub, caller: Caller) -> Response:
    """The agency's own rows that have problems, with a 问题说明 column (UTF-8 with BOM for Excel)."""
    headers, rows, _notes, _fields = _annotated(submission_id, request, context, caller)
    return Response(
        annotate.to_csv(headers, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{submission_id}-errors.csv"'},
    )


@router.get("/submissions/{submission_id}/errors.xlsx", summary="The rows with problems as a workbook to fix")
def get_errors_xlsx(submission_id: str, request: Request, context: Hub, caller: Caller) -> Response:
    """The agency's own rows that have problems, in their own columns, problem cells highlighted with
    the Chinese message as a comment and a 问题说明 column: fix them and upload the file again."""
    headers, rows, notes, fields = _annotated(submission_id, request, context, caller)
    return Response(
        annotate.to_xlsx(headers, rows, notes, fields),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{submission_id}-errors.xlsx"'},
    )


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _annotated(submission_id: str, request: Request, context: Any, caller: Principal) -> Any:
    receipt = _visible_receipt(submission_id, context, caller)
    with read_transaction(context.engine) as conn:
        _total, findings = submission_store.list_findings(
            conn, submission_id=_findings_of(receipt), limit=1_000_000
        )
    path = blob_path(request.app.state.settings.archive_dir, receipt["sha256"])
    if not path.exists():
        raise ApiError(410, "archive-missing", "原始文件已不在归档中", "the archived file is gone")
    fmt = receipt["format"] if receipt["format"] in ("csv", "xlsx", "json", "jsonl") else None
    headers, rows, notes = annotate.annotated_rows(path, fmt, receipt["filename"], findings)
    dataset = context.standard.datasets[receipt["dataset"]]
    fields = map_headers(dataset, headers[1:-1], require_columns=False).columns
    return headers, rows, notes, fields
