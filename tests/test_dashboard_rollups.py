"""The dashboard's fast path (supervise/derived.py: city and agency rollups, timeliness rows) against the
straightforward computation from the facts.

Random facts (hypothesis) — dates around 春节 2025 and 国庆 2024 so working-day lags tie, open and closed
publications and seizures, revocations, unknown agencies and regions — are written to a real database,
kept by the same functions the upkeep uses (first as new records, then replaced by changed versions),
and then:
- the kept tables equal their from-scratch GROUP BY over the facts;
- the timeliness page built from the rollups equals the page built from every fact of the period
  (pages/timeliness.py `from_facts`), for random periods, `as_of` days and scopes, with the record lists
  cut to a few rows so ties at the cut are exercised;
- overview, quality's coverage and assessment read the rollups; their figures are checked against the
  facts here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from enforcehub.settings import Settings
from enforcehub.store import supervision as store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.supervise import derived
from enforcehub.supervise.calendar import working_days_between
from enforcehub.supervise.pages import timeliness as timeliness_page
from enforcehub.supervise.view import PAGES, Page, Scope, load_pages

AGENCIES = ("11440100MB0000001X", "11440300MB0000002X", "11440000MB0000003X", None)
REGIONS = ("440103", "440106", "440305", "440000", None)
FIRST = dt.date(2024, 9, 20)
DAYS = 200  # to April 2025: 国庆 2024 and 春节 2025 inside


def _city(region: str | None) -> str | None:
    if region is None:
        return None
    return region if region == "440000" else region[:4] + "00"


day = st.integers(0, DAYS).map(lambda n: FIRST + dt.timedelta(days=n))
maybe_day = st.none() | day


@st.composite
def fact(draw: st.DrawFn) -> dict[str, Any]:
    dataset = draw(st.sampled_from(("penalty", "penalty", "coercion", "inspection", "license")))
    act = draw(st.none() | day) if dataset != "penalty" else draw(day)
    region = draw(st.sampled_from(REGIONS))
    status = draw(st.sampled_from(("01", "01", "01", "03", "05", None)))
    lag = draw(st.none() | st.integers(0, 30))
    received = (act or FIRST) + dt.timedelta(days=lag or 0)
    row: dict[str, Any] = {
        "dataset": dataset,
        "agency_uscc": draw(st.sampled_from(AGENCIES)),
        "region": region,
        "city": _city(region),
        "act_date": act,
        "act_month": act.strftime("%Y-%m") if act else None,
        "first_received_at": dt.datetime.combine(received, dt.time(3), dt.UTC),
        "report_lag_wd": lag,
        "reported_late": None if lag is None else lag > (7 if dataset in ("penalty", "license") else 20),
        "status": status,
        "effective": status not in ("03", "04", "05"),
        "fine_cents": draw(st.none() | st.integers(0, 5).map(lambda n: n * 10_000)),
        "major_decision": draw(st.none() | st.booleans()),
    }
    if dataset == "penalty":
        published = draw(st.none() | st.integers(0, 25))
        row.update(
            decision_date=act,
            filing_date=draw(st.none() | st.integers(60, 120).map(lambda n: act - dt.timedelta(days=n))),
            procedure_type=draw(st.sampled_from(("01", "02", "02", None))),
            published_date=None if published is None else act + dt.timedelta(days=published),
            publish=draw(st.sampled_from((None, True, True, False))),
            minor_involved=draw(st.sampled_from((None, False, False, True))),
            publicity_status=draw(st.sampled_from((None, "0", "1", "2"))),
        )
    if dataset == "coercion" and act is not None:
        held = draw(st.none() | st.integers(10, 80))
        row.update(
            coercion_type=draw(st.sampled_from(("01", "01", "02"))),
            measure=draw(st.sampled_from(("02", "03", "04"))),
            measure_start_date=act,
            extended=draw(st.none() | st.booleans()),
            release_date=None if held is None else act + dt.timedelta(days=held),
            closing_date=draw(st.none() | st.integers(30, 90).map(lambda n: act + dt.timedelta(days=n))),
        )
    return row


def _frame(rows: list[dict[str, Any]], first_id: int = 1) -> pl.DataFrame:
    full = []
    for n, row in enumerate(rows):
        full.append(
            {
                **dict.fromkeys(store.FACT_SCHEMA),
                **row,
                "record_id": first_id + n,
                "business_key": f"k{first_id + n}",
                "version_no": 1,
                "seq": first_id + n,
            }
        )
    return pl.DataFrame(full, schema=store.FACT_SCHEMA)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated hub database: SQLite, and PostgreSQL (the SQL of the fast path differs by dialect)."""
    from tests.servers import drop_pg_database, fresh_pg_database

    data = Path(tempfile.mkdtemp(prefix="enforcehub-derived-"))
    url = fresh_pg_database(request.getfixturevalue("pg_url")) if request.param == "postgresql" else None
    settings_ = Settings(data_dir=data, database_url=url) if url else Settings(data_dir=data)
    found = make_engine(settings_)
    migrate(settings_, found)
    yield found
    found.dispose()
    if url:
        drop_pg_database(url)
    shutil.rmtree(data, ignore_errors=True)


def _keep(engine: Engine, first: pl.DataFrame, changed: pl.DataFrame) -> pl.DataFrame:
    """Write `first` as new records, then replace some of them by `changed` (same ids), the way
    supervise.facts.apply_changes does; returns the facts now kept."""
    with write_transaction(engine) as conn:
        store.clear_supervision(conn)
        store.insert_facts(conn, first)
        derived.apply_derived(conn, first.clear(), first)
    with write_transaction(engine) as conn:
        ids = changed["record_id"].to_list()
        old = store.read_facts(conn, record_ids=ids)
        store.replace_facts(conn, record_ids=ids, facts=changed)
        derived.apply_derived(conn, old, changed)
    with read_transaction(engine) as conn:
        return store.read_facts(conn)


def _kept(engine: Engine, table: str) -> pl.DataFrame:
    with read_transaction(engine) as conn:
        return store.read_rollup_table(conn, table)


def _items(engine: Engine) -> pl.DataFrame:
    with read_transaction(engine) as conn:
        return store.read_timeliness(conn).sort("record_id", "kind")


def _check_tables(engine: Engine, facts: pl.DataFrame) -> None:
    city = _kept(engine, "supervision_city_rollups")
    assert city.equals(derived.city_rollups_from_facts(facts).select(city.columns))
    agency = _kept(engine, "supervision_agency_rollups")
    assert agency.equals(derived.agency_rollups_from_facts(facts).select(agency.columns))
    assert _items(engine).equals(derived.timeliness_items(facts).sort("record_id", "kind"))


def _build(engine: Engine, scope: Scope, params: dict[str, str], *, reference: bool) -> Page:
    load_pages()
    builder = PAGES["timeliness"].builder
    with read_transaction(engine) as conn:
        if reference:
            with patch.object(timeliness_page, "figures", timeliness_page.from_facts):
                return builder(conn, scope, params)
        return builder(conn, scope, params)


def _comparable(built: Page) -> dict[str, Any]:
    """The page as data; in the agency table the agency's name and city are left out (the reference
    takes the first it meets, the rollups the smallest code: they differ only for an agency whose
    records lie in several cities)."""
    found = dataclasses.asdict(built)
    for table in found["tables"]:
        if table["id"] == "agencies":
            table["rows"] = [
                {k: v for k, v in row.items() if k not in ("agency_name", "city", "city_name")}
                for row in table["rows"]
            ]
    return found


def _assert_same_page(engine: Engine, scope: Scope, params: dict[str, str]) -> None:
    fast = _build(engine, scope, params, reference=False)
    slow = _build(engine, scope, params, reference=True)
    assert _comparable(fast) == _comparable(slow), (scope.region_prefix, params)


months = st.tuples(st.integers(0, 8), st.integers(0, 8)).map(
    lambda p: tuple(f"{2024 + (8 + m) // 12}-{(8 + m) % 12 + 1:02d}" for m in (min(p), max(p)))
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(fact(), min_size=1, max_size=60),
    changes=st.lists(st.tuples(st.integers(0, 59), fact()), max_size=15),
    window=months,
    as_of=st.integers(0, DAYS + 40).map(lambda n: FIRST + dt.timedelta(days=n)),
    prefix=st.sampled_from((None, "4401", "4403", "4400", "44")),
    top=st.integers(1, 4),
)
def test_fast_path_equals_the_facts(
    engine: Engine,
    rows: list[dict[str, Any]],
    changes: list[tuple[int, dict[str, Any]]],
    window: tuple[str, str],
    as_of: dt.date,
    prefix: str | None,
    top: int,
) -> None:
    first = _frame(rows)
    replaced: dict[int, dict[str, Any]] = {}
    for index, row in changes:
        if index < len(rows):
            replaced[index + 1] = row
    changed = (
        pl.concat([_frame([row], first_id=i) for i, row in sorted(replaced.items())])
        if replaced
        else first.clear()
    )
    facts = _keep(engine, first, changed)
    _check_tables(engine, facts)
    params = {"month_from": window[0], "month_to": window[1], "as_of": as_of.isoformat()}
    with patch.object(timeliness_page, "TOP", top):  # short lists: ties at the cut are common
        _assert_same_page(engine, Scope("p", "supervisor", prefix), params)


def test_lists_take_ties_of_open_cases_across_a_holiday(engine: Engine) -> None:
    """Unpublished decisions of 2025-01-24 … 2025-02-05 reach as_of with the same lag in working
    days (春节 off days count none): with a list of one, every tie is a candidate and the smallest
    record id wins, as in the reference."""
    rows = []
    for n, offset in enumerate(range(0, 13)):
        decided = dt.date(2025, 1, 24) + dt.timedelta(days=offset)
        rows.append(
            {
                "dataset": "penalty",
                "agency_uscc": AGENCIES[n % 2],
                "region": "440103",
                "city": "440100",
                "act_date": decided,
                "act_month": decided.strftime("%Y-%m"),
                "decision_date": decided,
                "first_received_at": dt.datetime(2025, 2, 20, tzinfo=dt.UTC),
                "effective": True,
                "status": "01",
            }
        )
    facts = _keep(engine, _frame(rows[::-1]), _frame([]).clear())
    _check_tables(engine, facts)
    lags = facts.select(
        working_days_between(pl.col("decision_date"), pl.lit(dt.date(2025, 3, 3))).alias("lag")
    )["lag"]
    assert lags.n_unique() < lags.len()  # there are ties
    params = {"month_from": "2025-01", "month_to": "2025-02", "as_of": "2025-03-03"}
    for top in (1, 2, 5):
        with patch.object(timeliness_page, "TOP", top):
            _assert_same_page(engine, Scope("p", "supervisor", None), params)


def test_backfill_fills_the_tables_of_an_upgraded_hub(tmp_path: Path) -> None:
    """A hub at revision 0005 that already keeps facts: migrating fills the new tables from them."""
    from alembic import command

    from enforcehub.store.db import alembic_config

    settings_ = Settings(data_dir=tmp_path)
    engine = make_engine(settings_)
    try:
        config = alembic_config(settings_)
        with engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0005")
            conn.commit()
        example = _frame(
            [
                {
                    "dataset": "penalty",
                    "agency_uscc": AGENCIES[n % 3],
                    "region": REGIONS[n % 4],
                    "city": _city(REGIONS[n % 4]),
                    "act_date": FIRST + dt.timedelta(days=n * 3),
                    "act_month": (FIRST + dt.timedelta(days=n * 3)).strftime("%Y-%m"),
                    "decision_date": FIRST + dt.timedelta(days=n * 3),
                    "filing_date": FIRST - dt.timedelta(days=60 + n),
                    "procedure_type": "02",
                    "published_date": FIRST + dt.timedelta(days=n * 3 + n % 20) if n % 7 else None,
                    "first_received_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                    "report_lag_wd": n % 15,
                    "reported_late": n % 15 > 7,
                    "effective": True,
                    "status": "01",
                    "fine_cents": 10_000 * n,
                }
                for n in range(50)
            ]
        )
        with engine.begin() as conn:
            store.insert_facts(conn, example)
        with patch.object(derived, "BACKFILL_BATCH", 7):
            migrate(settings_, engine)
        _check_tables(engine, example)
        assert _kept(engine, "supervision_city_rollups").height > 0
    finally:
        engine.dispose()
