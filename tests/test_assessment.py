"""考核 Assessment: period parsing, every indicator against an independent computation from the store
and the synthetic province's own files, the page's scope, and `enforcehub report` equal to the page."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import insert, select

from enforcehub.pipeline import HubContext
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store import keys as key_store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.store.schema import alerts, api_keys, submissions, supervision_facts
from enforcehub.supervise import facts as facts_module
from enforcehub.supervise.alerts import close_alert, evaluate_alerts
from enforcehub.supervise.assessment import (
    ACTION_DATASETS,
    PeriodError,
    assess,
    indicators,
    last_finished_quarter,
    parse_period,
)
from enforcehub.supervise.pages.common import city_names
from enforcehub.supervise.view import PAGES, Scope, load_pages
from enforcehub.synth import generate
from tests.servers import run_cli
from tests.test_supervise import SYNTH_TODAY, _ingest_dir

PERIOD = "2025"
PROVINCE = Scope("admin", "admin", None)


# --- periods ---------------------------------------------------------------------------------------


def test_periods_quarter_half_year_month() -> None:
    q4 = parse_period("2025Q4")
    assert (q4.start, q4.end, q4.months) == (
        dt.date(2025, 10, 1),
        dt.date(2026, 1, 1),
        ["2025-10", "2025-11", "2025-12"],
    )
    assert q4.title == "2025年第四季度" and q4.label == "2025Q4"
    assert parse_period(" 2025-q1 ").label == "2025Q1"
    year = parse_period("2025")
    assert (year.start, year.end, len(year.months)) == (dt.date(2025, 1, 1), dt.date(2026, 1, 1), 12)
    assert parse_period("2025H2").months == [f"2025-{m:02d}" for m in range(7, 13)]
    assert parse_period("2025-02").months == ["2025-02"]
    start, end = q4.utc_bounds()  # midnight in Asia/Shanghai
    assert start == dt.datetime(2025, 9, 30, 16, tzinfo=dt.UTC) and end == dt.datetime(
        2025, 12, 31, 16, tzinfo=dt.UTC
    )
    assert last_finished_quarter(dt.date(2026, 1, 15)).label == "2025Q4"
    assert last_finished_quarter(dt.date(2026, 5, 1)).label == "2026Q1"
    for bad in ("2025Q5", "25Q4", "2025-13", "Q4", "", "2025H3", "1999"):
        with pytest.raises(PeriodError) as caught:
            parse_period(bad)
        assert "考核期" in caught.value.message("zh") and "period" in caught.value.message("en")
        assert isinstance(caught.value, ValueError)


def test_indicators_are_declared_with_weights_summing_to_one() -> None:
    found = indicators()
    assert [i.id for i in found] == ["coverage", "timeliness", "quality", "alerts_closed"]
    assert abs(sum(i.weight for i in found) - 1) < 1e-9
    assert all(i.title and i.title_en and i.definition and i.definition_en and i.formula for i in found)


# --- a small synthetic hub -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("assessment-province")
    generate(out, seed=11, scale=600, plant_alerts=True)
    return out


@pytest.fixture(scope="module")
def hub(province: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubContext, Path]]:
    data = tmp_path_factory.mktemp("assessment-hub")
    settings = Settings(data_dir=data)
    engine = make_engine(settings)
    migrate(settings, engine)
    ctx = HubContext(engine, standard(), "test-hub", settings.region, settings.signing_secret)
    _ingest_dir(ctx, province, data / "archive")
    facts_module.refresh_facts(engine, ctx.standard)
    evaluate_alerts(engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    with read_transaction(engine) as conn:
        opened = [r.id for r in conn.execute(select(alerts.c.id).order_by(alerts.c.id))]
    assert len(opened) >= 6
    for alert_id in opened[::3]:  # a third closed by a person
        close_alert(engine, alert_id, by="张三", note="已核实整改")
    _plant_submissions(engine, province)
    yield ctx, data
    engine.dispose()


def _plant_submissions(engine: Any, province: Path) -> None:
    """Keys of a city, of an agency (no region: its registry region counts), of nobody; submissions
    in and out of the period, finished, failed and duplicate."""
    agency = pl.read_csv(province / "agency.csv", infer_schema=False).filter(
        pl.col("status").is_in(["01", "有效"])
    )
    shenzhen_agency = agency.filter(pl.col("region_code").str.starts_with("4403"))["agency_uscc"][0]
    with write_transaction(engine) as conn:
        city_key, _ = key_store.insert_key(conn, role="platform", name="广州平台", region="440100")
        agency_key, _ = key_store.insert_key(
            conn, role="agency", name="深圳某局", agency_uscc=shenzhen_agency
        )
        nobody, _ = key_store.insert_key(conn, role="admin", name="管理员")
        rows = [
            # (key, received_at UTC, status, duplicate_of, received, accepted)
            (city_key, dt.datetime(2025, 3, 1, 2), "done", None, 100, 90),
            (city_key, dt.datetime(2025, 12, 31, 15, 59), "done", None, 50, 50),  # 23:59 Shanghai: in
            (city_key, dt.datetime(2025, 12, 31, 16, 0), "done", None, 70, 0),  # 2026-01-01 Shanghai: out
            (city_key, dt.datetime(2025, 6, 1), "done", "x", 100, 0),  # duplicate: not counted
            (city_key, dt.datetime(2025, 6, 1), "failed", None, 100, 0),  # failed: not counted
            (agency_key, dt.datetime(2025, 5, 5), "done", None, 40, 30),
            (nobody, dt.datetime(2025, 5, 5), "done", None, 1000, 1),  # unattributed
        ]
        for n, (key, at, status, duplicate, received, accepted) in enumerate(rows):
            conn.execute(
                insert(submissions).values(
                    id=f"planted{n:03d}",
                    dataset="penalty",
                    sha256=f"{n:064d}",
                    size=1,
                    format="csv",
                    channel="api",
                    policy="accept-valid-rows",
                    principal_id=key["id"],
                    principal=key["name"],
                    origin_hub="test-hub",
                    status=status,
                    duplicate_of=duplicate,
                    received=received,
                    accepted=accepted,
                    received_at=at.replace(tzinfo=dt.UTC),
                )
            )


# --- an independent computation of every indicator -------------------------------------------------


def _city(region: str | None) -> str | None:
    if not region:
        return None
    return region if region == "440000" else region[:4] + "00"


def _expected(ctx: HubContext, province: Path, period: str) -> dict[str, dict[str, dict[str, Any]]]:
    """city → indicator shares and score, agency → the same, from the facts, the agency file, the raw
    submissions and alerts rows, in plain Python."""
    p = parse_period(period)
    months = set(p.months)
    registry = {
        r["agency_uscc"]: (r["region_code"], r["status"] in ("01", "有效"))
        for r in pl.read_csv(province / "agency.csv", infer_schema=False).iter_rows(named=True)
    }
    active = {u for u, (_, ok) in registry.items() if ok}
    count: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    agency_count: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for uscc in active:
        count[_city(registry[uscc][0]) or ""]["agency_months"] += len(months)
        agency_count[uscc]["agency_months"] += len(months)
    with read_transaction(ctx.engine) as conn:
        f = supervision_facts.c
        facts = conn.execute(
            select(f.dataset, f.agency_uscc, f.city, f.act_month, f.reported_late).where(
                f.dataset.in_(ACTION_DATASETS)
            )
        ).all()
        subs = conn.execute(
            select(
                submissions.c.received_at,
                submissions.c.status,
                submissions.c.duplicate_of,
                submissions.c.received,
                submissions.c.accepted,
                api_keys.c.region,
                api_keys.c.agency_uscc,
            ).join(api_keys, api_keys.c.id == submissions.c.principal_id)
        ).all()
        alert_rows = conn.execute(
            select(alerts.c.agency_uscc, alerts.c.city, alerts.c.act_date, alerts.c.status)
        ).all()
    pairs = set()
    for _dataset, uscc, city, month, late in facts:
        if month not in months:
            continue
        if uscc in active:
            pairs.add((uscc, month))
        for bucket in (count[city or ""], agency_count[uscc] if uscc else defaultdict(float)):
            bucket["records"] += 1
            if late is not None:
                bucket["timely_den"] += 1
                bucket["timely_num"] += 0 if late else 1
    for uscc, _month in pairs:
        count[_city(registry[uscc][0]) or ""]["months_reported"] += 1
        agency_count[uscc]["months_reported"] += 1
    start, end = p.utc_bounds()
    for at, status, duplicate, received, accepted, region, uscc in subs:
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        if status != "done" or duplicate is not None or not start <= at < end:
            continue
        city = _city(region or (registry.get(uscc, (None, False))[0] if uscc else None))
        if city:
            count[city]["received"] += received
            count[city]["accepted"] += accepted
        if uscc:
            agency_count[uscc]["received"] += received
            agency_count[uscc]["accepted"] += accepted
    for uscc, city, act_date, status in alert_rows:
        day = act_date if isinstance(act_date, dt.date) else dt.date.fromisoformat(str(act_date)[:10])
        if act_date is None or not p.start <= day < p.end:
            continue
        owner = _city(registry[uscc][0]) if uscc in registry else city
        for bucket in (count[owner or ""], agency_count[uscc] if uscc else defaultdict(float)):
            bucket["alerts"] += 1
            bucket["closed"] += status == "closed"

    def shares(c: dict[str, float]) -> dict[str, Any]:
        def ratio(a: str, b: str) -> float | None:
            return c[a] / c[b] if c[b] else None

        out: dict[str, Any] = {
            "coverage": ratio("months_reported", "agency_months"),
            "timeliness": ratio("timely_num", "timely_den"),
            "quality": ratio("accepted", "received"),
            "alerts_closed": ratio("closed", "alerts"),
            "records": int(c["records"]),
        }
        weights = {i.id: i.weight for i in indicators()}
        present = {k: v for k, v in out.items() if k in weights and v is not None}
        total = sum(weights[k] for k in present)
        out["score"] = sum(100 * v * weights[k] for k, v in present.items()) / total if total else None
        return out

    return {
        "cities": {code: shares(count[code]) for code in city_names()},
        "agencies": {u: shares(c) for u, c in agency_count.items() if u in active or c["records"]},
    }


def _close(got: float | None, want: float | None, tolerance: float = 1e-9) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= tolerance


@pytest.mark.parametrize("period", ["2025", "2025Q4"])
def test_scores_equal_an_independent_computation(
    hub: tuple[HubContext, Path], province: Path, period: str
) -> None:
    ctx, _ = hub
    expected = _expected(ctx, province, period)
    with read_transaction(ctx.engine) as conn:
        result = assess(conn, parse_period(period))
    cities = {r["city"]: r for r in result.cities.iter_rows(named=True)}
    assert set(cities) == set(city_names()) and len(cities) == 22
    for code, want in expected["cities"].items():
        got = cities[code]
        for key in ("coverage", "timeliness", "quality", "alerts_closed"):
            assert _close(got[key], want[key]), (code, key, got[key], want[key])
        assert got["records"] == want["records"]
        assert _close(got["score"], want["score"], 0.05 + 1e-9), (code, got["score"], want["score"])
    # every indicator has values somewhere (the fixture exercises each one)
    for key in ("coverage", "timeliness", "quality", "alerts_closed"):
        assert any(r[key] is not None for r in cities.values()), key
    assert cities["440100"]["quality"] == pytest.approx(140 / 150 if period == "2025" else 1.0)
    agencies = {r["agency_uscc"]: r for r in result.agencies.iter_rows(named=True)}
    assert set(agencies) == set(expected["agencies"])
    for uscc, want in expected["agencies"].items():
        got = agencies[uscc]
        for key in ("coverage", "timeliness", "quality", "alerts_closed"):
            assert _close(got[key], want[key]), (uscc, key, got[key], want[key])
        assert _close(got["score"], want["score"], 0.05 + 1e-9)
    # ranked: best first, ties share a rank
    scores = [r["score"] for r in result.cities.iter_rows(named=True) if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    assert result.cities["rank"][0] == 1


def test_page_is_scoped_to_a_city_and_its_agencies(hub: tuple[HubContext, Path]) -> None:
    ctx, _ = hub
    load_pages()
    builder = PAGES["assessment"].builder
    assert PAGES["assessment"].order == 80 and PAGES["assessment"].title == "考核"
    with read_transaction(ctx.engine) as conn:
        everything = builder(conn, PROVINCE, {"period": PERIOD})
        guangzhou = builder(conn, Scope("gz", "supervisor", "4401"), {"period": PERIOD, "level": "agency"})
        with pytest.raises(ValueError):
            builder(conn, PROVINCE, {"period": "2025Q9"})
        with pytest.raises(ValueError):
            builder(conn, PROVINCE, {"level": "county"})
        default = builder(conn, PROVINCE, {})
    assert default.filters["period"] == last_finished_quarter().label
    city_table = guangzhou.table("city-scores")
    agency_table = guangzhou.table("agency-scores")
    assert city_table is not None and agency_table is not None
    assert [r["city"] for r in city_table.rows] == ["440100"]
    assert agency_table.rows and all(r["city"] == "440100" for r in agency_table.rows)
    assert guangzhou.tables[0].id == "agency-scores"  # level=agency first
    all_agencies = everything.table("agency-scores")
    assert all_agencies is not None and len(all_agencies.rows) > len(agency_table.rows)
    # the city's own figures are the same whoever looks
    province_row = next(r for r in everything.tables[0].rows if r["city"] == "440100")
    assert {k: v for k, v in province_row.items() if k != "rank"} == {
        k: v for k, v in city_table.rows[0].items() if k != "rank"
    }
    chart = everything.charts[0].option
    assert len(chart["yAxis"]["data"]) == len(
        [r for r in everything.tables[0].rows if r["score"] is not None]
    )
    assert len(everything.notes) == len(indicators()) + 1
    json.dumps(everything.as_dict(), ensure_ascii=False)  # the JSON API can serve it


def _sheet(path: Path, name: str) -> list[list[Any]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def _as_cells(table: Any) -> list[list[Any]]:
    rows = [[c.title for c in table.columns]]
    for row in table.rows:
        rows.append(["" if row.get(c.key) is None else row[c.key] for c in table.columns])
    return rows


def test_report_cli_equals_the_page(hub: tuple[HubContext, Path], tmp_path: Path) -> None:
    ctx, data = hub
    out = tmp_path / "report.xlsx"
    done = run_cli("report", "--period", PERIOD, "--out", out, "--data", data)
    assert done.returncode == 0, done.stderr
    load_pages()
    with read_transaction(ctx.engine) as conn:
        built = PAGES["assessment"].builder(conn, PROVINCE, {"period": PERIOD})
    for table_id in ("city-scores", "agency-scores", "indicators"):
        table = built.table(table_id)
        assert table is not None
        cells = _sheet(out, table_id)
        want = _as_cells(table)
        assert len(cells) == len(want)
        for got_row, want_row in zip(cells, want, strict=True):
            assert [float(v) if isinstance(v, int | float) else v for v in got_row] == [
                float(v) if isinstance(v, int | float) else v for v in want_row
            ]
    names = CalamineWorkbook.from_path(str(out)).sheet_names
    assert names == ["city-scores", "agency-scores", "indicators"]
    bad = run_cli("report", "--period", "2025Q5", "--out", tmp_path / "x.xlsx", "--data", data)
    assert bad.returncode == 2 and "bad-period" in bad.stderr and "考核期" in bad.stderr
    assert not (tmp_path / "x.xlsx").exists()
    agency_first = tmp_path / "agency.xlsx"
    assert (
        run_cli(
            "report", "--period", "2025Q4", "--level", "agency", "-o", agency_first, "--data", data
        ).returncode
        == 0
    )
    assert CalamineWorkbook.from_path(str(agency_first)).sheet_names[0] == "agency-scores"


def test_scores_need_no_facts_scan() -> None:
    """The computation reads rollups, grouped submissions and alerts, and the agency registry only."""
    source = Path(__file__).resolve().parents[1] / "src/enforcehub/supervise/assessment.py"
    assert "supervision_facts" not in source.read_text(encoding="utf-8")
