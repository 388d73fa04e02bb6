"""Webhook delivery (Standard Webhooks) and the worker that runs it.

A webhook consumer receives its feed pushed as batches: one POST per *message* with the body
`{"type": "enforcehub.events", "consumer": NAME, "events": [...], "next": CURSOR}` and the headers
`webhook-id` (the message id), `webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256>`
of `id.timestamp.body`, one per secret, space-separated while a secret is being rotated) and
`content-type: application/json`. Receivers verify with any Standard Webhooks library.

Per consumer, delivery is strictly in order with at most one message in flight:

1. a pending message (head of line) is sent again unchanged — same webhook-id, same body — so a
   receiver only ever sees a duplicate under the webhook-id it has seen;
2. otherwise the next page of the consumer's feed after `delivered_seq` becomes a new message
   (a page whose changes the profile filters out entirely just moves `delivered_seq`);
3. 2xx → delivered, `delivered_seq` = the message's last change; anything else (an HTTP status, no
   answer, a refused target) is a failed attempt: retried with exponential backoff and full jitter
   (uniform in [0, min(1 h, 1 s·2^(n-1))] after the n-th failure), `Retry-After` (seconds or an HTTP
   date) taking precedence, for `webhook_retry_hours` (72 h) since the message was queued; then the
   message is a dead letter and the consumer moves on. 410 Gone disables the consumer.

The worker: a dispatcher thread polls about every 0.15 s with one cheap read; when consumers are
due it leases them one by one (store.webhooks.claim_due) and hands each to a small thread pool, so
several consumers are delivered concurrently while a consumer is never sent to twice at once — also
across processes on PostgreSQL, where any number of `enforcehub worker` processes may run. Threads,
not asyncio: the store is synchronous SQLAlchemy, and a pool of a few threads with one shared
`httpx.Client` keeps a whole delivery step (read the feed, send, record) in plain blocking code.
No database transaction is open while a request is in flight.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Connection
from standardwebhooks import Webhook

from enforcehub import __version__
from enforcehub.errors import EnforcehubError
from enforcehub.settings import Settings
from enforcehub.share import egress
from enforcehub.share.consumers import ConsumerNotFound
from enforcehub.share.consumers import get as get_consumer
from enforcehub.share.feed import encode_cursor, read_page
from enforcehub.store import consumers as consumer_store
from enforcehub.store import feeds
from enforcehub.store import webhooks as store
from enforcehub.store.audit import append_audit
from enforcehub.store.db import read_transaction, write_transaction

if TYPE_CHECKING:
    from enforcehub.pipeline import HubContext

log = logging.getLogger("enforcehub.webhooks")

MESSAGE_TYPE = "enforcehub.events"
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 3600.0
MIN_DELAY_S = 0.05
MAX_RETRY_AFTER_S = 86_400.0
POLL_INTERVAL_S = 0.15
CONCURRENCY = 4
ERROR_PAUSE_S = 30.0  # a step that failed inside the hub (not the receiver) is tried again after this
RESPONSE_PEEK_BYTES = 2048
USER_AGENT = f"enforcehub/{__version__} (Standard Webhooks)"
GONE_REASON = (
    "接收方回应 410 Gone，已停止投递（恢复后重新投递）"
    " / the receiver answered 410 Gone; deliveries stopped until resumed"
)


class MessageNotFound(EnforcehubError):
    code = "message-not-found"


class NotADeadLetter(EnforcehubError):
    code = "not-dead-letter"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# --- the pieces of a request -------------------------------------------------------------------------


def message_body(consumer: str, events: list[str], position: int) -> str:
    """The JSON body of a message (events spliced in as the feed encoded them)."""
    return (
        '{"type":"' + MESSAGE_TYPE + '","consumer":' + json.dumps(consumer) + ',"events":['
        + ",".join(events) + '],"next":"' + encode_cursor(position) + '"}'
    )  # fmt: skip


def signature(secrets: list[str], message_id: str, timestamp: dt.datetime, body: str) -> str:
    """`v1,<base64>` per secret, space-separated (two during a secret rotation)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base·2^(attempts-1))] seconds (a small floor)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(max(attempts, 1) - 1, 32))
    return max(MIN_DELAY_S, (rng or random).uniform(0, ceiling))


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_S)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: an HTTP status, or no answer (error), and how long it took."""

    status: int | None
    error: str | None
    retry_after: float | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Lease:
    """A consumer claimed for one delivery step; `token` is the lease's end (its next_attempt_at)."""

    name: str
    token: dt.datetime


# --- delivery ------------------------------------------------------------------------------------------


class Deliverer:
    """One delivery step at a time for a leased consumer; thread-safe (one shared HTTP client)."""

    def __init__(self, context: HubContext, settings: Settings) -> None:
        self.context = context
        self.timeout_s = settings.webhook_timeout_s
        self.retry_budget = dt.timedelta(hours=settings.webhook_retry_hours)
        # The lease outlasts any request: connect, write and read are each bounded by the timeout and
        # reading the answer stops at the deadline; DNS resolution gets the rest.
        self.lease = dt.timedelta(seconds=4 * self.timeout_s + 60)
        self.allow_networks = tuple(settings.webhook_allow_networks)
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            trust_env=False,
        )

    def close(self) -> None:
        self.client.close()

    def claim(self) -> Lease | None:
        """Lease the next due consumer with work, or None (one read when there is nothing to do)."""
        now = _now()
        engine = self.context.engine
        with read_transaction(engine) as conn:
            if not store.count_due(conn, now=now):
                return None
        lease_until = now + self.lease
        with write_transaction(engine) as conn:
            name = store.claim_due(conn, now=now, lease_until=lease_until)
        return Lease(name, lease_until) if name is not None else None

    def step(self) -> bool:
        """Claim one consumer and deliver one message (or move its position); False when none is due."""
        lease = self.claim()
        if lease is None:
            return False
        self.deliver(lease)
        return True

    def deliver(self, lease: Lease) -> None:
        """Send the consumer's next message and record the outcome; never raises."""
        try:
            self._deliver(lease)
        except Exception as exc:  # the hub's own failure (database, a profile): pause, keep the lease safe
            log.exception("webhook delivery to %s failed inside the hub", lease.name)
            try:
                now = _now()
                with write_transaction(self.context.engine) as conn:
                    store.update_consumer(
                        conn, lease.name, now=now, last_error=f"internal: {type(exc).__name__}: {exc}"[:1000]
                    )
                    store.release(
                        conn,
                        lease.name,
                        token=lease.token,
                        next_attempt_at=now + dt.timedelta(seconds=ERROR_PAUSE_S),
                    )
            except Exception:
                log.exception("could not release %s (its lease ends by itself)", lease.name)

    def _deliver(self, lease: Lease) -> None:
        with read_transaction(self.context.engine) as conn:
            row = consumer_store.get_consumer(conn, lease.name)
            message = store.head_message(conn, lease.name) if row is not None else None
        if row is None:
            return
        if row["state"] != "active":  # paused or disabled since the claim
            with write_transaction(self.context.engine) as conn:
                store.release(conn, lease.name, token=lease.token, next_attempt_at=None)
            return
        if message is None:
            message = self._next_message(row, lease)
            if message is None:
                return
        outcome = self.send(row, message)
        self._finish(lease, message, outcome)

    def _next_message(self, row: dict[str, Any], lease: Lease) -> dict[str, Any] | None:
        """The next page of the consumer's feed as a new pending message; None when there was nothing
        to send (the position may have moved)."""
        after = int(row["delivered_seq"])
        context = self.context
        with read_transaction(context.engine) as conn:
            last = feeds.last_seq(conn)  # committed: every change up to it is visible to the next read
            page, _ = read_page(
                conn,
                row,
                after=after,
                limit=int(row["batch_size"]),
                standard=context.standard,
                hub_id=context.hub_id,
                until=last,
            )
        position = page.position if page.more else max(last, after)
        now = _now()
        with write_transaction(context.engine) as conn:
            current = consumer_store.get_consumer(conn, row["name"], for_update=True)
            if current is None:
                return None
            if int(current["delivered_seq"]) != after or store.head_message(conn, row["name"]) is not None:
                store.release(conn, row["name"], token=lease.token, next_attempt_at=None)  # moved meanwhile
                return None
            if not page.events:
                store.advance(conn, row["name"], to=position, now=now)
                store.release(conn, row["name"], token=lease.token, next_attempt_at=None)
                return None
            return store.create_message(
                conn,
                consumer=row["name"],
                first_seq=after + 1,
                last_seq=position,
                events=len(page.events),
                payload=message_body(row["name"], page.events, position),
                now=now,
            )

    def send(self, row: dict[str, Any], message: dict[str, Any]) -> Outcome:
        """One POST of the message: the egress guard first, then the signed request (no redirects)."""
        now = _now()
        body = str(message["payload"])
        headers = {
            "webhook-id": str(message["id"]),
            "webhook-timestamp": str(int(now.timestamp())),
            "content-type": "application/json",
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            if not row["webhook_secrets"]:
                raise EnforcehubError(
                    "消费方没有 webhook 密钥", code="no-secret", message_en="no webhook secret"
                )
            headers["webhook-signature"] = signature(
                list(row["webhook_secrets"]), headers["webhook-id"], now, body
            )
            url = str(row["webhook_url"])
            egress.check_target(url, self.allow_networks)
            deadline = started + 2 * self.timeout_s
            with self.client.stream("POST", url, content=body.encode("utf-8"), headers=headers) as response:
                status = response.status_code
                peek = b""
                for chunk in response.iter_bytes():
                    peek += chunk
                    if len(peek) >= RESPONSE_PEEK_BYTES or time.monotonic() > deadline:
                        break
                retry_after = parse_retry_after(response.headers.get("retry-after"), _now())
                location = response.headers.get("location")
            if not 200 <= status < 300:
                if 300 <= status < 400:
                    error = f"HTTP {status}: redirect to {location or '?'} not followed"
                else:
                    text = peek[:RESPONSE_PEEK_BYTES].decode("utf-8", errors="replace").strip()
                    error = f"HTTP {status}" + (f": {text[:300]}" if text else "")
        except EnforcehubError as exc:
            error = f"[{exc.code}] {exc.message_zh} / {exc.message_en}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
        duration_ms = int((time.monotonic() - started) * 1000)
        return Outcome(status, error[:1000] if error else None, retry_after, duration_ms)

    def _finish(self, lease: Lease, message: dict[str, Any], outcome: Outcome) -> None:
        """Record the attempt and move the message and the consumer on, in one transaction."""
        now = _now()
        name = lease.name
        with write_transaction(self.context.engine) as conn:
            current = consumer_store.get_consumer(conn, name, for_update=True)
            if current is None:  # removed meanwhile, with its messages
                return
            store.record_attempt(
                conn,
                message["id"],
                at=now,
                status=outcome.status,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
            attempts = int(message["attempts"]) + 1
            if outcome.ok:
                store.update_message(
                    conn, message["id"], state=store.DELIVERED, delivered_at=now, attempts=attempts,
                    last_status=outcome.status, last_error=None,
                )  # fmt: skip
                store.advance(conn, name, to=int(message["last_seq"]), now=now)
                store.update_consumer(conn, name, now=now, failures=0, last_success_at=now, last_error=None)
                store.release(conn, name, token=lease.token, next_attempt_at=None)
                return
            failed = {
                "failures": int(current["failures"] or 0) + 1,
                "last_failure_at": now,
                "last_error": outcome.error,
            }
            if outcome.status == 410:
                store.update_message(
                    conn, message["id"], attempts=attempts, last_status=410, last_error=outcome.error
                )
                store.update_consumer(
                    conn, name, now=now, state="disabled", state_reason=GONE_REASON, **failed
                )
                store.release(conn, name, token=lease.token, next_attempt_at=None)
                log.warning("webhook consumer %s answered 410 Gone: disabled", name)
                return
            deadline = _utc(message["created_at"]) + self.retry_budget
            if now >= deadline:
                store.update_message(
                    conn, message["id"], state=store.DEAD, attempts=attempts,
                    last_status=outcome.status, last_error=outcome.error,
                )  # fmt: skip
                store.advance(conn, name, to=int(message["last_seq"]), now=now)
                store.update_consumer(conn, name, now=now, **failed)
                store.release(conn, name, token=lease.token, next_attempt_at=None)
                log.warning(
                    "webhook message %s to %s is a dead letter after %d attempts",
                    message["id"],
                    name,
                    attempts,
                )
                return
            if outcome.retry_after is not None:
                delay = outcome.retry_after
            else:
                delay = min(backoff_delay(attempts), max((deadline - now).total_seconds(), MIN_DELAY_S))
            next_at = now + dt.timedelta(seconds=delay)
            store.update_message(
                conn, message["id"], attempts=attempts, next_attempt_at=next_at,
                last_status=outcome.status, last_error=outcome.error,
            )  # fmt: skip
            store.update_consumer(conn, name, now=now, **failed)
            store.release(conn, name, token=lease.token, next_attempt_at=next_at)


# --- the worker ----------------------------------------------------------------------------------------


class DeliveryWorker:
    """A dispatcher thread that leases due consumers and a pool that delivers to them concurrently."""

    def __init__(
        self,
        context: HubContext,
        settings: Settings,
        *,
        concurrency: int = CONCURRENCY,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        egress.configure(settings.webhook_allow_networks)
        self.deliverer = Deliverer(context, settings)
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DeliveryWorker:
        """Run in a background thread (inside `serve`)."""
        self._thread = threading.Thread(target=self.run, name="enforcehub-webhooks", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let requests in flight finish (up to `timeout`), close the client."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self.deliverer.close()

    def run(self) -> None:
        """Deliver until stopped: lease due consumers while the pool has room, else wait for a poll tick
        or a finished delivery (its consumer may have more)."""
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="webhook")
        inflight: set[Future[None]] = set()
        try:
            while not self._stop.is_set():
                self._wake.clear()
                inflight = {f for f in inflight if not f.done()}
                while len(inflight) < self.concurrency and not self._stop.is_set():
                    try:
                        lease = self.deliverer.claim()
                    except Exception:
                        log.exception("claiming webhook work failed")
                        self._stop.wait(1.0)
                        break
                    if lease is None:
                        break
                    future = pool.submit(self.deliverer.deliver, lease)
                    future.add_done_callback(lambda _f: self._wake.set())
                    inflight.add(future)
                self._wake.wait(self.poll_interval)
        finally:
            pool.shutdown(wait=True)

    def run_once(self, max_steps: int = 100_000) -> int:
        """Deliver what is due now, one step after another, until nothing is; the steps taken."""
        steps = 0
        while steps < max_steps and self.deliverer.step():
            steps += 1
        return steps


def start_in_app(context: HubContext, settings: Settings) -> DeliveryWorker | None:
    """The worker `serve` runs (settings.worker); the egress guard learns the allow-list either way."""
    egress.configure(settings.webhook_allow_networks)
    if not settings.worker:
        return None
    return DeliveryWorker(context, settings).start()


# --- dead letters --------------------------------------------------------------------------------------


def _webhook_consumer(conn: Connection, name: str) -> dict[str, Any]:
    row = get_consumer(conn, name)
    if row["mode"] != "webhook":
        raise ConsumerNotFound(
            f"消费方 {name} 不是 webhook 方式", message_en=f"consumer {name} is not a webhook"
        )
    return row


def _message_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (_utc(v).isoformat() if isinstance(v, dt.datetime) else v)
        for k, v in row.items()
        if k != "payload"
    }


def dead_letters(conn: Connection, name: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """The consumer's dead letters, newest first (without their bodies)."""
    _webhook_consumer(conn, name)
    return [_message_view(m) for m in store.list_messages(conn, name, state=store.DEAD, limit=limit)]


def attempts(conn: Connection, name: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The consumer's most recent delivery attempts, newest first."""
    _webhook_consumer(conn, name)
    return [_message_view(a) for a in store.list_attempts(conn, name, limit=limit)]


def replay(
    conn: Connection, name: str, message_id: str, *, principal: str, now: dt.datetime
) -> dict[str, Any]:
    """Queue a dead letter again, ahead of newer events, under its own webhook-id and body."""
    _webhook_consumer(conn, name)
    message = store.get_message(conn, message_id)
    if message is None or message["consumer"] != name:
        raise MessageNotFound(
            f"消费方 {name} 没有消息 {message_id}", message_en=f"consumer {name} has no message {message_id}"
        )
    if message["state"] != store.DEAD or not store.requeue_dead(conn, name, message_id, now=now):
        raise NotADeadLetter(
            f"消息 {message_id} 不是死信（状态：{message['state']}）",
            message_en=f"message {message_id} is not a dead letter (state {message['state']})",
        )
    append_audit(
        conn,
        principal=principal,
        action="webhook-replay",
        target=f"{name}/{message_id}",
        detail={"first_seq": message["first_seq"], "last_seq": message["last_seq"]},
    )
    return _message_view({**message, **(store.get_message(conn, message_id) or {})})
