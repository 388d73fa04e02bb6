"""The dashboard's quality, timeliness and submissions pages, built in process on a synthetic hub and
checked against independent computations (receipts, raw CSV, chinese_calendar day by day)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from sqlalchemy import select

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store import keys as key_store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.store.schema import findings, supervision_facts
from enforcehub.supervise.facts import refresh_facts
from enforcehub.supervise.view import PAGES, Page, Scope, load_pages

REFERENCE = ("law", "matter", "agency", "officer", "counterparty")
ARCHIVE = Path(tempfile.mkdtemp(prefix="enforcehub-test-archive-"))
PROVINCE = Scope("province", "supervisor", None)
GUANGZHOU = Scope("gz", "supervisor", "4401")
MONTHS = {"month_from": "2000-01", "month_to": "2099-12"}


def _ingest(ctx: HubContext, dataset: str, body: bytes, who: Principal, name: str) -> dict[str, Any]:
    blob = archive_bytes(ARCHIVE, body)  # not beside the database: on PostgreSQL that is a name
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="csv", filename=name), who)


def _split(path: Path, prefix: str) -> tuple[bytes, bytes]:
    """The CSV's rows of region `prefix` and the others, each with the header."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    column = next(i for i, h in enumerate(header) if h in ("region_code", "行政区划代码", "区划代码"))
    mine = [r for r in body if r[column].startswith(prefix)]
    others = [r for r in body if not r[column].startswith(prefix)]

    def write(part: list[list[str]]) -> bytes:
        out = []
        for r in [header, *part]:
            out.append(",".join('"' + v.replace('"', '""') + '"' for v in r))
        return ("\n".join(out) + "\n").encode()

    return write(mine), write(others)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded province with the supervision rules' planted cases (late publicity, decisions after
    90 days, overdue seizures …) appended."""
    from enforcehub.synth import generate

    out = tmp_path_factory.mktemp("planted-dash")
    generate(out, seed=7, scale=600, formats=("csv",), plant_alerts=True)
    return out


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, planted: Path, dirty_province: Path) -> dict[str, Any]:
    """Reference data and coercion/inspection (with planted cases) from a province-wide key; dirty
    penalties split by city: Guangzhou's through a Guangzhou key, the rest through a Shenzhen key; then
    the clean penalties with the planted cases from the province-wide key."""
    return _fill(Settings(data_dir=tmp_path_factory.mktemp("dash") / "hub"), planted, dirty_province)


def _fill(settings: Settings, province: Path, dirty_province: Path) -> dict[str, Any]:
    planted = province
    engine = make_engine(settings)
    migrate(settings, engine)
    ctx = HubContext(engine, standard(), "test-hub", settings.region, settings.signing_secret)
    with write_transaction(engine) as conn:
        gz, _ = key_store.insert_key(conn, role="admin", name="gz-platform", region="440100")
        sz, _ = key_store.insert_key(conn, role="admin", name="sz-platform", region="440300")
    admin = Principal(name="admin", role="admin")
    receipts: dict[str, list[dict[str, Any]]] = {"gz": [], "sz": [], "province": []}
    for name in REFERENCE:
        receipt = _ingest(ctx, name, (province / f"{name}.csv").read_bytes(), admin, f"{name}.csv")
        assert receipt["counts"]["rejected"] == 0
        receipts["province"].append(receipt)
    for name in ("coercion", "inspection"):
        receipts["province"].append(
            _ingest(ctx, name, (province / f"{name}.csv").read_bytes(), admin, f"{name}.csv")
        )
    mine, others = _split(dirty_province / "penalty.csv", "4401")
    principal_gz = Principal(name="gz-platform", role="admin", key_id=gz["id"], region="440100")
    principal_sz = Principal(name="sz-platform", role="admin", key_id=sz["id"], region="440300")
    receipts["gz"].append(_ingest(ctx, "penalty", mine, principal_gz, "gz-penalty.csv"))
    receipts["sz"].append(_ingest(ctx, "penalty", others, principal_sz, "sz-penalty.csv"))
    planted_penalties = (planted / "penalty.csv").read_bytes()
    receipts["province"].append(_ingest(ctx, "penalty", planted_penalties, admin, "penalty.csv"))
    refresh_facts(engine, ctx.standard)
    return {"ctx": ctx, "receipts": receipts}


def build(hub: dict[str, Any], slug: str, scope: Scope, **params: str) -> Page:
    load_pages()
    with read_transaction(hub["ctx"].engine) as conn:
        return PAGES[slug].builder(conn, scope, params)


def card(built: Page, label_en: str) -> Any:
    return next(c.value for c in built.cards if c.label_en == label_en)


# --- quality ------------------------------------------------------------------------------------------


def test_quality_cards_match_the_receipts(hub: dict[str, Any]) -> None:
    every = [r for rs in hub["receipts"].values() for r in rs]
    built = build(hub, "quality", PROVINCE, **MONTHS)
    assert card(built, "Submissions") == len(every)
    assert card(built, "Rows received") == sum(r["counts"]["received"] for r in every)
    assert card(built, "Rows rejected") == sum(r["counts"]["rejected"] for r in every)
    assert card(built, "Rows accepted") == sum(r["counts"]["accepted"] for r in every)
    rejected = sum(r["counts"]["rejected"] for r in every)
    assert rejected > 0
    received = sum(r["counts"]["received"] for r in every)
    assert card(built, "Error rate") == round(rejected / received * 100, 2)
    # a Guangzhou supervisor: only the Guangzhou key's file
    gz = build(hub, "quality", GUANGZHOU, **MONTHS)
    (mine,) = hub["receipts"]["gz"]
    assert card(gz, "Submissions") == 1
    assert card(gz, "Rows rejected") == mine["counts"]["rejected"]
    agencies = gz.table("by-agency")
    assert agencies is not None and [r["principal"] for r in agencies.rows] == ["gz-platform"]


def test_quality_errors_by_code_and_over_time_match_the_findings(hub: dict[str, Any]) -> None:
    ctx = hub["ctx"]
    with read_transaction(ctx.engine) as conn:
        stored = conn.execute(select(findings.c.submission_id, findings.c.code, findings.c.severity)).all()
    expected = Counter((code, severity) for _, code, severity in stored)
    built = build(hub, "quality", PROVINCE, **MONTHS)
    table = built.table("by-code")
    assert table is not None
    assert {(r["code"], r["severity"]): r["findings"] for r in table.rows} == dict(expected)
    assert all(r["title"] and "{" not in r["title"] for r in table.rows)
    chart = next(c for c in built.charts if c.id == "errors-over-time")
    errors = sum(1 for _, _, s in stored if s == "error")
    assert sum(chart.option["series"][0]["data"]) == errors
    # scope: Guangzhou's codes are those of its own file's findings only
    (mine,) = hub["receipts"]["gz"]
    gz_expected = Counter((c, s) for sid, c, s in stored if sid == mine["id"])
    gz = build(hub, "quality", GUANGZHOU, bucket="week", **MONTHS)
    gz_table = gz.table("by-code")
    assert gz_table is not None
    assert {(r["code"], r["severity"]): r["findings"] for r in gz_table.rows} == dict(gz_expected)


def test_quality_coverage_flags_agencies_without_records(hub: dict[str, Any], planted: Path) -> None:
    with (planted / "agency.csv").open(encoding="utf-8-sig", newline="") as handle:
        agencies = list(csv.DictReader(handle))
    built = build(hub, "quality", PROVINCE, **MONTHS)
    coverage = built.table("coverage")
    assert coverage is not None
    ctx = hub["ctx"]
    with read_transaction(ctx.engine) as conn:
        facts = conn.execute(select(supervision_facts.c.agency_uscc, supervision_facts.c.act_month)).all()
    per_agency = Counter(a for a, _ in facts)
    active = card(built, "Active agencies in the registry")
    assert 0 < active <= len(agencies)
    for row in coverage.rows:
        assert row["records"] == per_agency.get(row["agency_uscc"], 0)
        assert (row["flag"] is not None) == (row["records"] < 5)
    assert card(built, "Agencies with no records") == sum(1 for r in coverage.rows if r["records"] == 0)
    gz = build(hub, "quality", GUANGZHOU, **MONTHS)
    gz_coverage = gz.table("coverage")
    assert gz_coverage is not None and gz_coverage.rows
    assert all(r["city"] == "440100" for r in gz_coverage.rows)


def test_quality_worst_files_link_their_receipts(hub: dict[str, Any]) -> None:
    built = build(hub, "quality", PROVINCE, **MONTHS)
    worst = built.table("worst-files")
    assert worst is not None
    penalties = [*hub["receipts"]["gz"], *hub["receipts"]["sz"]]
    with_rejections = [r for r in penalties if r["counts"]["rejected"] > 0 and r["counts"]["received"] >= 10]
    assert {r["id"] for r in worst.rows} == {r["id"] for r in with_rejections}
    shares = [r["rejected_pct"] for r in worst.rows]
    assert shares == sorted(shares, reverse=True)
    links = {c.key: c.link for c in worst.columns if c.link}
    row = worst.rows[0]
    assert links["id"] is not None and links["id"].format(**row) == f"/api/v1/submissions/{row['id']}"
    assert row["errors_xlsx_url"].endswith("/errors.xlsx")
    gz = build(hub, "quality", GUANGZHOU, **MONTHS).table("worst-files")
    assert gz is not None and {r["id"] for r in gz.rows} <= {hub["receipts"]["gz"][0]["id"]}
    json.dumps(built.as_dict(), default=str)


# --- submissions --------------------------------------------------------------------------------------


def test_submissions_newest_first_paged_with_receipt_and_error_links(hub: dict[str, Any]) -> None:
    every = [r for rs in hub["receipts"].values() for r in rs]
    built = build(hub, "submissions", PROVINCE)
    table = built.table("submissions")
    assert table is not None
    assert card(built, "Submissions") == len(every)
    ids = [r["id"] for r in table.rows]
    newest_first = sorted(every, key=lambda r: (r["received_at"], r["id"]), reverse=True)
    assert ids == [r["id"] for r in newest_first][: len(ids)]
    by_id = {r["id"]: r for r in every}
    for row in table.rows:
        assert row["rejected"] == by_id[row["id"]]["counts"]["rejected"]
        assert row["status"] == "done"
    links = {c.key: c.link for c in table.columns if c.link}
    penalty = next(r for r in table.rows if r["id"] == hub["receipts"]["gz"][0]["id"])
    assert links["receipt"] == "/api/v1/submissions/{id}"
    assert str(links["errors_xlsx"]).format(**penalty) == f"/api/v1/submissions/{penalty['id']}/errors.xlsx"
    assert penalty["errors_csv"] == "CSV" and penalty["errors_csv_url"].endswith("/errors.csv")
    # paging: a page beyond the last is empty; filters narrow
    assert build(hub, "submissions", PROVINCE, page="2").table("submissions").rows == []  # type: ignore[union-attr]
    only = build(hub, "submissions", PROVINCE, dataset="penalty").table("submissions")
    assert only is not None and len(only.rows) == 3
    with pytest.raises(ValueError):
        build(hub, "submissions", PROVINCE, page="zero")
    # scope: Guangzhou sees its own key's submission only
    gz = build(hub, "submissions", GUANGZHOU).table("submissions")
    assert gz is not None and [r["id"] for r in gz.rows] == [hub["receipts"]["gz"][0]["id"]]


# --- timeliness ---------------------------------------------------------------------------------------

AS_OF = dt.date(2026, 6, 30)


@functools.cache
def _working(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year without a published notice: Monday to Friday
        return day.weekday() < 5


def _nth_working_day_after(day: dt.date, n: int) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        n -= _working(day)
    return day


@functools.cache
def _working_days(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end], one day at a time."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += _working(day)
    return count


def _facts(hub: dict[str, Any]) -> list[dict[str, Any]]:
    with read_transaction(hub["ctx"].engine) as conn:
        rows = conn.execute(select(supervision_facts)).mappings().all()

    def date(value: Any) -> dt.date | None:
        if value is None or isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value)[:10])

    out = []
    for row in rows:
        item = dict(row)
        for name in ("act_date", "decision_date", "filing_date", "measure_start_date", "release_date"):
            item[name] = date(item[name])
        for name in ("closing_date", "published_date"):
            item[name] = date(item[name])
        if item["act_month"] is not None:  # the page counts records by their act month
            out.append(item)
    return out


def _to_publish(f: dict[str, Any]) -> bool:
    return (
        f["dataset"] == "penalty"
        and bool(f["effective"])
        and f["decision_date"] is not None
        and f["publish"] in (None, True, 1)
        and f["minor_involved"] in (None, False, 0)
        and (f["publicity_status"] or "") not in ("1", "2")
    )


def test_timeliness_counts_match_day_by_day_arithmetic(hub: dict[str, Any]) -> None:
    facts = _facts(hub)
    params = {**MONTHS, "as_of": AS_OF.isoformat()}
    built = build(hub, "timeliness", PROVINCE, **params)
    assert card(built, "Records") == len(facts)
    # publicity: 7th working day after the decision, counted with chinese_calendar one day at a time
    late = set()
    to_publish = 0
    for f in facts:
        if not _to_publish(f):
            continue
        to_publish += 1
        deadline = _nth_working_day_after(f["decision_date"], 7)
        if (f["published_date"] or AS_OF) > deadline:
            late.add(f["record_id"])
    assert to_publish > 0 and late  # the planted cases include late publications
    hint = next(c.hint for c in built.cards if c.label_en == "Penalties publicized late")
    assert hint.startswith(f"{len(late)} / {to_publish}")
    table = built.table("late-publicity")
    assert table is not None
    assert {r["record_id"] for r in table.rows} <= late and len(table.rows) == min(len(late), 200)
    for row in table.rows:
        assert row["publicity_lag_wd"] == _working_days(
            dt.date.fromisoformat(row["decision_date"]),
            dt.date.fromisoformat(row["published_date"]) if row["published_date"] else AS_OF,
        )
    link = next(c.link for c in table.columns if c.link)
    if table.rows:
        row = table.rows[0]
        assert str(link).format(**row) == f"/dashboard/record/penalty/{row['record_id']}"
    # reporting: first receipt (Asia/Shanghai day) beyond 7 (penalty, licence) or 20 working days
    reported_late = 0
    for f in facts:
        if f["act_date"] is None:
            continue
        received = f["first_received_at"]
        if isinstance(received, str):
            received = dt.datetime.fromisoformat(received)
        if received.tzinfo is None:
            received = received.replace(tzinfo=dt.UTC)
        day = received.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        limit = 7 if f["dataset"] in ("penalty", "license") else 20
        reported_late += _working_days(f["act_date"], day) > limit
    hint = next(c.hint for c in built.cards if c.label_en == "Reported late")
    assert hint.startswith(f"{reported_late} / ")
    # 90 days from filing (ordinary procedure), seizures 30 / 60 calendar days
    decided_late = sum(
        1
        for f in facts
        if f["dataset"] == "penalty"
        and f["effective"]
        and f["procedure_type"] == "02"
        and f["filing_date"]
        and f["decision_date"]
        and (f["decision_date"] - f["filing_date"]).days > 90
    )
    assert decided_late > 0
    hint = next(c.hint for c in built.cards if c.label_en == "Penalties decided after 90 days")
    assert hint.startswith(f"{decided_late} / ")
    overdue = 0
    for f in facts:
        if not (
            f["dataset"] == "coercion"
            and f["effective"]
            and f["coercion_type"] == "01"
            and f["measure"] in ("02", "03")
            and f["measure_start_date"]
        ):
            continue
        end = f["release_date"] or f["closing_date"] or AS_OF
        overdue += (end - f["measure_start_date"]).days > (60 if f["extended"] else 30)
    assert overdue > 0
    hint = next(c.hint for c in built.cards if c.label_en == "Seizures beyond their period")
    assert hint.startswith(f"{overdue} / ")
    json.dumps(built.as_dict(), default=str)


def test_timeliness_is_scoped_to_the_city(hub: dict[str, Any]) -> None:
    facts = _facts(hub)
    params = {**MONTHS, "as_of": AS_OF.isoformat()}
    gz = build(hub, "timeliness", GUANGZHOU, **params)
    assert card(gz, "Records") == sum(1 for f in facts if (f["city"] or "").startswith("4401"))
    chart = next(c for c in gz.charts if c.id == "timeliness-by-city")
    assert chart.option["xAxis"]["data"] in ([], ["广州市"])
    names = {"广州市"}
    for table in gz.tables:
        for row in table.rows:
            assert row["city_name"] in names, (table.id, row)
    late_gz = {
        f["record_id"]
        for f in facts
        if _to_publish(f)
        and (f["city"] or "").startswith("4401")
        and (f["published_date"] or AS_OF) > _nth_working_day_after(f["decision_date"], 7)
    }
    hint = next(c.hint for c in gz.cards if c.label_en == "Penalties publicized late")
    assert hint.startswith(f"{len(late_gz)} / ")
    with pytest.raises(ValueError):
        build(hub, "timeliness", GUANGZHOU, as_of="yesterday")


# --- rendering: the same pages as HTML and XLSX ----------------------------------------------------------


@pytest.mark.parametrize("slug", ["quality", "timeliness", "submissions"])
def test_pages_render_as_html_and_every_table_as_xlsx(hub: dict[str, Any], slug: str) -> None:
    from python_calamine import CalamineWorkbook

    from enforcehub.supervise.view import navigation
    from enforcehub.web.dashboard import _templates, _xlsx

    for lang in ("zh", "en"):
        scope = Scope("gz", "supervisor", "4401", lang)
        built = build(
            hub, slug, scope, **({**MONTHS, "as_of": AS_OF.isoformat()} if slug != "submissions" else {})
        )
        assert slug in {spec.slug for spec in navigation()}
        html = (
            _templates()
            .get_template("dashboard/page.html")
            .render(
                page=built,
                lang=lang,
                nav=navigation(),
                user={"name": "gz", "role": "supervisor", "region": "440100"},
                csrf="token",
                switch_url="",
                path=f"/dashboard/{slug}",
                filter_titles={},
            )
        )
        assert f"table-{built.tables[0].id}" in html
        for table in built.tables:
            response = _xlsx(built, table.id, lang)
            sheet = (
                CalamineWorkbook.from_object(io.BytesIO(bytes(response.body)))
                .get_sheet_by_index(0)
                .to_python()
            )
            assert len(sheet) >= len(table.rows)


def test_pages_on_postgresql_give_the_same_figures(
    hub: dict[str, Any], pg_database: str, planted: Path, dirty_province: Path, tmp_path: Path
) -> None:
    pg = _fill(Settings(data_dir=tmp_path / "hub", database_url=pg_database), planted, dirty_province)
    try:
        for slug, params in (
            ("quality", MONTHS),
            ("timeliness", {**MONTHS, "as_of": AS_OF.isoformat()}),
            ("submissions", {}),
        ):
            for scope in (PROVINCE, GUANGZHOU):
                here, there = build(hub, slug, scope, **params), build(pg, slug, scope, **params)
                assert [(c.label_en, c.value, c.hint) for c in here.cards] == [
                    (c.label_en, c.value, c.hint) for c in there.cards
                ], (slug, scope)
                for table in here.tables:
                    other = there.table(table.id)
                    assert other is not None and len(other.rows) == len(table.rows), (slug, table.id)
    finally:
        pg["ctx"].engine.dispose()
