"""Benchmark: three city hubs relay to the province (issue 6).

    .venv/bin/python bench/federation_bench.py [--records 300000] [--backends sqlite,sqlite,postgresql]
        [--modes catchup,live] [--knobs 5000:6291456,5000:6291456:off,50000:7340032]
        [--live-chunk 2000] [--live-rate 0] [--pg-url postgresql+psycopg://…] [--no-profile] [--tag T]

The data: one synthetic province (enforcehub.synth.generate, seed 6, error rate 0, every dataset, at a
scale of records / 0.6 penalties so that the smallest of the three cities has at least `--records`),
split by enforcehub.synth.cities.split_by_city into 440100 (gz-city), 440300 (sz-city) and 440600
(fs-city). Each city keeps its reference data whole (law, matter, agency, officer, counterparty rows of
its region) and the first rows of each action dataset, in the same proportion, so that it holds
exactly `--records` rows; the composition is written to bench/out/federation-N/composition.json and
printed. The province hub loads only its own registries (law, matter, agency, officer): the cities'
records are checked against them (matter list, provincial agencies) after the downlink.

Hubs are real `enforcehub serve` processes: the province (`--level province`) on PostgreSQL (a
throwaway scripts/pg.sh cluster unless --pg-url), each city `--level city --region R --hub-id H
--upstream URL --upstream-key KEY` on the backend given by --backends (default: gz-city and sz-city on
SQLite, fs-city on its own database of the same PostgreSQL cluster, as in the issue's test setup).
Every hub runs with its default worker (upkeep thread on; the cities' federation thread relays).

  catchup — the cities are started with their upstream and the relay consumer `relay-upstream`
            paused at once (the downlink brings the province's registries); each city gets its files,
            one submission per dataset (registries first), the three cities in parallel. Once every
            hub is quiet (its upkeep thread has digested the load, as it would have while the city was
            cut off: under 0.1 core over 10 s, or 15 minutes at most), all three
            relay consumers are resumed together and the relay is timed until every city's cursor is at
            its head. Throughput = versions committed at the province / (last − first province commit),
            and / (last province commit − resume). Repeated for each --knobs setting
            (ENFORCEHUB_RELAY_BATCH_ROWS:ENFORCEHUB_RELAY_BATCH_BYTES) on the same cities: the province
            gets a fresh database each time, the cities' relay cursor and links are reset.
  live    — fresh province and cities, relay running; each city receives its records as CSV
            submissions of --live-chunk rows (registries first, then the action datasets in turn), as
            fast as it answers (or --live-rate records/s per city), the three in parallel. The lag of
            each version: its province commit (changes.committed_at of the version with the same
            dataset, business key and origin version) − its city commit (the city's changes.committed_at),
            read from both databases: p50 / p95 / max, per city and overall.

Alongside: peak memory (VmHWM) and CPU seconds of each hub process and of each database's PostgreSQL
backends, the load average; py-spy (if `py-spy` is on PATH or in /tmp/pyspy-inst/bin) samples the
province and one SQLite city during the first catch-up (collapsed stacks summarised into
bench/out/federation-profile-*.txt); the city's read side is split in process (SQL page read vs
building relay lines). The floor: PostgreSQL COPY of the same relayed versions into a copy of the
province's versions table (LIKE versions INCLUDING ALL). Results: bench/out/federation-N[-T].json.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from tests.servers import HubProcess, fresh_pg_database, pg_script, run_cli  # noqa: E402

CITIES = {"440100": "gz-city", "440300": "sz-city", "440600": "fs-city"}
REFERENCE = ("law", "matter", "agency", "officer", "counterparty")
PROVINCE_REGISTRIES = ("law", "matter", "agency", "officer")
SMALLEST_CITY_SHARE = 0.6  # fs-city's records per penalty of the scale (0.64 measured at seed 6)
RELAY_CONSUMER = "relay-upstream"
TARGET_RATE = 20_000
TARGET_P50 = 2.0
DEFAULT_KNOBS = "5000:6291456"
TAG = [""]  # --tag, as a suffix of the output files
PYSPY_PATHS = (shutil.which("py-spy"), "/tmp/pyspy-inst/bin/py-spy")

_started = time.time()


def log(message: str) -> None:
    print(f"[{time.time() - _started:7.1f}s load {_load()}] {message}", file=sys.stderr, flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- data --------------------------------------------------------------------------------------------


def _data(records: int) -> tuple[Path, dict[str, dict[str, int]]]:
    """bench/out/federation-N/<city>/<dataset>.csv and province/…; the rows per hub and dataset."""
    from enforcehub.synth import generate
    from enforcehub.synth.cities import split_by_city

    base = OUT / f"federation-{records}"
    marker = base / "composition.json"
    if marker.exists():
        return base, json.loads(marker.read_text())
    src, split = base / "src", base / "split"
    scale = math.ceil(records / SMALLEST_CITY_SHARE)
    log(f"generating the province at scale {scale:,} (seed 6) into {src}")
    generate(src, seed=6, scale=scale, error_rate=0.0)
    split_by_city(src, split, list(CITIES))
    composition: dict[str, dict[str, int]] = {}
    for city in CITIES:
        frames = {
            p.stem: pl.read_csv(p, infer_schema_length=0, encoding="utf8")
            for p in sorted((split / city).glob("*.csv"))
        }
        reference = sum(f.height for n, f in frames.items() if n in REFERENCE)
        actions = {n: f.height for n, f in frames.items() if n not in REFERENCE}
        room = records - reference
        if room > sum(actions.values()):
            raise RuntimeError(f"{city}: only {reference + sum(actions.values()):,} rows; raise the scale")
        take = {n: math.floor(h * room / sum(actions.values())) for n, h in actions.items()}
        take[max(take, key=lambda n: take[n])] += room - sum(take.values())
        (base / city).mkdir(parents=True, exist_ok=True)
        composition[city] = {}
        for name, frame in frames.items():
            part = frame if name in REFERENCE else frame.head(take[name])
            part.write_csv(base / city / f"{name}.csv")
            composition[city][name] = part.height
    (base / "province").mkdir(parents=True, exist_ok=True)
    composition["province"] = {}
    for name in PROVINCE_REGISTRIES:
        path = split / "province" / f"{name}.csv"
        if path.exists():
            shutil.copy(path, base / "province" / f"{name}.csv")
            composition["province"][name] = pl.read_csv(path, infer_schema_length=0).height
    composition["_meta"] = {"scale": scale, "seed": 6}
    shutil.rmtree(src)
    shutil.rmtree(split)
    marker.write_text(json.dumps(composition, indent=1))
    return base, composition


def _order(names: list[str]) -> list[str]:
    from enforcehub.federation.uplink import SEND_ORDER

    return sorted(names, key=SEND_ORDER.index)


# --- processes -----------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_s(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError):
        f = _stat(pid)
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _peak_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pg_cpu() -> dict[str, float]:
    """CPU seconds of the live PostgreSQL backends by database (from their process titles)."""
    found: dict[str, float] = collections.defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: "):
                continue
            f = _stat(int(entry.name))
        except OSError:
            continue
        parts = title.split()
        database = parts[2] if len(parts) > 3 and parts[1] == "enforcehub" else "other"
        found[database] += (int(f[11]) + int(f[12])) / tick
    return dict(found)


def _hub_argv(level: str, region: str, hub_id: str, upstream: str | None, key: str | None) -> list[str]:
    argv = [
        sys.executable, "-m", "enforcehub.cli", "serve", "--data", "{data}", "--host", "{host}",
        "--port", "{port}", "--level", level, "--region", region, "--hub-id", hub_id,
    ]  # fmt: skip
    if upstream:
        argv += ["--upstream", upstream, "--upstream-key", key or ""]
    return argv


def _cli_json(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = run_cli(*args, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"enforcehub {' '.join(args)} failed: {done.stderr}{done.stdout}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _engine(data: Path, url: str | None) -> Engine:
    from enforcehub.settings import Settings
    from enforcehub.store.db import make_engine

    return make_engine(Settings(data_dir=data, database_url=url))


@dataclass
class Hub:
    """A hub of the benchmark: its process, database and keys."""

    name: str
    region: str
    level: str
    data: Path
    url: str | None  # PostgreSQL database, None for SQLite in `data`
    env: dict[str, str] = field(default_factory=dict)
    admin_key: str = ""
    process: HubProcess | None = None
    engine: Engine | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def database(self) -> str | None:
        return self.url.rsplit("/", 1)[1] if self.url else None

    def base_env(self) -> dict[str, str]:
        return {"ENFORCEHUB_DATABASE_URL": self.url} if self.url else {}

    def create_admin(self) -> None:
        env = self.base_env()
        made = _cli_json(
            "keys", "create", "--role", "admin", "--format", "json", "--data", str(self.data), env=env
        )
        self.admin_key = made["key"]

    def start(
        self, upstream: str | None = None, key: str | None = None, extra: dict[str, str] | None = None
    ) -> None:
        if self.process is not None:
            self.process.stop(timeout=60)
        self.env = {**self.base_env(), **(extra or {})}
        self.process = HubProcess(
            self.data,
            self.env,
            port=self.process.port if self.process else None,
            client_timeout=7200,
            ready_timeout=300,
            argv=_hub_argv(self.level, self.region, self.name, upstream, key),
        ).start()
        if self.engine is None:
            self.engine = _engine(self.data, self.url)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=60)
        if self.engine is not None:
            self.engine.dispose()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def _upload(client: httpx.Client, key: str, dataset: str, name: str, content: bytes) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {key}"}
    response = client.post(
        "/api/v1/submissions",
        params={"dataset": dataset},
        headers=auth,
        files={"file": (name, content, "text/csv")},
    )
    receipt: dict[str, Any] = response.json()
    while receipt.get("status") in ("received", "processing"):
        time.sleep(0.3)
        receipt = client.get(f"/api/v1/submissions/{receipt['id']}", headers=auth).json()
    if receipt.get("status") != "done":
        raise RuntimeError(f"{name}: {response.status_code} {str(receipt)[:1500]}")
    return receipt


def _load_files(hub: Hub, folder: Path) -> dict[str, dict[str, int]]:
    """Every file of `folder`, one submission per dataset (registries first); the receipts' counts."""
    assert hub.process is not None
    counts: dict[str, dict[str, int]] = {}
    with hub.process.client(timeout=7200) as client:
        for name in _order([p.stem for p in folder.glob("*.csv")]):
            path = folder / f"{name}.csv"
            receipt = _upload(client, hub.admin_key, name, path.name, path.read_bytes())
            counts[name] = receipt["counts"]
    return counts


# --- the province ----------------------------------------------------------------------------------------


def _new_province(
    base: Path, pg_url: str, work: Path, old: Hub | None, extra: dict[str, str]
) -> tuple[Hub, dict[str, str]]:
    """A province hub on a fresh database with its registries loaded; the cities' hub keys."""
    if old is not None:
        old.stop()
    data = work / f"province-{int(time.time() * 1000)}"
    data.mkdir(parents=True)
    hub = Hub("gd-province", "440000", "province", data, fresh_pg_database(pg_url))
    hub.create_admin()
    keys = {
        region: _cli_json(
            "keys", "create", "--role", "hub", "--region", region, "--name", name, "--format", "json",
            "--data", str(data), env=hub.base_env(),
        )["key"]
        for region, name in CITIES.items()
    }  # fmt: skip
    hub.start(extra=extra)
    _load_files(hub, base / "province")
    return hub, keys


# --- the cities' relay state ---------------------------------------------------------------------------


def _set_relay(city: Hub, state: str) -> None:
    from enforcehub.share import consumers as service
    from enforcehub.store.db import write_transaction

    assert city.engine is not None
    with write_transaction(city.engine) as conn:
        service.set_state(conn, RELAY_CONSUMER, state, now=dt.datetime.now(dt.UTC))


def _reset_relay(city: Hub) -> None:
    """Back to before the relay: cursor 0, paused, no links (the next province is a new one)."""
    from enforcehub.store.db import write_transaction

    assert city.engine is not None
    with write_transaction(city.engine) as conn:
        conn.execute(
            text(
                "UPDATE consumers SET acked_seq = 0, delivered_seq = 0, state = 'paused', failures = 0 "
                "WHERE name = :n"
            ),
            {"n": RELAY_CONSUMER},
        )
        conn.execute(text("DELETE FROM federation_links"))


def _relay_position(city: Hub) -> tuple[int, int, int, str | None]:
    """(the relay cursor, the relayable head, failures, last error) of a city."""
    from enforcehub.store.db import read_transaction

    assert city.engine is not None
    with read_transaction(city.engine) as conn:
        row = conn.execute(
            text("SELECT acked_seq, failures, last_error FROM consumers WHERE name = :n"),
            {"n": RELAY_CONSUMER},
        ).first()
        head = int(conn.execute(text("SELECT last_seq FROM change_counter WHERE id = 1")).scalar() or 0)
    if row is None:
        return 0, head, 0, None
    return int(row[0]), head, int(row[1]), row[2]


def _settle(hubs: list[Hub], quiet: float = 0.1, window: float = 10.0, limit: float = 900.0) -> float:
    """Wait until the hubs' processes use less than `quiet` of a core each over `window` seconds (their
    upkeep thread has digested the load: a city that was cut off from the province kept its own
    projections current meanwhile), at most `limit` seconds; the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = {h.name: _cpu_s(h.pid) for h in hubs}
        time.sleep(window)
        if all(_cpu_s(h.pid) - before[h.name] < quiet * window for h in hubs):
            break
    return time.monotonic() - started


def _relayable(city: Hub) -> int:
    from enforcehub.store import federation as federation_store
    from enforcehub.store.db import read_transaction

    assert city.engine is not None
    with read_transaction(city.engine) as conn:
        return federation_store.count_relayable(conn, after=0, origin_hub=city.name)


def _wait_relayed(
    cities: list[Hub], heads: dict[str, int], timeout: float, sample: Any = None
) -> dict[str, float]:
    """Until every city's relay cursor reaches `heads`; when each got there (monotonic)."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    last_note = 0.0
    while len(done) < len(cities):
        for city in cities:
            if city.name in done:
                continue
            acked, _head, failures, error = _relay_position(city)
            if acked >= heads[city.name]:
                done[city.name] = time.monotonic()
            elif time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                log(f"{city.name}: relay at {acked:,} of {heads[city.name]:,} (failures {failures}, {error})")
        if sample is not None:
            sample()
        if time.monotonic() > deadline:
            raise RuntimeError(f"relay not done after {timeout:.0f} s: {done}")
        time.sleep(0.5)
    return done


# --- measuring at the province ------------------------------------------------------------------------


def _utc(value: Any) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return float(value.timestamp())


def _commits(engine: Engine, origin_hub: str, *, relayed: bool) -> pl.DataFrame:
    """(dataset, business_key, version, committed) of the versions of `origin_hub` in this database's
    change log; `relayed`: the version number is the origin's."""
    version = "v.origin_version" if relayed else "v.version_no"
    query = text(
        f"SELECT r.dataset, r.business_key, {version}, c.committed_at FROM changes c "
        "JOIN versions v ON v.id = c.version_id JOIN records r ON r.id = c.record_id "
        "WHERE v.origin_hub = :hub"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"hub": origin_hub}).all()
    return pl.DataFrame(
        [(d, k, int(n), _utc(t)) for d, k, n, t in rows],
        schema={"dataset": pl.Utf8, "business_key": pl.Utf8, "version": pl.Int64, "committed": pl.Float64},
        orient="row",
    )


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": q(0.5),
        "p95": q(0.95),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


# --- profiling ---------------------------------------------------------------------------------------


def _pyspy() -> str | None:
    for candidate in PYSPY_PATHS:
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _start_pyspy(pid: int, out: Path, seconds: int) -> subprocess.Popen[bytes] | None:
    tool = _pyspy()
    if tool is None:
        return None
    return subprocess.Popen(
        [tool, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "50", "--format", "raw",
         "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _summarise_stacks(raw: Path, out: Path, title: str) -> dict[str, Any]:
    """Collapsed stacks → inclusive and self sample shares by function (one line per function)."""
    if not raw.exists():
        return {}
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        seen = set()
        for frame in frames:
            name = _frame(frame)
            if name not in seen:
                inclusive[name] += n
                seen.add(name)
        own[_frame(frames[-1])] += n
    lines = [f"{title}: {total:,} samples (50/s, active threads only)", "", "inclusive:"]
    lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in inclusive.most_common(60)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in own.most_common(40)]
    lines += ["", "by thread:"]
    lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in threads.most_common(10)]
    out.write_text("\n".join(lines) + "\n")
    return {
        "samples": total,
        "inclusive": {k: round(100 * v / total, 1) for k, v in inclusive.most_common(40)},
        "self": {k: round(100 * v / total, 1) for k, v in own.most_common(25)},
    }


def _frame(frame: str) -> str:
    """'process_chunk (enforcehub/pipeline/storing.py:123)' → 'process_chunk (…/pipeline/storing.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def _read_side(city: Hub, rows: int, pages: int) -> dict[str, Any]:
    """The city's read side in process: the page query, building the relay lines (first `pages`)."""
    from enforcehub.federation.uplink import batch_of
    from enforcehub.store import federation as federation_store
    from enforcehub.store.db import read_transaction

    assert city.engine is not None
    sql = build = 0.0
    versions = 0
    size = 0
    after = 0
    for _ in range(pages):
        t0 = time.perf_counter()
        with read_transaction(city.engine) as conn:
            page = federation_store.read_relay_page(conn, after=after, limit=rows, origin_hub=city.name)
        t1 = time.perf_counter()
        batch = batch_of(page, max_bytes=6 << 20, head=0)
        t2 = time.perf_counter()
        sql += t1 - t0
        build += t2 - t1
        versions += batch.versions
        size += sum(len(line) for lines in batch.lines.values() for line in lines)
        if batch.upto <= after:
            break
        after = batch.upto
    return {
        "city": city.name,
        "backend": city.backend,
        "versions": versions,
        "mb": size / 1e6,
        "sql_s": sql,
        "build_s": build,
        "sql_per_10k": sql / max(versions, 1) * 10_000,
        "build_per_10k": build / max(versions, 1) * 10_000,
    }


# --- the floor ---------------------------------------------------------------------------------------


def _copy_floor(url: str, origins: list[str]) -> dict[str, Any]:
    """COPY the relayed versions out of the province, then time COPY of them into a copy of the
    versions table (its indexes included)."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with tempfile.NamedTemporaryFile(prefix="federation-floor-", suffix=".copy", delete=False) as spool:
        path = Path(spool.name)
    try:
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            names = ", ".join(f"'{o}'" for o in origins)
            with (
                path.open("wb") as handle,
                cur.copy(f"COPY (SELECT * FROM versions WHERE origin_hub IN ({names})) TO STDOUT") as copy,
            ):
                for chunk in copy:
                    handle.write(chunk)
            cur.execute("CREATE TABLE versions_floor (LIKE versions INCLUDING ALL)")
            conn.commit()
            started = time.perf_counter()
            with path.open("rb") as handle, cur.copy("COPY versions_floor FROM STDIN") as copy:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            conn.commit()
            seconds = time.perf_counter() - started
            cur.execute("SELECT count(*) FROM versions_floor")
            rows = int(cur.fetchone()[0])  # type: ignore[index]
            cur.execute("DROP TABLE versions_floor")
            conn.commit()
        return {"rows": rows, "seconds": seconds, "mb": path.stat().st_size / 1e6, "rate": rows / seconds}
    finally:
        path.unlink(missing_ok=True)


# --- the two modes ---------------------------------------------------------------------------------------


def _make_cities(work: Path, backends: list[str], pg_url: str | None) -> list[Hub]:
    cities = []
    for (region, name), backend in zip(CITIES.items(), backends, strict=True):
        data = work / f"{name}-{int(time.time() * 1000)}"
        data.mkdir(parents=True)
        url = fresh_pg_database(pg_url) if backend == "postgresql" and pg_url else None
        cities.append(Hub(name, region, "city", data, url))
    for city in cities:
        city.create_admin()
    return cities


def _parallel(work: dict[str, Any]) -> dict[str, Any]:
    """Run each callable in its own thread; their results (an exception is raised after all ended)."""
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run(name: str, call: Any) -> None:
        try:
            results[name] = call()
        except BaseException as exc:  # handed back after the join
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in work.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class Sampler:
    """Peak RSS of the province every call (VmHWM covers the process's whole life)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak_rss = 0.0

    def __call__(self) -> None:
        self.peak_rss = max(self.peak_rss, _rss_mb(self.pid))


def _cpu_snapshot(province: Hub, cities: list[Hub]) -> dict[str, float]:
    snap = {h.name: _cpu_s(h.pid) for h in (province, *cities)}
    pg = _pg_cpu()
    for hub in (province, *cities):
        if hub.database:
            snap[f"pg:{hub.name}"] = pg.get(hub.database, 0.0)
    snap["pg:other"] = pg.get("other", 0.0)
    return snap


def _cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 1) for k in after}


def _province_figures(province: Hub, cities: list[Hub], since: float) -> dict[str, Any]:
    """From the province's change log: relayed versions, first and last commit (epoch seconds)."""
    assert province.engine is not None
    names = ", ".join(f"'{c.name}'" for c in cities)
    with province.engine.connect() as conn:
        n, first, last = conn.execute(
            text(
                "SELECT count(*), min(c.committed_at), max(c.committed_at) FROM changes c "
                f"JOIN versions v ON v.id = c.version_id WHERE v.origin_hub IN ({names})"
            )
        ).one()
        per = conn.execute(
            text(
                "SELECT v.origin_hub, count(*), max(c.committed_at), count(DISTINCT c.submission_id) "
                f"FROM changes c JOIN versions v ON v.id = c.version_id WHERE v.origin_hub IN ({names}) "
                "GROUP BY v.origin_hub"
            )
        ).all()
        links = conn.execute(text("SELECT name, versions, rejected, batches FROM federation_links")).all()
        subs = conn.execute(
            text(
                "SELECT received, EXTRACT(EPOCH FROM finished_at - received_at) FROM submissions "
                "WHERE channel = 'relay' AND finished_at IS NOT NULL"
            )
        ).all()
    first_s, last_s = _utc(first), _utc(last)
    return {
        "versions": int(n),
        "first_commit_after_start_s": first_s - since,
        "last_commit_after_start_s": last_s - since,
        "rate_first_to_last": int(n) / max(last_s - first_s, 1e-9),
        "rate_from_start": int(n) / max(last_s - since, 1e-9),
        "per_city": {
            h: {"versions": int(c), "last_after_start_s": _utc(t) - since, "submissions": int(s)}
            for h, c, t, s in per
        },
        "links": {
            str(name): {"versions": int(v), "rejected": int(r), "batches": int(b)} for name, v, r, b in links
        },
        "submissions": _fit([(int(r), float(s)) for r, s in subs]),
    }


def _fit(points: list[tuple[int, float]]) -> dict[str, Any]:
    """Relayed submissions at the province, received → finished: count, rows and seconds, and the
    least-squares line seconds = fixed + per_row × rows (what one submission costs besides its rows)."""
    if len(points) < 2:
        return {"n": len(points)}
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return {
        "n": len(points),
        "rows_mean": mx,
        "seconds_mean": my,
        "seconds_sum": sum(ys),
        "seconds_p50": statistics.median(ys),
        "fixed_s": my - slope * mx,
        "per_10k_rows_s": slope * 10_000,
    }


def catchup(
    base: Path,
    work: Path,
    backends: list[str],
    pg_url: str,
    knobs: list[tuple[int, int, bool]],
    profile: bool,
    records: int,
) -> dict[str, Any]:
    result: dict[str, Any] = {"mode": "catchup", "runs": []}
    province, keys = _new_province(base, pg_url, work, None, {})
    cities = _make_cities(work, backends, pg_url)
    upstream = province.process.url if province.process else ""
    for city in cities:
        city.start(upstream, keys[city.region])
        _set_relay(city, "paused")
    log("cities started, relay paused; loading each city's files (three in parallel)")
    t0 = time.monotonic()
    loaded = _parallel({c.name: (lambda c=c: _load_files(c, base / c.region)) for c in cities})
    result["load_s"] = time.monotonic() - t0
    result["load"] = loaded
    heads = {}
    for city in cities:
        heads[city.name] = _relay_position(city)[1]
        result.setdefault("relayable", {})[city.name] = _relayable(city)
    log(f"loaded in {result['load_s']:.0f} s; relayable {result['relayable']}")
    result["settle_s"] = _settle(cities)
    log(f"the cities' upkeep went quiet after {result['settle_s']:.0f} s")
    for i, (rows, size, worker) in enumerate(knobs):
        extra = {"ENFORCEHUB_RELAY_BATCH_ROWS": str(rows), "ENFORCEHUB_RELAY_BATCH_BYTES": str(size)}
        province_env = {} if worker else {"ENFORCEHUB_WORKER": "false"}
        if i > 0:
            province, keys = _new_province(base, pg_url, work, province, province_env)
            upstream = province.process.url if province.process else ""
            for city in cities:
                city.stop()
                _reset_relay(city)
            time.sleep(1)
        elif not worker:
            province.start(extra=province_env)
        for city in cities:
            city.start(upstream, keys[city.region], extra)
            _set_relay(city, "paused")
        time.sleep(3)  # the downlink brings the province's registries down first
        _settle([*cities, province], limit=180)
        log(f"catch-up: relay batch {rows:,} rows / {size / 2**20:.1f} MiB, province worker {worker}")
        run: dict[str, Any] = {
            "batch_rows": rows,
            "batch_bytes": size,
            "province_worker": worker,
            "load_before": _load(),
        }
        sampler = Sampler(province.pid)
        spies = []
        if profile and i == 0:
            sqlite_city = next((c for c in cities if c.backend == "sqlite"), cities[0])
            for hub, tag in ((province, "province"), (sqlite_city, f"city-{sqlite_city.backend}")):
                raw = OUT / f"federation-pyspy-{tag}-{records}{TAG[0]}.raw"
                raw.unlink(missing_ok=True)
                spy = _start_pyspy(hub.pid or 0, raw, 90 if records >= 100_000 else 15)
                if spy is not None:
                    spies.append((spy, raw, tag))
        cpu0 = _cpu_snapshot(province, cities)
        start_wall = time.time()
        t0 = time.monotonic()
        for city in cities:
            _set_relay(city, "active")
        done = _wait_relayed(cities, heads, timeout=7200, sample=sampler)
        run["wall_s"] = max(done.values()) - t0
        run["city_done_s"] = {k: v - t0 for k, v in done.items()}
        run["cpu_s"] = _cpu_delta(cpu0, _cpu_snapshot(province, cities))
        run["load_after"] = _load()
        run["province_peak_rss_mb"] = sampler.peak_rss
        run["province_vmhwm_mb"] = _peak_mb(province.pid)
        run["city_vmhwm_mb"] = {c.name: _peak_mb(c.pid) for c in cities}
        run["province"] = _province_figures(province, cities, start_wall)
        for spy, raw, tag in spies:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=120)
            run.setdefault("profile", {})[tag] = _summarise_stacks(
                raw, OUT / f"federation-profile-{tag}-{records}{TAG[0]}.txt", f"py-spy, {tag}, catch-up"
            )
        log(
            f"catch-up {rows}/{size}: {run['province']['versions']:,} versions in {run['wall_s']:.1f} s; "
            f"{run['province']['rate_first_to_last']:,.0f}/s first→last, "
            f"{run['province']['rate_from_start']:,.0f}/s from resume; cpu {run['cpu_s']}"
        )
        result["runs"].append(run)
    if profile:
        result["read_side"] = [_read_side(c, 5_000, 20) for c in cities]
    assert province.url is not None
    result["floor"] = _copy_floor(province.url, [c.name for c in cities])
    log(f"COPY floor: {result['floor']}")
    for hub in (province, *cities):
        hub.stop()
    return result


def _live_feed(city: Hub, folder: Path, chunk: int, rate: float) -> dict[str, Any]:
    """The city's records as CSV submissions of `chunk` rows: registries first, then the action
    datasets in turn; paced to `rate` records/s when > 0."""
    assert city.process is not None
    frames = {p.stem: pl.read_csv(p, infer_schema_length=0) for p in folder.glob("*.csv")}
    queue: list[tuple[str, pl.DataFrame]] = []
    for name in _order([n for n in frames if n in REFERENCE]):
        f = frames[name]
        queue += [(name, f.slice(i, chunk)) for i in range(0, f.height, chunk)]
    actions = {
        n: [f.slice(i, chunk) for i in range(0, f.height, chunk)]
        for n, f in frames.items()
        if n not in REFERENCE
    }
    while any(actions.values()):
        for name in _order(list(actions)):
            if actions[name]:
                queue.append((name, actions[name].pop(0)))
    sent = 0
    seconds: list[float] = []
    t0 = time.monotonic()
    with city.process.client(timeout=7200) as client:
        for i, (name, part) in enumerate(queue):
            buffer = io.BytesIO()
            part.write_csv(buffer)
            started = time.monotonic()
            _upload(client, city.admin_key, name, f"{name}-{i}.csv", buffer.getvalue())
            seconds.append(time.monotonic() - started)
            sent += part.height
            if rate > 0:
                ahead = t0 + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    wall = time.monotonic() - t0
    return {"records": sent, "submissions": len(queue), "wall_s": wall, "rate": sent / wall,
            "submit_s": _quantiles(seconds)}  # fmt: skip


def live(
    base: Path,
    work: Path,
    backends: list[str],
    pg_url: str,
    knob: tuple[int, int, bool],
    chunk: int,
    rate: float,
) -> dict[str, Any]:
    rows, size, worker = knob
    extra = {"ENFORCEHUB_RELAY_BATCH_ROWS": str(rows), "ENFORCEHUB_RELAY_BATCH_BYTES": str(size)}
    province, keys = _new_province(base, pg_url, work, None, {} if worker else {"ENFORCEHUB_WORKER": "false"})
    cities = _make_cities(work, backends, pg_url)
    upstream = province.process.url if province.process else ""
    for city in cities:
        city.start(upstream, keys[city.region], extra)
    time.sleep(3)  # the downlink brings the province's registries down first
    result: dict[str, Any] = {
        "mode": "live",
        "province_worker": worker,
        "batch_rows": rows,
        "batch_bytes": size,
        "chunk": chunk,
        "offered_rate_per_city": rate,
        "load_before": _load(),
    }
    log(
        f"live: cities receive chunks of {chunk:,} rows "
        f"({'as fast as answered' if rate <= 0 else f'{rate:,.0f}/s each'})"
    )
    sampler = Sampler(province.pid)
    cpu0 = _cpu_snapshot(province, cities)
    start_wall = time.time()
    t0 = time.monotonic()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            sampler()
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    result["feed"] = _parallel(
        {c.name: (lambda c=c: _live_feed(c, base / c.region, chunk, rate)) for c in cities}
    )
    result["feed_s"] = time.monotonic() - t0
    heads = {c.name: _relay_position(c)[1] for c in cities}
    log(f"fed in {result['feed_s']:.0f} s; waiting for the relay to finish")
    done = _wait_relayed(cities, heads, timeout=7200)
    stop.set()
    result["wall_s"] = max(done.values()) - t0
    result["relay_tail_s"] = max(done.values()) - t0 - result["feed_s"]
    result["cpu_s"] = _cpu_delta(cpu0, _cpu_snapshot(province, cities))
    result["load_after"] = _load()
    result["province_peak_rss_mb"] = sampler.peak_rss
    result["province_vmhwm_mb"] = _peak_mb(province.pid)
    result["city_vmhwm_mb"] = {c.name: _peak_mb(c.pid) for c in cities}
    result["province"] = _province_figures(province, cities, start_wall)
    result["city_ingest_rate"] = sum(f["records"] for f in result["feed"].values()) / result["feed_s"]
    lags: list[float] = []
    result["lag"] = {}
    assert province.engine is not None
    for city in cities:
        assert city.engine is not None
        here = _commits(city.engine, city.name, relayed=False)
        there = _commits(province.engine, city.name, relayed=True)
        joined = here.join(there, on=["dataset", "business_key", "version"], how="left", suffix="_province")
        missing = joined.filter(pl.col("committed_province").is_null()).height
        lag = (
            joined.drop_nulls("committed_province")
            .select((pl.col("committed_province") - pl.col("committed")).alias("lag"))["lag"]
            .to_list()
        )
        lags += lag
        result["lag"][city.name] = {**_quantiles(lag), "missing": missing}
        # the lag over time: per tenth of the run, by city commit time
        span = joined.drop_nulls("committed_province").with_columns(
            ((pl.col("committed") - start_wall) // max(result["feed_s"] / 10, 1e-9)).alias("slot"),
            (pl.col("committed_province") - pl.col("committed")).alias("lag"),
        )
        result["lag"][city.name]["by_tenth_p50"] = (
            span.group_by("slot").agg(pl.col("lag").median()).sort("slot")["lag"].round(2).to_list()
        )
    result["lag"]["all"] = _quantiles(lags)
    log(
        f"live: {result['province']['versions']:,} versions; lag {result['lag']['all']}; "
        f"cpu {result['cpu_s']}"
    )
    for hub in (province, *cities):
        hub.stop()
    return result


# --- the report ---------------------------------------------------------------------------------------


def _cpu_cell(run: dict[str, Any]) -> str:
    """Province CPU seconds per 10,000 versions: the hub process + its PostgreSQL backends."""
    cpu, n = run["cpu_s"], max(run["province"]["versions"], 1)
    hub, pg = cpu.get("gd-province", 0.0), cpu.get("pg:gd-province", 0.0)
    return f"{hub / n * 1e4:.2f} + {pg / n * 1e4:.2f}"


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| mode | relay batch (rows / MiB) | versions at the province | wall (s) "
        "| records/s first→last commit | records/s from start | lag p50 / p95 / max (s) "
        "| province CPU s per 10k (hub + PG) | province peak RSS | load (before → after) |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for run in results.get("catchup", {}).get("runs", []):
        p = run["province"]
        mode = "catch-up" if run.get("province_worker", True) else "catch-up, province worker off"
        lines.append(
            f"| {mode} | {run['batch_rows']:,} / {run['batch_bytes'] / 2**20:.1f} | {p['versions']:,} "
            f"| {run['wall_s']:.1f} | {p['rate_first_to_last']:,.0f} | {p['rate_from_start']:,.0f} | "
            f"| {_cpu_cell(run)} | {run['province_vmhwm_mb']:,.0f} MB "
            f"| {run['load_before']} → {run['load_after']} |"
        )
    lv = results.get("live")
    if lv:
        p, lag = lv["province"], lv["lag"]["all"]
        lines.append(
            f"| live (chunks of {lv['chunk']:,}) | {lv['batch_rows']:,} / {lv['batch_bytes'] / 2**20:.1f} "
            f"| {p['versions']:,} | {lv['wall_s']:.1f} | {p['rate_first_to_last']:,.0f} "
            f"| {p['rate_from_start']:,.0f} "
            f"| {lag.get('p50', 0):.2f} / {lag.get('p95', 0):.2f} / {lag.get('max', 0):.2f} "
            f"| {_cpu_cell(lv)} | {lv['province_vmhwm_mb']:,.0f} MB "
            f"| {lv['load_before']} → {lv['load_after']} |"
        )
    floor = results.get("catchup", {}).get("floor")
    if floor:
        lines.append(
            f"| PostgreSQL COPY of the same versions into a copy of `versions` (floor) | | {floor['rows']:,} "
            f"| {floor['seconds']:.1f} | {floor['rate']:,.0f} | | | | | |"
        )
    return "\n".join(lines)


def _knob(spec: str) -> tuple[int, int, bool]:
    """ROWS:BYTES[:off] — the relay batch settings, and `off` for a province without its worker."""
    parts = spec.split(":")
    return int(parts[0]), int(parts[1]), not (len(parts) > 2 and parts[2] == "off")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=300_000, help="records per city")
    parser.add_argument("--backends", default="sqlite,sqlite,postgresql", help="gz-city,sz-city,fs-city")
    parser.add_argument("--modes", default="catchup,live")
    parser.add_argument(
        "--knobs",
        default=DEFAULT_KNOBS,
        help="ROWS:BYTES[:off],… relay batch settings (catch-up; off: province worker off)",
    )
    parser.add_argument("--live-chunk", type=int, default=2_000, help="rows per city submission (live)")
    parser.add_argument("--live-rate", type=float, default=0.0, help="records/s per city (live; 0: unpaced)")
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: a throwaway scripts/pg.sh cluster)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--tag", default="", help="added to the output file names (federation-N-TAG.json)")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if len(backends) != 3 or set(backends) - {"sqlite", "postgresql"}:
        parser.error("--backends: three of sqlite / postgresql")
    knobs = [_knob(k) for k in args.knobs.split(",")]
    modes = args.modes.split(",")
    OUT.mkdir(exist_ok=True)
    base, composition = _data(args.records)
    log(f"data: {json.dumps(composition)}")
    work = Path(tempfile.mkdtemp(prefix="enforcehub-federation-"))
    pg_dir = None
    pg_url = args.pg_url
    TAG[0] = f"-{args.tag}" if args.tag else ""
    out_json = OUT / f"federation-{args.records}{TAG[0]}.json"
    results: dict[str, Any] = {
        "records_per_city": args.records,
        "backends": dict(zip(CITIES.values(), backends, strict=True)),
        "composition": composition,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    try:
        if pg_url is None:
            pg_dir = tempfile.mkdtemp(prefix="enforcehub-federation-pg-")
            pg_script("start", pg_dir)
            pg_url = pg_script("url", pg_dir)
        if "catchup" in modes:
            results["catchup"] = catchup(
                base, work, backends, pg_url, knobs, not args.no_profile, args.records
            )
            out_json.write_text(json.dumps(results, indent=1, default=str))
        if "live" in modes:
            results["live"] = live(base, work, backends, pg_url, knobs[0], args.live_chunk, args.live_rate)
            out_json.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if pg_dir:
            with contextlib.suppress(Exception):
                pg_script("destroy", pg_dir)
        shutil.rmtree(work, ignore_errors=True)
    command = f".venv/bin/python bench/federation_bench.py --records {args.records}"
    for flag, value, default in (
        ("--backends", args.backends, "sqlite,sqlite,postgresql"),
        ("--modes", args.modes, "catchup,live"),
        ("--knobs", args.knobs, DEFAULT_KNOBS),
        ("--live-chunk", args.live_chunk, 2_000),
        ("--live-rate", args.live_rate, 0.0),
        ("--tag", args.tag, ""),
    ):
        if value != default:
            command += f" {flag} {value}"
    print(f"\nMachine: {results['machine']}, {results['date']}; total {time.time() - _started:.0f} s")
    print(f"Command: {command}\n")
    print(_table(results))
    print(f"\nRaw results: {out_json.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
