"""intake → validate → store, one submission at a time, in one transaction.

The raw bytes are archived first (invariant 1). The submission row is then committed as
`processing` on its own, so its status can be polled. All of the submission's versions, change-log
entries, findings and its receipt commit together in one transaction, or none do (invariant 2); a
crash leaves the row `processing`, which the next start marks `failed` and resubmittable.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from enforcehub.errors import EnforcehubError
from enforcehub.intake.archive import ArchivedBlob
from enforcehub.pipeline.normalise import (
    ACT_DATE_CANDIDATES,
    CONTENT,
    COUNTERPARTY_CANDIDATES,
    KEY,
    content_hashes,
    first_present,
    stored_frame,
)
from enforcehub.pipeline.receipt import sign_receipt
from enforcehub.pipeline.registries import Registries, load_registries, platform_refusal, registry_checks
from enforcehub.standard.model import Dataset, Standard
from enforcehub.store import records as record_store
from enforcehub.store import submissions as submission_store
from enforcehub.store.audit import append_audit
from enforcehub.store.db import write_transaction
from enforcehub.validate.engine import DEFAULT_CHUNK_ROWS, ChunkResult, Validator, coalesce, dataset_of
from enforcehub.validate.headers import is_known_header, map_headers
from enforcehub.validate.report import Finding

Policy = Literal["accept-valid-rows", "reject-submission"]
Channel = Literal["api", "file", "platform", "relay"]
REVOKED_STATUS = "03"  # record_status 撤销; other status code sets (complaint handling …) never revoke
MAX_STORED_FINDINGS = 100_000
ATTEMPTS = 3


class SubmissionRefused(EnforcehubError):
    """The whole submission is refused (out of scope, unusable file); nothing is stored."""

    code = "submission-refused"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        message_en: str,
        status: int = 422,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, message_en=message_en)
        self.status = status
        self.detail = detail or {}


@dataclass(frozen=True)
class Principal:
    """Who submits: the key's id, a display name, role and scope."""

    name: str
    role: str
    key_id: int | None = None
    agency_uscc: str | None = None
    region: str | None = None
    consumer: str | None = None  # a consumer key reads only this consumer's feed


@dataclass(frozen=True)
class HubContext:
    engine: Engine
    standard: Standard
    hub_id: str
    region: str
    signing_secret: str


@dataclass
class Counts:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0
    errors: int = 0
    warnings: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class SubmissionRequest:
    dataset: str
    blob: ArchivedBlob
    fmt: str | None = None
    filename: str | None = None
    channel: Channel = "api"
    policy: Policy = "accept-valid-rows"
    source_system: str | None = None
    origin_hub: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_submission_id() -> str:
    return "S" + uuid.uuid4().hex[:24].upper()


def register(ctx: HubContext, request: SubmissionRequest, principal: Principal) -> dict[str, Any]:
    """Record the submission (`processing`), or answer at once when the same bytes were stored before."""
    dataset_of(request.dataset, ctx.standard)
    submission_id = new_submission_id()
    base = {
        "id": submission_id,
        "dataset": request.dataset,
        "sha256": request.blob.sha256,
        "size": request.blob.size,
        "filename": request.filename,
        "format": request.fmt or "json",
        "channel": request.channel,
        "policy": request.policy,
        "principal_id": principal.key_id,
        "principal": principal.name,
        "source_system": request.source_system,
        "origin_hub": request.origin_hub or ctx.hub_id,
        "received_at": now(),
    }
    with write_transaction(ctx.engine) as conn:
        append_audit(
            conn,
            principal=principal.name,
            action="submit",
            target=submission_id,
            detail={"dataset": request.dataset, "sha256": request.blob.sha256, "channel": request.channel},
        )
        earlier = submission_store.get_done_submission_by_content(
            conn, sha256=request.blob.sha256, dataset=request.dataset
        )
        if earlier is not None:
            counts = {k: earlier[k] for k in submission_store.COUNTS}
            counts.update(created=0, updated=0, revoked=0, unchanged=earlier["accepted"])
            submission_store.insert_submission(
                conn, **base, **counts, status="done", duplicate_of=earlier["id"], finished_at=now()
            )
            receipt = _receipt(conn, ctx, submission_id)
            submission_store.update_submission(
                conn, submission_id=submission_id, signature=receipt["signature"]
            )
            return receipt
        submission_store.insert_submission(conn, **base, status="processing")
    return {"id": submission_id, "status": "processing"}


def process(
    ctx: HubContext, submission_id: str, principal: Principal, request: SubmissionRequest
) -> dict[str, Any]:
    """Validate and store a registered submission; returns its receipt. Failures mark it `failed`."""
    last_error: Exception | None = None
    for _attempt in range(ATTEMPTS):
        try:
            with write_transaction(ctx.engine) as conn:
                _store_submission(conn, ctx, submission_id, principal, request)
                receipt = _receipt(conn, ctx, submission_id)
                submission_store.update_submission(
                    conn, submission_id=submission_id, signature=receipt["signature"]
                )
            return receipt
        except IntegrityError as exc:  # a concurrent writer created the same record first: go again
            last_error = exc
            continue
        except EnforcehubError as exc:  # SubmissionRefused included: the reason is kept on the submission
            _fail(ctx, submission_id, f"{exc.code}: {exc.message_zh}")
            raise
        except Exception as exc:
            _fail(ctx, submission_id, f"internal-error: {type(exc).__name__}")
            raise
    _fail(ctx, submission_id, f"conflict: {type(last_error).__name__}")
    raise EnforcehubError(
        "并发写入冲突，请重新报送", code="write-conflict", message_en="write conflict; resubmit"
    )


def _fail(ctx: HubContext, submission_id: str, reason: str) -> None:
    with write_transaction(ctx.engine) as conn:
        submission_store.update_submission(
            conn, submission_id=submission_id, status="failed", failure=reason[:2000], finished_at=now()
        )


def _chunks(request: SubmissionRequest, dataset: Dataset) -> tuple[list[str], Any, str]:
    from enforcehub.intake.readers import open_table

    table = open_table(
        request.blob.path,
        name=request.filename or request.blob.sha256,
        format=request.fmt,
        expected_headers=is_known_header(dataset),
    )
    return table.headers, coalesce(table.chunks(DEFAULT_CHUNK_ROWS), DEFAULT_CHUNK_ROWS), table.format


def _store_submission(
    conn: Connection, ctx: HubContext, submission_id: str, principal: Principal, request: SubmissionRequest
) -> None:
    dataset = dataset_of(request.dataset, ctx.standard)
    headers, chunks, fmt = _chunks(request, dataset)
    header_map = map_headers(dataset, headers, require_columns=fmt in ("csv", "xlsx"))
    registries = load_registries(conn)
    checks = registry_checks(ctx.standard, dataset, registries, ctx.region)
    validator = Validator(
        dataset, header_map, standard=ctx.standard, max_errors=MAX_STORED_FINDINGS, extra_checks=checks
    )
    counts = Counts()
    entries: list[dict[str, Any]] = []
    staged: list[ChunkResult] = []  # reject-submission: store only once the whole file is valid
    for chunk in chunks:
        result = validator.check(chunk)
        _check_scope(ctx, principal, dataset, result, registries)
        if request.policy == "reject-submission":
            staged.append(result)
        else:
            entries += _store_valid_rows(
                conn, ctx, submission_id, principal, request, dataset, result, counts
            )
    report = validator.finish()
    if request.policy == "reject-submission" and report.valid:
        for result in staged:
            entries += _store_valid_rows(
                conn, ctx, submission_id, principal, request, dataset, result, counts
            )
    counts.received = report.stats.rows
    counts.rejected = report.stats.rows - counts.accepted
    counts.errors, counts.warnings = report.stats.errors, report.stats.warnings
    submission_store.insert_findings(
        conn, rows=[_finding_row(submission_id, f) for f in report.errors + report.warnings]
    )
    record_store.append_changes(conn, entries=entries, committed_at=now())
    submission_store.update_submission(
        conn, submission_id=submission_id, status="done", format=fmt, finished_at=now(), **counts.as_dict()
    )


def _check_scope(
    ctx: HubContext, principal: Principal, dataset: Dataset, result: ChunkResult, registries: Registries
) -> None:
    """Refuse the whole submission when a row belongs to another agency or region (403 naming it)."""
    frame = result.frame
    if principal.role == "agency" and principal.agency_uscc and "agency_uscc" in dataset.names:
        outside = pl.col("agency_uscc").is_not_null() & (pl.col("agency_uscc") != principal.agency_uscc)
        _refuse_first(frame, outside, "agency_uscc", principal.agency_uscc)
    region_scope = principal.region if principal.role in ("platform", "hub") else None
    if ctx.region != "440000":
        region_scope = region_scope or ctx.region
    if region_scope and region_scope != "440000" and "region_code" in dataset.names:
        prefix = region_scope[:4] if region_scope.endswith("00") else region_scope
        outside = pl.col("region_code").is_not_null() & ~pl.col("region_code").str.starts_with(prefix)
        _refuse_first(frame, outside, "region_code", region_scope)
    if principal.role == "platform":  # only agencies registered in the key's region (registries.py)
        refused = platform_refusal(frame, dataset, registries, principal.region or ctx.region)
        if refused is not None:
            message, message_en, detail = refused
            raise SubmissionRefused(
                message, code="out-of-scope", message_en=message_en, status=403, detail=detail
            )


def _refuse_first(frame: pl.DataFrame, outside: pl.Expr, column: str, scope: str) -> None:
    hits = frame.filter(outside)
    if not hits.height:
        return
    row = hits.row(0, named=True)
    line, value = row["__row__"], row[column]
    raise SubmissionRefused(
        f"第 {line} 行的「{column}」值「{value}」不在本密钥或本级平台的范围（{scope}）内，整批未入库",
        code="out-of-scope",
        message_en=f"row {line}: {column} {value} is outside the scope {scope}; nothing was stored",
        status=403,
        detail={"row": line, "field": column, "value": value, "scope": scope},
    )


def _store_valid_rows(
    conn: Connection,
    ctx: HubContext,
    submission_id: str,
    principal: Principal,
    request: SubmissionRequest,
    dataset: Dataset,
    result: ChunkResult,
    counts: Counts,
) -> list[dict[str, Any]]:
    """Store a chunk's valid rows: new keys → records + version 1; changed content → version n+1;
    identical content → nothing. Classification is a join on the chunk, so only new and changed rows
    ever become Python objects."""
    valid = result.frame.filter(result.row_valid)
    if valid.height == 0:
        return []
    counts.accepted += valid.height
    stored = stored_frame(ctx.standard, dataset, valid).unique(subset=[KEY], keep="last", maintain_order=True)
    counts.unchanged += valid.height - stored.height  # earlier rows of a key repeated within the chunk
    stored = stored.with_columns(
        pl.Series("__hash", content_hashes(stored[CONTENT].to_list()), dtype=pl.Utf8),
        *_summary_columns(dataset),
    )
    current = record_store.get_current(conn, dataset=dataset.name, keys=stored[KEY].to_list())
    joined = stored.join(current, left_on=KEY, right_on="business_key", how="left", maintain_order="left")
    new = joined.filter(pl.col("record_id").is_null())
    changed = joined.filter(pl.col("record_id").is_not_null() & (pl.col("content_hash") != pl.col("__hash")))
    counts.unchanged += joined.height - new.height - changed.height
    stamp = now()
    lineage = {
        "submission_id": submission_id,
        "principal": principal.name,
        "channel": request.channel,
        "source_system": request.source_system,
        "origin_hub": request.origin_hub or ctx.hub_id,
        "origin_submission": request.extra.get("origin_submission"),
        "received_at": stamp,
    }
    summary = ["agency_uscc", "region", "counterparty_code", "act_date", "status"]
    new_rows = new.select(KEY, CONTENT, "__hash", "__row__", *summary).to_dicts()
    record_ids = record_store.insert_records(
        conn,
        rows=[
            {
                "dataset": dataset.name,
                "business_key": r[KEY],
                "version_no": 1,
                "content_hash": r["__hash"],
                "created_at": stamp,
                "updated_at": stamp,
                **{k: r[k] for k in summary},
            }
            for r in new_rows
        ],
    )
    changed_rows = changed.select(
        CONTENT, "__hash", "__row__", "record_id", "version_no", *summary
    ).to_dicts()
    version_rows = [
        {
            "record_id": rid,
            "version_no": 1,
            "content_hash": r["__hash"],
            "data": r[CONTENT],
            "status": r["status"],
            "row": r["__row__"],
            **lineage,
        }
        for rid, r in zip(record_ids, new_rows, strict=True)
    ] + [
        {
            "record_id": r["record_id"],
            "version_no": r["version_no"] + 1,
            "content_hash": r["__hash"],
            "data": r[CONTENT],
            "status": r["status"],
            "row": r["__row__"],
            **lineage,
        }
        for r in changed_rows
    ]
    version_ids = record_store.insert_versions(conn, rows=version_rows)
    record_store.update_current(
        conn,
        rows=[
            {
                "b_id": r["record_id"],
                "b_version_no": r["version_no"] + 1,
                "b_content_hash": r["__hash"],
                "b_updated_at": stamp,
                **{f"b_{k}": r[k] for k in summary},
            }
            for r in changed_rows
        ],
    )
    entries = []
    revocable = "status" in dataset.names and dataset.element("status").codeset == "record_status"
    for vid, version, row in zip(version_ids, version_rows, [*new_rows, *changed_rows], strict=True):
        if revocable and row["status"] == REVOKED_STATUS:
            kind = "revoked"
            counts.revoked += 1
        elif version["version_no"] == 1:
            kind = "created"
            counts.created += 1
        else:
            kind = "updated"
            counts.updated += 1
        entries.append(
            {
                "dataset": dataset.name,
                "record_id": version["record_id"],
                "version_id": vid,
                "kind": kind,
                "region": row["region"],
                "submission_id": submission_id,
            }
        )
    return entries


def _summary_columns(dataset: Dataset) -> list[pl.Expr]:
    """The record's indexed columns: agency, region, counterparty code, act date, status."""
    names = dataset.names
    act = first_present(dataset, ACT_DATE_CANDIDATES)
    parties = [pl.col(n) for n in COUNTERPARTY_CANDIDATES if n in names]

    def column(name: str) -> pl.Expr:
        return pl.col(name) if name in names else pl.lit(None, dtype=pl.Utf8)

    return [
        column("agency_uscc").alias("agency_uscc"),
        column("region_code").alias("region"),
        (pl.coalesce(parties) if parties else pl.lit(None, dtype=pl.Utf8)).alias("counterparty_code"),
        (
            pl.col(act).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
            if act
            else pl.lit(None, dtype=pl.Date)
        ).alias("act_date"),
        column("status").alias("status"),
    ]


def _finding_row(submission_id: str, finding: Finding) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "row": finding.row,
        "field": finding.field,
        "code": finding.code,
        "severity": finding.severity,
        "message": finding.message,
        "value": finding.value,
    }


def _receipt(conn: Connection, ctx: HubContext, submission_id: str) -> dict[str, Any]:
    row = submission_store.get_submission(conn, submission_id=submission_id)
    assert row is not None
    return sign_receipt(receipt_body(row), ctx.signing_secret)


def receipt_body(row: dict[str, Any]) -> dict[str, Any]:
    """The receipt an agency keeps: what the hub received and what it did with it."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if isinstance(value, dt.datetime) else value

    return {
        "id": row["id"],
        "dataset": row["dataset"],
        "status": row["status"],
        "sha256": row["sha256"],
        "size": row["size"],
        "filename": row["filename"],
        "format": row["format"],
        "channel": row["channel"],
        "policy": row["policy"],
        "principal": row["principal"],
        "origin_hub": row["origin_hub"],
        "duplicate_of": row["duplicate_of"],
        "counts": {k: row[k] for k in submission_store.COUNTS},
        "failure": row["failure"],
        "received_at": iso(row["received_at"]),
        "finished_at": iso(row["finished_at"]),
    }


def submission_receipt(ctx: HubContext, conn: Connection, submission_id: str) -> dict[str, Any] | None:
    row = submission_store.get_submission(conn, submission_id=submission_id)
    if row is None:
        return None
    return sign_receipt(receipt_body(row), ctx.signing_secret)


def ingest(ctx: HubContext, request: SubmissionRequest, principal: Principal) -> dict[str, Any]:
    """Register and process in one call (the CLI and tests; the API may process in the background)."""
    registered = register(ctx, request, principal)
    if registered["status"] != "processing":
        return registered
    return process(ctx, registered["id"], principal, request)


__all__ = [
    "HubContext",
    "Principal",
    "SubmissionRefused",
    "SubmissionRequest",
    "ingest",
    "process",
    "register",
]
