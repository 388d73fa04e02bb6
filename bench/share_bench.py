"""Benchmark: sharing a million changes with the five built-in consumers (issue 4).

    .venv/bin/python bench/share_bench.py [--changes 1000000] [--backend sqlite|postgresql]
                                          [--pg-url postgresql+psycopg://…] [--no-profile]

The data: `--changes` penalty rows (bench/out/ingest-N/penalty.csv, the file bench/ingest_bench.py
makes, generated with the same seed when missing) plus inspections — 15% of N, from
enforcehub.synth (seed 5, scale N/10, inspections only) into bench/out/share-N/ — so double-random
(inspections and the counterparty registry) and the inspection parts of internet-plus-supervision and
supervision-platform have work.

Per database (SQLite, then PostgreSQL in a throwaway scripts/pg.sh cluster unless --pg-url):
  1. ingest  — a hub (`enforcehub serve`, ENFORCEHUB_WORKER=false: nothing is projected ahead) gets
               both files over HTTP (timed; not this benchmark's figure). The four feed consumers
               credit, internet-plus-supervision, double-random and supervision-platform are
               registered with the CLI (`consumers add NAME --profile NAME --with-key`).
  2. cold    — a fresh hub process (same settings, so its peak memory is the sharing's own) serves
               every consumer's whole feed with its consumer key: GET /api/v1/feeds/NAME, limit 10,000,
               following `next` until `more` is false. Each page is projected from the change log now.
               The client counts events without decoding the JSON (its own CPU is not the subject).
  3. project — per consumer: share.feed.materialize in this process (batches of 20,000, as the
               upkeep thread) until caught up, then
  4. warm    — its feed read again over HTTP, now served from feed_events (the issue's target,
               ≥ 200,000 changes/s per consumer, is compared with these); then its projected events
               are deleted, its position kept (a shared disk: at 1M changes the five profiles' events
               take several GB; the upkeep thread later sees the consumer caught up and projects only
               the latency records for it). Then share.portal_index.refresh_publicity for the internal
               `publicity` consumer (the fifth built-in profile) until caught up.
  5. webhook — the supervision facts are caught up in this process first (the upkeep thread would
               otherwise replay the whole log into them while we measure; not this benchmark's
               figure; on SQLite the WAL is truncated between steps, see docs/benchmarks.md).
               A hub with ENFORCEHUB_WORKER=true (upkeep and delivery) and the loopback
               allowed; `bench-hook` (profile supervision-platform, mode webhook, batch size 1000)
               registered over the admin API to a receiver in this process (ThreadingHTTPServer,
               every request verified with standardwebhooks.Webhook(secret).verify). Timed from the
               registration until every event of the feed arrived (messages counted once per
               webhook-id): events/s (target ≥ 5,000). The hub projects bench-hook's events itself
               (upkeep thread, and the delivery when it is ahead of it), so this includes projection.
  6. latency — 30 single-record JSON submissions of new penalties (distinct decision numbers), ~0.3 s
               apart: from each 201 answer (the commit) to the arrival at the receiver of the event
               with that decision number. p50 (target < 1 s) and p95.

"changes" of a consumer are the change-log entries of its profile's datasets (what a reader has to
look at); "events" are what the profile lets through (credit's publicity filter drops many).
Peak memory is each hub process's VmHWM. The load average is printed (the machine is shared).
With profiling on (the default) the cold and warm paths are split in this process for three pages of
each consumer — SQL, JSON decode, projection, event encoding — and a cProfile of materialize is
written to bench/out/share-profile-<backend>-<N>.txt. Results also go to bench/out/share-<N>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import io
import itertools
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import LargeBinary, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from tests.servers import HubProcess, drop_pg_database, free_port, fresh_pg_database, run_cli  # noqa: E402

FEEDS = ("credit", "internet-plus-supervision", "double-random", "supervision-platform")
PAGE_LIMIT = 10_000
MATERIALIZE_BATCH = 20_000  # upkeep.MATERIALIZE_BATCH
HOOK = "bench-hook"
HOOK_PROFILE = "supervision-platform"
HOOK_BATCH = 1000
LATENCY_SAMPLES = 30
LATENCY_SPACING_S = 0.3
INSPECTION_SHARE = 0.15  # inspections per penalty (synth makes 1.5 per penalty at a scale; we use N/10)
TARGET_READ = 200_000
TARGET_HOOK = 5_000
TARGET_P50 = 1.0
MIN_FREE_GB = 2.0  # the disk is shared: below this, the running hub is killed and the run stops

_ABORT = threading.Event()
_HUBS: list[HubProcess] = []


def _watch_disk(path: Path, log: Callable[[str], None]) -> None:
    """Every 5 s: stop everything of ours when the shared disk is nearly full."""
    while not _ABORT.is_set():
        free = shutil.disk_usage(path).free / 1e9
        if free < MIN_FREE_GB:
            log(f"only {free:.1f} GB free on disk: stopping the run")
            _ABORT.set()
            for hub in list(_HUBS):
                with contextlib.suppress(Exception):
                    hub.kill()
            return
        time.sleep(5)


def _check_abort() -> None:
    if _ABORT.is_set():
        raise RuntimeError(f"stopped: less than {MIN_FREE_GB} GB free on disk")


def _hub(data: Path, env: dict[str, str]) -> HubProcess:
    hub = HubProcess(data, env, client_timeout=7200)
    _HUBS[:] = [hub]
    return hub


# --- data --------------------------------------------------------------------------------------------


def _files(changes: int) -> dict[str, Path]:
    from enforcehub.synth import generate

    penalty_dir = OUT / f"ingest-{changes}"
    penalty = penalty_dir / "penalty.csv"
    if not penalty.exists():  # the same call as bench/ingest_bench.py
        generate(penalty_dir, seed=5, scale=changes, error_rate=0.0, datasets=("penalty",))
    share_dir = OUT / f"share-{changes}"
    inspection = share_dir / "inspection.csv"
    if not inspection.exists():
        generate(share_dir, seed=5, scale=max(1, changes // 10), error_rate=0.0, datasets=("inspection",))
    return {"penalty": penalty, "inspection": inspection}


def _latency_rows(penalty: Path) -> list[dict[str, str]]:
    """New penalties: rows of the file with the number of their 决定书文号 replaced (9000001号 …)."""
    rows: list[dict[str, str]] = []
    with penalty.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            number = row["decision_number"]
            if row.get("status") != "有效" or not re.search(r"\d+号$", number):
                continue
            i = len(rows) + 1
            fresh = re.sub(r"\d+号$", f"{9_000_000 + i}号", number)
            rows.append({**{k: v for k, v in row.items() if v != ""}, "decision_number": fresh})
            if len(rows) == LATENCY_SAMPLES:
                break
    return rows


# --- the hub -----------------------------------------------------------------------------------------


def _peak_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (all its threads)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _disk_mb(data: Path, local: Local | None) -> float:
    """What the hub's data take on disk: its data directory, plus the PostgreSQL database."""
    total = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    if local is not None and local.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with local.engine.connect() as conn:
            total += int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    return total / 1e6


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _json_out(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    if done.returncode != 0:
        raise RuntimeError(f"enforcehub CLI failed ({done.returncode}): {done.stderr}{done.stdout}")
    text = done.stdout.strip()
    try:
        found: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        found = json.loads(text.splitlines()[-1])
    return found


def _upload(client: httpx.Client, key: str, path: Path, dataset: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = client.post(
            "/api/v1/submissions",
            params={"dataset": dataset},
            headers=_bearer(key),
            files={"file": (path.name, handle, "text/csv")},
        )
    receipt = response.json()
    while receipt.get("status") == "processing":
        time.sleep(0.5)
        receipt = client.get(f"/api/v1/submissions/{receipt['id']}", headers=_bearer(key)).json()
    if receipt.get("status") != "done":
        raise RuntimeError(f"upload of {path.name} ended {receipt.get('status')}: {str(receipt)[:2000]}")
    return time.perf_counter() - started, receipt


# --- reading feeds over HTTP ---------------------------------------------------------------------------

TAIL = re.compile(rb'\],"next":"([^"]+)","more":(true|false)\}$')


def _read_feed(client: httpx.Client, key: str, name: str, pid: int | None) -> dict[str, Any]:
    """The whole feed from the start; the body is not decoded (only its tail and the event count).
    `cpu_s`: the hub process's CPU seconds meanwhile (the machine is shared: wall time is not all ours)."""
    from enforcehub.share.feed import encode_cursor

    cpu = _cpu_s(pid)
    cursor = encode_cursor(0)
    events = pages = max_page_bytes = 0
    total_bytes = 0
    first_checked = False
    started = time.perf_counter()
    while True:
        response = client.get(
            f"/api/v1/feeds/{name}", params={"after": cursor, "limit": PAGE_LIMIT}, headers=_bearer(key)
        )
        if response.status_code != 200:
            raise RuntimeError(f"feed {name}: HTTP {response.status_code} {response.text[:500]}")
        body = response.content
        if not first_checked and b'"events":[{' in body:  # one full decode: the shape is right
            page = json.loads(body)
            assert page["events"][0]["id"].endswith(f"-{page['events'][0]['seq']}")
            first_checked = True
        tail = TAIL.search(body[-400:])
        if tail is None:
            raise RuntimeError(f"feed {name}: unexpected body end {body[-200:]!r}")
        events += body.count(b'{"id":"')
        pages += 1
        total_bytes += len(body)
        max_page_bytes = max(max_page_bytes, len(body))
        cursor = tail.group(1).decode()
        if tail.group(2) == b"false":
            break
    return {
        "seconds": time.perf_counter() - started,
        "cpu_s": _cpu_s(pid) - cpu,
        "events": events,
        "pages": pages,
        "mb": total_bytes / 1e6,
        "max_page_mb": max_page_bytes / 1e6,
    }


# --- the webhook receiver ------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A Standard Webhooks endpoint on 127.0.0.1: every request verified, events counted per webhook-id,
    the arrival of watched decision numbers recorded."""

    port: int = field(default_factory=free_port)
    secret: str | None = None
    messages: dict[str, int] = field(default_factory=dict)  # webhook-id → events (first delivery)
    duplicates: int = 0
    unverified: int = 0
    last_seq: int = 0
    watch: set[str] = field(default_factory=set)
    arrivals: dict[str, float] = field(default_factory=dict)
    first_at: float | None = None
    last_at: float | None = None
    read_s: float = 0.0  # reading request bodies
    verify_s: float = 0.0  # verifying signatures and decoding the JSON
    lock: threading.Lock = field(default_factory=threading.Lock)
    secret_known: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def events(self) -> int:
        with self.lock:
            return sum(self.messages.values())

    def set_secret(self, secret: str) -> None:
        self.secret = secret
        self.secret_known.set()

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the hub's client reuses its connection

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        from standardwebhooks import Webhook
        from standardwebhooks.webhooks import WebhookVerificationError

        began = time.monotonic()
        body = request.rfile.read(int(request.headers.get("content-length", 0)))
        arrived = time.monotonic()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.secret_known.wait(30)  # the registration's answer carries the secret
        status = 200
        try:
            payload = Webhook(self.secret or "whsec_").verify(body.decode("utf-8"), headers)
        except (WebhookVerificationError, ValueError):
            payload, status = None, 400
        verified = time.monotonic()
        with self.lock:
            self.read_s += arrived - began
            self.verify_s += verified - arrived
            if payload is None:
                self.unverified += 1
            elif headers["webhook-id"] in self.messages:
                self.duplicates += 1
            else:
                events = payload["events"]
                self.messages[headers["webhook-id"]] = len(events)
                if events:
                    self.last_seq = max(self.last_seq, int(events[-1]["seq"]))
                if self.first_at is None:
                    self.first_at = arrived
                self.last_at = arrived
                if self.watch:
                    for event in events:
                        number = (event.get("data") or {}).get("decision_number")
                        if number in self.watch and number not in self.arrivals:
                            self.arrivals[number] = arrived
        request.send_response(status)
        request.send_header("content-length", "0")
        request.end_headers()


def _attempt_stats(client: httpx.Client, admin: str) -> dict[str, Any]:
    """From the hub's last 1,000 attempts of bench-hook: how long a send took (the POST until the
    receiver's answer) and the time from one attempt to the next (everything else of a step)."""
    import datetime as dt

    found = client.get(
        f"/api/v1/admin/consumers/{HOOK}/attempts", params={"limit": 1000}, headers=_bearer(admin)
    )
    attempts = found.json().get("attempts", []) if found.status_code == 200 else []
    if len(attempts) < 2:
        return {"n": len(attempts)}
    times = sorted(dt.datetime.fromisoformat(a["at"]).timestamp() for a in attempts)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    durations = [a["duration_ms"] / 1000 for a in attempts if a["duration_ms"] is not None]
    return {
        "n": len(attempts),
        "failed": sum(1 for a in attempts if a["status"] != 200),
        "send_mean_s": statistics.fmean(durations),
        "gap_mean_s": statistics.fmean(gaps),
        "gap_p50_s": statistics.median(gaps),
    }


# --- in-process work against the same database ---------------------------------------------------------


@dataclass
class Local:
    engine: Any
    standard: Any
    hub_id: str

    @classmethod
    def open(cls, data: Path, database_url: str | None) -> Local:
        from enforcehub.settings import Settings
        from enforcehub.standard.loader import standard
        from enforcehub.store.db import make_engine

        settings = Settings(data_dir=data, database_url=database_url)
        return cls(make_engine(settings), standard(), settings.hub_id)

    def close(self) -> None:
        self.engine.dispose()

    def changes_by_dataset(self) -> dict[str, int]:
        from sqlalchemy import func, select

        from enforcehub.store.db import read_transaction
        from enforcehub.store.schema import changes

        with read_transaction(self.engine) as conn:
            query = select(changes.c.dataset, func.count()).group_by(changes.c.dataset)
            return {str(d): int(n) for d, n in conn.execute(query)}

    def consumer(self, name: str) -> dict[str, Any]:
        from enforcehub.store import consumers as consumer_store
        from enforcehub.store.db import read_transaction

        with read_transaction(self.engine) as conn:
            row = consumer_store.get_consumer(conn, name)
        assert row is not None, name
        return row

    def datasets(self, name: str) -> list[str]:
        from enforcehub.share.consumers import datasets_of, resolve_profile

        if name == "publicity":
            from enforcehub.share.profile import builtin_profiles

            return list(builtin_profiles()["publicity"].datasets)
        row = self.consumer(name)
        return datasets_of(row, resolve_profile(row, self.standard))

    def materialize(self, name: str) -> tuple[float, int]:
        from enforcehub.share.feed import materialize

        started = time.perf_counter()
        rounds = 0
        while materialize(
            self.engine, name, standard=self.standard, hub_id=self.hub_id, limit=MATERIALIZE_BATCH
        ):
            rounds += 1
            _check_abort()
        return time.perf_counter() - started, rounds

    def refresh_publicity(self) -> tuple[float, int]:
        from enforcehub.share.portal_index import is_behind, refresh_publicity
        from enforcehub.store.db import read_transaction

        started = time.perf_counter()
        entries = 0
        while True:
            entries += refresh_publicity(self.engine, self.standard, self.hub_id)
            _check_abort()
            with read_transaction(self.engine) as conn:
                if not is_behind(conn):
                    break
        return time.perf_counter() - started, entries

    def cached_mb(self, name: str) -> float:
        """The projected events of a consumer, in MB of UTF-8 JSON."""
        from sqlalchemy import func, select

        from enforcehub.store.db import read_transaction
        from enforcehub.store.schema import feed_events

        size = (
            func.octet_length(feed_events.c.body)
            if self.engine.dialect.name == "postgresql"
            else func.length(cast(feed_events.c.body, LargeBinary))
        )
        with read_transaction(self.engine) as conn:
            query = select(func.coalesce(func.sum(size), 0)).where(feed_events.c.consumer == name)
            return int(conn.execute(query).scalar_one()) / 1e6

    def drop_cached_events(self, names: tuple[str, ...]) -> None:
        """Delete these consumers' projected events but keep their positions (disk space: the upkeep
        thread then treats them as caught up; nothing reads them any more)."""
        from sqlalchemy import delete, text

        from enforcehub.store.db import write_transaction
        from enforcehub.store.schema import feed_events

        with write_transaction(self.engine) as conn:
            conn.execute(delete(feed_events).where(feed_events.c.consumer.in_(names)))
        if self.engine.dialect.name == "postgresql":  # the space becomes reusable by the table
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM feed_events"))
        self.truncate_wal()

    def truncate_wal(self) -> None:
        """SQLite: a TRUNCATE checkpoint between steps. Back-to-back write transactions let the WAL
        grow without bound (21 GB after the publicity refresh at 1M changes, docs/benchmarks.md)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def refresh_supervision(self) -> tuple[float, int]:
        from enforcehub.supervise.facts import refresh_facts

        started = time.perf_counter()
        done = refresh_facts(self.engine, self.standard)
        return time.perf_counter() - started, done.changes


# --- where the time goes (in process) ------------------------------------------------------------------


def _split_cold(local: Local, name: str, pages: int = 3) -> dict[str, float]:
    """Project `pages` pages of 10,000 changes the way project_changes does, timing each stage."""
    import polars as pl

    from enforcehub.share.consumers import datasets_of, region_prefix
    from enforcehub.share.feed import FeedPage, projector_for
    from enforcehub.share.profile import LINEAGE_COLUMNS
    from enforcehub.share.project import numbered_events
    from enforcehub.store import feeds
    from enforcehub.store.db import read_transaction

    row = local.consumer(name)
    projector = projector_for(row, local.standard, local.hub_id)
    profile = projector.profile
    publicity = any(spec.filter == "publicity" for spec in profile.datasets.values())
    sources = {f.source for spec in profile.datasets.values() for f in spec.fields}
    times = {"sql": 0.0, "agencies": 0.0, "decode": 0.0, "project": 0.0, "encode": 0.0, "body": 0.0}
    changes = events = 0
    after = 0
    for _ in range(pages):
        with read_transaction(local.engine) as conn:
            t0 = time.perf_counter()
            bound = feeds.last_seq(conn)
            page = feeds.read_changes(
                conn,
                after=after,
                limit=PAGE_LIMIT,
                datasets=datasets_of(row, profile),
                region_prefix=region_prefix(row["region"]),
                until=bound,
                previous=publicity,
                lineage=bool(sources & set(LINEAGE_COLUMNS)),
            )
            t1 = time.perf_counter()
            agencies: dict[str, str] = {}
            if page.height and publicity:
                usccs = page["data"].str.json_path_match("$.agency_uscc").unique().drop_nulls().to_list()
                found = feeds.current_data(conn, dataset="agency", keys=usccs)
                agencies = {k: str(v["agency_field"]) for k, v in found.items() if v.get("agency_field")}
            t2 = time.perf_counter()
        if not page.height:
            break
        # the JSON decode alone (project() does it again inside: reported as part of projection)
        for (dataset_name,), group in page.group_by(["dataset"], maintain_order=True):
            dataset = local.standard.datasets[str(dataset_name)]
            record_type = pl.Struct({n: pl.Utf8 for n in dataset.names})
            group["data"].str.json_decode(record_type)
            if publicity:
                group["prev_data"].str.json_decode(record_type)
        t3 = time.perf_counter()
        frames = projector.project(page, agency_fields=agencies)
        t4 = time.perf_counter()
        numbered = numbered_events(frames)
        t5 = time.perf_counter()
        FeedPage(events=[b for _, b in numbered], after=after, position=0, more=True).body()
        t6 = time.perf_counter()
        times["sql"] += t1 - t0
        times["agencies"] += t2 - t1
        times["decode"] += t3 - t2
        times["project"] += t4 - t3
        times["encode"] += t5 - t4
        times["body"] += t6 - t5
        changes += page.height
        events += len(numbered)
        after = int(page["_seq"].max())  # type: ignore[arg-type]
    return {**times, "changes": changes, "events": events}


def _split_warm(local: Local, name: str, pages: int = 3) -> dict[str, float]:
    from enforcehub.share.feed import FeedPage
    from enforcehub.store import feeds
    from enforcehub.store.db import read_transaction

    times = {"sql": 0.0, "body": 0.0}
    events = 0
    after = 0
    for _ in range(pages):
        with read_transaction(local.engine) as conn:
            t0 = time.perf_counter()
            bound = feeds.projected_seq(conn, name)
            stored = feeds.read_cached_events(conn, consumer=name, after=after, until=bound, limit=PAGE_LIMIT)
            t1 = time.perf_counter()
        if not stored:
            break
        FeedPage(events=[b for _, b in stored], after=after, position=0, more=True).body()
        t2 = time.perf_counter()
        times["sql"] += t1 - t0
        times["body"] += t2 - t1
        events += len(stored)
        after = stored[-1][0]
    return {**times, "events": events}


def _profile_materialize(local: Local, name: str, path: Path) -> None:
    """cProfile of projecting the first 60,000 changes of `name` again (materialize's read side:
    project_changes; the write side — store_events — is timed separately)."""
    from enforcehub.share.feed import project_changes
    from enforcehub.store import feeds
    from enforcehub.store.db import read_transaction

    row = local.consumer(name)
    profiler = cProfile.Profile()
    with read_transaction(local.engine) as conn:
        last = feeds.last_seq(conn)
        after = 0
        profiler.enable()
        for _ in range(3):
            _events, _, after, _ = project_changes(
                conn,
                row,
                after=after,
                limit=MATERIALIZE_BATCH,
                standard=local.standard,
                hub_id=local.hub_id,
                until=last,
            )
        profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n===== {name}: project_changes × 3 × {MATERIALIZE_BATCH} changes =====\n")
        handle.write(text.getvalue())


def _split_materialize(local: Local, profile: str, batches: int = 3) -> dict[str, float]:
    """materialize's two halves for `batches` batches of 20,000 changes, into a scratch feed consumer
    with the same profile (removed afterwards): project_changes in a read transaction, then
    store_events (the insert, the commit)."""
    import datetime as dt

    from sqlalchemy import delete

    from enforcehub.share import consumers as consumer_service
    from enforcehub.share.feed import project_changes
    from enforcehub.store import feeds
    from enforcehub.store.db import read_transaction, write_transaction
    from enforcehub.store.schema import consumers, feed_events

    scratch = "bench-scratch"
    now = dt.datetime.now(dt.UTC)
    with write_transaction(local.engine) as conn:
        spec = consumer_service.ConsumerSpec(name=scratch, profile=profile)
        consumer_service.add_consumer(conn, spec, standard=local.standard, now=now)
    row = local.consumer(scratch)
    times = {"project": 0.0, "insert": 0.0, "commit": 0.0, "changes": 0, "events": 0}
    after = 0
    try:
        for _ in range(batches):
            t0 = time.perf_counter()
            with read_transaction(local.engine) as conn:
                last = feeds.last_seq(conn)
                events, _, position, _ = project_changes(
                    conn, row, after=after, limit=MATERIALIZE_BATCH, standard=local.standard,
                    hub_id=local.hub_id, until=last,
                )  # fmt: skip
            t1 = time.perf_counter()
            with write_transaction(local.engine) as conn:
                feeds.store_events(conn, consumer=scratch, events=events, projected=position)
                t2 = time.perf_counter()
            t3 = time.perf_counter()
            times["project"] += t1 - t0
            times["insert"] += t2 - t1
            times["commit"] += t3 - t2
            times["events"] += len(events)
            times["changes"] += position - after  # change-log positions covered
            if position == after:
                break
            after = position
    finally:
        with write_transaction(local.engine) as conn:
            conn.execute(delete(feed_events).where(feed_events.c.consumer == scratch))
            conn.execute(delete(consumers).where(consumers.c.name == scratch))
    return times


# --- one database --------------------------------------------------------------------------------------


def _run_backend(
    label: str,
    database_url: str | None,
    files: dict[str, Path],
    *,
    profile: bool,
    log: Callable[[str], None],
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"enforcehub-share-{label}-"))
    env = {"ENFORCEHUB_DATABASE_URL": database_url} if database_url else {}
    cold_env = {**env, "ENFORCEHUB_WORKER": "false"}
    result: dict[str, Any] = {"database": label, "load": {"start": _load()}}
    local: Local | None = None
    try:
        admin = _json_out(
            run_cli("keys", "create", "--role", "admin", "--format", "json", "--data", data, env=env)
        )["key"]
        # 1. ingest
        with _hub(data, cold_env) as hub, hub.client(timeout=7200) as client:
            ingest = {}
            for dataset, path in files.items():
                seconds, receipt = _upload(client, admin, path, dataset)
                ingest[dataset] = {"seconds": seconds, "counts": receipt.get("counts", {})}
                log(f"{label}: ingest {dataset} {seconds:.1f} s {receipt.get('counts')}")
            result["ingest"] = ingest
            result["ingest_peak_mb"] = _peak_mb(hub.pid)
        keys = {}
        for name in FEEDS:
            made = _json_out(
                run_cli(
                    "consumers",
                    "add",
                    name,
                    "--profile",
                    name,
                    "--with-key",
                    "--format",
                    "json",
                    "--data",
                    data,
                    env=env,
                )
            )
            keys[name] = made["key"]
        local = Local.open(data, database_url)
        local.truncate_wal()  # the ingest's WAL
        by_dataset = local.changes_by_dataset()
        result["changes_by_dataset"] = by_dataset
        covered = {n: sum(by_dataset.get(d, 0) for d in local.datasets(n)) for n in (*FEEDS, "publicity")}
        result["covered"] = covered
        log(f"{label}: changes by dataset {by_dataset}; disk {_disk_mb(data, local):,.0f} MB")

        # 2. cold reads, 3. projection ahead, 4. warm reads: one hub process
        result["load"]["reads"] = _load()
        with _hub(data, cold_env) as hub, hub.client(timeout=7200) as client:
            cold = {}
            for name in FEEDS:
                cold[name] = _read_feed(client, keys[name], name, hub.pid)
                log(f"{label}: cold {name} {cold[name]}")
            result["cold"] = cold
            result["cold_peak_mb"] = _peak_mb(hub.pid)
            # One consumer at a time: project ahead, read warm, keep what the split needs, then drop
            # its projected events (positions kept) — at 1M changes they take GBs of a shared disk.
            result["load"]["project"] = _load()
            projected: dict[str, Any] = {}
            warm: dict[str, Any] = {}
            split_warm: dict[str, Any] = {}
            for name in FEEDS:
                cpu = time.process_time()
                seconds, rounds = local.materialize(name)
                projected[name] = {
                    "seconds": seconds,
                    "cpu_s": time.process_time() - cpu,
                    "rounds": rounds,
                    "event_mb": local.cached_mb(name),
                }
                log(f"{label}: materialize {name} {projected[name]}")
                warm[name] = _read_feed(client, keys[name], name, hub.pid)
                log(f"{label}: warm {name} {warm[name]}")
                if profile:
                    split_warm[name] = _split_warm(local, name)
                result["disk_mb_projected"] = max(result.get("disk_mb_projected", 0), _disk_mb(data, local))
                local.drop_cached_events((name,))
            cpu = time.process_time()
            seconds, entries = local.refresh_publicity()
            projected["publicity"] = {
                "seconds": seconds,
                "cpu_s": time.process_time() - cpu,
                "entries": entries,
            }
            log(f"{label}: refresh_publicity {seconds:.1f} s, {entries} entries")
            local.truncate_wal()
            result["project"] = projected
            result["warm"] = warm
            result["read_peak_mb"] = _peak_mb(hub.pid)
            result["load"]["after_reads"] = _load()
            log(f"{label}: largest disk use while projecting {result['disk_mb_projected']:,.0f} MB")
        if profile:
            result["split_cold"] = {n: _split_cold(local, n) for n in FEEDS}
            result["split_warm"] = split_warm
            result["split_materialize"] = _split_materialize(local, "supervision-platform")
            path = OUT / f"share-profile-{label.lower()}-{sum(by_dataset.values())}.txt"
            path.write_text(f"cProfile, {label}, {time.strftime('%Y-%m-%d %H:%M')}\n", encoding="utf-8")
            for name in ("credit", "supervision-platform"):
                _profile_materialize(local, name, path)
            result["profile_file"] = str(path.relative_to(ROOT))
            log(f"{label}: split {result['split_cold']} {result['split_warm']} {result['split_materialize']}")

        # 5. webhooks
        log(f"{label}: disk before the webhook phase {_disk_mb(data, local):,.0f} MB")
        try:
            seconds, facts = local.refresh_supervision()
            result["supervision_facts"] = {"seconds": seconds, "changes": facts}
        except Exception as exc:  # the supervision package is someone else's work in progress
            result["supervision_facts"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        log(f"{label}: supervision facts {result['supervision_facts']}")
        local.truncate_wal()
        expected = warm[HOOK_PROFILE]["events"]
        receiver = Receiver().start()
        hook_env = {
            **env,
            "ENFORCEHUB_WORKER": "true",
            "ENFORCEHUB_WEBHOOK_ALLOW_NETWORKS": '["127.0.0.0/8"]',
        }
        result["load"]["webhook"] = _load()
        try:
            with _hub(data, hook_env) as hub, hub.client(timeout=600) as client:
                time.sleep(2)  # the upkeep thread's first ticks (nothing to do: all caught up)
                cpu = _cpu_s(hub.pid)
                started = time.monotonic()
                made = client.post(
                    "/api/v1/admin/consumers",
                    json={
                        "name": HOOK,
                        "profile": HOOK_PROFILE,
                        "mode": "webhook",
                        "webhook_url": receiver.url,
                        "batch_size": HOOK_BATCH,
                    },
                    headers=_bearer(admin),
                )
                if made.status_code != 201:
                    raise RuntimeError(f"registering {HOOK}: {made.status_code} {made.text}")
                receiver.set_secret(made.json()["webhook_secret"])
                deadline = started + 4 * 3600
                while receiver.events < expected and time.monotonic() < deadline:
                    time.sleep(0.05)
                    _check_abort()
                seconds = (receiver.last_at or time.monotonic()) - started
                result["webhook"] = {
                    "seconds": seconds,
                    "cpu_s": _cpu_s(hub.pid) - cpu,
                    "events": receiver.events,
                    "expected": expected,
                    "messages": len(receiver.messages),
                    "duplicates": receiver.duplicates,
                    "unverified": receiver.unverified,
                    "first_after_s": (receiver.first_at or started) - started,
                    "receiver_read_s": receiver.read_s,
                    "receiver_verify_s": receiver.verify_s,
                    "attempts": _attempt_stats(client, admin),
                }
                log(f"{label}: webhook {result['webhook']}")
                # 6. latency
                result["load"]["latency"] = _load()
                rows = _latency_rows(files["penalty"])
                receiver.watch = {r["decision_number"] for r in rows}
                committed: dict[str, float] = {}
                for row in rows:
                    answer = client.post(
                        "/api/v1/submissions",
                        params={"dataset": "penalty"},
                        headers=_bearer(admin),
                        json={"records": [row]},
                    )
                    committed[row["decision_number"]] = time.monotonic()
                    if answer.status_code != 201 or answer.json()["counts"].get("accepted") != 1:
                        raise RuntimeError(f"latency submission: {answer.status_code} {answer.text[:1000]}")
                    time.sleep(LATENCY_SPACING_S)
                wait_until = time.monotonic() + 60
                while len(receiver.arrivals) < len(rows) and time.monotonic() < wait_until:
                    time.sleep(0.05)
                latencies = sorted(
                    receiver.arrivals[n] - committed[n] for n in committed if n in receiver.arrivals
                )
                result["latency"] = {
                    "samples": len(rows),
                    "arrived": len(latencies),
                    "p50": statistics.median(latencies) if latencies else None,
                    "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)] if latencies else None,
                    "max": latencies[-1] if latencies else None,
                    "all": [round(x, 3) for x in latencies],
                }
                log(f"{label}: latency {result['latency']}")
                shown = client.get(f"/api/v1/admin/consumers/{HOOK}", headers=_bearer(admin)).json()
                result["webhook"]["status"] = shown.get("status")
                result["webhook_peak_mb"] = _peak_mb(hub.pid)
                result["disk_mb_end"] = _disk_mb(data, local)
                log(f"{label}: disk at the end {result['disk_mb_end']:,.0f} MB")
        finally:
            receiver.stop()
        result["load"]["end"] = _load()
    finally:
        if local is not None:
            local.close()
        shutil.rmtree(data, ignore_errors=True)
        if database_url:
            with contextlib.suppress(Exception):
                drop_pg_database(database_url)
    return result


# --- output --------------------------------------------------------------------------------------------


def _rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}" if seconds else "–"


def _table(r: dict[str, Any]) -> str:
    covered = r.get("covered", {})

    def _cpu(done: dict[str, Any], changes: int) -> str:
        cpu = done.get("cpu_s")
        return f"{cpu:.1f} | {changes / cpu:,.0f}" if cpu else "| "

    lines = [
        f"### {r['database']}",
        "",
        "Changes in the log: "
        + ", ".join(f"{d} {n:,}" for d, n in sorted(r.get("changes_by_dataset", {}).items()))
        + f". Load average (1/5/15 min): {r['load']}.",
        "",
        "| step | consumer | changes | events | seconds | changes/s | events/s | CPU s | changes/CPU-s "
        "| target | met? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for dataset, done in r.get("ingest", {}).items():
        counts = done["counts"]
        rows = counts.get("received", 0)
        lines.append(
            f"| ingest (not the figure) | {dataset} file | {rows:,} rows | | {done['seconds']:.1f} "
            f"| {_rate(rows, done['seconds'])} rows/s | | | | | |"
        )
    for step, key in (("cold page reads (HTTP)", "cold"), ("warm page reads (HTTP)", "warm")):
        for name, done in r.get(key, {}).items():
            n, s = covered.get(name, 0), done["seconds"]
            met = ""
            target = ""
            if key == "warm":
                target = "≥ 200,000 changes/s"
                met = "yes" if s and n / s >= TARGET_READ else "**no**"
            lines.append(
                f"| {step} | {name} | {n:,} | {done['events']:,} | {s:.1f} | {_rate(n, s)} "
                f"| {_rate(done['events'], s)} | {_cpu(done, n)} | {target} | {met} |"
            )
    for name, done in r.get("project", {}).items():
        n, s = covered.get(name, 0), done["seconds"]
        what = "refresh_publicity" if name == "publicity" else "materialize"
        extra = (
            f"{done['entries']:,} entries" if name == "publicity" else f"{done['event_mb']:,.0f} MB of events"
        )
        lines.append(
            f"| projection ahead ({what}) | {name} | {n:,} | {extra} | {s:.1f} | {_rate(n, s)} | "
            f"| {_cpu(done, n)} | | |"
        )
    hook = r.get("webhook")
    if hook:
        s = hook["seconds"]
        ok = hook["events"] >= hook["expected"]
        met = "yes" if ok and hook["events"] / s >= TARGET_HOOK else "**no**"
        lines.append(
            f"| webhook delivery, batch {HOOK_BATCH} | {HOOK} ({HOOK_PROFILE}) | "
            f"{covered.get(HOOK_PROFILE, 0):,} | {hook['events']:,} of {hook['expected']:,} | {s:.1f} | "
            f"{_rate(covered.get(HOOK_PROFILE, 0), s)} | {_rate(hook['events'], s)} "
            f"| {_cpu(hook, covered.get(HOOK_PROFILE, 0))} | ≥ 5,000 events/s | {met} |"
        )
    lat = r.get("latency")
    if lat and lat["p50"] is not None:
        met = "yes" if lat["p50"] < TARGET_P50 and lat["arrived"] == lat["samples"] else "**no**"
        lines.append(
            f"| commit → webhook arrival ({lat['arrived']}/{lat['samples']} submissions) | {HOOK} | | | "
            f"p50 {lat['p50']:.3f} s, p95 {lat['p95']:.3f} s, max {lat['max']:.3f} s "
            f"| | | | | p50 < 1 s | {met} |"
        )
    peaks = ", ".join(
        f"{label} {r[k]:,.0f} MB"
        for label, k in (
            ("ingest", "ingest_peak_mb"),
            ("reads", "read_peak_mb"),
            ("webhooks + latency (worker on)", "webhook_peak_mb"),
        )
        if k in r
    )
    lines += ["", f"Hub peak memory (VmHWM, one process per phase): {peaks}."]
    if "disk_mb_projected" in r:
        lines.append(
            f"Disk (data directory and database): {r['disk_mb_projected']:,.0f} MB at most while projecting "
            f"(one consumer's events at a time), {r.get('disk_mb_end', 0):,.0f} MB at the end."
        )
    if hook and hook.get("attempts", {}).get("n", 0) >= 2:
        a = hook["attempts"]
        lines.append(
            f"Webhook: {hook['messages']:,} messages ({hook['duplicates']} duplicates, {hook['unverified']} "
            f"unverified), first {hook['first_after_s']:.1f} s after the registration; over the last "
            f"{a['n']:,} attempts ({a['failed']} failed) a send (POST until the answer) took "
            f"{a['send_mean_s']:.3f} s on average and one attempt followed another every "
            f"{a['gap_mean_s']:.3f} s (median {a['gap_p50_s']:.3f} s); the receiver spent "
            f"{hook['receiver_read_s']:.1f} s reading bodies and {hook['receiver_verify_s']:.1f} s "
            "verifying and decoding in all."
        )
    if "supervision_facts" in r:
        lines.append(
            f"Supervision facts caught up in process before the webhook phase: {r['supervision_facts']}."
        )
    if "split_cold" in r:
        lines += [
            "",
            "Where the time goes, in process, first 3 pages of 10,000 (seconds per 10,000 changes):",
            "",
            "| consumer | cold: SQL | agencies | JSON decode | projection (incl. decode) | event JSON "
            "| page body | warm: SQL | page body |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, c in r["split_cold"].items():
            w = r["split_warm"][name]
            per = max(c["changes"], 1) / PAGE_LIMIT
            wp = max(w["events"], 1) / PAGE_LIMIT
            lines.append(
                f"| {name} | {c['sql'] / per:.3f} | {c['agencies'] / per:.3f} | {c['decode'] / per:.3f} "
                f"| {c['project'] / per:.3f} | {c['encode'] / per:.3f} | {c['body'] / per:.3f} "
                f"| {w['sql'] / wp:.3f} | {w['body'] / wp:.3f} |"
            )
        m = r["split_materialize"]
        lines.append(
            f"\nmaterialize, supervision-platform profile, {m['changes']:,} changes in batches of "
            f"{MATERIALIZE_BATCH:,} into a scratch consumer: project_changes {m['project']:.2f} s, "
            f"store_events insert {m['insert']:.2f} s, commit {m['commit']:.2f} s ({m['events']:,} events). "
            f"cProfile: {r['profile_file']}."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=1_000_000, help="penalty rows (plus 15%% inspections)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument(
        "--pg-url", help="a PostgreSQL server to use (default: a throwaway scripts/pg.sh cluster)"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the in-process split and cProfile")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    started = time.time()

    def log(message: str) -> None:
        print(f"[{time.time() - started:7.1f}s load {_load()}] {message}", file=sys.stderr, flush=True)

    files = _files(args.changes)
    log(f"files: {files}; {shutil.disk_usage(tempfile.gettempdir()).free / 1e9:.1f} GB free on disk")
    threading.Thread(target=_watch_disk, args=(Path(tempfile.gettempdir()), log), daemon=True).start()
    backends = [args.backend] if args.backend else ["sqlite", "postgresql"]
    results: list[dict[str, Any]] = []
    pg_dir = None
    pg_url = args.pg_url
    out_json = OUT / f"share-{args.changes}{'-' + args.backend if args.backend else ''}.json"
    try:
        for backend in backends:
            url = None
            if backend == "postgresql":
                if pg_url is None:
                    pg_dir = tempfile.mkdtemp(prefix="enforcehub-share-pg-")
                    env = {
                        **os.environ,
                        "ENFORCEHUB_PG_DIR": pg_dir,
                        "ENFORCEHUB_PG_OWNER_PID": str(os.getpid()),
                    }
                    script = str(ROOT / "scripts" / "pg.sh")
                    subprocess.run(["bash", script, "start"], check=True, env=env, capture_output=True)
                    pg_url = subprocess.run(
                        ["bash", script, "url"], check=True, env=env, capture_output=True, text=True
                    ).stdout.strip()
                url = fresh_pg_database(pg_url)
            label = "SQLite" if backend == "sqlite" else "PostgreSQL"
            try:
                results.append(_run_backend(label, url, files, profile=not args.no_profile, log=log))
            except Exception as exc:
                log(f"{label} failed: {type(exc).__name__}: {exc}")
                raise
            out_json.write_text(
                json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
            )
    finally:
        if pg_dir:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "pg.sh"), "destroy"],
                env={**os.environ, "ENFORCEHUB_PG_DIR": pg_dir},
                capture_output=True,
            )
    command = f".venv/bin/python bench/share_bench.py --changes {args.changes}"
    if args.backend:
        command += f" --backend {args.backend}"
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; total {time.time() - started:.0f} s"
    )
    print(f"Command: {command}\n")
    for r in results:
        print(_table(r) + "\n")


if __name__ == "__main__":
    main()
