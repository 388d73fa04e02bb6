"""Publicity rules (reference 7.2–7.4): regimes at their boundaries, periods by severity, sector and kind,
市场监管, withdrawal, minors from the ID birth date, visibility windows, licences.

Expected dates are written out by hand from the rules (start + N months, the corresponding day), not
recomputed with the module's own arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcehub.share import publicity as pub
from enforcehub.share.publicity import PublicityConfig, publicity_columns
from enforcehub.validate.identifiers import ric_check_char

D = dt.date
ORG = "法人及非法人组织"
PERSON = "自然人"
MARKET = "01"  # agency_field 市场监管
ENVIRONMENT = "02"  # agency_field 生态环境

BASE: dict[str, str | None] = {
    "decision_date": "2023-06-15",
    "penalty_kinds": "02",
    "fine_amount": "50000.00",
    "credit_severity": None,
    "sector": None,
    "procedure_type": "02",
    "published_date": None,
    "publicity_end_date": None,
    "status": "01",
    "publicity_status": "0",
    "publish": "true",
    "minor_involved": "false",
    "counterparty_category": ORG,
    "id_type": None,
    "id_number": None,
    "agency_field": ENVIRONMENT,
}


def penalties(*rows: dict[str, Any]) -> pl.DataFrame:
    records = [BASE | row for row in rows]
    names = list(dict.fromkeys(name for record in records for name in record))
    return pl.DataFrame(
        [{name: record.get(name) for name in names} for record in records],
        schema={name: pl.Utf8 for name in names},
    )


def penalty(
    *, as_of: pub.AsOf | None = None, config: PublicityConfig = pub.DEFAULT_CONFIG, **row: Any
) -> dict[str, Any]:
    return publicity_columns(penalties(row), as_of=as_of, config=config).row(0, named=True)


def resident_id(born: dt.date, region: str = "440106", sequence: str = "123") -> str:
    first17 = region + born.strftime("%Y%m%d") + sequence
    return first17 + ric_check_char(first17)


def person(born: dt.date, **row: Any) -> dict[str, Any]:
    return {"counterparty_category": PERSON, "id_type": "111", "id_number": resident_id(born)} | row


# --- regimes at the switch-over dates (C1, C2) --------------------------------------------------------


@pytest.mark.parametrize(
    ("decided", "regime", "min_end", "max_end"),
    [
        # before 527号 took effect: its periods (C2); 一般 3 months – 1 year from the decision date
        ("2019-06-30", pub.REGIME_527, D(2019, 9, 30), D(2020, 6, 30)),
        ("2019-07-01", pub.REGIME_527, D(2019, 10, 1), D(2020, 7, 1)),
        ("2023-04-30", pub.REGIME_527, D(2023, 7, 30), D(2024, 4, 30)),
        # 令第58号: 3 months – 3 years
        ("2023-05-01", pub.REGIME_58, D(2023, 8, 1), D(2026, 5, 1)),
        ("2026-03-31", pub.REGIME_58, D(2026, 6, 30), D(2029, 3, 31)),  # 30 June: no 31st
        # 令第36号, 一般: 3 months – 1 year
        ("2026-04-01", pub.REGIME_36, D(2026, 7, 1), D(2027, 4, 1)),
    ],
)
def test_regime_boundaries(decided: str, regime: str, min_end: dt.date, max_end: dt.date) -> None:
    out = penalty(decision_date=decided)
    assert out["pub_regime"] == regime
    assert out["pub_severity"] == "02"
    assert (out["pub_start"], out["pub_min_end"], out["pub_max_end"]) == (
        D.fromisoformat(decided),
        min_end,
        max_end,
    )
    assert out["pub_public"] is True
    assert out["pub_reason"] is None


def test_regime_is_the_one_at_the_decision_date_even_when_published_later() -> None:
    out = penalty(decision_date="2023-04-28", published_date="2023-05-08")
    assert out["pub_regime"] == pub.REGIME_527
    assert out["pub_start"] == D(2023, 5, 8)
    assert out["pub_max_end"] == D(2024, 4, 28)  # counted from the decision under 527号


def test_input_publicity_end_date_is_not_trusted() -> None:
    out = penalty(decision_date="2024-01-10", publicity_end_date="2099-12-31")
    assert out["pub_max_end"] == D(2027, 1, 10)


def test_month_end_when_there_is_no_corresponding_day() -> None:
    assert penalty(decision_date="2023-11-30", credit_severity="01")["pub_min_end"] == D(2024, 2, 29)
    assert penalty(decision_date="2024-02-29")["pub_max_end"] == D(2027, 2, 28)


# --- severity and sector -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "min_end", "max_end"),
    [
        ("01", D(2020, 6, 1), D(2021, 3, 1)),  # 轻微 takes the 一般失信 periods under 527号 (C11)
        ("02", D(2020, 6, 1), D(2021, 3, 1)),
        ("03", D(2020, 9, 1), D(2023, 3, 1)),  # 严重失信: 6 months – 3 years
    ],
)
def test_527_periods_by_severity(severity: str, min_end: dt.date, max_end: dt.date) -> None:
    out = penalty(decision_date="2020-03-01", credit_severity=severity)
    assert (out["pub_min_end"], out["pub_max_end"], out["pub_public"]) == (min_end, max_end, True)


@pytest.mark.parametrize(
    ("sector", "min_end"),
    [
        ("01", D(2025, 3, 10)),  # 食品, 药品, 特种设备, 安全生产, 消防: at least 1 year
        ("02", D(2025, 3, 10)),
        ("03", D(2025, 3, 10)),
        ("04", D(2025, 3, 10)),
        ("05", D(2025, 3, 10)),
        ("99", D(2024, 6, 10)),
        (None, D(2024, 6, 10)),
    ],
)
def test_58_sector_minimum(sector: str | None, min_end: dt.date) -> None:
    out = penalty(decision_date="2024-03-10", sector=sector)
    assert (out["pub_min_end"], out["pub_max_end"]) == (min_end, D(2027, 3, 10))


def test_58_ignores_severity() -> None:
    serious = penalty(decision_date="2024-03-10", credit_severity="03")
    minor = penalty(decision_date="2024-03-10", credit_severity="01")
    for out in (serious, minor):
        assert (out["pub_min_end"], out["pub_max_end"], out["pub_public"]) == (
            D(2024, 6, 10),
            D(2027, 3, 10),
            True,
        )


def test_527_and_36_ignore_sector() -> None:
    assert penalty(decision_date="2021-03-10", sector="01")["pub_min_end"] == D(2021, 6, 10)
    assert penalty(decision_date="2026-05-10", sector="01")["pub_min_end"] == D(2026, 8, 10)


@pytest.mark.parametrize(
    ("severity", "public", "min_end", "max_end"),
    [
        ("01", False, D(2026, 5, 10), D(2026, 8, 10)),  # in principle not published; max 3 months
        ("02", True, D(2026, 8, 10), D(2027, 5, 10)),
        ("03", True, D(2027, 5, 10), D(2029, 5, 10)),
    ],
)
def test_36_periods_by_severity(severity: str, public: bool, min_end: dt.date, max_end: dt.date) -> None:
    out = penalty(decision_date="2026-05-10", credit_severity=severity)
    assert (out["pub_min_end"], out["pub_max_end"], out["pub_public"]) == (min_end, max_end, public)
    assert out["pub_reason"] == (None if public else pub.REASON_MINOR_SEVERITY)


def test_36_minor_severity_can_be_published_by_configuration() -> None:
    out = penalty(
        decision_date="2026-05-10", credit_severity="01", config=PublicityConfig(publish_minor_severity=True)
    )
    assert out["pub_public"] is True
    assert out["pub_max_end"] == D(2026, 8, 10)


@pytest.mark.parametrize(
    ("kinds", "procedure", "severity"),
    [
        ("01", "02", "01"),  # 警告 only
        ("08", "02", "01"),  # 通报批评 only
        ("01;08", "02", "01"),
        ("02", "01", "01"),  # 简易程序
        ("02", "02", "02"),
        ("03;09", "02", "02"),  # 没收 → 一般
        ("06", "02", "02"),  # 行政拘留 → 一般
        ("01;02", "02", "02"),
        ("05", "02", "03"),  # 吊销许可证件
        ("13", "02", "03"),  # 限制从业
        ("14", "02", "03"),  # 责令关闭
        ("04", "02", "03"),  # 责令停产停业
        ("10", "02", "03"),  # 降低资质等级
        ("12", "02", "03"),  # 限制开展生产经营活动
        ("01;14", "02", "03"),
    ],
)
def test_derived_severity(kinds: str, procedure: str, severity: str) -> None:
    assert (
        penalty(decision_date="2026-05-10", penalty_kinds=kinds, procedure_type=procedure)["pub_severity"]
        == severity
    )


def test_reported_severity_wins_over_the_kinds() -> None:
    out = penalty(decision_date="2026-05-10", penalty_kinds="05", credit_severity="02")
    assert out["pub_severity"] == "02"
    assert out["pub_max_end"] == D(2027, 5, 10)


def test_large_fine_threshold_is_configurable_and_off_by_default() -> None:
    row: dict[str, Any] = {"decision_date": "2026-05-10", "penalty_kinds": "02", "fine_amount": "5000000.00"}
    assert penalty(**row)["pub_severity"] == "02"
    assert penalty(**row, config=PublicityConfig(serious_fine_threshold=1_000_000))["pub_severity"] == "03"


@pytest.mark.parametrize(
    ("kinds", "max_end"),
    [
        ("01;05", D(2029, 5, 10)),  # 警告 + 吊销 → 严重 3 years
        ("01;02", D(2027, 5, 10)),  # 警告 + 罚款 → 一般 1 year, not 轻微
        ("08;13;02", D(2029, 5, 10)),
    ],
)
def test_several_kinds_take_the_longest_period(kinds: str, max_end: dt.date) -> None:
    out = penalty(decision_date="2026-05-10", penalty_kinds=kinds)
    assert out["pub_max_end"] == max_end
    assert out["pub_public"] is True


# --- 市场监管 (令第45号) ------------------------------------------------------------------------------


def market(**row: Any) -> dict[str, Any]:
    config = row.pop("config", pub.DEFAULT_CONFIG)
    return penalty(config=config, **({"agency_field": MARKET, "decision_date": "2022-03-01"} | row))


def test_market_counts_from_the_publication_date() -> None:
    out = market(published_date="2022-03-10", fine_amount="100000.00")
    assert out["pub_regime"] == pub.REGIME_MARKET
    assert out["pub_start"] == D(2022, 3, 10)
    assert out["pub_max_end"] == D(2025, 3, 10)
    assert out["pub_min_end"] == D(2025, 3, 10)  # no early stop configured (C7)


def test_market_not_yet_published_counts_from_the_decision() -> None:
    out = market(fine_amount="100000.00")
    assert (out["pub_start"], out["pub_max_end"]) == (D(2022, 3, 1), D(2025, 3, 1))


def test_market_warning_only_is_not_published() -> None:
    out = market(penalty_kinds="01", published_date="2022-03-10")
    assert out["pub_public"] is False
    assert out["pub_reason"] == pub.REASON_WARNING_ONLY_MARKET
    assert out["pub_max_end"] is None


def test_market_criticism_only_three_months() -> None:
    out = market(penalty_kinds="08", fine_amount=None, published_date="2022-03-10")
    assert (out["pub_public"], out["pub_max_end"]) == (True, D(2022, 6, 10))


@pytest.mark.parametrize(
    ("fine", "max_end"),
    [
        ("3000.00", D(2022, 6, 10)),
        ("2999.99", D(2022, 6, 10)),
        ("3000.01", D(2025, 3, 10)),
        (None, D(2025, 3, 10)),
    ],
)
def test_market_low_fine_threshold(fine: str | None, max_end: dt.date) -> None:
    assert market(fine_amount=fine, published_date="2022-03-10")["pub_max_end"] == max_end


def test_market_low_fine_threshold_per_party_type() -> None:
    config = PublicityConfig(market_low_fine_person=500.0, market_low_fine_other=20000.0)
    adult = person(D(1980, 1, 1))
    assert market(fine_amount="1000.00", config=config, **adult)["pub_max_end"] == D(2025, 3, 1)
    assert market(fine_amount="1000.00", config=config)["pub_max_end"] == D(2022, 6, 1)


@pytest.mark.parametrize(
    ("kinds", "fine", "max_end"),
    [
        ("01;02", "1000.00", D(2022, 6, 1)),  # 警告 + low fine → 3 months
        ("01;08", None, D(2022, 6, 1)),
        ("08;02", "100000.00", D(2025, 3, 1)),  # a high fine → 3 years
        ("02;03", "1000.00", D(2025, 3, 1)),  # low fine + 没收违法所得 → 3 years
        ("05", None, D(2025, 3, 1)),
    ],
)
def test_market_several_kinds_take_the_longest(kinds: str, fine: str | None, max_end: dt.date) -> None:
    out = market(penalty_kinds=kinds, fine_amount=fine)
    assert (out["pub_public"], out["pub_max_end"]) == (True, max_end)


def test_market_summary_procedure_is_not_published() -> None:
    out = market(procedure_type="01", fine_amount="100.00")
    assert (out["pub_public"], out["pub_reason"]) == (False, pub.REASON_SUMMARY_MARKET)


def test_market_comprehensive_agency_counts_as_market() -> None:
    assert market(agency_field="05;01")["pub_regime"] == pub.REGIME_MARKET
    assert market(agency_field="05")["pub_regime"] == pub.REGIME_527


def test_without_agency_field_nothing_is_market() -> None:
    frame = penalties({"decision_date": "2022-03-01", "penalty_kinds": "01"}).drop("agency_field")
    out = publicity_columns(frame).row(0, named=True)
    assert out["pub_regime"] == pub.REGIME_527
    assert out["pub_public"] is True


@pytest.mark.parametrize(
    ("decided", "regime"),
    [
        ("2021-08-31", pub.REGIME_527),
        ("2021-09-01", pub.REGIME_MARKET),
        ("2026-04-01", pub.REGIME_MARKET),  # C4: 令第45号 kept after 令第36号
    ],
)
def test_market_regime_from_2021_09_01(decided: str, regime: str) -> None:
    assert market(decision_date=decided)["pub_regime"] == regime


def test_market_early_stop_configurable_never_for_serious_kinds() -> None:
    config = PublicityConfig(market_early_stop_months=(1, 6))
    low = market(fine_amount="1000.00", config=config)
    high = market(fine_amount="100000.00", config=config)
    revoked = market(penalty_kinds="02;05", fine_amount="100000.00", config=config)
    assert (low["pub_min_end"], low["pub_max_end"]) == (D(2022, 4, 1), D(2022, 6, 1))
    assert (high["pub_min_end"], high["pub_max_end"]) == (D(2022, 9, 1), D(2025, 3, 1))
    assert revoked["pub_min_end"] == revoked["pub_max_end"] == D(2025, 3, 1)


# --- withdrawal and refusal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"status": "03"}, pub.REASON_REVOKED),
        ({"status": "04"}, pub.REASON_REVOKED),
        ({"status": "05"}, pub.REASON_REVOKED),
        ({"status": "02"}, None),  # 变更: the new version stays public
        ({"status": None}, None),
        ({"publicity_status": "1"}, pub.REASON_WITHDRAWN),
        ({"publicity_status": "2"}, pub.REASON_WITHDRAWN),
        ({"publicity_status": None}, None),
        ({"publish": "false"}, pub.REASON_NOT_PUBLISHED),
        ({"publish": None}, None),
        ({"minor_involved": "true"}, pub.REASON_MINOR),
        ({"minor_involved": "true", "status": "03", "publish": "false"}, pub.REASON_MINOR),  # priority
        ({"status": "03", "publicity_status": "1"}, pub.REASON_REVOKED),
    ],
)
def test_reasons(row: dict[str, Any], reason: str | None) -> None:
    out = penalty(**row)
    assert out["pub_reason"] == reason
    assert out["pub_public"] is (reason is None)


# --- minors from the ID birth date (C14) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("decided", "minor"),
    [
        ("2023-06-14", True),  # 17
        ("2023-06-15", True),  # the 18th birthday: 满18周岁 from the next day
        ("2023-06-16", False),
        ("2030-01-01", False),
    ],
)
def test_minor_at_the_decision_date(decided: str, minor: bool) -> None:
    out = penalty(decision_date=decided, **person(D(2005, 6, 15)))
    assert out["pub_public"] is not minor
    assert out["pub_reason"] == (pub.REASON_MINOR if minor else None)


def test_adult_on_birthday_is_configurable() -> None:
    config = PublicityConfig(adult_on_birthday=True)
    assert penalty(decision_date="2023-06-15", config=config, **person(D(2005, 6, 15)))["pub_public"] is True
    assert penalty(decision_date="2023-06-14", config=config, **person(D(2005, 6, 15)))["pub_public"] is False


@pytest.mark.parametrize(
    ("decided", "minor", "minor_if_birthday_counts"),
    [
        ("2022-02-27", True, True),
        ("2022-02-28", True, False),  # 29 Feb → 28 Feb in a common year
        ("2022-03-01", False, False),
    ],
)
def test_leap_day_birthday(decided: str, minor: bool, minor_if_birthday_counts: bool) -> None:
    party = person(D(2004, 2, 29))
    assert penalty(decision_date=decided, **party)["pub_public"] is not minor
    counted = PublicityConfig(adult_on_birthday=True)
    assert (
        penalty(decision_date=decided, config=counted, **party)["pub_public"] is not minor_if_birthday_counts
    )


def test_minor_only_derived_for_natural_persons_with_resident_ids() -> None:
    born = D(2010, 1, 1)
    assert penalty(**person(born, id_type="112"))["pub_reason"] == pub.REASON_MINOR
    assert penalty(**person(born, id_type="414"))["pub_public"] is True  # passport: no birth date
    assert penalty(**person(born, counterparty_category="个体工商户"))["pub_public"] is True
    assert penalty(**person(born, id_number="44010620101301123X"))["pub_public"] is True  # no 13th month


def test_legacy_15_digit_id_is_read_in_the_1900s() -> None:
    out = penalty(**person(D(1990, 1, 1), id_number="440106050615123"))  # 1905-06-15
    assert out["pub_public"] is True


def test_minor_judged_at_another_date() -> None:
    row = person(D(2005, 6, 15), decision_date="2023-07-01", violation_date="2023-06-01")
    assert penalty(**row)["pub_public"] is True
    config = PublicityConfig(minor_judged_at="violation_date")
    assert penalty(config=config, **row)["pub_public"] is False
    assert penalty(config=config, **(row | {"violation_date": None}))["pub_public"] is True  # falls back


# --- visibility ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "visible"),
    [
        (D(2024, 1, 9), False),  # decided, not yet published
        (D(2024, 1, 10), True),
        (D(2027, 1, 5), True),  # the last day (3 years from the decision)
        (D(2027, 1, 6), False),
    ],
)
def test_visible_window(as_of: dt.date, visible: bool) -> None:
    out = penalty(decision_date="2024-01-05", published_date="2024-01-10", as_of=as_of)
    assert out["pub_visible"] is visible


def test_as_of_forms() -> None:
    frame = penalties(
        {"decision_date": "2024-01-05", "snapshot": "2026-01-01"},
        {"decision_date": "2024-01-05", "snapshot": "2028-01-01"},
    )
    by_column = publicity_columns(frame, as_of="snapshot")["pub_visible"].to_list()
    by_expr = publicity_columns(frame, as_of=pl.col("snapshot").str.to_date())["pub_visible"].to_list()
    by_text = publicity_columns(frame, as_of="2026-01-01")["pub_visible"].to_list()
    assert by_column == by_expr == [True, False]
    assert by_text == [True, True]
    assert "pub_visible" not in publicity_columns(frame).columns
    with pytest.raises(ValueError, match="as_of"):
        publicity_columns(frame, as_of="yesterday")


def test_not_public_is_never_visible() -> None:
    assert penalty(status="03", as_of=D(2023, 7, 1))["pub_visible"] is False


def test_missing_decision_date() -> None:
    out = penalty(decision_date=None, as_of=D(2024, 1, 1))
    assert out["pub_regime"] is None
    assert (out["pub_start"], out["pub_max_end"], out["pub_visible"]) == (None, None, False)


def test_lazy_in_lazy_out_and_columns() -> None:
    lazy = publicity_columns(penalties({}).lazy(), as_of=D(2024, 1, 1))
    assert isinstance(lazy, pl.LazyFrame)
    schema = lazy.collect_schema()
    assert list(schema)[-8:] == [*pub.OUTPUT_COLUMNS, "pub_visible"]
    assert schema["pub_start"] == pl.Date
    assert schema["pub_public"] == pl.Boolean


def test_typed_date_columns_are_accepted() -> None:
    frame = penalties({}).with_columns(pl.col("decision_date").str.to_date())
    assert publicity_columns(frame)["pub_max_end"].to_list() == [D(2026, 6, 15)]


def test_errors() -> None:
    with pytest.raises(ValueError, match="penalty_kinds"):
        publicity_columns(pl.DataFrame({"decision_date": ["2024-01-01"]}))
    with pytest.raises(ValueError, match="inspection"):
        publicity_columns(penalties({}), dataset="inspection")


# --- licences (C15) ------------------------------------------------------------------------------------


def licences(*rows: dict[str, Any]) -> pl.DataFrame:
    base = {
        "decision_date": "2024-03-01",
        "valid_from": "2024-03-01",
        "valid_to": "2099-12-31",
        "current_status": "1",
        "status": "01",
        "publicity_status": None,
        "counterparty_category": ORG,
        "id_type": None,
        "id_number": None,
    }
    return pl.DataFrame([base | row for row in rows], schema=dict.fromkeys(base, pl.Utf8))


def licence(*, as_of: dt.date | None = None, **row: Any) -> dict[str, Any]:
    return publicity_columns(licences(row), dataset="license", as_of=as_of).row(0, named=True)


def test_licence_long_term_is_public_while_valid() -> None:
    out = licence(as_of=D(2090, 1, 1))
    assert out["pub_regime"] == pub.REGIME_LICENSE
    assert (out["pub_start"], out["pub_min_end"], out["pub_max_end"]) == (
        D(2024, 3, 1),
        None,
        D(2099, 12, 31),
    )
    assert (out["pub_public"], out["pub_visible"], out["pub_severity"]) == (True, True, None)


@pytest.mark.parametrize(
    ("as_of", "visible"),
    [(D(2024, 2, 29), False), (D(2024, 3, 1), True), (D(2025, 1, 1), True), (D(2025, 1, 2), False)],
)
def test_licence_window(as_of: dt.date, visible: bool) -> None:
    assert licence(valid_to="2025-01-01", as_of=as_of)["pub_visible"] is visible


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"current_status": "2"}, None),  # 暂扣: still a licence
        ({"current_status": "3"}, pub.REASON_LICENSE_ENDED),
        ({"current_status": "5"}, pub.REASON_LICENSE_ENDED),
        ({"current_status": "7"}, pub.REASON_LICENSE_ENDED),
        ({"status": "04"}, pub.REASON_REVOKED),
        ({"publicity_status": "2"}, pub.REASON_WITHDRAWN),
        (person(D(2010, 5, 5)), pub.REASON_MINOR),
        (person(D(1990, 5, 5)), None),
    ],
)
def test_licence_reasons(row: dict[str, Any], reason: str | None) -> None:
    out = licence(**row)
    assert (out["pub_reason"], out["pub_public"]) == (reason, reason is None)


# --- properties ----------------------------------------------------------------------------------------

KINDS = ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14"]


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4, unique=True),
    decided=st.dates(min_value=D(2018, 1, 1), max_value=D(2030, 12, 31)),
    published_after=st.integers(min_value=0, max_value=30),
    fine=st.sampled_from(["500.00", "3000.00", "80000.00"]),
    field=st.sampled_from([MARKET, ENVIRONMENT]),
    sector=st.sampled_from(["01", "05", "99", None]),
    procedure=st.sampled_from(["01", "02"]),
)
def test_several_kinds_end_with_the_longest_single_kind(
    kinds: list[str],
    decided: dt.date,
    published_after: int,
    fine: str,
    field: str,
    sector: str | None,
    procedure: str,
) -> None:
    common = {
        "decision_date": decided.isoformat(),
        "published_date": (decided + dt.timedelta(days=published_after)).isoformat(),
        "fine_amount": fine,
        "agency_field": field,
        "sector": sector,
        "procedure_type": procedure,
    }
    rows = [common | {"penalty_kinds": ";".join(kinds)}] + [common | {"penalty_kinds": k} for k in kinds]
    out = publicity_columns(penalties(*rows))
    combined, singles = out.row(0, named=True), out.slice(1).to_dicts()
    ends = [s["pub_max_end"] for s in singles if s["pub_max_end"] is not None]
    assert combined["pub_max_end"] == (max(ends) if ends else None)
    for row in out.to_dicts():
        assert row["pub_public"] is (row["pub_reason"] is None)
        if row["pub_max_end"] is not None:
            assert row["pub_start"] <= row["pub_max_end"]
            assert row["pub_min_end"] <= row["pub_max_end"]
