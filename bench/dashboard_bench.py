"""Benchmark: every registered dashboard page at 10,000,000 action records, on SQLite and PostgreSQL.

    .venv/bin/python bench/dashboard_bench.py [--records 10000000] [--runs 7] [--pg-url URL]
                                              [--only sqlite|postgresql] [--keep]
    .venv/bin/python bench/dashboard_bench.py --records N --only sqlite|postgresql --reuse DIR

What is populated, and why: ingesting 10M records through the pipeline runs at about 6,000 rows/s
here (half a day per database), and the pages never read `records`/`versions` for their figures —
they read the tables the supervision upkeep derives from them. So the bench ingests the small
reference registries (law, matter, agency, officer, counterparty) through the real pipeline, then
GENERATES the derived tables at scale directly:

  supervision_facts   N rows (one per action record: penalty 35 %, inspection 45 %, licence 12 %,
                      coercion 5 %, levy 2 %, requisition 1 %), dates 2023-01 … 2026-10, the registry's
                      agencies, 500,000 counterparties — written with insert_facts (COPY on PostgreSQL,
                      executemany of polars-prepared rows on SQLite), indexes built after the load
  supervision_rollups their exact GROUP BY (supervise.facts.rollups_from_facts), by apply_rollup_deltas
  supervision_city_rollups, supervision_agency_rollups, supervision_timeliness
                      from each chunk of facts by supervise.derived.fill_derived — the functions the
                      upkeep uses (apply_rollup_deltas, insert_timeliness)
  alerts              N / 300 (open and closed, several rules), on the facts' agencies and dates
  submissions         N / 1,000 (one agency key per agency, city platform keys), with N / 100 findings

`records` and `versions` hold only the reference registries: the record page (a stored record's
versions) is therefore not timed at scale. Then, per database:
  1. build — each page's builder (view.PAGES[slug].builder) in a read transaction, province scope
     and a city scope (Guangzhou), `--runs` times after one warm-up: p50 / p95;
  2. render — GET /dashboard/<slug> over HTTP with a logged-in session against `enforcehub serve`
     on that database (ENFORCEHUB_WORKER=false): p50 / p95.
Without --pg-url, scripts/pg.sh starts a throwaway cluster. Results: bench/out/dashboard-N.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from tests.servers import HubProcess, fresh_pg_database  # noqa: E402

REFERENCE = ("law", "matter", "agency", "officer", "counterparty")
DATASETS = ("penalty", "inspection", "license", "coercion", "levy", "requisition")
SHARES = (0.35, 0.45, 0.12, 0.05, 0.02, 0.01)
DEADLINE = {"penalty": 7, "license": 7}
FIRST_DAY, LAST_DAY = dt.date(2023, 1, 1), dt.date(2026, 10, 31)
CHUNK = 500_000
RULES = ("fine-over-statutory-max", "late-reporting", "publicity-late", "one-company-many-inspections")
SKIPPED = {"record": "needs a stored record (records/versions are not populated at scale)"}
SLOW_MS = 20_000  # a page slower than this is timed once (its warm-up) and not fetched over HTTP
# (Until the dashboard rollups, timeliness read every fact of its months; it now reads the rollups and
# the timeliness rows and is timed at every scale. --skip still leaves a page out above SCAN_LIMIT.)
SCAN_PAGES: dict[str, str] = {}
SCAN_LIMIT = 1_000_000


def _province(seed: int = 2025) -> Path:
    from enforcehub.synth import generate

    target = OUT / "dashboard-reference"
    if not (target / "agency.csv").exists():
        generate(target, seed=seed, scale=600, datasets=REFERENCE)
    return target


def _hub(data: Path, url: str | None) -> Any:
    from enforcehub.pipeline import HubContext
    from enforcehub.settings import Settings
    from enforcehub.standard.loader import standard
    from enforcehub.store.db import make_engine, migrate

    settings = Settings(data_dir=data, database_url=url) if url else Settings(data_dir=data)
    engine = make_engine(settings)
    migrate(settings, engine)
    return HubContext(engine, standard(), "bench-hub", settings.region, settings.signing_secret)


def _ingest_reference(ctx: Any, province: Path, archive: Path) -> None:
    from enforcehub.intake.archive import archive_bytes
    from enforcehub.pipeline import Principal, SubmissionRequest, ingest
    from enforcehub.supervise.facts import refresh_facts

    admin = Principal(name="admin", role="admin")
    for name in REFERENCE:
        path = province / f"{name}.csv"
        blob = archive_bytes(archive, path.read_bytes())
        ingest(ctx, SubmissionRequest(dataset=name, blob=blob, fmt="csv", filename=path.name), admin)
    refresh_facts(ctx.engine, ctx.standard)  # the supervision cursor at the log's end: no work later


def _agencies(province: Path) -> pl.DataFrame:
    frame = pl.read_csv(province / "agency.csv", infer_schema=False).filter(pl.col("status") == "有效")
    return frame.select(
        "agency_uscc",
        "agency_name",
        pl.col("region_code").alias("region"),
        pl.when(pl.col("region_code") == "440000")
        .then(pl.col("region_code"))
        .otherwise(pl.col("region_code").str.slice(0, 4) + "00")
        .alias("city"),
    )


def _facts_chunk(rng: np.random.Generator, start: int, size: int, agencies: pl.DataFrame) -> pl.DataFrame:
    from enforcehub.store.supervision import FACT_SCHEMA

    ids = np.arange(start, start + size, dtype=np.int64)
    dataset = np.array(DATASETS)[rng.choice(len(DATASETS), size, p=SHARES)]
    weights = rng.pareto(1.5, agencies.height) + 1
    who = rng.choice(agencies.height, size, p=weights / weights.sum())
    span = (LAST_DAY - FIRST_DAY).days
    act = np.datetime64(FIRST_DAY) + rng.integers(0, span + 1, size).astype("timedelta64[D]")
    lag = np.minimum(rng.geometric(0.12, size) - 1, 90)
    deadline = np.where(np.isin(dataset, list(DEADLINE)), 7, 20)
    received = act.astype("datetime64[us]") + (lag * 1.4 * 86400e6 + 2 * 3600e6).astype("timedelta64[us]")
    penalty = dataset == "penalty"
    fined = penalty & (rng.random(size) < 0.6)
    revoked = rng.random(size) < 0.01
    frame = (
        pl.DataFrame(
            {
                "record_id": ids,
                "dataset": dataset,
                "business_key": [f"bench-{i}" for i in ids.tolist()],
                "version_no": np.ones(size, dtype=np.int64),
                "seq": ids,
                "agency_uscc": agencies["agency_uscc"].gather(who),
                "agency_name": agencies["agency_name"].gather(who),
                "region": agencies["region"].gather(who),
                "city": agencies["city"].gather(who),
                "act_date": act,
                "first_received_at": received,
                "report_lag_wd": lag,
                "reported_late": lag > deadline,
                "status": np.where(revoked, "03", "01"),
                "effective": ~revoked,
                "counterparty_category": np.where(rng.random(size) < 0.7, "01", "03"),
                "counterparty_code": [f"91440{n:013d}" for n in rng.integers(0, 500_000, size).tolist()],
                "matter_code": [f"M{n:05d}" for n in rng.integers(0, 300, size).tolist()],
                "fine_cents": np.where(fined, rng.integers(1, 2000, size) * 10_000, 0),
                "major_decision": penalty & (rng.random(size) < 0.02),
                "officer_count": np.full(size, 2, dtype=np.int64),
                "publish": penalty,
            }
        )
        .with_columns(
            # what the timeliness page measures: 普通程序 penalties filed 3–100 days before the decision,
            # publications 0–14 days after it (3 % never), 查封/扣押 released after 5–75 days (7 % still
            # held, 10 % extended), revoked penalties' publicity withdrawn or not
            pl.Series("procedure_type", np.where(penalty & (rng.random(size) < 0.7), "02", "01")),
            pl.Series("filing_lag", rng.integers(3, 101, size)),
            pl.Series("publish_lag", np.where(rng.random(size) < 0.03, -1, rng.integers(0, 15, size))),
            pl.Series("coercion_type", np.where(rng.random(size) < 0.6, "01", "02")),
            pl.Series("measure", np.where(rng.random(size) < 0.5, "02", "03")),
            pl.Series("held", np.where(rng.random(size) < 0.07, -1, rng.integers(5, 76, size))),
            pl.Series("extended", rng.random(size) < 0.1),
            pl.Series("publicity_status", np.where(rng.random(size) < 0.5, "1", "0")),
        )
        .with_columns(
            pl.col("act_date").cast(pl.Date),
            pl.col("act_date").cast(pl.Date).dt.strftime("%Y-%m").alias("act_month"),
            pl.col("act_date").cast(pl.Date).alias("decision_date"),
            pl.when((pl.col("dataset") == "penalty") & (pl.col("publish_lag") >= 0))
            .then(pl.col("act_date").cast(pl.Date) + pl.duration(days=pl.col("publish_lag")))
            .alias("published_date"),
            pl.when(pl.col("dataset") == "penalty").then(pl.col("procedure_type")).alias("procedure_type"),
            pl.when((pl.col("dataset") == "penalty") & (pl.col("procedure_type") == "02"))
            .then(pl.col("act_date").cast(pl.Date) - pl.duration(days=pl.col("filing_lag")))
            .alias("filing_date"),
            pl.when(pl.col("dataset") == "coercion").then(pl.col("coercion_type")).alias("coercion_type"),
            pl.when(pl.col("dataset") == "coercion").then(pl.col("measure")).alias("measure"),
            pl.when(pl.col("dataset") == "coercion")
            .then(pl.col("act_date").cast(pl.Date))
            .alias("measure_start_date"),
            pl.when((pl.col("dataset") == "coercion") & (pl.col("held") >= 0))
            .then(pl.col("act_date").cast(pl.Date) + pl.duration(days=pl.col("held")))
            .alias("release_date"),
            pl.when(pl.col("dataset") == "coercion").then(pl.col("extended")).alias("extended"),
            pl.when((pl.col("dataset") == "penalty") & (pl.col("status") == "03"))
            .then(pl.col("publicity_status"))
            .alias("publicity_status"),
            pl.col("first_received_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            pl.when(pl.col("fine_cents") > 0).then(pl.col("fine_cents")).alias("fine_cents"),
            pl.when(pl.col("dataset") == "penalty").then(pl.lit("02")).alias("penalty_kinds"),
        )
    )
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in FACT_SCHEMA.items() if n not in frame.columns]
    return frame.with_columns(missing).select([pl.col(n).cast(t) for n, t in FACT_SCHEMA.items()])


def _populate(ctx: Any, records: int, agencies: pl.DataFrame, seed: int = 1) -> dict[str, Any]:
    from sqlalchemy import insert, text

    from enforcehub.store import keys as key_store
    from enforcehub.store import supervision as store
    from enforcehub.store.db import read_transaction, write_transaction
    from enforcehub.store.schema import (
        alerts,
        findings,
        submissions,
        supervision_facts,
        supervision_timeliness,
    )
    from enforcehub.supervise.derived import fill_derived
    from enforcehub.supervise.facts import rollups_from_facts

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with write_transaction(ctx.engine) as conn:
        for index in (*supervision_facts.indexes, *supervision_timeliness.indexes):
            index.drop(conn)
    rollups: pl.DataFrame | None = None
    samples: list[pl.DataFrame] = []
    for start in range(1_000_000_000, 1_000_000_000 + records, CHUNK):
        size = min(CHUNK, 1_000_000_000 + records - start)
        chunk = _facts_chunk(rng, start, size, agencies)
        with write_transaction(ctx.engine) as conn:
            store.insert_facts(conn, chunk)
            fill_derived(conn, chunk)  # the dashboard rollups and timeliness rows, as the upkeep keeps them
        part = rollups_from_facts(chunk)
        rollups = part if rollups is None else pl.concat([rollups, part])
        rollups = rollups.group_by(list(store.ROLLUP_KEY)).agg(pl.col(m).sum() for m in store.ROLLUP_MEASURES)
        samples.append(
            chunk.sample(max(1, size // 300), seed=seed + start).select(
                "record_id",
                "business_key",
                "agency_uscc",
                "region",
                "city",
                "act_date",
                "dataset",
                "counterparty_code",
            )
        )
        print(f"  facts {start - 1_000_000_000 + size:,}/{records:,}  {time.perf_counter() - started:.0f} s")
    facts_seconds = time.perf_counter() - started
    assert rollups is not None
    with write_transaction(ctx.engine) as conn:
        store.apply_rollup_deltas(conn, rollups.sort(list(store.ROLLUP_KEY)))
    index_started = time.perf_counter()
    with write_transaction(ctx.engine) as conn:
        # a pooled SQLite connection may still hold the schema from before the drop: read a table so it
        # checks the schema cookie and reloads it (else CREATE INDEX says "already exists")
        conn.execute(text("SELECT count(*) FROM supervision_timeliness WHERE 1 = 0"))
        for index in (*supervision_facts.indexes, *supervision_timeliness.indexes):
            index.create(conn)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    index_seconds = time.perf_counter() - index_started
    now = dt.datetime.now(dt.UTC)
    # alerts: N / 300, a third closed
    picked = pl.concat(samples)
    alert_rows = [
        {
            "key": f"bench:{rid}",
            "rule": RULES[n % len(RULES)],
            "dataset": ds,
            "severity": ("high", "medium", "low")[n % 3],
            "record_id": rid,
            "record_ids": json.dumps([rid]),
            "record_keys": json.dumps([key]),
            "record_count": 1,
            "agency_uscc": agency,
            "city": city,
            "act_date": act,
            "detail": "{}",
            "fingerprint": f"{rid:032d}",
            "status": "closed" if n % 3 == 0 else "open",
            "detected_at": now,
            "updated_at": now,
            "closed_by": "bench" if n % 3 == 0 else None,
            "closed_at": now if n % 3 == 0 else None,
        }
        for n, (rid, key, agency, _region, city, act, ds, _party) in enumerate(picked.iter_rows())
    ]
    for row in alert_rows:
        if "region" in {c.name for c in alerts.columns}:
            row["region"] = row["city"]
    with write_transaction(ctx.engine) as conn:
        for offset in range(0, len(alert_rows), 20_000):
            conn.execute(insert(alerts), alert_rows[offset : offset + 20_000])
    # submissions: N / 1000 by agency keys (and city platform keys), N / 100 findings
    with write_transaction(ctx.engine) as conn:
        keys = [
            key_store.insert_key(conn, role="agency", name=name, agency_uscc=uscc)[0]["id"]
            for uscc, name in agencies.select("agency_uscc", "agency_name").iter_rows()
        ]
        keys += [
            key_store.insert_key(conn, role="platform", name=f"平台{city}", region=city)[0]["id"]
            for city in sorted(set(agencies["city"].to_list()))
        ]
        count = max(1, records // 1000)
        span = (LAST_DAY - FIRST_DAY).days * 86400
        sub_rows = []
        for n in range(count):
            received = int(rng.integers(800, 1200))
            rejected = int(rng.integers(0, 30))
            sub_rows.append(
                {
                    "id": f"bench{n:08d}",
                    "dataset": DATASETS[n % len(DATASETS)],
                    "sha256": f"{n:064x}",
                    "size": received * 400,
                    "format": "csv",
                    "channel": "api",
                    "policy": "accept-valid-rows",
                    "principal_id": keys[n % len(keys)],
                    "principal": "bench",
                    "origin_hub": "bench-hub",
                    "status": "done",
                    "received": received,
                    "accepted": received - rejected,
                    "rejected": rejected,
                    "created": received - rejected,
                    "errors": rejected,
                    "received_at": dt.datetime.combine(FIRST_DAY, dt.time(), dt.UTC)
                    + dt.timedelta(seconds=int(rng.integers(0, span))),
                    "finished_at": now,
                }
            )
        for offset in range(0, len(sub_rows), 5_000):
            conn.execute(insert(submissions), sub_rows[offset : offset + 5_000])
        codes = ("required", "codeset", "date-order", "uscc-checksum", "length")
        finding_rows = [
            {
                "submission_id": f"bench{int(rng.integers(0, count)):08d}",
                "row": n,
                "field": ("fine_amount", "decision_date", "agency_uscc", "counterparty_code")[n % 4],
                "code": codes[n % len(codes)],
                "severity": "error" if n % 5 else "warning",
                "message": "基准测试生成的问题",
                "value": None,
            }
            for n in range(max(1, records // 100))
        ]
        for offset in range(0, len(finding_rows), 20_000):
            conn.execute(insert(findings), finding_rows[offset : offset + 20_000])
        _admin, admin_key = key_store.insert_key(conn, role="admin", name="bench-admin")
    with read_transaction(ctx.engine) as conn:
        derived_rows = {
            name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
            for name in ("supervision_city_rollups", "supervision_agency_rollups", "supervision_timeliness")
        }
    return {
        "facts_seconds": round(facts_seconds, 1),
        "derived_rows": derived_rows,
        "index_seconds": round(index_seconds, 1),
        "rollup_rows": rollups.height,
        "alerts": len(alert_rows),
        "submissions": count,
        "findings": len(finding_rows),
        "admin_key": admin_key,
        # the entity page looks a counterparty up in `records` (only the registries at scale)
        "entity_code": str(picked["counterparty_code"][0]),
        "alert_id": "1",
    }


def _params(slug: str, info: dict[str, Any]) -> dict[str, str]:
    if slug == "entity":
        return {"code": info["entity_code"]}
    if slug == "alert":
        return {"id": info["alert_id"]}
    return {}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time_builders(
    ctx: Any, info: dict[str, Any], runs: int, profile_dir: Path, skipped: dict[str, str], tag: str
) -> dict[str, Any]:
    from enforcehub.store.db import read_transaction
    from enforcehub.supervise.view import PAGES, Scope, load_pages

    load_pages()
    results: dict[str, Any] = {}
    for label, scope in (
        ("province", Scope("bench", "admin", None)),
        ("4401", Scope("gz", "supervisor", "4401")),
    ):
        for slug, spec in sorted(PAGES.items(), key=lambda kv: kv[1].order):
            if slug in skipped:
                results[f"{slug}@{label}"] = {"skipped": skipped[slug]}
                continue
            times: list[float] = []
            try:
                for n in range(runs + 1):
                    started = time.perf_counter()
                    with read_transaction(ctx.engine) as conn:
                        spec.builder(conn, scope, _params(slug, info))
                    elapsed = (time.perf_counter() - started) * 1000
                    if n == 0 and elapsed > SLOW_MS:
                        times.append(elapsed)
                        break
                    if n:
                        times.append(elapsed)
            except Exception as exc:  # a page under construction elsewhere: report, go on
                results[f"{slug}@{label}"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                continue
            entry: dict[str, Any] = {
                "p50_ms": round(_pct(times, 0.5), 1),
                "p95_ms": round(_pct(times, 0.95), 1),
            }
            if len(times) == 1 and runs > 1:
                entry["single_run"] = True
            if 500 < entry["p50_ms"] < SLOW_MS and label == "province":
                profiler = cProfile.Profile()
                with read_transaction(ctx.engine) as conn:
                    profiler.runcall(spec.builder, conn, scope, _params(slug, info))
                stream = io.StringIO()
                pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
                path = profile_dir / f"profile-{slug}-{tag}.txt"
                path.write_text(stream.getvalue(), encoding="utf-8")
                entry["profile"] = str(path.relative_to(ROOT))
            results[f"{slug}@{label}"] = entry
    return results


def _time_http(
    data: Path, env: dict[str, str], info: dict[str, Any], runs: int, skipped: dict[str, str]
) -> dict[str, Any]:
    from enforcehub.supervise.view import PAGES, load_pages

    load_pages()
    results: dict[str, Any] = {}
    hub = HubProcess(data, {**env, "ENFORCEHUB_WORKER": "false"}, client_timeout=600)
    with hub, httpx.Client(base_url=hub.url, timeout=600) as client:
        login = client.post("/dashboard/login", data={"key": info["admin_key"]})
        assert login.status_code == 303, login.text[:300]
        for slug in sorted(PAGES, key=lambda name: PAGES[name].order):
            if slug in skipped:
                continue
            times: list[float] = []
            status = 0
            for n in range(runs + 1):
                started = time.perf_counter()
                answer = client.get(f"/dashboard/{slug}", params=_params(slug, info))
                status = answer.status_code
                if n:
                    times.append((time.perf_counter() - started) * 1000)
            results[slug] = {
                "status": status,
                "p50_ms": round(_pct(times, 0.5), 1),
                "p95_ms": round(_pct(times, 0.95), 1),
                "bytes": len(answer.content),
            }
    return results


def _run(label: str, url: str | None, records: int, runs: int, keep: bool, skip: list[str]) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"enforcehub-dash-{label}-"))
    try:
        print(f"{label}: reference registries through the pipeline …")
        ctx = _hub(data, url)
        province = _province()
        _ingest_reference(ctx, province, data / "archive")
        print(f"{label}: generating the derived tables for {records:,} records …")
        info = _populate(ctx, records, _agencies(province))
        if keep:  # what --reuse needs to time this database again
            (data / "bench-info.json").write_text(json.dumps({**info, "url": url}), encoding="utf-8")
        return _time(label, ctx, data, url, info, records, runs, skip)
    finally:
        if keep:
            print(f"kept {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)


def _reuse(
    label: str, data: Path, url: str | None, records: int, runs: int, skip: list[str]
) -> dict[str, Any]:
    """Time a database kept by an earlier run (--keep) again, without generating it anew."""
    from sqlalchemy import select

    from enforcehub.store import keys as key_store
    from enforcehub.store.db import write_transaction
    from enforcehub.store.schema import supervision_facts

    saved = data / "bench-info.json"
    info: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
    url = url or info.get("url")
    ctx = _hub(data, url)
    if "admin_key" not in info:  # kept before bench-info.json existed: a new admin key, any party
        with write_transaction(ctx.engine) as conn:
            _row, info["admin_key"] = key_store.insert_key(conn, role="admin", name="bench-admin-again")
            f = supervision_facts.c
            info["entity_code"] = conn.execute(
                select(f.counterparty_code).where(f.counterparty_code.is_not(None)).limit(1)
            ).scalar_one()
            info["alert_id"] = "1"
    return _time(label, ctx, data, url, info, records, runs, skip)


def _time(
    label: str,
    ctx: Any,
    data: Path,
    url: str | None,
    info: dict[str, Any],
    records: int,
    runs: int,
    skip: list[str],
) -> dict[str, Any]:
    print(f"{label}: timing builders …")
    skipped = dict(SKIPPED)
    if records > SCAN_LIMIT:
        skipped.update({k: v for k, v in SCAN_PAGES.items() if k in skip})
    builders = _time_builders(ctx, info, runs, OUT, skipped, f"{records}-{label}")
    slow = {k.split("@")[0] for k, v in builders.items() if v.get("single_run")}
    skipped.update({slug: "slower than SLOW_MS in the builder" for slug in slow})
    ctx.engine.dispose()
    print(f"{label}: timing HTTP …")
    env = {"ENFORCEHUB_DATABASE_URL": url} if url else {}
    http = _time_http(data, env, info, runs, skipped)
    database = data / "enforcehub.sqlite3"
    return {
        "populate": {k: v for k, v in info.items() if k not in ("admin_key", "url")},
        "database_bytes": None if url or not database.exists() else database.stat().st_size,
        "build": builders,
        "http": http,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg-url")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--keep", action="store_true", help="Keep the data directory (and database).")
    parser.add_argument(
        "--reuse",
        type=Path,
        help="Time a data directory kept by --keep again (with --only; PostgreSQL: its URL is saved, "
        "or give --pg-url of that database).",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=None,
        help=f"Pages not timed above {SCAN_LIMIT:,} records (default: {', '.join(SCAN_PAGES)}).",
    )
    args = parser.parse_args()
    skip = list(SCAN_PAGES) if args.skip is None else args.skip
    OUT.mkdir(exist_ok=True)
    pg_dir = None
    pg_url = args.pg_url
    if args.reuse is not None and args.only is None:
        parser.error("--reuse needs --only sqlite or --only postgresql")
    if pg_url is None and args.only != "sqlite" and args.reuse is None:
        pg_dir = tempfile.mkdtemp(prefix="enforcehub-bench-pg-")
        env = {**os.environ, "ENFORCEHUB_PG_DIR": pg_dir}
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "pg.sh"), "start"], check=True, env=env, capture_output=True
        )
        pg_url = subprocess.run(
            ["bash", str(ROOT / "scripts" / "pg.sh"), "url"],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
    report: dict[str, Any] = {
        "records": args.records,
        "runs": args.runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "note": (
            "records/versions hold only the reference registries; supervision_facts, supervision_rollups, "
            "alerts, submissions and findings are generated at scale (ingest runs at ~6k rows/s here)"
        ),
    }
    try:
        if args.reuse is not None:
            assert args.only is not None
            report[args.only] = _reuse(args.only, args.reuse, pg_url, args.records, args.runs, skip)
            report["reused"] = str(args.reuse)
        elif args.only != "postgresql":
            report["sqlite"] = _run("sqlite", None, args.records, args.runs, args.keep, skip)
        if args.only != "sqlite" and args.reuse is None:
            assert pg_url is not None
            report["postgresql"] = _run(
                "postgresql", fresh_pg_database(pg_url), args.records, args.runs, args.keep, skip
            )
    finally:
        if pg_dir:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "pg.sh"), "destroy"],
                env={**os.environ, "ENFORCEHUB_PG_DIR": pg_dir},
                capture_output=True,
            )
    suffix = (f"-{args.only}" if args.only else "") + ("-again" if args.reuse is not None else "")
    path = OUT / f"dashboard-{args.records}{suffix}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    _print(report)
    print(f"→ {path}")


def _print(report: dict[str, Any]) -> None:
    print(f"\n{report['records']:,} records — {report['note']}")
    for backend in ("sqlite", "postgresql"):
        if backend not in report:
            continue
        result = report[backend]
        print(f"\n{backend}: populate {result['populate']}")
        print(f"{'page':<24}{'build p50':>10}{'p95':>8}{'HTTP p50':>10}{'p95':>8}")
        for key, entry in result["build"].items():
            slug = key.split("@")[0]
            http = result["http"].get(slug, {}) if key.endswith("@province") else {}
            if "p50_ms" not in entry:
                print(f"{key:<24}  {entry}")
                continue
            print(
                f"{key:<24}{entry['p50_ms']:>10}{entry['p95_ms']:>8}"
                f"{http.get('p50_ms', ''):>10}{http.get('p95_ms', ''):>8}"
            )


if __name__ == "__main__":
    main()
