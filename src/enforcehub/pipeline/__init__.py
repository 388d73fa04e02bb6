"""intake → validate → store, one submission at a time, in one transaction.

The raw bytes are archived first (invariant 1). The submission row is then committed as
`processing` on its own, so its status can be polled. All of the submission's versions, change-log
entries, findings and its receipt commit together in one transaction, or none do (invariant 2); a
crash leaves the row `processing`, which the next start marks `failed` and resubmittable.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from enforcehub.errors import EnforcehubError
from enforcehub.intake.archive import ArchivedBlob
from enforcehub.pipeline import relay, storing
from enforcehub.pipeline.normalise import HASH
from enforcehub.pipeline.receipt import sign_receipt
from enforcehub.pipeline.registries import (
    Registries,
    load_registries,
    no_registries,
    platform_refusal,
    registry_checks,
)
from enforcehub.standard.model import Dataset, Standard
from enforcehub.store import federation as federation_store
from enforcehub.store import records as record_store
from enforcehub.store import submissions as submission_store
from enforcehub.store.audit import append_audit
from enforcehub.store.db import bulk_writes, write_transaction
from enforcehub.validate.engine import DEFAULT_CHUNK_ROWS, ChunkResult, Validator, coalesce, dataset_of
from enforcehub.validate.headers import is_known_header, map_headers
from enforcehub.validate.report import Finding

log = logging.getLogger("enforcehub.pipeline")
Policy = Literal["accept-valid-rows", "reject-submission"]
Channel = Literal["api", "file", "platform", "relay"]
REVOKED_STATUS = storing.REVOKED_STATUS
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
    batch = relay.RelayBatch() if request.fmt == relay.FORMAT else None
    registries = load_registries(conn) if _needs_registries(dataset, principal, batch) else no_registries()
    if batch is not None:
        if request.channel != "relay" or principal.role != "hub":
            raise SubmissionRefused(
                "中继格式只能由 hub 密钥经 relay 渠道报送",
                code="relay-needs-hub-key",
                message_en="the relay format is for hub keys on the relay channel",
                status=403,
            )
        relayed = relay.read_relay(request.blob.path, dataset, batch)
        lineages: list[pl.DataFrame] = []
        chunks: Iterator[Any] = _keep_lineage(relayed, lineages)
        header_map = map_headers(dataset, list(dataset.names), require_columns=False)
        fmt = relay.FORMAT
        checks = []  # registry checks: the origin hub applied its own when it accepted the records
    else:
        headers, chunks, fmt = _chunks(request, dataset)
        header_map = map_headers(dataset, headers, require_columns=fmt in ("csv", "xlsx"))
        checks = registry_checks(ctx.standard, dataset, registries, ctx.region)
    validator = Validator(
        dataset, header_map, standard=ctx.standard, max_errors=MAX_STORED_FINDINGS, extra_checks=checks
    )

    def checked() -> Iterator[storing.Prepared]:
        """Read, validate, scope-check and prepare chunks (in the prefetch worker thread)."""
        for chunk in chunks:
            result = validator.check(chunk)
            _check_scope(ctx, principal, dataset, result, registries)
            prepared = storing.prepare(ctx.standard, dataset, result)
            if batch is not None:
                _check_origin(principal, batch)
                prepared = _with_origin(prepared, lineages.pop(0), batch)
            yield prepared

    lineage = storing.Lineage(
        submission_id=submission_id,
        principal=principal.name,
        channel=request.channel,
        source_system=request.source_system,
        origin_hub=(batch.origin_hub if batch is not None else None) or request.origin_hub or ctx.hub_id,
        origin_submission=request.extra.get("origin_submission"),
    )
    counts = Counts()
    entries = storing.ChangeEntries()
    staged: list[storing.Prepared] = []  # reject-submission: store only once the whole file is valid
    with bulk_writes(conn):
        with storing.Prefetch(checked()) as prepared_chunks:
            for prepared in prepared_chunks:
                if request.policy == "reject-submission":
                    staged.append(prepared)
                else:
                    _store_prepared(conn, dataset, prepared, lineage, counts, entries)
        report = validator.finish()
        if request.policy == "reject-submission" and report.valid:
            for prepared in staged:
                _store_prepared(conn, dataset, prepared, lineage, counts, entries)
        staged.clear()
        counts.received = report.stats.rows
        counts.rejected = report.stats.rows - counts.accepted
        counts.errors, counts.warnings = report.stats.errors, report.stats.warnings
        submission_store.insert_findings(
            conn, rows=[_finding_row(submission_id, f) for f in report.errors + report.warnings]
        )
        record_store.append_changes(
            conn, entries=entries.frame(dataset.name, submission_id), committed_at=now()
        )
        if batch is not None and request.extra.get("link"):
            _count_inbound(conn, str(request.extra["link"]), batch, counts, request.extra)
    submission_store.update_submission(
        conn, submission_id=submission_id, status="done", format=fmt, finished_at=now(), **counts.as_dict()
    )


def _store_prepared(
    conn: Connection,
    dataset: Dataset,
    prepared: storing.Prepared,
    lineage: storing.Lineage,
    counts: Counts,
    entries: storing.ChangeEntries,
) -> None:
    """Store a chunk's valid rows (storing.store) and add up what it did."""
    stored = storing.store(conn, dataset, prepared, lineage, now())
    counts.accepted += prepared.accepted
    counts.created += stored.created
    counts.updated += stored.updated
    counts.revoked += stored.revoked
    counts.unchanged += stored.unchanged
    entries.add(stored.entries)


def _needs_registries(dataset: Dataset, principal: Principal, batch: relay.RelayBatch | None) -> bool:
    """Action records are checked against the registries (not when relayed: the origin hub checked
    them); a hub key's officers and a platform key's actions are scoped by the agency registry."""
    if principal.role == "hub" and "region_code" not in dataset.names and "agency_uscc" in dataset.names:
        return True
    return dataset.kind == "action" and (batch is None or principal.role == "platform")


def _keep_lineage(
    relayed: Iterator[tuple[pl.DataFrame, pl.DataFrame]], lineages: list[pl.DataFrame]
) -> Iterator[pl.DataFrame]:
    """The data half of each relayed chunk; its lineage half waits in `lineages` for `_with_origin`."""
    for data, lineage in relayed:
        lineages.append(lineage)
        yield data


def _check_origin(principal: Principal, batch: relay.RelayBatch) -> None:
    """A hub relays only the versions that came in at that hub: the key's name is the hub's id."""
    foreign = sorted(batch.origins - {principal.name})
    if foreign:
        raise SubmissionRefused(
            f"中继批次含有其他枢纽（{'、'.join(foreign)}）接收的版本；本密钥只能中继 {principal.name} 的数据",
            code="relay-origin-mismatch",
            message_en=f"the batch holds versions of other hubs ({', '.join(foreign)}); "
            f"this key relays only {principal.name}'s",
            status=403,
            detail={"origins": foreign, "key": principal.name},
        )


def _with_origin(
    prepared: storing.Prepared, lineage: pl.DataFrame, batch: relay.RelayBatch
) -> storing.Prepared:
    rows = relay.lineage_of(prepared.rows, lineage)
    batch.hash_mismatches += relay.origin_hash_mismatches(rows, HASH)
    return storing.Prepared(rows=rows.drop("__origin_hash"), accepted=prepared.accepted)


def _count_inbound(
    conn: Connection, link: str, batch: relay.RelayBatch, counts: Counts, sent: dict[str, Any]
) -> None:
    """The province's row for the relaying city: versions, refusals, position and lag, committed with
    the batch itself. The position is the city's relay cursor once its batch is in (`X-Relay-Upto`,
    past changes it does not relay, such as registries that came down from here), else the batch's
    last seq. A relay step sends one submission per dataset, registries first, so a later
    submission may end on an earlier seq: the position (and the city's head) only move forward."""
    if batch.hash_mismatches:  # the two hubs run different versions of the standard
        log.warning(
            "relay from %s: %d versions hash differently here than at their origin (standards differ?)",
            batch.origin_hub,
            batch.hash_mismatches,
        )
    stamp = now()
    held = federation_store.ensure_link(
        conn, name=link, direction="inbound", peer=batch.origin_hub or "", now=stamp
    )
    lag = int((stamp - batch.last_committed_at).total_seconds() * 1000) if batch.last_committed_at else None
    head, upto = _seq(sent.get("peer_seq")), _seq(sent.get("peer_upto"))
    reached = max(batch.last_seq, upto or 0)
    federation_store.link_success(
        conn,
        link,
        now=stamp,
        versions_moved=counts.created + counts.updated + counts.revoked,
        rejected=counts.rejected,
        position=max(reached, int(held["position"] or 0)),
        peer_seq=max(head, int(held["peer_seq"] or 0)) if head is not None else None,
        lag_ms=lag,
    )


def _seq(value: Any) -> int | None:
    """A change seq from a relay header (None when absent or not a number)."""
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


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
    officers = "region_code" not in dataset.names and "agency_uscc" in dataset.names
    if principal.role == "hub" and officers and region_scope and region_scope != "440000":
        # officers carry no division: an officer of an agency registered outside the key's region is
        # another city's (an agency not registered here yet is taken: its city vouches for it)
        prefix = region_scope[:4] if region_scope.endswith("00") else region_scope
        foreign = registries.agencies.filter(~pl.col("region").fill_null("").str.starts_with(prefix))
        outside = pl.col("agency_uscc").is_in(foreign["agency_uscc"].implode())
        _refuse_first(frame, outside, "agency_uscc", region_scope)
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
