"""Benchmark: ingest a synthetic penalty file through the hub's HTTP API into SQLite and PostgreSQL.

    .venv/bin/python bench/ingest_bench.py [--rows 1000000] [--pg-url postgresql+psycopg://…]

For each database: a fresh hub process (`enforcehub serve`), then
  1. new     — the file uploaded, timed from the first byte sent to the receipt's `done`;
  2. same    — the same content with different bytes (CRLF line endings), so the content path runs
               (identical bytes would be answered from the duplicate check in milliseconds);
  3. changed — the file with 1% of rows changed.
The floor a user would otherwise use: PostgreSQL COPY of the same CSV into a plain text table.
Peak memory is the hub process's VmHWM. Without --pg-url, scripts/pg.sh starts a throwaway cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from tests.servers import HubProcess, fresh_pg_database, run_cli  # noqa: E402


def _variant_files(rows: int) -> dict[str, Path]:
    from enforcehub.synth import generate

    target = OUT / f"ingest-{rows}"
    new = target / "penalty.csv"
    if not new.exists():
        generate(target, seed=5, scale=rows, error_rate=0.0, datasets=("penalty",))
    same = target / "penalty-crlf.csv"
    if not same.exists():
        same.write_bytes(new.read_bytes().replace(b"\n", b"\r\n"))
    changed = target / "penalty-changed.csv"
    if not changed.exists():
        frame = pl.read_csv(new, infer_schema=False)
        every = 100
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) % every == 0)
            .then(pl.lit("基准测试更正"))
            .otherwise(pl.col("remarks"))
            .alias("remarks")
        )
        frame.write_csv(changed)
    return {"new": new, "same": same, "changed": changed}


def _peak_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _upload(client: httpx.Client, key: str, path: Path) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers={"Authorization": f"Bearer {key}"},
            files={"file": (path.name, handle, "text/csv")},
        )
    receipt = response.json()
    while receipt.get("status") == "processing":
        time.sleep(0.2)
        receipt = client.get(
            f"/api/v1/submissions/{receipt['id']}", headers={"Authorization": f"Bearer {key}"}
        ).json()
    return time.perf_counter() - started, receipt


def _run_backend(
    label: str, env: dict[str, str], files: dict[str, Path]
) -> list[tuple[str, float, dict[str, Any], float]]:
    data = Path(tempfile.mkdtemp(prefix=f"enforcehub-bench-{label}-"))
    results = []
    try:
        made = run_cli("keys", "create", "--role", "admin", "--format", "json", "--data", str(data), env=env)
        key = json.loads(made.stdout.strip().splitlines()[-1])["key"]
        with HubProcess(data, env, client_timeout=3600) as hub, hub.client(timeout=3600) as client:
            for step in ("new", "same", "changed"):
                seconds, receipt = _upload(client, key, files[step])
                results.append((step, seconds, receipt, _peak_mb(hub.pid)))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return results


def _copy_floor(pg_url: str, path: Path) -> float:
    import psycopg

    header = path.open(encoding="utf-8").readline().strip().split(",")
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cols = ", ".join(f'"{c}" text' for c in header)
        cur.execute(f"CREATE TABLE copy_floor ({cols})")
        started = time.perf_counter()
        with (
            path.open("rb") as handle,
            cur.copy("COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    files = _variant_files(args.rows)
    pg_dir = None
    pg_url = args.pg_url
    if pg_url is None:
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
    try:
        table: list[tuple[str, str, float, dict[str, Any], float]] = []
        for label, env in (
            ("SQLite", {}),
            ("PostgreSQL", {"ENFORCEHUB_DATABASE_URL": fresh_pg_database(pg_url)}),
        ):
            for step, seconds, receipt, peak in _run_backend(label, env, files):
                table.append((label, step, seconds, receipt, peak))
        floor = _copy_floor(fresh_pg_database(pg_url), files["new"])
    finally:
        if pg_dir:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "pg.sh"), "destroy"],
                env={**os.environ, "ENFORCEHUB_PG_DIR": pg_dir},
                capture_output=True,
            )
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(f"Command: .venv/bin/python bench/ingest_bench.py --rows {args.rows}\n")
    print("| database | step | seconds | records/s | created | updated | unchanged | hub peak memory |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, step, seconds, receipt, peak in table:
        c = receipt.get("counts", {})
        rate = c.get("received", 0) / seconds if seconds else 0
        counts = " | ".join(f"{c.get(k, 0):,}" for k in ("created", "updated", "unchanged"))
        print(f"| {label} | {step} | {seconds:.1f} | {rate:,.0f} | {counts} | {peak:,.0f} MB |")
    floor_rate = args.rows / floor
    print(f"| PostgreSQL COPY into a plain table (floor) | new | {floor:.1f} | {floor_rate:,.0f} | | | | |")


if __name__ == "__main__":
    main()
