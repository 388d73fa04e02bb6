"""The dashboard's detail pages: alerts (and one alert), 一户一档, record detail, sharing.

Built in process over a hub loaded with the planted synthetic province (alerts evaluated), checked
against the store; the forms (close an alert, replay a dead letter) over real HTTP with a session
cookie and the CSRF token, including refusals (CSRF, role, region).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.share import consumers as consumer_service
from enforcehub.standard.loader import standard
from enforcehub.store import keys as key_store
from enforcehub.store import supervision as alert_store
from enforcehub.store import webhooks as webhook_store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.store.schema import alerts, audit_log, records, webhook_messages
from enforcehub.supervise.alerts import evaluate_alerts
from enforcehub.supervise.ruleset import load_rules
from enforcehub.supervise.view import PAGES, Page, Scope, load_pages
from enforcehub.synth import generate
from tests.servers import HubProcess

ADMIN = Principal(name="admin", role="admin")
ORDER = ("law", "matter", "agency", "officer", "counterparty", "penalty", "inspection", "coercion", "license")
SYNTH_TODAY = dt.date(2026, 6, 30)
PROVINCE = Scope("省监督员", "supervisor", None)
GUANGZHOU = Scope("广州监督员", "supervisor", "4401")


@dataclass
class Built:
    ctx: HubContext
    data: Path
    keys: dict[str, str]  # admin, province, guangzhou → key
    dead_id: str


def _submit(ctx: HubContext, dataset: str, rows: list[dict[str, Any]], archive: Path) -> dict[str, Any]:
    blob = archive_bytes(archive, json.dumps({"records": rows}, ensure_ascii=False).encode())
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="json"), ADMIN)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    planted = tmp_path_factory.mktemp("dashboard-planted")
    generate(planted, seed=7, scale=600, plant_alerts=True)
    data = tmp_path_factory.mktemp("dashboard-hub")
    settings = Settings(data_dir=data)
    engine = make_engine(settings)
    migrate(settings, engine)
    ctx = HubContext(engine, standard(), "test-hub", settings.region, settings.signing_secret)
    for name in ORDER:
        blob = archive_bytes(data / "archive", (planted / f"{name}.csv").read_bytes())
        receipt = ingest(ctx, SubmissionRequest(dataset=name, blob=blob, fmt="csv", filename=name), ADMIN)
        assert receipt["counts"]["rejected"] == 0
    evaluate_alerts(engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    # a second version of a Guangzhou penalty that has an alert: the record page shows both
    with read_transaction(engine) as conn:
        target = conn.execute(
            select(alerts.c.record_keys)
            .where(
                alerts.c.dataset == "penalty",
                alerts.c.record_id.is_not(None),
                alerts.c.region.startswith("4401"),
            )
            .limit(1)
        ).scalar_one()
    from enforcehub.store.feeds import current_data

    key = json.loads(target)[0]
    with read_transaction(engine) as conn:
        current = {
            k: v for k, v in current_data(conn, dataset="penalty", keys=[key])[key].items() if v is not None
        }
    assert (
        _submit(ctx, "penalty", [{**current, "remarks": "更正备注"}], data / "archive")["counts"]["updated"]
        == 1
    )
    now = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        consumer_service.add_consumer(
            conn,
            consumer_service.ConsumerSpec(
                name="hook", profile="credit", mode="webhook", webhook_url="https://example.invalid/hook"
            ),
            standard=ctx.standard,
            now=now,
        )
        consumer_service.set_state(conn, "hook", "paused", now=now, reason="test")
        consumer_service.add_consumer(
            conn,
            consumer_service.ConsumerSpec(name="gz-feed", profile="credit", region="440100"),
            standard=ctx.standard,
            now=now,
        )
        message = webhook_store.create_message(
            conn, consumer="hook", first_seq=1, last_seq=3, events=3, payload="{}", now=now
        )
        conn.execute(
            webhook_messages.update()
            .where(webhook_messages.c.id == message["id"])
            .values(state="dead", attempts=5, last_status=500, last_error="HTTP 500")
        )
        made = {
            "admin": key_store.insert_key(conn, role="admin", name="管理员")[1],
            "province": key_store.insert_key(conn, role="supervisor", name="省监督员")[1],
            "guangzhou": key_store.insert_key(conn, role="supervisor", name="广州监督员", region="440100")[1],
        }
    yield Built(ctx, data, made, str(message["id"]))
    engine.dispose()


def build(ctx: HubContext, slug: str, scope: Scope, **params: str) -> Page:
    load_pages()
    with read_transaction(ctx.engine) as conn:
        return PAGES[slug].builder(conn, scope, params)


def _alerts(ctx: HubContext, **where: Any) -> list[dict[str, Any]]:
    with read_transaction(ctx.engine) as conn:
        return alert_store.list_alerts(conn, alert_store.AlertFilter(**where), limit=100_000)[1]


# --- in process -----------------------------------------------------------------------------------------


def test_alerts_page_counts_rules_cities_and_filters(built: Built) -> None:
    ctx = built.ctx
    every = _alerts(ctx)
    opened = [a for a in every if a["status"] == "open"]
    assert opened
    shown = build(ctx, "alerts", PROVINCE)
    rules = {r["rule"]: r for r in shown.table("rules").rows}  # type: ignore[union-attr]
    for rule, row in rules.items():
        assert row["open"] == sum(1 for a in opened if a["rule"] == rule)
    late = rules["late-publicity"]
    rule = load_rules()["late-publicity"]
    assert late["title"] == rule.title  # the rule's Chinese title and its articles
    assert late["basis"] == "；".join(f"《{b.law}》{b.article}" for b in rule.basis) and "《" in late["basis"]
    table = shown.table("alerts")
    assert table is not None and {r["id"] for r in table.rows} == {a["id"] for a in opened}
    one = next(r for r in table.rows if r["record_id"] is not None)
    record_column = next(c for c in table.columns if c.key == "record_key")
    assert record_column.link is not None
    assert (
        record_column.link.format(**one)
        == f"/dashboard/record?dataset={one['dataset']}&record_id={one['record_id']}"
    )
    chart = shown.charts[0].option
    assert sum(chart["series"][0]["data"]) == len(opened)
    # filters: a rule; a city; Guangzhou's scope only sees Guangzhou
    only = build(ctx, "alerts", PROVINCE, rule="decision-overdue").table("alerts")
    assert only is not None and {r["rule"] for r in only.rows} == {"decision-overdue"}
    gz_rows = build(ctx, "alerts", PROVINCE, city="440100").table("alerts")
    assert gz_rows is not None and all(r["city"] == "440100" for r in gz_rows.rows)
    scoped = build(ctx, "alerts", GUANGZHOU).table("alerts")
    expected = {a["id"] for a in opened if (a["region"] or "").startswith("4401")}
    assert scoped is not None and expected and {r["id"] for r in scoped.rows} == expected
    with pytest.raises(ValueError):
        build(ctx, "alerts", PROVINCE, status="nonsense")


def test_alert_page_detail_basis_records_and_close_action(built: Built) -> None:
    ctx = built.ctx
    alert = next(a for a in _alerts(ctx, status="open") if (a["region"] or "").startswith("4401"))
    shown = build(ctx, "alert", PROVINCE, id=str(alert["id"]))
    titles = [s.title for s in shown.sections]
    assert "法律依据" in titles
    basis = next(s for s in shown.sections if s.title == "法律依据")
    assert any(label.startswith("《") for label, _ in basis.items)
    records_table = shown.table("records")
    assert records_table is not None
    assert [r["record_id"] for r in records_table.rows] == alert["record_ids"]
    assert [a.url for a in shown.actions] == [f"/dashboard/alerts/{alert['id']}/close"]
    assert build(ctx, "alert", GUANGZHOU, id=str(alert["id"])).actions
    elsewhere = next(a for a in _alerts(ctx) if not (a["region"] or "").startswith("4401"))
    hidden = build(ctx, "alert", GUANGZHOU, id=str(elsewhere["id"]))
    assert not hidden.sections and not hidden.actions and hidden.notes


def test_record_page_fields_versions_lineage_and_alerts(built: Built) -> None:
    ctx = built.ctx
    with read_transaction(ctx.engine) as conn:
        record_id, region = conn.execute(
            select(records.c.id, records.c.region).where(
                records.c.dataset == "penalty", records.c.version_no == 2
            )
        ).first()  # type: ignore[misc]
    shown = build(ctx, "record", PROVINCE, dataset="penalty", record_id=str(record_id))
    fields = dict(next(s for s in shown.sections if s.title == "当前版本字段").items)
    spec = standard().datasets["penalty"]
    assert fields[spec.element("remarks").title] == "更正备注"
    assert fields[spec.element("decision_number").title]
    versions = shown.table("versions")
    assert versions is not None and [v["version"] for v in versions.rows] == [2, 1]
    assert all(v["submission_id"] and v["principal"] == "admin" and v["received_at"] for v in versions.rows)
    assert versions.rows[0]["channel"] and versions.rows[0]["origin_hub"] == "test-hub"
    on_record = shown.table("alerts")
    expected = {a["id"] for a in _alerts(ctx, dataset="penalty", record_id=record_id)}
    assert on_record is not None and expected and {r["id"] for r in on_record.rows} == expected
    # out of scope: a Guangzhou supervisor gets an empty page with a note
    with read_transaction(ctx.engine) as conn:
        other = conn.execute(
            select(records.c.id).where(records.c.dataset == "penalty", ~records.c.region.startswith("4401"))
        ).scalar()
    assert (region or "").startswith("4401")
    assert build(ctx, "record", GUANGZHOU, dataset="penalty", record_id=str(record_id)).sections
    hidden = build(ctx, "record", GUANGZHOU, dataset="penalty", record_id=str(other))
    assert not hidden.sections and not hidden.tables and hidden.notes
    assert not build(ctx, "record", PROVINCE, dataset="penalty", record_id="999999999").sections
    with pytest.raises(ValueError):
        build(ctx, "record", PROVINCE, dataset="nonsense", record_id="1")


def test_entity_profile_across_datasets_scoped_and_audited(built: Built) -> None:
    ctx = built.ctx
    with read_transaction(ctx.engine) as conn:
        code, _ = conn.execute(
            select(records.c.counterparty_code, func.count(func.distinct(records.c.dataset)).label("n"))
            .where(records.c.counterparty_code.is_not(None), records.c.region.startswith("4401"))
            .group_by(records.c.counterparty_code)
            .order_by(func.count(func.distinct(records.c.dataset)).desc(), records.c.counterparty_code)
            .limit(1)
        ).one()
        held = conn.execute(
            select(records.c.id, records.c.dataset, records.c.region).where(
                records.c.counterparty_code == code
            )
        ).all()
        audited_before = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    shown = build(ctx, "entity", PROVINCE, code=code)
    listed = {
        (t.id.removeprefix("records-"), r["record_id"])
        for t in shown.tables
        if t.id.startswith("records-")
        for r in t.rows
    }
    assert listed == {(d, i) for i, d, _ in held}
    assert shown.cards[0].value == len(held)
    link = next(t for t in shown.tables if t.id.startswith("records-")).columns[0].link
    assert link == "/dashboard/record?dataset={dataset}&record_id={record_id}"
    gz = build(ctx, "entity", GUANGZHOU, code=code)
    gz_listed = {r["record_id"] for t in gz.tables if t.id.startswith("records-") for r in t.rows}
    assert gz_listed == {i for i, _, region in held if (region or "").startswith("4401")}
    # every view is in the audit log: who looked at whom
    with read_transaction(ctx.engine) as conn:
        entries = conn.execute(
            select(audit_log.c.principal, audit_log.c.action, audit_log.c.target, audit_log.c.detail)
            .where(audit_log.c.id > 0)
            .order_by(audit_log.c.id.desc())
            .limit(2)
        ).all()
        audited_after = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert audited_after == audited_before + 2
    assert [(p, a, t) for p, a, t, _ in entries] == [
        ("广州监督员", "read-entity", code),
        ("省监督员", "read-entity", code),
    ]
    assert json.loads(entries[0][3])["records"] == len(gz_listed)
    # no code: a search box and nothing audited
    empty = build(ctx, "entity", PROVINCE)
    assert empty.filters == {"code": ""} and not empty.tables


def test_sharing_page_consumers_lag_and_dead_letters(built: Built) -> None:
    ctx = built.ctx
    shown = build(ctx, "sharing", PROVINCE)
    consumers = {r["name"]: r for r in shown.table("consumers").rows}  # type: ignore[union-attr]
    assert {"hook", "gz-feed"} <= set(consumers)
    with read_transaction(ctx.engine) as conn:
        expected = consumer_service.status(conn, consumer_service.get(conn, "hook"), ctx.standard)
    assert consumers["hook"]["lag"] == expected["lag"] > 0 and consumers["hook"]["dead_letters"] == 1
    assert consumers["hook"]["state"] == "paused" and consumers["hook"]["mode"] == "webhook"
    dead = shown.table("dead-hook")
    assert dead is not None and [r["id"] for r in dead.rows] == [built.dead_id]
    chart = shown.charts[0].option
    assert (
        dict(zip(chart["yAxis"]["data"], chart["series"][0]["data"], strict=True))["hook"] == expected["lag"]
    )
    assert not shown.actions  # a supervisor sees dead letters, only an admin replays
    admin = build(ctx, "sharing", Scope("管理员", "admin", None))
    assert [a.url for a in admin.actions] == ["/dashboard/sharing/hook/replay"]
    gz = build(ctx, "sharing", GUANGZHOU)
    assert {r["name"] for r in gz.table("consumers").rows} == {"gz-feed"}  # type: ignore[union-attr]


# --- over HTTP ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _login(hub: HubProcess, key: str) -> Iterator[httpx.Client]:
    """A client with a dashboard session (the signed cookie set by logging in with the key)."""
    with hub.client() as client:
        answer = client.post("/dashboard/login", data={"key": key}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        yield client


def _csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def served(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    copy = tmp_path_factory.mktemp("dashboard-served") / "hub"
    built.ctx.engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    shutil.copytree(built.data, copy)
    hub = HubProcess(copy, {"ENFORCEHUB_WORKER": "false"})
    hub.start()
    try:
        yield hub
    finally:
        hub.close()


def test_close_alert_over_http_csrf_role_scope_and_audit(built: Built, served: HubProcess) -> None:
    opened = _alerts(built.ctx, status="open")
    mine = next(a for a in opened if (a["region"] or "").startswith("4401"))
    theirs = next(a for a in opened if not (a["region"] or "").startswith("4401"))
    with _login(served, built.keys["guangzhou"]) as client:
        token = _csrf(client, f"/dashboard/alert?id={mine['id']}")
        url = f"/dashboard/alerts/{mine['id']}/close"
        assert client.post(url, data={"csrf": "forged", "note": "x"}).status_code == 403
        assert client.post(url, data={"note": "x"}).status_code == 403
        refused = client.post(f"/dashboard/alerts/{theirs['id']}/close", data={"csrf": token, "note": "越权"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "out-of-scope"
        assert client.post(url, data={"csrf": token, "note": " "}).status_code == 422
        done = client.post(url, data={"csrf": token, "note": "经核查已整改"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == f"/dashboard/alert?id={mine['id']}"
        assert client.post(url, data={"csrf": token, "note": "again"}).status_code == 409
        page = client.get(f"/dashboard/alert?id={mine['id']}")
        assert "经核查已整改" in page.text and "广州监督员" in page.text
        shown = client.get(f"/api/v1/supervision/alert?id={mine['id']}").json()
        facts = dict((k, v) for k, v in shown["sections"][0]["items"])
        assert facts["关闭人"] == "广州监督员" and facts["说明"] == "经核查已整改" and not shown["actions"]
        # the other pages render as HTML and export their tables
        assert "decision-overdue" in client.get("/dashboard/alerts", params={"status": "all"}).text
        record_page = client.get(
            "/dashboard/record", params={"dataset": "penalty", "record_id": mine["record_ids"][0]}
        )
        assert record_page.status_code == 200 and "版本历史与来源" in record_page.text
        sheet = client.get("/dashboard/alerts", params={"format": "xlsx", "table": "alerts"})
        assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
        # path-style record links redirect to the record page
        moved = client.get("/dashboard/record/penalty/1", follow_redirects=False)
        assert (
            moved.status_code == 307
            and moved.headers["location"] == "/dashboard/record?dataset=penalty&record_id=1"
        )
    with served.client() as api:
        trail = api.get(
            "/api/v1/admin/audit",
            params={"action": "close-alert"},
            headers={"Authorization": f"Bearer {built.keys['admin']}"},
        )
        assert trail.status_code == 200, trail.text
        entries = [e for e in trail.json()["entries"] if e["target"] == f"alert/{mine['id']}"]
        assert len(entries) == 1 and entries[0]["principal"] == "广州监督员"
        assert entries[0]["detail"]["note"] == "经核查已整改"
    # not logged in: 401
    with served.client() as anonymous:
        assert (
            anonymous.post(f"/dashboard/alerts/{theirs['id']}/close", data={"note": "x"}).status_code == 401
        )


def test_replay_dead_letter_over_http_admin_only(built: Built, served: HubProcess) -> None:
    url = "/dashboard/sharing/hook/replay"
    with _login(served, built.keys["province"]) as supervisor:
        token = _csrf(supervisor, "/dashboard/sharing")
        denied = supervisor.post(url, data={"csrf": token, "message_id": built.dead_id})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden-role"
    with _login(served, built.keys["admin"]) as admin:
        page = admin.get("/dashboard/sharing")
        assert built.dead_id in page.text and 'action="/dashboard/sharing/hook/replay"' in page.text
        token = _csrf(admin, "/dashboard/sharing")
        assert admin.post(url, data={"csrf": "forged", "message_id": built.dead_id}).status_code == 403
        assert admin.post(url, data={"csrf": token, "message_id": "msg_nope"}).status_code == 404
        done = admin.post(url, data={"csrf": token, "message_id": built.dead_id}, follow_redirects=False)
        assert done.status_code == 303
        assert admin.post(url, data={"csrf": token, "message_id": built.dead_id}).status_code == 409
        after = admin.get("/api/v1/supervision/sharing").json()
        hook = next(r for r in after["tables"][0]["rows"] if r["name"] == "hook")
        assert hook["dead_letters"] == 0


def test_entity_view_over_http_is_audited_with_the_session_principal(
    built: Built, served: HubProcess
) -> None:
    with read_transaction(built.ctx.engine) as conn:
        code = conn.execute(
            select(records.c.counterparty_code).where(records.c.counterparty_code.is_not(None)).limit(1)
        ).scalar_one()
    with _login(served, built.keys["province"]) as client:
        page = client.get("/dashboard/entity", params={"code": code})
        assert page.status_code == 200 and "/dashboard/record?dataset=" in page.text
    engine = make_engine(Settings(data_dir=served.data_dir))
    try:
        with read_transaction(engine) as conn:
            last = conn.execute(
                select(audit_log.c.principal, audit_log.c.action, audit_log.c.target)
                .order_by(audit_log.c.id.desc())
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    assert tuple(last) == ("省监督员", "read-entity", code)
