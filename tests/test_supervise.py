"""执法监督: the working-day calendar, facts and rollups kept from the change log, the supervision rules
against the planted synthetic cases (exact recall and precision), idempotence, and one run on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chinese_calendar
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, case, func, select

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.standard.registry import LawRegistry, chinese_numeral_to_int
from enforcehub.store import consumers as consumer_store
from enforcehub.store import supervision as store
from enforcehub.store.db import make_engine, migrate, read_transaction, write_transaction
from enforcehub.store.schema import supervision_facts
from enforcehub.supervise import calendar as cal
from enforcehub.supervise import facts as facts_module
from enforcehub.supervise.alerts import SYSTEM, close_alert, evaluate_alerts, list_alerts, reopen_alert
from enforcehub.supervise.kinds import Context, detect
from enforcehub.supervise.ruleset import RuleError, load_rules, parse_rule, rule_frame
from enforcehub.supervise.statutes import ceiling_cents, parse_amount, statutory_max_cents
from enforcehub.synth import generate, load_alert_truth
from tests.servers import run_cli

ADMIN = Principal(name="admin", role="admin")
ORDER = ("law", "matter", "agency", "officer", "counterparty", "penalty", "inspection", "coercion", "license")
SYNTH_TODAY = dt.date(2026, 6, 30)
D = dt.date


# --- the calendar --------------------------------------------------------------------------------------


def test_national_day_2024_with_its_adjusted_working_days() -> None:
    # 国庆 2024: 1–7 October off; Sunday 29 September and Saturday 12 October are working days.
    assert not any(cal.is_working_day(D(2024, 10, d)) for d in range(1, 8))
    assert cal.is_working_day(D(2024, 9, 29)) and cal.is_working_day(D(2024, 10, 12))
    assert cal.add_working_days(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert cal.add_working_days(D(2024, 10, 3), 1) == D(2024, 10, 8)  # counted from a holiday
    assert cal.count_working_days(D(2024, 9, 27), D(2024, 10, 8)) == 3  # 29 Sep, 30 Sep, 8 Oct
    assert cal.add_working_days(D(2024, 10, 8), -1) == D(2024, 9, 30)


def test_spring_festival_2025_with_working_saturday() -> None:
    # 春节 2025: 28 January – 4 February off; Sunday 26 January and Saturday 8 February are working days.
    assert not any(cal.is_working_day(D(2025, 1, 28) + dt.timedelta(days=i)) for i in range(8))
    assert cal.is_working_day(D(2025, 1, 26)) and cal.is_working_day(D(2025, 2, 8))
    assert cal.add_working_days(D(2025, 1, 24), 1) == D(2025, 1, 26)
    assert cal.add_working_days(D(2025, 1, 27), 1) == D(2025, 2, 5)
    assert cal.add_working_days(D(2025, 2, 5), 3) == D(2025, 2, 8)  # Thursday, Friday, Saturday
    # the 7-working-day publicity period of a decision on 2025-09-30 ends on 2025-10-16 (国庆 2025)
    assert cal.add_working_days(D(2025, 9, 30), 7) == D(2025, 10, 16)


def test_calendar_agrees_with_chinese_calendar_every_day() -> None:
    day = D(cal.FIRST_OFFICIAL_YEAR, 1, 1)
    while day.year <= cal.LAST_OFFICIAL_YEAR:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_years_without_a_holiday_notice_fall_back_to_weekends_and_say_so() -> None:
    later = D(cal.LAST_OFFICIAL_YEAR + 1, 1, 1)
    assert not cal.is_official(later) and cal.is_official(D(2025, 1, 1))
    assert cal.is_working_day(later) == (later.weekday() < 5)  # no 元旦 holiday known: weekday rule
    frame = pl.DataFrame({"d": [later, D(2025, 1, 1), None]})
    assert frame.select(cal.official(pl.col("d"))).to_series().to_list() == [False, True, None]


def test_vectorised_calendar_equals_the_scalar_one() -> None:
    rng = random.Random(5)
    starts = [D(2003, 1, 1) + dt.timedelta(days=rng.randrange(0, 9000)) for _ in range(3000)]
    ends = [s + dt.timedelta(days=rng.randrange(-40, 80)) for s in starts]
    counts = [rng.randrange(0, 25) for _ in starts]
    frame = pl.DataFrame({"a": starts, "b": ends, "n": counts}).with_columns(
        cal.working_days_between(pl.col("a"), pl.col("b")).alias("between"),
        cal.add_working_days_expr(pl.col("a"), pl.col("n")).alias("added"),
        cal.add_working_days_expr(pl.col("a"), 7).alias("seven"),
    )
    for a, b, n, between, added, seven in frame.iter_rows():
        assert between == cal.count_working_days(a, b)
        assert added == cal.add_working_days(a, n)
        assert seven == cal.add_working_days(a, 7)
        # a deadline of n working days after a is met by x exactly when x <= add_working_days(a, n)
        assert (b <= cal.add_working_days(a, n)) == (
            cal.count_working_days(a, b) < n
            or (cal.count_working_days(a, b) == n and cal.is_working_day(b))
            or b <= a
        )
    outside = pl.DataFrame({"a": [D(1900, 1, 1)], "b": [D(2025, 1, 1)]})
    assert outside.select(cal.working_days_between(pl.col("a"), pl.col("b"))).item() is None


# --- statutory fine ceilings ------------------------------------------------------------------------------


def test_amounts_in_statute_texts() -> None:
    assert parse_amount("五千") == 500_000
    assert parse_amount("二十万") == 20_000_000
    assert parse_amount("1万") == 1_000_000
    assert parse_amount("一万五千") == 1_500_000
    assert parse_amount("15000") == 1_500_000
    assert ceiling_cents(["处五千元以上五万元以下罚款"]) == 5_000_000
    assert ceiling_cents(["处货值金额十倍以上二十倍以下罚款"]) is None  # a multiple: unknown
    assert ceiling_cents(["责令改正，给予警告"]) is None  # no fine at all
    assert ceiling_cents(["违反本法第九条的，依照第四十二条处罚", "可以并处五千元以下的罚款"]) == 500_000


def test_ceiling_of_a_decision_follows_its_cited_articles_and_date() -> None:
    bases = pl.Series(
        [
            "《中华人民共和国价格法》第四十二条",
            "《中华人民共和国食品安全法》第三十四条第（十）项、第一百二十四条第一款第（五）项",
            "《中华人民共和国道路交通安全法》第九十条",
            "《不存在的条例》第三条",
            None,
        ]
    )
    days = pl.Series([D(2025, 1, 1)] * 5)
    assert statutory_max_cents(bases, days).to_list() == [500_000, None, 20_000, None, None]


# --- the rule files ----------------------------------------------------------------------------------------


def test_rule_files_are_valid_and_cite_real_articles() -> None:
    rules = load_rules()
    assert len(rules) >= 10
    registry = LawRegistry.load()
    for rule in rules.values():
        assert rule.title and rule.title_en and rule.description and rule.statistic and rule.limits
        for basis in rule.basis:
            name = registry.resolve_name(basis.law)
            if name is None:  # a policy document (国办发〔2018〕118号), not a statute
                assert "〔" in basis.law, (rule.id, basis.law)
                continue
            number = chinese_numeral_to_int(basis.article.removeprefix("第").removesuffix("条"))
            version = registry.in_force(name, D(2025, 6, 1))
            assert version is not None and version.article(number) is not None, (rule.id, basis)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("kind: record-condition\n", "unknown column"),
        ("kind: group-spread\n", "parameter"),
        ("kind: nearest-neighbour\n", "kind"),
        ("dataset: officer\n", "dataset"),
    ],
)
def test_bad_rule_files_are_refused_with_the_file_named(change: str, message: str) -> None:
    text = (Path(__file__).parents[1] / "src/enforcehub/supervise/rules/late-publicity.yaml").read_text(
        "utf-8"
    )
    key = change.split(":")[0]
    lines = [change.rstrip("\n") if line.startswith(f"{key}:") else line for line in text.splitlines()]
    if change.startswith("kind: record-condition"):
        lines.append("violation: {field: no_such_column, present: true}")
    with pytest.raises(RuleError) as raised:
        parse_rule("\n".join(lines), "late-publicity.yaml")
    assert "late-publicity.yaml" in raised.value.message_zh and message in str(raised.value.message_en)


# --- the textbook cases intake already refuses (facts built by hand) --------------------------------------


def _facts(rows: list[dict[str, Any]]) -> pl.DataFrame:
    base = {name: None for name in store.FACT_SCHEMA}
    full = [
        {
            **base,
            "record_id": i + 1,
            "dataset": "penalty",
            "business_key": f"k{i + 1}",
            "version_no": 1,
            "seq": i + 1,
            "effective": True,
            "first_received_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            **row,
        }
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=store.FACT_SCHEMA, orient="row")


def _keys(rule_id: str, rows: list[dict[str, Any]], as_of: dt.date = SYNTH_TODAY) -> list[str]:
    rule = load_rules()[rule_id]
    found = detect(rule, rule_frame(_facts(rows)), Context(as_of=as_of))
    return sorted(k for keys in found["record_keys"].to_list() for k in keys)


def test_record_rules_catch_what_intake_refuses_today() -> None:
    decided = D(2025, 3, 3)
    assert _keys(
        "major-decision-without-review",
        [
            {"major_decision": True, "decision_date": decided},  # k1: major, never reviewed
            {
                "major_decision": True,
                "decision_date": decided,
                "legal_review_date": D(2025, 3, 4),
            },  # k2: after
            {"major_decision": True, "decision_date": decided, "legal_review_date": decided},  # k3: fine
            {"major_decision": False, "decision_date": decided},  # k4: not major, no hearing
            {"major_decision": True, "decision_date": decided, "effective": False},  # k5: revoked
        ],
    ) == ["k1", "k2"]
    summary = {"procedure_type": "01", "penalty_kinds": "02"}
    assert _keys(
        "summary-procedure-beyond-limits",
        [
            {**summary, "counterparty_category": "自然人", "fine_cents": 50_000},  # k1: 500 元 to a citizen
            {**summary, "counterparty_category": "自然人", "fine_cents": 20_000},  # k2: 200 元, allowed
            {**summary, "counterparty_category": "法人及非法人组织", "fine_cents": 350_000},  # k3
            {**summary, "counterparty_category": "法人及非法人组织", "fine_cents": 300_000},  # k4
            {**summary, "counterparty_category": "法人及非法人组织", "penalty_kinds": "05"},  # k5: 吊销
            {
                **summary,
                "procedure_type": "02",
                "counterparty_category": "自然人",
                "fine_cents": 90_000,
            },  # k6
        ],
    ) == ["k1", "k3", "k5"]
    assert _keys(
        "too-few-officers-penalty",
        [
            {"procedure_type": "02", "officer_certs": "A", "officer_count": 1},  # no registry: 1 officer
            {"procedure_type": "02", "officer_certs": "A;B", "officer_count": 2},
            {"procedure_type": "01", "officer_certs": "A", "officer_count": 1},  # summary: exempt
            {"procedure_type": "02"},  # no officer at all
        ],
    ) == ["k1", "k4"]


def test_windows_merge_into_one_episode_per_counterparty() -> None:
    rows = [
        {"dataset": "inspection", "counterparty_category": "法人及非法人组织", "counterparty_code": "C1",
         "agency_uscc": agency, "city": "440100", "act_date": day}
        for agency, day in (
            ("A", D(2025, 1, 1)), ("B", D(2025, 1, 10)), ("C", D(2025, 1, 20)),  # k1–k3: a window
            ("D", D(2025, 2, 15)),  # k4: with B? no — with C and E within 30 days
            ("E", D(2025, 2, 18)),  # k5
            ("A", D(2025, 6, 1)), ("B", D(2025, 7, 1)), ("C", D(2025, 8, 1)),  # k6–k8: too far apart
        )
    ]  # fmt: skip
    rule = load_rules()["multi-agency-inspection"]
    found = detect(rule, rule_frame(_facts(rows)), Context(as_of=SYNTH_TODAY))
    assert [sorted(keys) for keys in found["record_keys"].to_list()] == [["k1", "k2", "k3", "k4", "k5"]]
    assert found["key"].to_list() == ["multi-agency-inspection:C1:2025-01-01"]


# --- a hub with the planted province --------------------------------------------------------------------


def _ingest_dir(ctx: HubContext, directory: Path, archive: Path) -> dict[str, dict[str, int]]:
    counts = {}
    for name in ORDER:
        path = directory / f"{name}.csv"
        blob = archive_bytes(archive, path.read_bytes())
        receipt = ingest(
            ctx, SubmissionRequest(dataset=name, blob=blob, fmt="csv", filename=path.name), ADMIN
        )
        counts[name] = receipt["counts"]
    return counts


_SUBMISSIONS = [0]


def _submit(ctx: HubContext, dataset: str, records: list[dict[str, Any]], archive: Path) -> dict[str, Any]:
    # Trailing blanks make every body's bytes new: the hub answers identical bytes with the earlier
    # receipt (invariant 3), also when they restore a record revoked in between.
    _SUBMISSIONS[0] += 1
    body = json.dumps({"records": records}, ensure_ascii=False).encode() + b" " * _SUBMISSIONS[0]
    blob = archive_bytes(archive, body)
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="json"), ADMIN)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("planted")
    generate(out, seed=7, scale=600, plant_alerts=True)
    return out


@pytest.fixture(scope="module")
def hub(planted: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubContext, Path]]:
    data = tmp_path_factory.mktemp("supervision-hub")
    settings = Settings(data_dir=data)
    engine = make_engine(settings)
    migrate(settings, engine)
    ctx = HubContext(engine, standard(), "test-hub", settings.region, settings.signing_secret)
    counts = _ingest_dir(ctx, planted, data / "archive")
    assert all(c["rejected"] == 0 for c in counts.values()), counts  # planted records pass intake
    yield ctx, data
    engine.dispose()


def _alerts(engine: Engine, rule: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    _, rows = list_alerts(engine, store.AlertFilter(rule=rule, status=status), limit=100_000)
    return rows


def _truth(planted: Path) -> set[tuple[str, tuple[str, ...]]]:
    return {(t["rule"], tuple(t["keys"])) for t in load_alert_truth(planted)}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def evaluated(hub: tuple[HubContext, Path]) -> HubContext:
    ctx, _ = hub
    evaluate_alerts(ctx.engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    return ctx


@pytest.mark.parametrize("rule_id", sorted(load_rules()))
def test_each_rule_finds_exactly_the_expected_alerts(
    evaluated: HubContext, planted: Path, rule_id: str
) -> None:
    expected = {keys for rule, keys in _truth(planted) if rule == rule_id}
    found = {tuple(sorted(a["record_keys"])) for a in _alerts(evaluated.engine, rule_id)}
    assert found == expected  # recall and precision 100%
    planted_positives = [t for t in load_alert_truth(planted) if t["rule"] == rule_id and t["planted"]]
    assert planted_positives, f"no planted case for {rule_id}"


def test_planted_near_misses_are_not_flagged(planted: Path) -> None:
    cases = [json.loads(line) for line in (planted / "alerts_planted.jsonl").read_text("utf-8").splitlines()]
    flagged = {(rule, key) for rule, keys in _truth(planted) for key in keys}
    assert {c["case"] for c in cases if not c["flagged"]} >= {
        "publicity-holidays",
        "seizure-30",
        "overdue-90",
    }
    for c in cases:
        assert ((c["rule"], c["key"]) in flagged) == c["flagged"], c


def test_alerts_carry_what_the_dashboard_needs(evaluated: HubContext) -> None:
    late = _alerts(evaluated.engine, "late-publicity")
    assert late and all(a["status"] == "open" and a["severity"] == "medium" for a in late)
    holidays = [a for a in late if a["detail"]["start"] == "2025-09-30"]
    assert holidays and holidays[0]["detail"]["deadline"] == "2025-10-16"  # 国庆: 16 days, 7 working days
    assert holidays[0]["detail"]["calendar"] == "official"
    one = late[0]
    assert one["record_id"] == one["record_ids"][0] and one["city"] and one["agency_uscc"]
    assert one["region"] and one["region"].startswith(one["city"][:4])
    city_prefix = one["city"][:4] if one["city"] != "440000" else one["region"]
    total, scoped = list_alerts(evaluated.engine, store.AlertFilter(region_prefix=city_prefix), limit=1000)
    assert 0 < total <= len(_alerts(evaluated.engine)) and all(
        a["region"].startswith(city_prefix) for a in scoped
    )
    spread = _alerts(evaluated.engine, "inconsistent-fines")[0]
    assert (
        spread["city"] == "440000" and spread["detail"]["ratio"] > 5 and len(spread["detail"]["units"]) >= 2
    )


def test_evaluate_is_idempotent_and_closed_alerts_stay_closed(
    hub: tuple[HubContext, Path], evaluated: HubContext
) -> None:
    ctx, data = hub
    before = _alerts(ctx.engine)
    again = evaluate_alerts(ctx.engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    assert all((r.opened, r.updated, r.closed, r.reopened) == (0, 0, 0, 0) for r in again.rules)
    assert _alerts(ctx.engine) == before

    target = next(a for a in before if a["rule"] == "decision-overdue")
    close_alert(ctx.engine, target["id"], by="监督员甲", note="经核查，已批准延长办案期限")
    evaluate_alerts(ctx.engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    kept = next(a for a in _alerts(ctx.engine) if a["id"] == target["id"])
    assert kept["status"] == "closed" and kept["closed_by"] == "监督员甲"
    assert len(_alerts(ctx.engine)) == len(before)  # no duplicate for the same finding

    # A corrected record: the alert is closed by the system, and opens again if the problem returns.
    seizure = next(a for a in before if a["rule"] == "seizure-overdue" and a["detail"]["open"])
    record = _current(ctx, "coercion", seizure["record_keys"][0])
    released = {**record, "release_date": "2026-05-01", "closing_date": "2026-05-01"}
    assert _submit(ctx, "coercion", [released], data / "archive")["counts"]["updated"] == 1
    evaluate_alerts(ctx.engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    closed = next(a for a in _alerts(ctx.engine) if a["id"] == seizure["id"])
    assert closed["status"] == "closed" and closed["closed_by"] == SYSTEM
    assert _submit(ctx, "coercion", [record], data / "archive")["counts"]["updated"] == 1
    evaluate_alerts(ctx.engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    reopened = next(a for a in _alerts(ctx.engine) if a["id"] == seizure["id"])
    assert reopened["status"] == "open" and reopened["closed_by"] is None
    # A person may reopen their own closure; the next evaluation keeps a still-detected alert open.
    reopen_alert(ctx.engine, target["id"], by="监督员甲")
    evaluate_alerts(ctx.engine, as_of=SYNTH_TODAY, standard=ctx.standard)
    assert next(a for a in _alerts(ctx.engine) if a["id"] == target["id"])["status"] == "open"


def _current(ctx: HubContext, dataset: str, key: str) -> dict[str, Any]:
    from enforcehub.store.feeds import current_data

    with read_transaction(ctx.engine) as conn:
        found = current_data(conn, dataset=dataset, keys=[key])[key]
    return {k: v for k, v in found.items() if v is not None}


def _sql_rollups(engine: Engine) -> pl.DataFrame:
    """The rollups as a GROUP BY over the facts table, in SQL (independent of the polars deltas)."""
    f = supervision_facts.c
    effective = case((f.effective, 1), else_=0)
    fined = case(((f.effective) & (func.coalesce(f.fine_cents, 0) > 0), 1), else_=0)
    query = select(
        f.dataset,
        func.coalesce(f.act_month, "").label("month"),
        func.coalesce(f.city, "").label("city"),
        func.coalesce(f.agency_uscc, "").label("agency_uscc"),
        func.count().label("records"),
        func.sum(effective).label("effective"),
        func.sum(case((f.reported_late == False, 1), else_=0)).label("reported_on_time"),  # noqa: E712
        func.sum(case((f.reported_late == True, 1), else_=0)).label("reported_late"),  # noqa: E712
        func.sum(fined).label("fined"),
        func.sum(case(((f.effective) & (func.coalesce(f.fine_cents, 0) > 0), f.fine_cents), else_=0)).label(
            "fines_cents"
        ),
        func.sum(case(((f.effective) & (f.major_decision == True), 1), else_=0)).label("major_decisions"),  # noqa: E712
    ).group_by(f.dataset, "month", "city", "agency_uscc")
    with read_transaction(engine) as conn:
        rows = [tuple(r) for r in conn.execute(query)]
    names = [*store.ROLLUP_KEY, *store.ROLLUP_MEASURES]
    schema = {n: pl.Utf8 if n in store.ROLLUP_KEY else pl.Int64 for n in names}
    return pl.DataFrame(rows, schema=schema, orient="row").sort(list(store.ROLLUP_KEY))


def _kept_rollups(engine: Engine) -> pl.DataFrame:
    with read_transaction(engine) as conn:
        return store.read_rollups(conn).sort(list(store.ROLLUP_KEY))


def _assert_derived_equal_the_facts(engine: Engine) -> None:
    """The dashboard's city and agency rollups and timeliness rows equal a from-scratch computation."""
    from enforcehub.supervise import derived

    with read_transaction(engine) as conn:
        facts = store.read_facts(conn)
        city = store.read_rollup_table(conn, "supervision_city_rollups")
        agency = store.read_rollup_table(conn, "supervision_agency_rollups")
        items = store.read_timeliness(conn).sort("record_id", "kind")
    assert city.equals(derived.city_rollups_from_facts(facts).select(city.columns))
    assert agency.equals(derived.agency_rollups_from_facts(facts).select(agency.columns))
    assert items.equals(derived.timeliness_items(facts).sort("record_id", "kind"))


def test_facts_replay_changes_nothing_and_rollups_equal_a_group_by(evaluated: HubContext) -> None:
    engine = evaluated.engine
    facts_module.refresh_facts(engine, evaluated.standard)
    with read_transaction(engine) as conn:
        before = store.read_facts(conn).sort("record_id")
    assert _kept_rollups(engine).equals(_sql_rollups(engine))
    # Replay the whole change log from 0: facts and rollups are unchanged.
    with write_transaction(engine) as conn:
        consumer_store.update_consumer(conn, "supervision", now=dt.datetime.now(dt.UTC), acked_seq=0)
    replay = facts_module.refresh_facts(engine, evaluated.standard, page_size=700)
    assert replay.pages > 1 and replay.facts == 0
    _assert_derived_equal_the_facts(engine)
    with read_transaction(engine) as conn:
        assert store.read_facts(conn).sort("record_id").equals(before)
    assert _kept_rollups(engine).equals(_sql_rollups(engine))
    # A rebuild from nothing gives the same facts (first receipt times come from the versions).
    rebuilt = facts_module.rebuild_facts(engine, evaluated.standard)
    assert rebuilt.facts == before.height
    with read_transaction(engine) as conn:
        assert store.read_facts(conn).sort("record_id").equals(before)
    assert _kept_rollups(engine).equals(_sql_rollups(engine))


def test_facts_hold_no_personal_id_numbers(evaluated: HubContext) -> None:
    with read_transaction(evaluated.engine) as conn:
        facts = store.read_facts(conn)
    people = facts.filter(pl.col("counterparty_category") == "自然人")
    assert people.height and people["counterparty_code"].null_count() == people.height


def test_alerts_cli(hub: tuple[HubContext, Path], evaluated: HubContext) -> None:
    _, data = hub
    result = run_cli("alerts", "evaluate", "--as-of", "2026-06-30", "--format", "json", "--data", str(data))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] == "2026-06-30"
    listed = run_cli("alerts", "list", "--rule", "late-publicity", "--format", "json", "--data", str(data))
    assert listed.returncode == 0, listed.stderr
    alert = json.loads(listed.stdout)["alerts"][0]
    closed = run_cli(
        "alerts",
        "close",
        str(alert["id"]),
        "--note",
        "已公示，数据回填",
        "--by",
        "cli-test",
        "--data",
        str(data),
    )
    assert closed.returncode == 0, closed.stderr
    shown = run_cli("alerts", "list", "--status", "closed", "--format", "json", "--data", str(data))
    assert any(
        a["id"] == alert["id"] and a["note"] == "已公示，数据回填" for a in json.loads(shown.stdout)["alerts"]
    )
    refused = run_cli("alerts", "close", str(alert["id"]), "--note", " ", "--data", str(data))
    assert refused.returncode == 2 and "alert-invalid" in refused.stderr


# --- rollups under any sequence of creates, updates and revocations --------------------------------------

_TEMPLATES: list[dict[str, Any]] = []


def _templates() -> list[dict[str, Any]]:
    """Valid penalties to mutate: 普通程序, fine only, effective (from a small clean province)."""
    if not _TEMPLATES:
        out = Path(tempfile.mkdtemp(prefix="supervise-templates-"))
        try:
            generate(out, seed=3, scale=80, datasets=["penalty"])
            frame = pl.read_csv(out / "penalty.csv", infer_schema=False)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        plain = frame.filter(
            (pl.col("procedure_type") == "普通程序")
            & (pl.col("penalty_kinds") == "罚款")
            & (pl.col("status") == "有效")
        )
        _TEMPLATES.extend(
            {k: v for k, v in row.items() if v is not None} for row in plain.head(6).iter_rows(named=True)
        )
    return _TEMPLATES


REGIONS = ("440103", "440304", "440604", "441302")
operation = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 5), st.integers(1, 900), st.sampled_from(REGIONS)),
    st.tuples(st.just("update"), st.integers(0, 9), st.integers(1, 900), st.sampled_from(REGIONS)),
    st.tuples(st.just("revoke"), st.integers(0, 9), st.just(0), st.just("")),
    st.tuples(st.just("restore"), st.integers(0, 9), st.just(0), st.just("")),
    st.tuples(st.just("refresh"), st.integers(1, 4), st.just(0), st.just("")),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=10))
def test_rollups_equal_a_group_by_after_any_changes(operations: list[tuple[str, int, int, str]]) -> None:
    data = Path(tempfile.mkdtemp(prefix="supervise-rollups-"))
    settings_ = Settings(data_dir=data)
    engine = make_engine(settings_)
    try:
        migrate(settings_, engine)
        ctx = HubContext(engine, standard(), "test-hub", settings_.region, settings_.signing_secret)
        records: list[dict[str, Any]] = []
        for kind, index, amount, region in operations:
            if kind == "create":
                record = dict(_templates()[index])
                record["decision_number"] = f"{record['decision_number']}-{len(records)}"
                records.append(record)
            elif kind == "refresh":
                facts_module.refresh_facts(engine, ctx.standard, page_size=index)
                continue
            elif not records:
                continue
            else:
                record = records[index % len(records)]
            if kind in ("create", "update"):
                record["fine_amount"] = str(amount * 100)
                record["penalty_content"] = f"罚款{amount * 100}元"
                record["region_code"] = region
            elif kind == "revoke":
                record.update(
                    status="撤销",
                    status_reason="经行政复议撤销",
                    publicity_status="撤销",
                    publicity_withdrawal_reason="原决定已撤销",
                )
            else:
                record.update(status="有效", publicity_status="正常")
                for name in ("status_reason", "publicity_withdrawal_reason"):
                    record.pop(name, None)
            receipt = _submit(ctx, "penalty", [record], data / "archive")
            assert receipt["counts"]["rejected"] == 0, receipt
        facts_module.refresh_facts(engine, ctx.standard, page_size=3)
        kept = _kept_rollups(engine)
        assert kept.equals(_sql_rollups(engine))
        with read_transaction(engine) as conn:
            facts = store.read_facts(conn)
        assert kept.equals(facts_module.rollups_from_facts(facts).select(kept.columns))
        _assert_derived_equal_the_facts(engine)
        assert facts.height == len(records)
        assert int(kept["effective"].sum() or 0) == sum(r.get("status") != "撤销" for r in records)
    finally:
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


# --- PostgreSQL ------------------------------------------------------------------------------------------


def test_planted_alerts_and_rollups_on_postgresql(pg_database: str, planted: Path, tmp_path: Path) -> None:
    settings_ = Settings(data_dir=tmp_path / "hub", database_url=pg_database)
    engine = make_engine(settings_)
    try:
        migrate(settings_, engine)
        ctx = HubContext(engine, standard(), "pg-hub", settings_.region, settings_.signing_secret)
        counts = _ingest_dir(ctx, planted, tmp_path / "archive")
        assert all(c["rejected"] == 0 for c in counts.values())
        first = evaluate_alerts(engine, as_of=SYNTH_TODAY, standard=ctx.standard)
        assert first.facts.facts > 0
        found = {(a["rule"], tuple(sorted(a["record_keys"]))) for a in _alerts(engine)}
        assert found == _truth(planted)
        again = evaluate_alerts(engine, as_of=SYNTH_TODAY, standard=ctx.standard)
        assert all((r.opened, r.updated, r.closed) == (0, 0, 0) for r in again.rules)
        assert _kept_rollups(engine).equals(_sql_rollups(engine))
        with read_transaction(engine) as conn:
            facts = store.read_facts(conn)
        assert _kept_rollups(engine).equals(
            facts_module.rollups_from_facts(facts).select(_kept_rollups(engine).columns)
        )
        _assert_derived_equal_the_facts(engine)
    finally:
        engine.dispose()


def test_migrations_create_exactly_the_supervision_tables(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from enforcehub.store.schema import metadata

    settings_ = Settings(data_dir=tmp_path)
    engine = make_engine(settings_)
    migrate(settings_, engine)
    mine = {
        "supervision_facts",
        "supervision_rollups",
        "supervision_city_rollups",
        "supervision_agency_rollups",
        "supervision_timeliness",
        "alerts",
    }
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()

    def table_of(diff: Any) -> str | None:
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:]:
            if isinstance(part, str):
                return part
            table = getattr(part, "table", None)
            name = table.name if table is not None else getattr(part, "name", None)
            if name:
                return str(name)
        return None

    assert [d for d in diffs if table_of(d) in mine] == []
