"""Planted supervision cases: a fixed, documented set of records that each supervision rule must flag —
and near misses it must not — appended to the synthetic province (`generate(..., plant_alerts=True)`).

Every planted record is a copy of a base record of the same dataset (so its agency, officers, matter,
legal basis and party are as consistent as the base data) with only the fields the case is about
changed, a new document number (serial 900001 and up) and, where the case needs it, new dates. All
planted records pass the hub's intake checks (warnings at most): the textbook violations the standard
already refuses at intake (a 简易程序 fine of 500 元 to a citizen, a major decision without any review
date) cannot reach the store, so the cases are the ones that can — see docs/supervision.md.

Cases (rule: case — what is planted → flagged or not):

- major-decision-without-review: review-hearing — 普通程序 with a hearing, no 法制审核, not marked
  major → yes; review-ok — hearing, then review before the decision, marked major → no.
- summary-procedure-beyond-limits: summary-500, summary-3000 — 简易程序, 个体工商户, fine 500 / 3000 元
  → yes; summary-200 — 个体工商户, 200 元, one officer → no; summary-org-3000 — an organisation,
  3000 元, one officer → no.
- fine-above-statutory-maximum: fine-above-max — the cited articles' maximum + 1000 元 → yes;
  fine-at-max — exactly that maximum → no.
- too-few-officers-penalty: officers-duplicated — one 执法证号 written twice → yes; officers-expired —
  one valid officer and one whose certificate expired → yes. too-few-officers-coercion:
  coercion-officers-expired — the same for a 扣押 → yes.
- decision-overdue: overdue-120, overdue-91 — decided 120 / 91 days after 立案 → yes; overdue-90 → no.
- late-publicity: publicity-late — decided 2025-09-30, published 2025-10-17 → yes; publicity-holidays
  — published 2025-10-16, 16 days later but the 7th working day (国庆) → no; publicity-missing —
  decided 2026-06-10, unpublished on 2026-06-30 → yes; publicity-not-due — decided 2026-06-24,
  unpublished → no; publicity-not-public — published late but marked 不公开 → no.
- seizure-overdue: seizure-unreleased — 扣押 from 2026-04-01, never released → yes;
  seizure-released-late — released after 45 days → yes; seizure-extended-late — extended, released
  after 75 days → yes; seizure-extended-ok — extended, released after 59 days → no; seizure-30 —
  released after exactly 30 days → no.
- multi-agency-inspection (new enterprises): inspect-3-in-20 — 3 agencies within 20 days → yes;
  inspect-3-in-30 — 3 agencies, first to last 29 days → yes; inspect-3-in-31 — first to last 30
  days → no; inspect-2-agencies — 2 agencies, 4 inspections in 10 days → no; inspect-1-agency → no.
- inconsistent-fines: fines-spread — 5 decisions in one city at 1/8 of the fine of 5 in another (same
  matter, violation and kinds) → yes; fines-close — the same with a ratio of 4 → no.

The synthetic "today" (2026-06-30) is the evaluation day the cases are built for. The truth
(alerts_truth.jsonl) is not this table: it is computed by synth/alert_oracle.py over the whole output,
base and planted records alike, so it also lists what the base data happens to trigger.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from enforcehub.synth import ids, names
from enforcehub.synth.common import TODAY
from enforcehub.synth.frame import SynthError

SYNTH_TODAY = TODAY.astype(dt.date)
SERIAL = 900_001  # planted document serials start here (base serials stay far below)
PLAIN_KINDS = "罚款"


@dataclass
class Planted:
    """The frames with the planted rows appended, and which (dataset, business key) are planted."""

    frames: dict[str, pl.DataFrame]
    keys: set[tuple[str, str]] = field(default_factory=set)
    cases: list[dict[str, Any]] = field(default_factory=list)  # case, rule, flagged, dataset, keys


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def _iso(day: dt.date | None) -> str | None:
    if day is None or day > SYNTH_TODAY:
        return None  # later steps have not happened yet on the synthetic today
    return day.isoformat()


class _Planter:
    def __init__(self, frames: dict[str, pl.DataFrame], rng: np.random.Generator) -> None:
        self.frames = frames
        self.rng = rng
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in frames}
        self.used: dict[str, set[int]] = {name: set() for name in frames}
        self.serial = SERIAL
        self.planted = Planted(frames)

    # --- choosing base rows -------------------------------------------------------------------------

    def choose(
        self,
        dataset: str,
        condition: pl.Expr,
        *,
        near: dt.date | None = None,
        date_field: str = "decision_date",
        what: str,
    ) -> dict[str, Any]:
        """A base row matching `condition`, the closest to `near` (then the first), preferring rows not
        copied yet (a copy gets its own document number, so a row may be copied again)."""
        frame = self.frames[dataset].with_row_index("__i")
        used = sorted(self.used[dataset])
        found = frame.filter(condition).with_columns(pl.col("__i").is_in(used).alias("__used"))
        if near is not None:
            distance = (
                (pl.col(date_field).str.slice(0, 10).str.to_date() - pl.lit(near)).dt.total_days().abs()
            )
        else:
            distance = pl.lit(0)
        row = found.with_columns(distance.alias("__d")).sort("__used", "__d", "__i").head(1)
        if not row.height:
            raise SynthError(f"no base {dataset} record to plant {what} on")
        chosen = row.row(0, named=True)
        self.used[dataset].add(int(chosen.pop("__i")))
        for name in ("__d", "__used"):
            chosen.pop(name, None)
        return chosen

    def number(self, row: dict[str, Any], field_name: str, day: dt.date) -> str:
        """A new document number in the style of the copied one, with a planted serial."""
        self.serial += 1
        text = str(row[field_name])
        if field_name == "inspection_number":
            return f"{text[:8]}{day.year}{self.serial:06d}"
        renumbered, count = re.subn(r"〔\d{4}〕\d+号$", f"〔{day.year}〕{self.serial}号", text)
        if not count:
            raise SynthError(f"cannot renumber {text!r}")
        return renumbered

    def add(self, dataset: str, row: dict[str, Any], case: str, rule: str, flagged: bool) -> str:
        key_fields: tuple[str, ...] = {
            "inspection": ("agency_uscc", "inspection_number"),
            "officer": ("cert_number",),
            "counterparty": ("counterparty_code",),
        }.get(dataset, ("agency_uscc", "decision_number"))
        key = "|".join(str(row[k]) for k in key_fields)
        self.rows[dataset].append(row)
        if dataset not in ("officer", "counterparty"):
            self.planted.keys.add((dataset, key))
            self.planted.cases.append(
                {"case": case, "rule": rule, "flagged": flagged, "dataset": dataset, "key": key}
            )
        return key

    def finish(self) -> Planted:
        for dataset, rows in self.rows.items():
            if rows:
                frame = self.frames[dataset]
                added = pl.DataFrame(rows, schema=frame.schema, orient="row")
                self.planted.frames[dataset] = pl.concat([frame, added], how="vertical")
        return self.planted


def _plain_penalty(category: str = "法人及非法人组织") -> pl.Expr:
    """Base penalties whose copies stay simple: effective, public, fine only, no hearing or review."""
    return (
        (pl.col("status") == "有效")
        & (pl.col("publish") == "是")
        & (pl.col("minor_involved") == "否")
        & (pl.col("procedure_type") == "普通程序")
        & (pl.col("penalty_kinds") == PLAIN_KINDS)
        & pl.col("hearing_date").is_null()
        & pl.col("legal_review_date").is_null()
        & (pl.col("major_decision") == "否")
        & (pl.col("counterparty_category") == category)
        & pl.col("filing_date").is_not_null()
        & (pl.col("decision_date") >= "2023-07-01")
        & (pl.col("decision_date") <= "2026-04-30")
    )


def _fine(row: dict[str, Any], amount: int) -> None:
    row["fine_amount"] = str(amount)
    row["penalty_kinds"] = PLAIN_KINDS
    row["penalty_content"] = f"罚款{amount}元"
    row["confiscated_amount"] = None
    row["license_suspended_or_revoked"] = None


def _publicity(row: dict[str, Any], decision: dt.date, published: dt.date | None) -> None:
    row["decision_date"] = decision.isoformat()
    row["published_date"] = _iso(published) if published else None
    end = (published or decision) + dt.timedelta(days=365)
    row["publicity_end_date"] = end.isoformat() if published else None
    row["penalty_valid_until"] = (decision + dt.timedelta(days=365)).isoformat()


def _redate_penalty(row: dict[str, Any], decision: dt.date, filing: dt.date) -> None:
    """A 普通程序 penalty's dates rebuilt around a decision and filing date (no hearing, no review)."""
    row["violation_date"] = (filing - dt.timedelta(days=12)).isoformat()
    row["filing_date"] = filing.isoformat()
    row["notice_date"] = (decision - dt.timedelta(days=min(8, (decision - filing).days))).isoformat()
    row["hearing_date"] = None
    row["legal_review_date"] = None
    row["legal_reviewer"] = None
    service = decision + dt.timedelta(days=2)
    row["service_date"] = _iso(service)
    row["execution_date"] = _iso(service + dt.timedelta(days=10)) if row["service_date"] else None
    row["closing_date"] = _iso(service + dt.timedelta(days=20)) if row["execution_date"] else None
    _publicity(row, decision, decision + dt.timedelta(days=3))


def _plant_penalties(p: _Planter, expired: dict[str, str]) -> None:
    penalties = "penalty"

    def copy(what: str, condition: pl.Expr | None = None, near: dt.date | None = None) -> dict[str, Any]:
        row = p.choose(
            penalties, condition if condition is not None else _plain_penalty(), near=near, what=what
        )
        decision = _day(row["decision_date"])
        assert decision is not None
        row["decision_number"] = p.number(row, "decision_number", decision)
        return row

    # 法制审核: a hearing held, no review (and not marked major) / hearing then review, marked major.
    for case, reviewed in (("review-hearing", False), ("review-ok", True)):
        row = copy(case)
        decision, notice = _day(row["decision_date"]), _day(row["notice_date"])
        assert decision is not None and notice is not None
        hearing = notice + dt.timedelta(days=max(0, (decision - notice).days // 2))
        row["hearing_date"] = hearing.isoformat()
        row["legal_review_date"] = decision.isoformat() if reviewed else None
        row["legal_reviewer"] = "张明" if reviewed else None
        row["major_decision"] = "是" if reviewed else "否"
        p.add(penalties, row, case, "major-decision-without-review", not reviewed)

    # 简易程序 beyond its limits: 个体工商户 above 200 元 (flagged); 200 元, organisations at 3000 元 (not).
    for case, category, amount, flagged in (
        ("summary-500", "个体工商户", 500, True),
        ("summary-3000", "个体工商户", 3000, True),
        ("summary-200", "个体工商户", 200, False),
        ("summary-org-3000", "法人及非法人组织", 3000, False),
    ):
        row = copy(case, _plain_penalty(category))
        decision = _day(row["decision_date"])
        assert decision is not None
        _fine(row, amount)
        row["procedure_type"] = "简易程序"
        row["case_source"] = "监督检查发现"
        row["violation_date"] = decision.isoformat()
        for name in ("filing_date", "notice_date", "hearing_date", "legal_review_date", "legal_reviewer"):
            row[name] = None
        row["major_decision"] = None
        row["collective_discussion"] = None
        row["service_date"] = decision.isoformat()
        row["credit_severity"] = "轻微"
        row["officer_cert_numbers"] = str(row["officer_cert_numbers"]).split(";")[0]  # one officer: allowed
        p.add(penalties, row, case, "summary-procedure-beyond-limits", flagged)

    # A fine above / at the maximum of the cited articles.
    from enforcehub.supervise.statutes import statutory_max_cents

    plain = p.frames[penalties].with_row_index("__i").filter(_plain_penalty())
    maxima = statutory_max_cents(plain["legal_basis"], plain["decision_date"].str.to_date())
    known = plain.with_columns(maxima.alias("__max")).filter(pl.col("__max") >= 400_000).sort("__max", "__i")
    if not known.height:
        raise SynthError("no base penalty cites an article with a fixed fine ceiling")
    ceiling_row = known.row(0, named=True)
    for case, extra, flagged in (("fine-above-max", 1000, True), ("fine-at-max", 0, False)):
        same_basis = _plain_penalty() & (pl.col("legal_basis") == ceiling_row["legal_basis"])
        row = copy(case, same_basis, near=_day(ceiling_row["decision_date"]))
        maximum = statutory_max_cents(
            pl.Series([row["legal_basis"]]), pl.Series([_day(row["decision_date"])])
        )[0]
        if maximum is None:
            raise SynthError("the fine ceiling of the copied penalty is unknown on its decision date")
        _fine(row, int(maximum) // 100 + extra)
        p.add(penalties, row, case, "fine-above-statutory-maximum", flagged)

    # Too few qualified officers: one certificate written twice; one valid and one expired officer.
    row = copy("officers-duplicated")
    first = str(row["officer_cert_numbers"]).split(";")[0]
    row["officer_cert_numbers"] = f"{first};{first}"
    p.add(penalties, row, "officers-duplicated", "too-few-officers-penalty", True)
    row = copy("officers-expired", _plain_penalty() & pl.col("agency_uscc").is_in(list(expired)))
    row["officer_cert_numbers"] = (
        f"{str(row['officer_cert_numbers']).split(';')[0]};{expired[row['agency_uscc']]}"
    )
    p.add(penalties, row, "officers-expired", "too-few-officers-penalty", True)

    # Decided more than 90 days after 立案.
    for case, days, flagged in (
        ("overdue-120", 120, True),
        ("overdue-91", 91, True),
        ("overdue-90", 90, False),
    ):
        row = copy(case)
        decision = _day(row["decision_date"])
        assert decision is not None
        _redate_penalty(row, decision, decision - dt.timedelta(days=days))
        p.add(penalties, row, case, "decision-overdue", flagged)

    # Publicity within 7 working days: 国庆 2025 (Oct 1–8 off, Sat Oct 11 a working day) and unpublished.
    for case, decision, published, public, flagged in (
        ("publicity-late", dt.date(2025, 9, 30), dt.date(2025, 10, 17), True, True),
        ("publicity-holidays", dt.date(2025, 9, 30), dt.date(2025, 10, 16), True, False),
        ("publicity-missing", dt.date(2026, 6, 10), None, True, True),
        ("publicity-not-due", dt.date(2026, 6, 24), None, True, False),
        ("publicity-not-public", dt.date(2025, 9, 30), dt.date(2025, 10, 20), False, False),
    ):
        row = copy(case, near=decision)
        row["decision_number"] = p.number(row, "decision_number", decision)
        filing = decision - dt.timedelta(days=30)
        _redate_penalty(row, decision, filing)
        _publicity(row, decision, published)
        if not public:
            row["publish"] = "否"
        p.add(penalties, row, case, "late-publicity", flagged)

    _plant_fine_groups(p)


def _plant_fine_groups(p: _Planter) -> None:
    """Two groups only planted records belong to (a kinds combination the base data does not use for
    that matter and violation): one with city medians 8× apart, one 4× apart."""
    from enforcehub.supervise.statutes import statutory_max_cents

    frame = p.frames["penalty"]
    plain = frame.filter(_plain_penalty())
    maxima = statutory_max_cents(plain["legal_basis"], plain["decision_date"].str.to_date())
    plain = plain.with_columns(
        maxima.alias("__max"), (pl.col("region_code").str.slice(0, 4) + "00").alias("__city")
    )
    used = frame.group_by("matter_code", "violation_type").agg(
        pl.col("penalty_kinds").unique().alias("__kinds")
    )
    options = (
        plain.filter(pl.col("__max") >= 1_000_000)  # ≥ 10,000 元: room for an 8× spread under the ceiling
        .group_by("matter_code", "violation_type")
        .agg(pl.col("__city").n_unique().alias("__cities"), pl.col("__max").min().alias("__ceiling"))
        .filter(pl.col("__cities") >= 2)
        .join(used, on=["matter_code", "violation_type"], how="left")
        .sort("matter_code", "violation_type")
    )
    groups = (("fines-spread", "警告;罚款", 8, True), ("fines-close", "通报批评;罚款", 4, False))
    for case, kinds, ratio, flagged in groups:
        choice = options.filter(~pl.col("__kinds").list.contains(kinds)).head(1)
        if not choice.height:
            raise SynthError(f"no matter to plant {case} on")
        matter, violation = choice.row(0)[:2]
        ceiling = int(choice["__ceiling"][0])
        high = ceiling // 100
        amounts = (high // ratio, high)
        members = plain.filter((pl.col("matter_code") == matter) & (pl.col("violation_type") == violation))
        cities = sorted(members["__city"].unique().to_list())[:2]
        for city, amount in zip(cities, amounts, strict=True):
            # the city's base decisions of that violation are the templates (reused when fewer than 5)
            templates = members.filter(pl.col("__city") == city).drop("__max", "__city").rows(named=True)
            for index in range(5):
                row = dict(templates[index % len(templates)])
                decision = _day(row["decision_date"])
                assert decision is not None
                row["decision_number"] = p.number(row, "decision_number", decision)
                _fine(row, amount)
                row["penalty_kinds"] = kinds
                row["penalty_content"] = (
                    f"{'给予警告' if kinds.startswith('警告') else '通报批评'}，罚款{amount}元"
                )
                p.add("penalty", row, case, "inconsistent-fines", flagged)
        options = options.filter(
            ~((pl.col("matter_code") == matter) & (pl.col("violation_type") == violation))
        )


def _measure(row: dict[str, Any], start: dt.date, held: int | None, extended: bool) -> None:
    """A 扣押 from `start`, released after `held` days (None: not released)."""
    row["coercion_type"] = "行政强制措施"
    row["measure"] = "扣押财物"
    row["enforcement_mode"] = None
    row["on_the_spot"] = "否"
    row["approval_date"] = (start - dt.timedelta(days=1)).isoformat()
    row["decision_date"] = start.isoformat()
    row["measure_start_date"] = start.isoformat()
    row["measure_end_date"] = (start + dt.timedelta(days=60 if extended else 30)).isoformat()
    row["extended"] = "是" if extended else "否"
    row["extension_approval_date"] = (start + dt.timedelta(days=25)).isoformat() if extended else None
    row["service_date"] = start.isoformat()
    release = _iso(start + dt.timedelta(days=held)) if held is not None else None
    row["release_date"] = release
    row["closing_date"] = release
    row["filing_date"] = None
    row["demand_date"] = None
    row["underlying_decision_number"] = None
    row["amount"] = None
    row["property_description"] = row["property_description"] or "涉案物品一批（共3件）"
    row["status"] = "有效"
    row["status_reason"] = None


def _plant_coercion(p: _Planter, expired: dict[str, str]) -> None:
    measures = pl.col("coercion_type") == "行政强制措施"
    effective = pl.col("status") == "有效"
    for case, start, held, extended, flagged in (
        ("seizure-unreleased", dt.date(2026, 4, 1), None, False, True),
        ("seizure-released-late", dt.date(2025, 5, 6), 45, False, True),
        ("seizure-extended-late", dt.date(2025, 8, 4), 75, True, True),
        ("seizure-extended-ok", dt.date(2025, 11, 3), 59, True, False),
        ("seizure-30", dt.date(2026, 1, 5), 30, False, False),
    ):
        row = p.choose("coercion", measures & effective, near=start, what=case)
        row["decision_number"] = p.number(row, "decision_number", start)
        _measure(row, start, held, extended)
        p.add("coercion", row, case, "seizure-overdue", flagged)
    row = p.choose(
        "coercion", measures & effective & pl.col("agency_uscc").is_in(list(expired)), what="officers"
    )
    decided = _day(row["decision_date"])
    assert decided is not None
    row["decision_number"] = p.number(row, "decision_number", decided)
    _measure(row, decided, 20, False)
    row["officer_cert_numbers"] = (
        f"{str(row['officer_cert_numbers']).split(';')[0]};{expired[row['agency_uscc']]}"
    )
    p.add("coercion", row, "coercion-officers-expired", "too-few-officers-coercion", True)


def _expired_officers(p: _Planter) -> dict[str, str]:
    """For agencies that have both penalties and coercive measures: a second certificate of one of
    their officers that expired before the generated period (status 注销). agency USCC → its number."""
    penalty_agencies = set(p.frames["penalty"].filter(_plain_penalty())["agency_uscc"].to_list())
    coercion = p.frames["coercion"].filter(
        (pl.col("coercion_type") == "行政强制措施") & (pl.col("status") == "有效")
    )
    wanted = sorted(penalty_agencies & set(coercion["agency_uscc"].to_list()))
    if not wanted:
        wanted = sorted(penalty_agencies)[:1] + sorted(set(coercion["agency_uscc"].to_list()))[:1]
    found: dict[str, str] = {}
    for agency in wanted[:2]:
        officer = p.choose("officer", pl.col("agency_uscc") == agency, what="an expired certificate")
        p.serial += 1
        officer["cert_number"] = f"{str(officer['cert_number'])[:8]}9{p.serial % 10_000:04d}"
        officer["cert_issue_date"] = "2014-03-03"
        officer["cert_valid_until"] = "2020-03-02"
        officer["status"] = "注销"
        officer["remarks"] = "执法证有效期届满，已换发新证"
        p.add("officer", officer, "expired-certificate", "", False)
        found[agency] = str(officer["cert_number"])
    return found


def _plant_inspections(p: _Planter) -> None:
    counterparties = p.frames["counterparty"]
    base = counterparties.filter(pl.col("counterparty_category") == "法人及非法人组织").row(0, named=True)
    taken = set(counterparties["counterparty_code"].to_list())
    regions = np.asarray([base["region_code"]] * 5)
    codes = ids.unique_usccs(p.rng, "91", regions, style="new", taken=taken)
    places = np.asarray([str(base["registered_address"])[:6]] * 5)
    titles = names.enterprise_names(p.rng, places, "market")
    schedules = (
        ("inspect-3-in-20", (0, 7, 19), (0, 1, 2), True),
        ("inspect-3-in-30", (0, 14, 29), (0, 1, 2), True),
        ("inspect-3-in-31", (0, 15, 30), (0, 1, 2), False),
        ("inspect-2-agencies", (0, 2, 5, 9), (0, 1, 0, 1), False),
        ("inspect-1-agency", (0, 1, 2), (0, 0, 0), False),
    )
    anchors = (
        dt.date(2025, 3, 3),
        dt.date(2025, 6, 2),
        dt.date(2025, 9, 1),
        dt.date(2025, 12, 1),
        dt.date(2026, 3, 2),
    )
    clean = (pl.col("status") == "有效") & (pl.col("inspection_result") == "未发现问题")
    for (case, offsets, agency_slots, flagged), anchor, code, title in zip(
        schedules, anchors, codes.tolist(), titles.tolist(), strict=True
    ):
        company = {**base, "counterparty_code": code, "counterparty_name": title, "remarks": None}
        p.add("counterparty", company, case, "", False)
        agencies: list[dict[str, Any]] = []
        for _ in range(max(agency_slots) + 1):
            others = ~pl.col("agency_uscc").is_in([a["agency_uscc"] for a in agencies])
            agencies.append(
                p.choose("inspection", clean & others, near=anchor, date_field="inspection_time", what=case)
            )
        for offset, slot in zip(offsets, agency_slots, strict=True):
            row = dict(agencies[slot])
            day = anchor + dt.timedelta(days=offset)
            row["inspection_number"] = p.number(row, "inspection_number", day)
            row["inspection_time"] = f"{day.isoformat()} 10:00:00"
            row["report_time"] = f"{(day + dt.timedelta(days=1)).isoformat()} 09:00:00"
            row["counterparty_name"] = title
            row["target_name"] = title
            row["counterparty_category"] = "法人及非法人组织"
            row["counterparty_uscc"] = code
            row["id_type"] = None
            row["id_number"] = None
            row["legal_representative"] = base["legal_representative"]
            row["registered_address"] = base["registered_address"]
            row["business_address"] = base["business_address"]
            p.add("inspection", row, case, "multi-agency-inspection", flagged)


def plant_alert_cases(frames: dict[str, pl.DataFrame], rng: np.random.Generator) -> Planted:
    """Append the planted cases (module docstring) to the generated frames (labels, as written)."""
    needed = {"penalty", "coercion", "inspection", "officer", "counterparty"}
    missing = needed - set(frames)
    if missing:
        raise SynthError(f"planting alerts needs the datasets {', '.join(sorted(missing))}")
    planter = _Planter(dict(frames), rng)
    expired = _expired_officers(planter)
    _plant_penalties(planter, expired)
    _plant_coercion(planter, expired)
    _plant_inspections(planter)
    return planter.finish()
