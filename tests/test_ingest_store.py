"""The ingest storage path: content hashes, frames into SQLite and PostgreSQL, the prefetch worker."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.pipeline.normalise import content_hash
from enforcehub.pipeline.storing import Prefetch
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store import records as record_store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.store.schema import records, versions


def _hash(text: str) -> str:
    frame = pl.DataFrame({"s": [text]}, schema={"s": pl.Utf8})
    value: str = frame.select(content_hash("s"))["s"][0]
    return value


def test_content_hash_is_blake3_128_of_the_utf8_bytes() -> None:
    # Official BLAKE3 test vectors (the first 32 hex digits = a 16-byte BLAKE3 output).
    assert _hash("") == "af1349b9f5f9a1a6a0404dea36dcc949"
    assert _hash("abc") == "6437b3ac38465133ffb63b75273a8db5"
    assert _hash("中文") == "4f05dcae56fce00a285d7ea8dbe2bad7"  # UTF-8 bytes, not UTF-16 or escapes


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = request.getfixturevalue("pg_database") if request.param == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "hub", database_url=url)
    made = make_engine(settings)
    migrate(settings, made)
    try:
        yield made
    finally:
        made.dispose()


def _ctx(engine: Engine, tmp_path: Path) -> HubContext:
    settings = Settings(data_dir=tmp_path / "hub")
    return HubContext(engine, standard(), settings.hub_id, settings.region, settings.signing_secret)


def _penalties(province: Path, count: int) -> list[dict[str, Any]]:
    frame = pl.read_csv(province / "penalty.csv", infer_schema=False).filter(pl.col("status") == "有效")
    return [{k: v for k, v in row.items() if v} for row in frame.head(count).iter_rows(named=True)]


def _submit(ctx: HubContext, tmp_path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"records": rows}, ensure_ascii=False).encode()
    blob = archive_bytes(tmp_path / "archive", body)
    request = SubmissionRequest(dataset="penalty", blob=blob, fmt="json")
    return ingest(ctx, request, Principal(name="admin", role="admin"))


def test_stored_versions_round_trip_with_awkward_text(engine: Engine, tmp_path: Path, province: Path) -> None:
    """Quotes, backslashes, newlines, a lone `\\.` line (COPY's end marker) and non-ASCII text arrive
    intact; the stored hash is the hash of the stored JSON; dates and times read back as such."""
    ctx = _ctx(engine, tmp_path)
    rows = _penalties(province, 3)
    awkward = 'a "quoted" \\ back\\slash\n\\.\nline, 中文'
    rows[0]["remarks"] = awkward
    receipt = _submit(ctx, tmp_path, rows)
    assert receipt["counts"]["created"] == 3
    with read_transaction(engine) as conn:
        stored = conn.execute(
            select(versions.c.data, versions.c.content_hash, versions.c.received_at, versions.c.row).order_by(
                versions.c.id
            )
        ).all()
        act_dates = [d for (d,) in conn.execute(select(records.c.act_date).order_by(records.c.id))]
    assert [r.row for r in stored] == [1, 2, 3]
    assert json.loads(stored[0].data)["remarks"] == awkward
    assert json.loads(stored[1].data)["remarks"] is None  # null, not ""
    assert all(r.content_hash == _hash(r.data) for r in stored)
    assert all(isinstance(r.received_at, dt.datetime) for r in stored)
    assert all(isinstance(d, dt.date) for d in act_dates)
    # The same content again: nothing new; one changed row: exactly one new version.
    assert _submit(ctx, tmp_path, rows[::-1])["counts"]["unchanged"] == 3
    rows[1]["remarks"] = ""  # an empty cell is no value: still unchanged
    assert _submit(ctx, tmp_path, rows)["counts"]["unchanged"] == 3
    rows[2]["remarks"] = "更正"
    assert _submit(ctx, tmp_path, rows)["counts"]["updated"] == 1


def test_insert_frame_keeps_empty_strings_and_nulls_apart(engine: Engine) -> None:
    stamp = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "dataset": ["x", "x", "x"],
            "business_key": ["k1", "k2", "钥匙"],
            "version_no": [1, 1, 1],
            "content_hash": ["h", "h", "h"],
            "agency_uscc": ["", None, 'a"b'],
            "act_date": [dt.date(2024, 5, 6), None, dt.date(2024, 1, 1)],
            "created_at": [stamp] * 3,
            "updated_at": [stamp] * 3,
        }
    )
    with write_transaction(engine) as conn:
        record_store.insert_frame(conn, records, frame)
    with read_transaction(engine) as conn:
        got = conn.execute(
            select(
                records.c.business_key, records.c.agency_uscc, records.c.act_date, records.c.created_at
            ).order_by(records.c.id)
        ).all()
        current = record_store.get_current(conn, dataset="x", keys=pl.Series(["钥匙", "k1", "nope"]))
    assert [tuple(r[:3]) for r in got] == [
        ("k1", "", dt.date(2024, 5, 6)),
        ("k2", None, None),
        ("钥匙", 'a"b', dt.date(2024, 1, 1)),
    ]
    assert got[0].created_at.replace(tzinfo=dt.UTC) == stamp
    assert sorted(current["business_key"].to_list()) == ["k1", "钥匙"]


def test_prefetch_hands_over_items_and_errors_in_order() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken chunk")

    seen = []
    with pytest.raises(ValueError, match="broken chunk"), Prefetch(items()) as prefetched:
        for item in prefetched:
            seen.append(item)
    assert seen == [1, 2]


def test_prefetch_stops_its_worker_when_the_consumer_fails() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            for n in range(1_000_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    with pytest.raises(RuntimeError), Prefetch(endless()) as prefetched:
        for item in prefetched:
            if item == 3:
                raise RuntimeError("the database said no")
    assert closed.is_set()
    assert len(produced) <= 6  # one item ahead, not the whole source


def test_a_duplicate_key_is_sqlalchemys_integrity_error(engine: Engine) -> None:
    """The pipeline retries on IntegrityError (a concurrent writer of the same new key), also when the
    rows went through the driver (COPY, executemany) rather than conn.execute."""
    stamp = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    row = {"dataset": "x", "business_key": "k", "version_no": 1, "content_hash": "h"}
    frame = pl.DataFrame([{"id": 1, **row, "created_at": stamp, "updated_at": stamp}])
    with write_transaction(engine) as conn:
        record_store.insert_frame(conn, records, frame)
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        record_store.insert_frame(conn, records, frame.with_columns(pl.lit(2).alias("id")))
