"""Benchmark: supervision facts upkeep and rule evaluation on SQLite (and PostgreSQL with --pg-url).

    .venv/bin/python bench/supervise_bench.py [--rows 200000] [--pg-url postgresql+psycopg://…]

Generates a synthetic province of `--rows` penalties with its inspections and coercive measures
(1.5× and 0.1× as many), ingests them in process (timed, but not the subject), then times:
  1. facts  — refresh_facts from an empty table: every change of the log into facts and rollups;
  2. evaluate — every rule over the facts (evaluate_alerts, refresh=False), first run (inserts);
  3. again — the same evaluation once more (nothing changes: reconciliation only);
  4. changed — 1% of the penalties reported again with a different fine: the facts refresh of those
     versions (rollup deltas included) and the evaluation after it.
Results go to bench/out/supervise-<rows>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
DATASETS = ("penalty", "inspection", "coercion")
AS_OF = dt.date(2026, 6, 30)


def _files(rows: int) -> Path:
    from enforcehub.synth import generate

    target = OUT / f"supervise-{rows}"
    if not all((target / f"{d}.csv").exists() for d in DATASETS):
        generate(target, seed=11, scale=rows, datasets=DATASETS)
    changed = target / "penalty-changed.csv"
    if not changed.exists():
        frame = pl.read_csv(target / "penalty.csv", infer_schema=False)
        picked = (pl.int_range(pl.len()) % 100 == 0) & pl.col("fine_amount").is_not_null()
        fine = pl.col("fine_amount").cast(pl.Float64) + 1
        frame.filter(picked).with_columns(fine.cast(pl.Utf8).alias("fine_amount")).write_csv(changed)
    return target


def _ingest(ctx: Any, path: Path, dataset: str, archive: Path) -> dict[str, Any]:
    from enforcehub.intake.archive import archive_bytes
    from enforcehub.pipeline import Principal, SubmissionRequest, ingest

    blob = archive_bytes(archive, path.read_bytes())
    request = SubmissionRequest(dataset=dataset, blob=blob, fmt="csv", filename=path.name)
    receipt = ingest(ctx, request, Principal(name="bench", role="admin"))
    return dict(receipt["counts"])


def run(rows: int, database_url: str | None) -> dict[str, Any]:
    from enforcehub.pipeline import HubContext
    from enforcehub.settings import Settings
    from enforcehub.standard.loader import standard
    from enforcehub.store.db import make_engine, migrate
    from enforcehub.supervise.alerts import evaluate_alerts
    from enforcehub.supervise.facts import refresh_facts

    source = _files(rows)
    data = Path(tempfile.mkdtemp(prefix="supervise-bench-"))
    settings = Settings(data_dir=data, database_url=database_url)
    engine = make_engine(settings)
    result: dict[str, Any] = {"backend": "postgresql" if database_url else "sqlite", "penalties": rows}
    try:
        migrate(settings, engine)
        std = standard()
        ctx = HubContext(engine, std, "bench", settings.region, settings.signing_secret)
        started = time.perf_counter()
        records = sum(_ingest(ctx, source / f"{d}.csv", d, data / "archive")["accepted"] for d in DATASETS)
        result["ingest"] = {"records": records, "seconds": round(time.perf_counter() - started, 1)}

        facts = refresh_facts(engine, std)
        result["facts"] = {**facts.as_dict(), "rows_per_s": round(facts.changes / facts.seconds)}
        for name in ("evaluate", "again"):
            evaluation = evaluate_alerts(engine, as_of=AS_OF, standard=std, refresh=False)
            result[name] = {
                "records": evaluation.records,
                "seconds": round(evaluation.seconds, 2),
                "rows_per_s": round(evaluation.records / evaluation.seconds),
                "alerts": sum(r.detected for r in evaluation.rules),
                "rules": {r.rule: round(r.seconds, 3) for r in evaluation.rules},
            }
        changed = _ingest(ctx, source / "penalty-changed.csv", "penalty", data / "archive")
        facts = refresh_facts(engine, std)
        evaluation = evaluate_alerts(engine, as_of=AS_OF, standard=std, refresh=False)
        result["changed"] = {
            "updated": changed["updated"],
            "facts_seconds": round(facts.seconds, 2),
            "facts_rows_per_s": round(facts.changes / facts.seconds) if facts.seconds else None,
            "evaluate_seconds": round(evaluation.seconds, 2),
            "alerts_updated": sum(r.updated + r.opened + r.closed for r in evaluation.rules),
        }
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=200_000, help="penalties (inspections 1.5×, coercion 0.1×)"
    )
    parser.add_argument("--pg-url", default=None, help="also run on this PostgreSQL database (emptied first)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = [run(args.rows, None)]
    if args.pg_url:
        from tests.servers import drop_pg_database, fresh_pg_database

        url = fresh_pg_database(args.pg_url)
        try:
            results.append(run(args.rows, url))
        finally:
            drop_pg_database(url)
    report = {"machine": f"{platform.machine()} {platform.processor()}".strip(), "results": results}
    path = OUT / f"supervise-{args.rows}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
