"""The relay of a city hub's own changes to the province (the uplink).

The relay is the consumer `relay-upstream` (mode `relay`, profile full-fidelity). One step:

1. read the changes after the consumer's committed cursor whose version came in at this hub (versions
   that came down from the province are not sent back), up to `relay_batch_rows` changes and
   `relay_batch_bytes` of JSON, and never the same record twice in one batch (each version of a record
   travels, in order);
2. submit them to the province's submission API on the `relay` channel, one submission per dataset,
   registries first (an officer's agency arrives before the officer);
3. only when the province answered with its receipts, commit the cursor past the batch.

A crash or an outage between 2 and 3 sends the batch again: the province finds the same content and
stores nothing new (identical content is no new version; an older version from the same origin is
skipped). The city's own submissions never wait for the province: the relay reads the committed log
in its own thread (back-pressure stays in the relay's lag).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx

from enforcehub.errors import EnforcehubError
from enforcehub.pipeline import HubContext
from enforcehub.pipeline.relay import CONTENT_TYPE, relay_line
from enforcehub.settings import Settings
from enforcehub.share.consumers import ensure_internal_consumer
from enforcehub.share.profile import FULL_FIDELITY
from enforcehub.standard.model import DATASET_NAMES
from enforcehub.store import consumers as consumer_store
from enforcehub.store import federation as federation_store
from enforcehub.store import feeds
from enforcehub.store.db import read_transaction, write_transaction

log = logging.getLogger("enforcehub.federation")
RELAY_CONSUMER = "relay-upstream"
UPLINK = "uplink"
REGISTRIES_FIRST = ("law", "matter", "agency", "officer", "counterparty")
SEND_ORDER = (*REGISTRIES_FIRST, *(d for d in DATASET_NAMES if d not in REGISTRIES_FIRST))
POLL_S = 0.2


class RelayError(EnforcehubError):
    code = "relay-failed"


@dataclass(frozen=True)
class Batch:
    """The versions of one relay step, by dataset, and the cursor position once they are delivered."""

    lines: dict[str, list[bytes]]  # relay lines (UTF-8) by dataset
    versions: int
    upto: int  # commit the cursor here when delivered (the page may end on changes not relayed)
    last_committed_at: dt.datetime | None
    head: int  # this hub's last change seq when the batch was read


def upstream_client(settings: Settings) -> httpx.Client:
    assert settings.upstream_url and settings.upstream_key
    return httpx.Client(
        base_url=settings.upstream_url.rstrip("/"),
        headers={"Authorization": f"Bearer {settings.upstream_key}", "User-Agent": "enforcehub-relay"},
        timeout=httpx.Timeout(120.0, connect=10.0),
    )


def ensure_relay(ctx: HubContext, settings: Settings) -> None:
    """The relay consumer and the uplink's row exist."""
    ensure_internal_consumer(
        ctx.engine,
        name=RELAY_CONSUMER,
        profile=FULL_FIDELITY,
        title="上级枢纽中继（省级主题库）",
        standard=ctx.standard,
        mode="relay",
    )
    with write_transaction(ctx.engine) as conn:
        federation_store.ensure_link(
            conn, name=UPLINK, direction="uplink", peer=settings.upstream_url or "", now=_now()
        )


def read_batch(ctx: HubContext, settings: Settings) -> Batch | None:
    """The next batch after the committed cursor (None when the relay is paused or disabled)."""
    with read_transaction(ctx.engine) as conn:
        consumer = consumer_store.get_consumer(conn, RELAY_CONSUMER)
        if consumer is None or consumer["state"] != "active":
            return None
        after = int(consumer["acked_seq"])
        page = federation_store.read_relay_page(
            conn, after=after, limit=settings.relay_batch_rows, origin_hub=ctx.hub_id
        )
        head = feeds.last_seq(conn)
    return batch_of(page, max_bytes=settings.relay_batch_bytes, head=head)


def line_of(row: tuple[Any, ...], **override: Any) -> bytes:
    """One relay line (UTF-8) from a row of `read_relay_page` (store.federation.RELAY_COLUMNS);
    `override` replaces fields (tests forge lines with it)."""
    seq, dataset, _record_id, kind, committed_at, _key, version_no, content_hash, data = row[:9]
    submission_id, principal, channel, source_system, origin_hub, received_at = row[9:]
    fields: dict[str, Any] = dict(
        seq=int(seq),
        dataset=dataset,
        change=kind,
        version=int(version_no),
        content_hash=content_hash,
        committed_at=committed_at,
        origin_hub=origin_hub,
        origin_submission=submission_id,
        origin_principal=principal,
        origin_channel=channel,
        source_system=source_system,
        received_at=received_at,
        data=data,
    )
    fields.update(override)
    return relay_line(**fields).encode("utf-8")


def batch_of(page: federation_store.RelayPage, *, max_bytes: int, head: int) -> Batch:
    """A page's versions as relay lines by dataset, cut before a record's second version or when the
    JSON would pass `max_bytes` (what is cut goes in the next batch)."""
    lines: dict[str, list[bytes]] = defaultdict(list)
    seen: set[int] = set()
    size = 0
    upto = page.scanned_to
    last_committed: Any = None
    for row in page.rows:
        seq, dataset, record_id, data, committed_at = row[0], row[1], row[2], row[8], row[4]
        if record_id in seen or (lines and size + 3 * len(data) > max_bytes):
            upto = int(seq) - 1
            break
        seen.add(record_id)
        line = line_of(row)
        size += len(line)
        lines[dataset].append(line)
        last_committed = committed_at
    return Batch(
        lines=dict(lines),
        versions=sum(len(v) for v in lines.values()),
        upto=upto,
        last_committed_at=_utc(last_committed),
        head=head,
    )


def send(client: httpx.Client, batch: Batch) -> dict[str, int]:
    """Submit the batch, one dataset at a time; the province's counts added up. RelayError when the
    province did not take a part (the whole batch is sent again later)."""
    totals: dict[str, int] = defaultdict(int)
    for dataset in sorted(batch.lines, key=SEND_ORDER.index):
        body = b"".join(batch.lines[dataset])
        receipt = _submit(client, dataset, body, batch)
        for name, value in receipt.get("counts", {}).items():
            totals[name] += int(value)
    return dict(totals)


def _submit(client: httpx.Client, dataset: str, body: bytes, batch: Batch) -> dict[str, Any]:
    try:
        response = client.post(
            "/api/v1/submissions",
            params={"dataset": dataset, "channel": "relay"},
            content=body,
            headers={
                "Content-Type": CONTENT_TYPE,
                "X-Relay-Head": str(batch.head),  # this hub's last change
                "X-Relay-Upto": str(batch.upto),  # the relay's cursor once this batch is in
            },
        )
        receipt = _answer(response)
        while receipt.get("status") in ("received", "processing"):
            time.sleep(POLL_S)
            receipt = _answer(client.get(f"/api/v1/submissions/{receipt['id']}"))
    except httpx.HTTPError as exc:
        raise RelayError(
            f"无法连接上级枢纽：{type(exc).__name__}: {exc}",
            message_en=f"upstream unreachable: {type(exc).__name__}: {exc}",
        ) from None
    if receipt.get("status") != "done":
        raise RelayError(
            f"上级枢纽未能处理中继批次：{receipt.get('failure')}",
            message_en=f"the upstream hub failed the relayed batch: {receipt.get('failure')}",
        )
    return receipt


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400:
        error = body.get("error") or {}
        code = error.get("code", f"http-{response.status_code}")
        why = error.get("message") or response.text[:300]
        raise RelayError(
            f"上级枢纽拒绝中继（{response.status_code} {code}）：{why}",
            message_en=(
                f"the upstream hub refused the relay ({response.status_code} {code}): "
                f"{error.get('message_en') or response.text[:300]}"
            ),
        )
    return body


def step(ctx: HubContext, settings: Settings, client: httpx.Client) -> int:
    """Relay one batch; the versions delivered (0 when caught up or paused). Raises RelayError."""
    batch = read_batch(ctx, settings)
    if batch is None:
        return 0
    with read_transaction(ctx.engine) as conn:
        acked = int(consumer_store.get_consumer(conn, RELAY_CONSUMER)["acked_seq"])  # type: ignore[index]
    if batch.upto <= acked:
        return 0
    counts = send(client, batch) if batch.versions else {}
    stamp = _now()
    lag = int((stamp - batch.last_committed_at).total_seconds() * 1000) if batch.last_committed_at else None
    with write_transaction(ctx.engine) as conn:
        consumer_store.ack(conn, RELAY_CONSUMER, seq=batch.upto, now=stamp)
        consumer_store.update_consumer(
            conn, RELAY_CONSUMER, now=stamp, failures=0, last_success_at=stamp, next_attempt_at=None
        )
        federation_store.link_success(
            conn,
            UPLINK,
            now=stamp,
            versions_moved=batch.versions,
            rejected=counts.get("rejected", 0),
            position=batch.upto,
            peer_seq=batch.head,
            lag_ms=lag,
        )
    return max(batch.versions, 1)


def caught_up(ctx: HubContext) -> None:
    """The relay looked and had nothing to send: the link is healthy (kept now and then, not per look)."""
    with read_transaction(ctx.engine) as conn:
        head = feeds.last_seq(conn)
    with write_transaction(ctx.engine) as conn:
        federation_store.link_seen(conn, UPLINK, now=_now(), peer_seq=head)


def failed(ctx: HubContext, error: str) -> None:
    """Keep the failure on the relay consumer and the uplink (both shown by status and /metrics)."""
    stamp = _now()
    with write_transaction(ctx.engine) as conn:
        row = consumer_store.get_consumer(conn, RELAY_CONSUMER)
        if row is not None:
            consumer_store.update_consumer(
                conn,
                RELAY_CONSUMER,
                now=stamp,
                failures=int(row["failures"]) + 1,
                last_failure_at=stamp,
                last_error=error[:2000],
            )
        federation_store.link_failure(conn, UPLINK, now=stamp, error=error)


def _utc(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
