"""Invariants 1–4 under stress: concurrent submitters, a kill -9 mid-ingest, commit-ordered changes."""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from sqlalchemy import create_engine, func, select

from enforcehub.settings import Settings
from enforcehub.store.schema import changes, records, versions
from tests.servers import HubProcess, run_cli

Hub = Callable[..., HubProcess]


def _admin(hub: HubProcess) -> str:
    env = {k: v for k, v in hub.env.items() if k == "ENFORCEHUB_DATABASE_URL"}
    made = run_cli(
        "keys", "create", "--role", "admin", "--format", "json", "--data", str(hub.data_dir), env=env
    )
    key: str = json.loads(made.stdout.strip().splitlines()[-1])["key"]
    return key


def _engine(hub: HubProcess) -> Any:
    url = hub.env.get("ENFORCEHUB_DATABASE_URL") or Settings(data_dir=hub.data_dir).url
    return create_engine(url)


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def test_concurrent_submitters_lose_and_duplicate_nothing(
    hub_factory: Hub, backend: dict[str, str], province: Path
) -> None:
    hub = hub_factory(env=backend)
    key = _admin(hub)
    rows = [r for r in _rows(province / "penalty.csv") if r.get("status") == "有效"][:240]
    batches = [rows[i::4] for i in range(4)]  # four submitters, disjoint records …
    overlap = rows[:30]  # … and one that resubmits some of theirs with changed content
    changed = [{**r, "remarks": "并发更正"} for r in overlap]
    failures: list[str] = []

    def submit(batch: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=hub.url, timeout=120) as client:
            for start in range(0, len(batch), 20):
                response = client.post(
                    "/api/v1/submissions",
                    params={"dataset": "penalty"},
                    headers={"Authorization": f"Bearer {key}"},
                    json={"records": batch[start : start + 20]},
                )
                if response.status_code != 201:
                    failures.append(response.text)

    threads = [threading.Thread(target=submit, args=(b,)) for b in [*batches, changed]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    engine = _engine(hub)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == len(rows)
        version_count = conn.execute(select(func.count()).select_from(versions)).scalar_one()
        assert version_count in range(len(rows), len(rows) + len(overlap) + 1)
        seqs = [s for (s,) in conn.execute(select(changes.c.seq).order_by(changes.c.seq))]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
        assert len(seqs) == version_count  # one change per version
        per_record = conn.execute(
            select(versions.c.record_id, func.max(versions.c.version_no), func.count()).group_by(
                versions.c.record_id
            )
        ).all()
        assert all(top == count for _rid, top, count in per_record)  # version numbers 1..n, none lost
    engine.dispose()


def test_kill_9_during_ingest_leaves_done_or_failed_and_resubmit_converges(
    hub_factory: Hub, backend: dict[str, str], tmp_path: Path
) -> None:
    from enforcehub.synth import generate

    generate(tmp_path / "big", seed=3, scale=60_000, error_rate=0.0, datasets=("penalty",))
    big = tmp_path / "big" / "penalty.csv"
    hub = hub_factory(env=backend)
    key = _admin(hub)
    headers = {"Authorization": f"Bearer {key}"}
    with hub.client(timeout=300) as client, big.open("rb") as handle:
        started = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=headers,
            files={"file": ("penalty.csv", handle, "text/csv")},
        )
        assert started.status_code == 202, started.text
        submission = started.json()["id"]
        time.sleep(1.5)  # it is processing now
        assert client.get("/healthz").status_code == 200  # the server answers during the ingest
    hub.kill()
    hub.restart()
    with hub.client() as client:
        receipt = client.get(f"/api/v1/submissions/{submission}", headers=headers).json()
        assert receipt["status"] in ("done", "failed")
    engine = _engine(hub)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(records)).scalar_one()
        assert stored in (0, receipt["counts"]["accepted"])  # never half-stored
        assert conn.execute(select(func.count()).select_from(changes)).scalar_one() == stored
    with hub.client(timeout=600) as client, big.open("rb") as handle:
        again = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=headers,
            files={"file": ("penalty.csv", handle, "text/csv")},
        ).json()
        while again["status"] == "processing":
            time.sleep(0.5)
            again = client.get(f"/api/v1/submissions/{again['id']}", headers=headers).json()
        assert again["status"] == "done"
    expected = pl.read_csv(big, infer_schema=False).height
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == expected
        assert conn.execute(select(func.count()).select_from(versions)).scalar_one() == expected
        seqs = [s for (s,) in conn.execute(select(changes.c.seq).order_by(changes.c.seq))]
        assert seqs == list(range(1, expected + 1))
    engine.dispose()
