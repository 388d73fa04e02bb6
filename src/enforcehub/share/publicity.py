"""Publicity (公示) of penalty and licence records: regime, period, whether and when a record may be public.

Pure, vectorised polars: every rule is an expression over the stored (canonical) columns, so the same
code serves a one-record API call and a ten-million-row export. Reference: enforcement-data.md sections
3 (双公示), 5.2 (ID number → birth date), 6.1, 7.1–7.4.

`publicity_columns(frame, dataset="penalty"|"license", as_of=...)` adds these columns (inputs untouched):

- `pub_regime` (str): the instrument that governs the period: `发改办财金〔2019〕527号`,
  `国家发展改革委令第58号`, `国家发展改革委令第36号`, `市场监管总局令第45号`; licences: `行政许可法第四十条`.
- `pub_severity` (str): the 失信严重程度 code used (01 轻微, 02 一般, 03 严重): the reported one, else derived
  from the penalty kinds (choice C10); null for licences.
- `pub_start` (date): publication start: `published_date` when present, else `decision_date`; licences:
  `decision_date`.
- `pub_min_end` (date): earliest end through 信用修复 (最短公示期); null when there is none.
- `pub_max_end` (date): automatic end (最长公示期); licences: `valid_to`. Never read from the input
  `publicity_end_date` (reference 3.2 #25, 7.2: compute it).
- `pub_public` (bool): whether the record may be public at all (independent of the date).
- `pub_reason` (str): why not (a stable code, see REASONS); null when public.
- `pub_visible` (bool, only when `as_of` is given): `pub_public` and `pub_start <= as_of <= pub_max_end`.

Facts (no mark in the reference):

- 527号: 一般 3 months–1 year, 严重 6 months–3 years; 令第58号: 3 months–3 years, at least 1 year for
  食品/药品/特种设备/安全生产/消防; 令第36号: 轻微 in principle not published (max 3 months), 一般 3
  months–1 year, 严重 1–3 years.
- 市场监管 (令第45号, from 2021-09-01): only 普通程序 penalties are published; 仅警告 not; 仅通报批评 or
  较低数额罚款 3 months; others 3 years; counted from the publication date.
- Record status 撤销/确认违法/确认无效 and 公示状态 撤销/删除 end publication (行政处罚法 Art. 48, ref. 7.3);
  cases involving minors are not published (ref. 7.4).

Choices where the reference is [uncertain] or silent (each is a constant or a PublicityConfig field):

- C1 Switch-overs: the regime in force at the decision date governs, even when the record is published
  or still public after a later regime took effect.
- C2 Before 2019-07-01 no instrument is known: 527号 periods apply (the earliest known rule; it governed
  the records already public when it took effect). Its end is the day before 令第58号 (ref. 7.2 infers it).
- C3 市场监管 = the agency registry's (multi-valued) `agency_field` contains a code of
  `config.market_fields` (default "01" 市场监管), so a 综合执法 body with 市场监管 among its fields counts as
  market regulation: the hub cannot tell the field of each decision. 令第45号 governs such decisions from
  2021-09-01; earlier ones follow the general regime of their date. Without `agency_field` nothing is market.
- C4 市场监管 after 2025-12-25 (《市场监督管理信用修复管理办法》, details unknown): 令第45号 periods kept.
- C5 较低数额罚款 (set by the provincial 市场监管, Guangdong's value unknown): fine <= 3,000 元 for every
  party type, the only statutory "small fine" in the reference (行政处罚法 Art. 51, organisations); separately
  configurable for 自然人 and others. A 罚款 kind without an amount is not "low" (3 years).
- C6 市场监管 periods start at `published_date`; before it is known, the decision date stands in (an
  estimate, corrected once the hub records the publication).
- C7 市场监管 minimum (early stop, Art. 14): its months are not in the reference, so min = max unless
  `config.market_early_stop_months` is set; never earlier for the kinds in `config.market_no_early_stop`.
- C8 市场监管 restrictions longer than 3 years (限制开展生产经营活动, 限制从业) → the actual restriction: not
  implemented; no reliable element holds the restriction period (`penalty_valid_until` semantics are
  [uncertain] and the standard forbids deriving publicity from it), so 3 years apply.
- C9 Several penalty kinds → the longest period: under 令第45号 per kind (警告 none, 通报批评 and a low fine
  3 months, anything else 3 years), maximum taken; under the others through the severity (C10).
- C10 Severity when `credit_severity` is empty: 严重 when a kind is in `config.serious_kinds`
  (04 责令停产停业, 05 吊销许可证件, 10 降低资质等级, 12 限制开展生产经营活动, 13 限制从业, 14 责令关闭: the
  令第36号 examples and the 令第45号 Art. 14 list of serious penalties) or the fine reaches
  `config.serious_fine_threshold` (巨额罚款; unknown, off by default); 轻微 when every kind is
  警告/通报批评, or the 简易程序 was used (令第36号 examples); otherwise 一般 (so 行政拘留, 没收, 其他 are
  一般). A reported `credit_severity` wins over the derivation, even when the kinds look more serious.
- C11 527号 knows two tiers: 轻微 takes the 一般失信 periods.
- C12 令第58号 ignores severity; `sector` empty = 其他 (no derivation from the agency's field).
- C13 令第36号: periods from the decision date (its start date is unknown); 轻微 is not public
  (`config.publish_minor_severity` overrides) and has no minimum (min end = start); sector is ignored.
- C14 Minority is judged at the decision date (`config.minor_judged_at` names another date column, e.g.
  violation_date, with the decision date as fallback). Age in 周岁 per 民法典 Arts. 201–202 and the judicial
  rule 从周岁生日的第二天起算: a person is an adult from the day after the 18th birthday, and a 29 February
  birthday falls on 28 February in common years (no corresponding day → month end). So a party deciding
  on its 18th birthday is still a minor (`config.adult_on_birthday` counts the birthday itself). Derived
  only for a 自然人 with a resident ID (id_type 111/112; 15-digit numbers read as 19YYMMDD); an unreadable
  birth date makes no minor (the resident-id rule rejects it). `minor_involved` = true always excludes.
- C15 Licences: public from the decision date to `valid_to` inclusive (2099-12-31 = long term); no
  credit-repair period (min end null); 当前状态 1 有效 and 2 暂扣 are public (a suspended licence has not
  ended), 3–7 (撤回, 撤销, 吊销, 注销, 届满失效) are not. Record/publicity status and minors as for penalties.
- C16 Periods: end = start + N months, the corresponding day (month end when none, 民法典 Art. 202),
  inclusive. A missing decision date gives null dates and `pub_visible` false.
- C17 Empty fields: status = 01 有效 (02 变更 stays public in its new version), publicity_status = 0,
  publish = true, minor_involved = false. Only one reason is reported, by priority: minor, not-published,
  revoked, withdrawn, warning-only-market, summary-procedure-market, minor-severity, license-ended.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import polars as pl
import polars.selectors as cs

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
AsOf = dt.date | str | pl.Expr

# --- instruments and their dates (reference 7.2) --------------------------------------------------

REGIME_527: Final = "发改办财金〔2019〕527号"
REGIME_58: Final = "国家发展改革委令第58号"
REGIME_36: Final = "国家发展改革委令第36号"
REGIME_MARKET: Final = "市场监管总局令第45号"
REGIME_LICENSE: Final = "行政许可法第四十条"
REGIMES: Final = (REGIME_527, REGIME_58, REGIME_36, REGIME_MARKET, REGIME_LICENSE)

START_58: Final = dt.date(2023, 5, 1)
START_36: Final = dt.date(2026, 4, 1)
START_MARKET: Final = dt.date(2021, 9, 1)

# --- reasons a record may not be public (stable codes, in priority order) -------------------------

REASON_MINOR: Final = "minor"
REASON_NOT_PUBLISHED: Final = "not-published"
REASON_REVOKED: Final = "revoked"
REASON_WITHDRAWN: Final = "withdrawn"
REASON_WARNING_ONLY_MARKET: Final = "warning-only-market"
REASON_SUMMARY_MARKET: Final = "summary-procedure-market"
REASON_MINOR_SEVERITY: Final = "minor-severity"
REASON_LICENSE_ENDED: Final = "license-ended"
REASONS: Final = (
    REASON_MINOR,
    REASON_NOT_PUBLISHED,
    REASON_REVOKED,
    REASON_WITHDRAWN,
    REASON_WARNING_ONLY_MARKET,
    REASON_SUMMARY_MARKET,
    REASON_MINOR_SEVERITY,
    REASON_LICENSE_ENDED,
)

OUTPUT_COLUMNS: Final = (
    "pub_regime",
    "pub_severity",
    "pub_start",
    "pub_min_end",
    "pub_max_end",
    "pub_public",
    "pub_reason",
)
VISIBLE_COLUMN: Final = "pub_visible"

# --- codes of the standard (codesets.yaml) --------------------------------------------------------

NATURAL_PERSON: Final = "自然人"
RESIDENT_ID_TYPES: Final = ("111", "112")
WARNING, FINE, CRITICISM = "01", "02", "08"
SUMMARY_PROCEDURE: Final = "01"
SEVERITY_MINOR, SEVERITY_GENERAL, SEVERITY_SERIOUS = "01", "02", "03"
SEVERITIES: Final = (SEVERITY_MINOR, SEVERITY_GENERAL, SEVERITY_SERIOUS)
STRICT_SECTORS: Final = ("01", "02", "03", "04", "05")  # 食品 药品 特种设备 安全生产 消防 (令第58号)
REVOKED_STATUSES: Final = ("03", "04", "05")  # 撤销 确认违法 确认无效
WITHDRAWN_PUBLICITY: Final = ("1", "2")  # 撤销 删除
PUBLIC_LICENSE_STATUSES: Final = ("1", "2")  # 有效 暂扣

_TMP = "__pub_"


@dataclass(frozen=True)
class PublicityConfig:
    """The configurable choices of the module docstring (C3, C5, C7, C10, C13, C14)."""

    market_fields: tuple[str, ...] = ("01",)
    market_low_fine_person: float = 3000.0
    market_low_fine_other: float = 3000.0
    market_early_stop_months: tuple[int, int] | None = None  # (low-fine/通报批评, others)
    market_no_early_stop: tuple[str, ...] = ("04", "05", "10", "12", "13", "14")
    serious_kinds: tuple[str, ...] = ("04", "05", "10", "12", "13", "14")
    minor_kinds: tuple[str, ...] = (WARNING, CRITICISM)
    summary_procedure_is_minor: bool = True
    serious_fine_threshold: float | None = None
    publish_minor_severity: bool = False
    minor_judged_at: str = "decision_date"
    adult_age: int = 18
    adult_on_birthday: bool = False


DEFAULT_CONFIG: Final = PublicityConfig()


# --- typed access to canonical string columns -----------------------------------------------------


class _Columns:
    """Typed expressions over the stored columns; an absent optional column reads as null."""

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema

    def has(self, name: str) -> bool:
        return name in self.schema

    def text(self, name: str) -> pl.Expr:
        if not self.has(name):
            return pl.lit(None, dtype=pl.Utf8)
        return pl.col(name).cast(pl.Utf8).str.strip_chars()

    def date(self, name: str) -> pl.Expr:
        if not self.has(name):
            return pl.lit(None, dtype=pl.Date)
        dtype = self.schema[name]
        if dtype == pl.Date:
            return pl.col(name)
        if isinstance(dtype, pl.Datetime):
            return pl.col(name).dt.date()
        return self.text(name).str.to_date("%Y-%m-%d", strict=False)

    def flag(self, name: str) -> pl.Expr:
        if not self.has(name):
            return pl.lit(None, dtype=pl.Boolean)
        if self.schema[name] == pl.Boolean:
            return pl.col(name)
        value = self.text(name).str.to_lowercase()
        return pl.when(value == "true").then(True).when(value == "false").then(False).otherwise(None)

    def number(self, name: str) -> pl.Expr:
        if not self.has(name):
            return pl.lit(None, dtype=pl.Float64)
        return pl.col(name).cast(pl.Float64, strict=False)

    def codes(self, name: str) -> pl.Expr:
        """A multi-valued code column as stored: codes joined by ';' (tested with regexes, below)."""
        return self.text(name)


def _months_after(start: pl.Expr, months: pl.Expr) -> pl.Expr:
    """start + N months: the corresponding day, or the month end when there is none (民法典 Art. 202)."""
    return start.dt.offset_by(pl.format("{}mo", months))


def _alternation(wanted: Sequence[str]) -> str:
    return r"\s*(?:" + "|".join(re.escape(code) for code in wanted) + r")\s*"


def _any_in(codes: pl.Expr, wanted: Sequence[str]) -> pl.Expr:
    """True when one of the ';'-joined codes is one of `wanted` (regexes beat list ops 3–5 times)."""
    return codes.str.contains(f"(?:^|;){_alternation(wanted)}(?:;|$)")


def _all_in(codes: pl.Expr, wanted: Sequence[str]) -> pl.Expr:
    """True when there is at least one code and every one of the ';'-joined codes is one of `wanted`."""
    item = _alternation(wanted)
    return codes.str.contains(f"^{item}(?:;{item})*$")


# --- shared building blocks -----------------------------------------------------------------------


def birth_date(id_number: pl.Expr) -> pl.Expr:
    """The birth date in a resident ID number (GB 11643, reference 5.2); null when unreadable.

    18 characters: positions 7–14 `YYYYMMDD`; legacy 15 digits: positions 7–12 `YYMMDD` in the 1900s.
    """
    value = id_number.cast(pl.Utf8).str.strip_chars()
    length = value.str.len_chars()
    digits = (
        pl.when(length == 18)
        .then(value.str.slice(6, 8))
        .when(length == 15)
        .then(pl.lit("19") + value.str.slice(6, 6))
        .otherwise(None)
    )
    return digits.str.to_date("%Y%m%d", strict=False)


def minor_party(schema: pl.Schema | Sequence[str], config: PublicityConfig = DEFAULT_CONFIG) -> pl.Expr:
    """True when the record's party is (or the case involves) a minor (reference 7.4, choice C14).

    `schema` is the frame's schema (or its column names, all read as canonical strings). Never null.
    """
    columns = _Columns(_as_schema(schema))
    return _minor(columns, config)


def _as_schema(schema: pl.Schema | Sequence[str]) -> pl.Schema:
    if isinstance(schema, pl.Schema):
        return schema
    return pl.Schema({name: pl.Utf8 for name in schema})


def _minor(columns: _Columns, config: PublicityConfig) -> pl.Expr:
    decided = columns.date("decision_date")
    judged = columns.date(config.minor_judged_at).fill_null(decided)
    # the 18th birthday; offset_by clamps 29 February to 28 February in a common year (民法典 Art. 202)
    birthday = birth_date(columns.text("id_number")).dt.offset_by(f"{config.adult_age}y")
    young = (judged < birthday) if config.adult_on_birthday else (judged <= birthday)
    derived = (
        (columns.text("counterparty_category") == NATURAL_PERSON)
        & columns.text("id_type").is_in(list(RESIDENT_ID_TYPES))
        & young
    )
    return (columns.flag("minor_involved").fill_null(False) | derived.fill_null(False)).alias("minor")


def _as_of(as_of: AsOf, columns: _Columns) -> pl.Expr:
    if isinstance(as_of, pl.Expr):
        return as_of.cast(pl.Date)
    if isinstance(as_of, dt.datetime):
        return pl.lit(as_of.date(), dtype=pl.Date)
    if isinstance(as_of, dt.date):
        return pl.lit(as_of, dtype=pl.Date)
    if columns.has(as_of):
        return columns.date(as_of)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
        return pl.lit(dt.date.fromisoformat(as_of), dtype=pl.Date)
    raise ValueError(f"as_of {as_of!r} is neither a column of the frame nor an ISO date")


def visible(as_of: dt.date | pl.Expr) -> pl.Expr:
    """`pub_visible` over the output columns: public and as_of within [pub_start, pub_max_end]."""
    day = as_of.cast(pl.Date) if isinstance(as_of, pl.Expr) else pl.lit(as_of, dtype=pl.Date)
    inside = (day >= pl.col("pub_start")) & (day <= pl.col("pub_max_end"))
    return (pl.col("pub_public") & inside).fill_null(False).alias(VISIBLE_COLUMN)


def _require(columns: _Columns, names: Sequence[str], dataset: str) -> None:
    missing = [name for name in names if not columns.has(name)]
    if missing:
        raise ValueError(f"{dataset} publicity needs the column(s) {', '.join(missing)}")


def _withdrawal(columns: _Columns) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(not published, revoked, withdrawn) flags, never null."""
    # 敏感数据标识: the record must be processed before it may be published, which only its agency can
    # do (a redacted resubmission with sensitive = false): the hub keeps it unpublished (fails closed).
    sensitive = columns.flag("sensitive").fill_null(False)
    not_published = columns.flag("publish").fill_null(True).not_() | sensitive
    revoked = columns.text("status").is_in(list(REVOKED_STATUSES)).fill_null(False)
    withdrawn = columns.text("publicity_status").is_in(list(WITHDRAWN_PUBLICITY)).fill_null(False)
    return not_published, revoked, withdrawn


def _finish(lazy: pl.LazyFrame, columns: _Columns, as_of: AsOf | None) -> pl.LazyFrame:
    added = list(OUTPUT_COLUMNS)
    if as_of is not None:
        lazy = lazy.with_columns(visible(_as_of(as_of, columns)))
        added.append(VISIBLE_COLUMN)
    return lazy.select(~cs.starts_with(_TMP) - cs.by_name(added), *added)


def _run(frame: FrameT, build: pl.LazyFrame) -> FrameT:
    if isinstance(frame, pl.DataFrame):
        return build.collect()
    return build


# --- penalties ------------------------------------------------------------------------------------


def penalty_publicity(
    frame: FrameT, *, as_of: AsOf | None = None, config: PublicityConfig = DEFAULT_CONFIG
) -> FrameT:
    """Add the publicity columns (module docstring) to penalty rows.

    Needs `decision_date` and `penalty_kinds`; reads, when present, published_date, credit_severity,
    sector, procedure_type, fine_amount, status, publicity_status, publish, minor_involved,
    counterparty_category, id_type, id_number and `agency_field` (the agency registry's 执法领域 codes,
    joined by ';'). `as_of`: a date, an ISO date string, a column name or a date expression; without it
    `pub_visible` is not added.
    """
    columns = _Columns(frame.collect_schema())
    _require(columns, ("decision_date", "penalty_kinds"), "penalty")
    t = {
        name: pl.col(_TMP + name) for name in ("d", "kinds", "market", "base", "max", "min", "low", "summary")
    }

    decided = columns.date("decision_date")
    kinds = columns.codes("penalty_kinds")
    person = (columns.text("counterparty_category") == NATURAL_PERSON).fill_null(False)
    market = _any_in(columns.codes("agency_field"), config.market_fields).fill_null(False) & (
        decided >= START_MARKET
    ).fill_null(False)
    summary = (columns.text("procedure_type") == SUMMARY_PROCEDURE).fill_null(False)
    fine = columns.number("fine_amount")
    low_limit = pl.when(person).then(config.market_low_fine_person).otherwise(config.market_low_fine_other)

    stage1 = frame.lazy().with_columns(
        decided.alias(_TMP + "d"),
        kinds.alias(_TMP + "kinds"),
        market.alias(_TMP + "market"),
        (fine <= low_limit).fill_null(False).alias(_TMP + "low"),
        _severity(columns, kinds, fine, summary, config).alias("pub_severity"),
        _minor(columns, config).alias(_TMP + "minor"),
        summary.alias(_TMP + "summary"),
    )

    regime = (
        pl.when(t["d"].is_null())
        .then(pl.lit(None, dtype=pl.Utf8))
        .when(t["market"])
        .then(pl.lit(REGIME_MARKET))
        .when(t["d"] >= START_36)
        .then(pl.lit(REGIME_36))
        .when(t["d"] >= START_58)
        .then(pl.lit(REGIME_58))
        .otherwise(pl.lit(REGIME_527))
    )
    start = pl.coalesce(columns.date("published_date"), t["d"])
    stage2 = stage1.with_columns(
        regime.alias("pub_regime"),
        start.alias("pub_start"),
        pl.when(t["market"]).then(start).otherwise(t["d"]).alias(_TMP + "base"),
    )

    max_months, min_months = _penalty_months(t["kinds"], t["low"], columns, config)
    stage3 = stage2.with_columns(max_months.alias(_TMP + "max"), min_months.alias(_TMP + "min")).with_columns(
        _months_after(t["base"], t["min"]).alias("pub_min_end"),
        _months_after(t["base"], t["max"]).alias("pub_max_end"),
    )

    not_published, revoked, withdrawn = _withdrawal(columns)
    warning_only = _all_in(t["kinds"], (WARNING,)).fill_null(False)
    minor_severity = (pl.col("pub_regime") == REGIME_36) & (pl.col("pub_severity") == SEVERITY_MINOR)
    reason = (
        pl.when(pl.col(_TMP + "minor"))
        .then(pl.lit(REASON_MINOR))
        .when(not_published)
        .then(pl.lit(REASON_NOT_PUBLISHED))
        .when(revoked)
        .then(pl.lit(REASON_REVOKED))
        .when(withdrawn)
        .then(pl.lit(REASON_WITHDRAWN))
        .when(t["market"] & warning_only)
        .then(pl.lit(REASON_WARNING_ONLY_MARKET))
        .when(t["market"] & t["summary"])
        .then(pl.lit(REASON_SUMMARY_MARKET))
        .when(minor_severity.fill_null(False) & pl.lit(not config.publish_minor_severity))
        .then(pl.lit(REASON_MINOR_SEVERITY))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    )
    stage4 = stage3.with_columns(reason.alias("pub_reason")).with_columns(
        pl.col("pub_reason").is_null().alias("pub_public")
    )
    return _run(frame, _finish(stage4, columns, as_of))


def _severity(
    columns: _Columns, kinds: pl.Expr, fine: pl.Expr, summary: pl.Expr, config: PublicityConfig
) -> pl.Expr:
    """The reported 失信严重程度, else the one derived from kinds, fine and procedure (choice C10)."""
    reported = columns.text("credit_severity")
    serious = _any_in(kinds, config.serious_kinds).fill_null(False)
    if config.serious_fine_threshold is not None:
        serious = serious | (fine >= config.serious_fine_threshold).fill_null(False)
    minor = _all_in(kinds, config.minor_kinds).fill_null(False)
    if config.summary_procedure_is_minor:
        minor = minor | summary
    derived = (
        pl.when(serious)
        .then(pl.lit(SEVERITY_SERIOUS))
        .when(minor)
        .then(pl.lit(SEVERITY_MINOR))
        .otherwise(pl.lit(SEVERITY_GENERAL))
    )
    return pl.when(reported.is_in(list(SEVERITIES))).then(reported).otherwise(derived)


def _penalty_months(
    kinds: pl.Expr, low_fine: pl.Expr, columns: _Columns, config: PublicityConfig
) -> tuple[pl.Expr, pl.Expr]:
    """(maximum, minimum) months of the record's regime; null maximum when there is no period."""
    regime = pl.col("pub_regime")
    severity = pl.col("pub_severity")
    strict_sector = columns.text("sector").is_in(list(STRICT_SECTORS)).fill_null(False)

    # 令第45号, per kind (C9): 警告 none; 通报批评 and a low fine 3 months; anything else 3 years.
    long_market = ~_all_in(kinds, (WARNING, FINE, CRITICISM)).fill_null(False)  # another kind, or none
    long_market = long_market | (_any_in(kinds, (FINE,)).fill_null(False) & ~low_fine)
    warning_only = _all_in(kinds, (WARNING,)).fill_null(False)
    market_max = (
        pl.when(warning_only).then(pl.lit(None, dtype=pl.Int64)).when(long_market).then(36).otherwise(3)
    )
    if config.market_early_stop_months is None:
        market_min = market_max
    else:
        low_min, other_min = config.market_early_stop_months
        no_early_stop = _any_in(kinds, config.market_no_early_stop).fill_null(False)
        market_min = (
            pl.when(no_early_stop | market_max.is_null())
            .then(market_max)
            .when(market_max == 3)
            .then(low_min)
            .otherwise(other_min)
        )

    serious = severity == SEVERITY_SERIOUS
    maximum = (
        pl.when(regime == REGIME_MARKET)
        .then(market_max)
        .when(regime == REGIME_527)
        .then(pl.when(serious).then(36).otherwise(12))
        .when(regime == REGIME_58)
        .then(36)
        .when(regime == REGIME_36)
        .then(pl.when(serious).then(36).when(severity == SEVERITY_GENERAL).then(12).otherwise(3))
        .otherwise(pl.lit(None, dtype=pl.Int64))
    )
    minimum = (
        pl.when(regime == REGIME_MARKET)
        .then(market_min)
        .when(regime == REGIME_527)
        .then(pl.when(serious).then(6).otherwise(3))
        .when(regime == REGIME_58)
        .then(pl.when(strict_sector).then(12).otherwise(3))
        .when(regime == REGIME_36)
        .then(pl.when(serious).then(12).when(severity == SEVERITY_GENERAL).then(3).otherwise(0))
        .otherwise(pl.lit(None, dtype=pl.Int64))
    )
    return maximum.cast(pl.Int64), minimum.cast(pl.Int64)


# --- licences -------------------------------------------------------------------------------------


def license_publicity(
    frame: FrameT, *, as_of: AsOf | None = None, config: PublicityConfig = DEFAULT_CONFIG
) -> FrameT:
    """Add the publicity columns to licence rows (choice C15).

    Needs `decision_date` and `valid_to`; reads, when present, current_status, status, publicity_status,
    publish, minor_involved, counterparty_category, id_type and id_number.
    """
    columns = _Columns(frame.collect_schema())
    _require(columns, ("decision_date", "valid_to"), "license")
    decided = columns.date("decision_date")
    not_published, revoked, withdrawn = _withdrawal(columns)
    ended = columns.text("current_status").is_in(list(PUBLIC_LICENSE_STATUSES)).not_().fill_null(False)
    reason = (
        pl.when(_minor(columns, config))
        .then(pl.lit(REASON_MINOR))
        .when(not_published)
        .then(pl.lit(REASON_NOT_PUBLISHED))
        .when(revoked)
        .then(pl.lit(REASON_REVOKED))
        .when(withdrawn)
        .then(pl.lit(REASON_WITHDRAWN))
        .when(ended)
        .then(pl.lit(REASON_LICENSE_ENDED))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    )
    build = (
        frame.lazy()
        .with_columns(
            pl.when(decided.is_not_null()).then(pl.lit(REGIME_LICENSE)).alias("pub_regime"),
            pl.lit(None, dtype=pl.Utf8).alias("pub_severity"),
            decided.alias("pub_start"),
            pl.lit(None, dtype=pl.Date).alias("pub_min_end"),
            pl.when(decided.is_not_null()).then(columns.date("valid_to")).alias("pub_max_end"),
            reason.alias("pub_reason"),
        )
        .with_columns(pl.col("pub_reason").is_null().alias("pub_public"))
    )
    return _run(frame, _finish(build, columns, as_of))


# --- entry point ----------------------------------------------------------------------------------


def publicity_columns(
    frame: FrameT,
    *,
    dataset: str = "penalty",
    as_of: AsOf | None = None,
    config: PublicityConfig = DEFAULT_CONFIG,
) -> FrameT:
    """Add pub_regime, pub_severity, pub_start, pub_min_end, pub_max_end, pub_public, pub_reason (and
    pub_visible when `as_of` is given) to penalty or licence rows; a DataFrame gives a DataFrame, a
    LazyFrame a LazyFrame."""
    if dataset == "penalty":
        return penalty_publicity(frame, as_of=as_of, config=config)
    if dataset == "license":
        return license_publicity(frame, as_of=as_of, config=config)
    raise ValueError(f"no publicity rules for dataset {dataset!r} (penalty, license)")
