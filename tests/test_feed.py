"""The pull feed: cursors, replay, withdrawals, scoping, long-polling, concurrency and exports.

In process for the projection's semantics; over real HTTP (a hub process on SQLite and on a real
PostgreSQL) for the API, the keys and the concurrent-writer guarantee of invariant 4.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from python_calamine import CalamineWorkbook

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.share import consumers as service
from enforcehub.share.feed import BadCursor, decode_cursor, encode_cursor, materialize, read_page
from enforcehub.share.profile import ProfileError
from enforcehub.standard.loader import standard
from enforcehub.store import feeds
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from tests.servers import HubProcess, run_cli
from tests.test_hub_api import admin_key, bearer, first_rows, upload

ADMIN = Principal(name="admin", role="admin")
REFERENCE = ("law", "matter", "agency", "officer", "counterparty")
PROFILE = """
name: test-credit
title: 测试双公示
title_en: test credit
personal_data: masked
datasets:
  penalty:
    filter: publicity
    fields:
      - {name: cf_cfjgdm, from: agency_uscc}
      - {name: cf_wsh, from: decision_number}
      - {name: cf_xdr_mc, from: counterparty_name}
      - {name: cf_xdr_lb, from: counterparty_category}
      - {name: cf_xdr_zjhm, from: id_number, mask: id-number}
      - {name: cf_nr_fk, from: fine_amount, convert: yuan-to-wan}
      - {name: cf_cflb, from: penalty_kinds, map: label, join: ","}
      - {name: bz, from: remarks, title: 备注}
  inspection:
    fields:
      - {name: inspection_number, from: inspection_number}
      - {name: submission, from: _submission}
      - {name: remarks, from: remarks}
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> HubContext:
    settings = Settings(data_dir=tmp_path / "hub")
    engine = make_engine(settings)
    migrate(settings, engine)
    return HubContext(engine, standard(), "test-hub", settings.region, settings.signing_secret)


def _ingest_file(ctx: HubContext, dataset: str, path: Path) -> dict[str, Any]:
    blob = archive_bytes(Path(str(ctx.engine.url.database)).parent / "archive", path.read_bytes())
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="csv", filename=path.name), ADMIN)


def _ingest_records(ctx: HubContext, dataset: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    blob = archive_bytes(Path(str(ctx.engine.url.database)).parent / "archive", body)
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="json"), ADMIN)


def feeds_count(ctx: HubContext, dataset: str) -> int:
    with read_transaction(ctx.engine) as conn:
        return feeds.count_changes(conn, after=0, datasets=[dataset])


def _consumer(ctx: HubContext, name: str = "test-credit", **spec: Any) -> dict[str, Any]:
    with write_transaction(ctx.engine) as conn:
        service.add_custom_consumer(
            conn,
            service.ConsumerSpec(name=name, profile="", **spec),
            PROFILE,
            standard=ctx.standard,
            now=_now(),
        )
        return service.get(conn, name)


def _read_all(
    ctx: HubContext, row: dict[str, Any], after: int = 0, limit: int = 97
) -> tuple[list[dict[str, Any]], int]:
    events: list[dict[str, Any]] = []
    position = after
    while True:
        with read_transaction(ctx.engine) as conn:
            page, _ = read_page(
                conn, row, after=position, limit=limit, standard=ctx.standard, hub_id=ctx.hub_id
            )
        events.extend(json.loads(e) for e in page.events)
        position = page.position
        if not page.more:
            return events, position


@pytest.fixture
def loaded(ctx: HubContext, province: Path) -> HubContext:
    for name in (*REFERENCE, "penalty", "inspection"):
        assert _ingest_file(ctx, name, province / f"{name}.csv")["counts"]["rejected"] == 0
    return ctx


def test_feed_pages_are_ordered_complete_and_replay_identically(loaded: HubContext) -> None:
    row = _consumer(loaded)
    events, end = _read_all(loaded, row)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({e["id"] for e in events}) == len(events)
    with read_transaction(loaded.engine) as conn:
        assert end == feeds.last_seq(conn)
        in_scope = feeds.count_changes(conn, after=0, datasets=["penalty", "inspection"])
    inspections = [e for e in events if e["dataset"] == "inspection"]
    penalties = [e for e in events if e["dataset"] == "penalty"]
    assert len(inspections) + len(penalties) <= in_scope
    # filter `all`: every inspection change is an event; publicity drops what may not be public
    with read_transaction(loaded.engine) as conn:
        assert len(inspections) == feeds.count_changes(conn, after=0, datasets=["inspection"])
    assert 0 < len(penalties) < feeds_count(loaded, "penalty")
    assert all(e["type"] == "upsert" for e in events)
    # replay from any earlier cursor: exactly the same events, whatever the page size
    middle = seqs[len(seqs) // 3]
    again, _ = _read_all(loaded, row, after=middle, limit=1000)
    assert again == [e for e in events if e["seq"] > middle]
    # keys of the profile only; personal data masked; amounts in 万元; labels joined with ','
    for event in penalties:
        data = event["data"]
        assert list(data) == [
            "cf_cfjgdm",
            "cf_wsh",
            "cf_xdr_mc",
            "cf_xdr_lb",
            "cf_xdr_zjhm",
            "cf_nr_fk",
            "cf_cflb",
            "bz",
        ]
        if data["cf_xdr_lb"] == "自然人" and data["cf_xdr_zjhm"]:
            assert data["cf_xdr_zjhm"][6:] == "*" * 12
        assert data["cf_cflb"] and all(not k.isdigit() for k in data["cf_cflb"].split(","))


def test_events_projected_ahead_are_the_events_projected_on_read(loaded: HubContext) -> None:
    row = _consumer(loaded)
    cold, end = _read_all(loaded, row)
    covered = 0
    while step := materialize(
        loaded.engine, row["name"], standard=loaded.standard, hub_id=loaded.hub_id, limit=333
    ):
        covered += step
    assert covered == end
    with read_transaction(loaded.engine) as conn:
        assert feeds.projected_seq(conn, row["name"]) == end
    warm, warm_end = _read_all(loaded, row, limit=50)
    assert warm == cold and warm_end == end
    middle = cold[len(cold) // 2]["seq"]
    assert _read_all(loaded, row, after=middle)[0] == [e for e in cold if e["seq"] > middle]


def test_revoking_a_published_penalty_withdraws_it_with_key_fields_only(
    loaded: HubContext, province: Path
) -> None:
    row = _consumer(loaded)
    events, end = _read_all(loaded, row)
    published = next(e for e in events if e["dataset"] == "penalty" and e["data"]["cf_nr_fk"])
    original = next(
        r
        for r in first_rows(province / "penalty.csv", 10_000)
        if r["decision_number"] == published["data"]["cf_wsh"]
    )
    revoked = {**original, "status": "撤销", "status_reason": "经行政复议撤销"}
    receipt = _ingest_records(loaded, "penalty", [revoked])
    assert receipt["counts"]["revoked"] == 1, receipt
    later, _ = _read_all(loaded, row, after=end)
    assert len(later) == 1
    withdrawal = later[0]
    assert withdrawal["type"] == "withdraw" and withdrawal["change"] == "revoked"
    assert withdrawal["record_id"] == published["record_id"] and withdrawal["version"] == 2
    assert {k for k, v in withdrawal["data"].items() if v is not None} == {"cf_cfjgdm", "cf_wsh"}
    # revoking it again changes nothing: no version, no event
    assert _ingest_records(loaded, "penalty", [revoked])["counts"]["unchanged"] == 1
    assert _read_all(loaded, row, after=end)[0] == later


def test_region_and_dataset_narrowing(loaded: HubContext) -> None:
    row = _consumer(loaded, "guangzhou-only", region="440100", datasets=("inspection",))
    events, _ = _read_all(loaded, row)
    assert events and all(e["dataset"] == "inspection" for e in events)
    with read_transaction(loaded.engine) as conn:
        regions = dict(
            conn.exec_driver_sql("SELECT id, region FROM records WHERE dataset = 'inspection'").all()
        )
    assert all(str(regions[e["record_id"]]).startswith("4401") for e in events)
    assert len(events) == sum(1 for r in regions.values() if str(r).startswith("4401"))


def test_cursor_encoding_and_bad_cursors() -> None:
    for seq in (0, 1, 987_654_321):
        assert decode_cursor(encode_cursor(seq)) == seq
    for bad in ("", "c1.", "c1.!!!", "x", "c1." + "LTE", "'; DROP TABLE changes; --"):
        with pytest.raises(BadCursor):
            decode_cursor(bad)


def test_profiles_refuse_unmasked_personal_data_and_unknown_names(ctx: HubContext) -> None:
    unmasked = PROFILE.replace(
        "{name: cf_xdr_zjhm, from: id_number, mask: id-number}", "{name: cf_xdr_zjhm, from: id_number}"
    )
    with write_transaction(ctx.engine) as conn:
        with pytest.raises(ProfileError, match="id_number is personal data"):
            service.add_custom_consumer(
                conn,
                service.ConsumerSpec(name="bad", profile=""),
                unmasked,
                standard=ctx.standard,
                now=_now(),
            )
        with pytest.raises(ProfileError, match="unknown source"):
            service.add_custom_consumer(
                conn,
                service.ConsumerSpec(name="bad", profile=""),
                PROFILE.replace("from: remarks", "from: remark"),
                standard=ctx.standard,
                now=_now(),
            )
        with pytest.raises(ProfileError, match="reserved for the event envelope"):
            service.add_custom_consumer(
                conn,
                service.ConsumerSpec(name="bad", profile=""),
                PROFILE.replace("{name: bz, from: remarks", "{name: _key, from: remarks"),
                standard=ctx.standard,
                now=_now(),
            )
        with pytest.raises(service.ConsumerError, match="消费方名称"):
            service.add_custom_consumer(
                conn,
                service.ConsumerSpec(name="Bad Name", profile=""),
                PROFILE,
                standard=ctx.standard,
                now=_now(),
            )
        with pytest.raises(ProfileError):
            service.add_custom_consumer(
                conn, service.ConsumerSpec(name="bad", profile=""), "{{{", standard=ctx.standard, now=_now()
            )


# --- over HTTP ---------------------------------------------------------------------------------------

Hub = Callable[..., HubProcess]


def _cli_env(hub: HubProcess) -> dict[str, str]:
    return {k: v for k, v in hub.env.items() if k == "ENFORCEHUB_DATABASE_URL"}


def _add_consumer_cli(hub: HubProcess, name: str, profile_file: Path, *extra: str) -> dict[str, Any]:
    made = run_cli(
        "consumers",
        "add",
        name,
        "--profile-file",
        str(profile_file),
        "--with-key",
        "--format",
        "json",
        "--data",
        str(hub.data_dir),
        *extra,
        env=_cli_env(hub),
    )
    assert made.returncode == 0, made.stderr
    shown: dict[str, Any] = json.loads(made.stdout.strip().splitlines()[-1])
    return shown


def _pull(
    client: httpx.Client, key: str, name: str, after: str | None = None, **params: Any
) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    while True:
        query = {"limit": 500, **params}
        if after:
            query["after"] = after
        answer = client.get(f"/api/v1/feeds/{name}", params=query, headers=bearer(key))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events.extend(page["events"])
        after = page["next"]
        if not page["more"]:
            return {"events": events, "next": after}


@pytest.fixture
def hub(hub_factory: Hub, backend: dict[str, str]) -> HubProcess:
    return hub_factory(env=backend)


def test_feed_over_http_keys_cursors_ack_and_long_poll(
    hub: HubProcess, province: Path, tmp_path: Path
) -> None:
    key = admin_key(hub)
    profile = tmp_path / "test-credit.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    mine = _add_consumer_cli(hub, "test-credit", profile)
    other_profile = tmp_path / "other.yaml"
    other_profile.write_text(PROFILE.replace("name: test-credit", "name: test-other"), encoding="utf-8")
    other = _add_consumer_cli(hub, "other", other_profile, "--datasets", "inspection")
    with hub.client() as client:
        for name in (*REFERENCE, "inspection"):
            assert upload(client, key, province / f"{name}.csv", name).status_code == 201
        first = _pull(client, mine["key"], "test-credit")
        assert first["events"] and all(e["dataset"] == "inspection" for e in first["events"])
        # the same key cannot read another consumer's feed; no key, a wrong key → 401
        denied = client.get("/api/v1/feeds/other", headers=bearer(mine["key"]))
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "other-consumer"
        assert client.get("/api/v1/feeds/test-credit").status_code == 401
        assert client.get("/api/v1/feeds/test-credit", headers=bearer(mine["key"] + "x")).status_code == 401
        assert client.get("/api/v1/feeds/nobody", headers=bearer(key)).status_code == 404
        bad = client.get(
            "/api/v1/feeds/test-credit", params={"after": "garbage"}, headers=bearer(mine["key"])
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad-cursor"
        # ack: commits the cursor; the next read without `after` starts there; it never moves back
        acked = client.post(
            "/api/v1/feeds/test-credit/ack", json={"cursor": first["next"]}, headers=bearer(mine["key"])
        )
        assert acked.status_code == 200
        assert _pull(client, mine["key"], "test-credit")["events"] == []
        back = client.post(
            "/api/v1/feeds/test-credit/ack", json={"cursor": encode_cursor(1)}, headers=bearer(mine["key"])
        )
        assert back.json()["cursor"] == first["next"]
        ahead = client.post(
            "/api/v1/feeds/test-credit/ack",
            json={"cursor": encode_cursor(10**9)},
            headers=bearer(mine["key"]),
        )
        assert ahead.status_code == 400
        # long-poll: a waiting read returns as soon as a submission commits
        result: dict[str, Any] = {}

        def wait_for_events() -> None:
            started = time.monotonic()
            with hub.client() as waiting:
                answer = waiting.get(
                    "/api/v1/feeds/test-credit", params={"wait": 20}, headers=bearer(mine["key"]), timeout=30
                )
            result.update(answer.json(), seconds=time.monotonic() - started)

        waiter = threading.Thread(target=wait_for_events)
        waiter.start()
        time.sleep(1.0)
        assert upload(client, key, province / "penalty.csv", "penalty").status_code == 201
        waiter.join(30)
        assert result["events"] and result["seconds"] < 15
        assert {e["dataset"] for e in result["events"]} == {"penalty"}
        assert other["name"] == "other"
        # status: lag counts what the consumer has not acknowledged yet
        shown = client.get("/api/v1/admin/consumers/test-credit", headers=bearer(key)).json()
        assert shown["status"]["lag"] > 0 and shown["status"]["position"] == decode_cursor(first["next"])


def test_feed_never_misses_a_change_under_concurrent_writers(
    hub_factory: Hub, pg_database: str, province: Path, tmp_path: Path
) -> None:
    hub = hub_factory(env={"ENFORCEHUB_DATABASE_URL": pg_database})
    key = admin_key(hub)
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    reader_key = _add_consumer_cli(hub, "test-credit", profile)["key"]
    with hub.client() as client:
        for name in REFERENCE:
            assert upload(client, key, province / f"{name}.csv", name).status_code == 201
    inspections = first_rows(province / "inspection.csv", 10_000)
    batches = [inspections[i::4] for i in range(4)]
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def read_while_writing() -> None:
        after = None
        with hub.client() as client:
            while True:
                finished = done.is_set()
                page = _pull(client, reader_key, "test-credit", after)
                seen.extend(page["events"])
                after = page["next"]
                if finished:
                    return

    def write(batch: list[dict[str, Any]]) -> None:
        with hub.client() as client:
            for start in range(0, len(batch), 25):
                answer = client.post(
                    "/api/v1/submissions",
                    params={"dataset": "inspection"},
                    json={"records": batch[start : start + 25]},
                    headers=bearer(key),
                )
                assert answer.status_code in (200, 201), answer.text

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    writers = [threading.Thread(target=write, args=(b,)) for b in batches]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    reader.join(60)
    with hub.client() as client:
        everything = _pull(client, reader_key, "test-credit")["events"]
    assert [e["id"] for e in seen] == [e["id"] for e in everything]
    assert len(everything) == len(inspections)


def test_exports_csv_xlsx_jsonl_are_formula_safe(hub: HubProcess, province: Path, tmp_path: Path) -> None:
    key = admin_key(hub)
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    consumer = _add_consumer_cli(hub, "test-credit", profile)
    rows = first_rows(province / "inspection.csv", 5)
    rows[0]["remarks"] = '=HYPERLINK("http://evil.example","点我")'
    with hub.client() as client:
        for name in REFERENCE:
            assert upload(client, key, province / f"{name}.csv", name).status_code == 201
        assert (
            client.post(
                "/api/v1/submissions",
                params={"dataset": "inspection"},
                json={"records": rows},
                headers=bearer(key),
            ).status_code
            == 201
        )
        today = dt.datetime.now(dt.UTC).date()
        span = {"date_from": str(today - dt.timedelta(days=1)), "date_to": str(today + dt.timedelta(days=1))}
        events = _pull(client, consumer["key"], "test-credit")["events"]
        as_csv = client.get(
            "/api/v1/feeds/test-credit/export",
            params={**span, "format": "csv"},
            headers=bearer(consumer["key"]),
        )
        assert as_csv.status_code == 200, as_csv.text
        table = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
        assert [int(r["变更序号"]) for r in table] == [e["seq"] for e in events]
        formulas = [r["remarks"] for r in table if "HYPERLINK" in (r["remarks"] or "")]
        assert formulas == ["'" + rows[0]["remarks"]]
        as_jsonl = client.get(
            "/api/v1/feeds/test-credit/export",
            params={**span, "format": "jsonl"},
            headers=bearer(consumer["key"]),
        )
        assert [json.loads(line) for line in as_jsonl.text.splitlines()] == events
        as_xlsx = client.get(
            "/api/v1/feeds/test-credit/export",
            params={**span, "format": "xlsx"},
            headers=bearer(consumer["key"]),
        )
        sheet = (
            CalamineWorkbook.from_filelike(io.BytesIO(as_xlsx.content))
            .get_sheet_by_name("inspection")
            .to_python()
        )
        assert len(sheet) == len(events) + 1
        reversed_range = client.get(
            "/api/v1/feeds/test-credit/export",
            params={"date_from": "2026-01-02", "date_to": "2026-01-01"},
            headers=bearer(consumer["key"]),
        )
        assert reversed_range.status_code == 422
    out = tmp_path / "inspections.csv"
    made = run_cli(
        "export",
        "test-credit",
        "--from",
        span["date_from"],
        "--to",
        span["date_to"],
        "--out",
        str(out),
        "--data",
        str(hub.data_dir),
        env=_cli_env(hub),
    )
    assert made.returncode == 0, made.stderr
    assert out.read_bytes() == as_csv.content
