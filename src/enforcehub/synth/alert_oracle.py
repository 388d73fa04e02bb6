"""The expected supervision alerts of a synthetic province: an independent, row-at-a-time reading of
the rules (supervise/rules/*.yaml, docs/supervision.md) over the generated frames as written.

Where the engine (supervise/kinds.py) works on the hub's facts with polars, joins and windows, this
walks plain Python lists: labels are mapped to codes with the standard's code sets, working days are
counted one day at a time with `chinese_calendar.is_workday`, medians come from `statistics`. Only
the statutory fine ceiling is shared (supervise/statutes.py reads it from the statute texts; it has
its own tests). Parameters are read from the rule files, so the truth follows a changed parameter.

`alert_truth(frames, standard, planted_keys, as_of)` → one dict per expected alert:
{"rule", "dataset", "keys" (sorted business keys), "planted" (any of them planted), "as_of"}.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import chinese_calendar
import polars as pl

from enforcehub.standard.model import Standard
from enforcehub.validate.columns import code_mapping

NOT_EFFECTIVE = {"03", "04", "05"}
TRUE_WORDS = {"是", "true", "1", "y", "yes", "True", "TRUE", "Y", "YES", "Yes"}
FALSE_WORDS = {"否", "false", "0", "n", "no", "False", "FALSE", "N", "NO", "No"}


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value not in (None, "") else None


def _flag(value: Any) -> bool | None:
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return None


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _is_working(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year without a holiday notice: Monday–Friday
        return day.weekday() < 5


def nth_working_day_after(day: dt.date, n: int) -> dt.date:
    current, counted = day, 0
    while counted < n:
        current += dt.timedelta(days=1)
        counted += _is_working(current)
    return current


class _Reader:
    """Labels and spellings as the hub would store them (codes), row by row."""

    def __init__(self, standard: Standard) -> None:
        self.standard = standard
        self.separators = re.compile("[" + re.escape("".join(standard.meta.multi_value_separators)) + "]")
        self.maps: dict[str, dict[str, str]] = {}

    def code(self, codeset: str, value: Any) -> str | None:
        if codeset not in self.maps:
            self.maps[codeset] = code_mapping(self.standard.codesets[codeset])
        text = _text(value)
        return self.maps[codeset].get(text, text) if text is not None else None

    def codes(self, codeset: str, value: Any) -> tuple[str, ...]:
        text = _text(value)
        if text is None:
            return ()
        items = [i.strip() for i in self.separators.split(text) if i.strip()]
        return tuple(sorted(str(self.code(codeset, i)) for i in items))

    def items(self, value: Any) -> list[str]:
        text = _text(value)
        return sorted({i.strip() for i in self.separators.split(text) if i.strip()}) if text else []


def _base(reader: _Reader, row: dict[str, Any], key_fields: tuple[str, ...]) -> dict[str, Any]:
    status = reader.code("record_status", row.get("status"))
    category = _text(row.get("counterparty_category"))
    region = _text(row.get("region_code"))
    uscc = _text(row.get("counterparty_uscc"))
    return {
        "key": "|".join(str(row[k]) for k in key_fields),
        "effective": status not in NOT_EFFECTIVE,
        "agency": (_text(row.get("agency_uscc")) or "").upper() or None,
        "city": None if region is None else (region if region == "440000" else region[:4] + "00"),
        "category": category,
        "counterparty": uscc.upper() if uscc and category != "自然人" else None,
        "certs": reader.items(row.get("officer_cert_numbers")),
    }


def _penalties(reader: _Reader, frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.iter_rows(named=True):
        record = _base(reader, row, ("agency_uscc", "decision_number"))
        fine = _text(row.get("fine_amount"))
        record.update(
            decision=_day(row.get("decision_date")),
            filing=_day(row.get("filing_date")),
            hearing=_day(row.get("hearing_date")),
            review=_day(row.get("legal_review_date")),
            published=_day(row.get("published_date")),
            major=_flag(row.get("major_decision")),
            publish=_flag(row.get("publish")),
            minor=_flag(row.get("minor_involved")),
            publicity=reader.code("publicity_status", row.get("publicity_status")),
            procedure=reader.code("procedure_type", row.get("procedure_type")),
            kinds=reader.codes("penalty_kind", row.get("penalty_kinds")),
            fine=round(float(fine) * 100) if fine is not None else None,
            basis=_text(row.get("legal_basis")),
            matter=_text(row.get("matter_code")),
            violation=_text(row.get("violation_type")),
        )
        record["act"] = record["decision"]
        out.append(record)
    return out


def _coercions(reader: _Reader, frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.iter_rows(named=True):
        record = _base(reader, row, ("agency_uscc", "decision_number"))
        record.update(
            act=_day(row.get("decision_date")),
            type=reader.code("coercion_type", row.get("coercion_type")),
            measure=reader.code("coercive_measure", row.get("measure")),
            start=_day(row.get("measure_start_date")),
            released=_day(row.get("release_date")) or _day(row.get("closing_date")),
            extended=_flag(row.get("extended")),
        )
        out.append(record)
    return out


def _inspections(reader: _Reader, frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.iter_rows(named=True):
        record = _base(reader, row, ("agency_uscc", "inspection_number"))
        record["act"] = _day(row.get("inspection_time"))
        out.append(record)
    return out


def _officers(frame: pl.DataFrame) -> dict[str, tuple[str, dt.date | None, dt.date | None]]:
    registry: dict[str, tuple[str, dt.date | None, dt.date | None]] = {}
    for row in frame.iter_rows(named=True):
        cert = _text(row["cert_number"])
        if cert and cert not in registry:
            registry[cert] = (
                (_text(row["agency_uscc"]) or "").upper(),
                _day(row["cert_issue_date"]),
                _day(row["cert_valid_until"]),
            )
    return registry


# --- the rules, one function each ----------------------------------------------------------------------


def _multi_agency(records: list[dict[str, Any]], p: dict[str, Any]) -> list[list[str]]:
    minimum, days = int(p["min_agencies"]), int(p["window_days"])
    by_party: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        business = r["category"] in ("法人及非法人组织", "个体工商户")
        if r["effective"] and business and r["counterparty"] and r["act"] and r["agency"]:
            by_party[r["counterparty"]].append(r)
    alerts = []
    for party in sorted(by_party):
        rows = by_party[party]
        windows = []
        for end in sorted({r["act"] for r in rows}):
            start = end - dt.timedelta(days=days - 1)
            agencies = {r["agency"] for r in rows if start <= r["act"] <= end}
            if len(agencies) >= minimum:
                windows.append((start, end))
        merged: list[list[dt.date]] = []
        for start, end in sorted(windows):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            alerts.append(sorted(r["key"] for r in rows if start <= r["act"] <= end))
    return alerts


def _fine_spread(records: list[dict[str, Any]], p: dict[str, Any]) -> list[list[str]]:
    groups: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["effective"] and (r["fine"] or 0) > 0 and r["matter"] and r["violation"] and r["city"]:
            party = "person" if r["category"] == "自然人" else "organisation"
            groups[(r["matter"], r["violation"], ";".join(r["kinds"]) or None, party)][r["city"]].append(r)
    alerts = []
    for cities in groups.values():
        medians = {
            city: statistics.median(r["fine"] for r in rows)
            for city, rows in cities.items()
            if len(rows) >= int(p["min_per_unit"])
        }
        if len(medians) < int(p["min_units"]):
            continue
        high = min(medians, key=lambda c: (-medians[c], c))
        low = min(medians, key=lambda c: (medians[c], c))
        if medians[high] / medians[low] > float(p["max_ratio"]):
            alerts.append(sorted(r["key"] for r in cities[high] + cities[low]))
    return alerts


def _too_few(
    records: Iterable[dict[str, Any]],
    registry: dict[str, tuple[str, dt.date | None, dt.date | None]],
    minimum: int,
) -> list[list[str]]:
    alerts = []
    for r in records:
        qualified = 0
        for cert in r["certs"]:
            if not registry:
                qualified += 1
                continue
            found = registry.get(cert)
            if found is None or r["act"] is None:
                continue
            agency, issued, until = found
            if (
                agency == r["agency"]
                and (issued is None or issued <= r["act"])
                and (until is None or until >= r["act"])
            ):
                qualified += 1
        if qualified < minimum:
            alerts.append([r["key"]])
    return alerts


def alert_truth(
    frames: dict[str, pl.DataFrame],
    standard: Standard,
    *,
    planted: set[tuple[str, str]],
    as_of: dt.date,
) -> list[dict[str, Any]]:
    """The alerts the rules must raise on `frames` (labels as written) evaluated on `as_of`."""
    from enforcehub.supervise.ruleset import load_rules
    from enforcehub.supervise.statutes import statutory_max_cents

    rules = load_rules()
    reader = _Reader(standard)
    penalties = _penalties(reader, frames["penalty"])
    coercions = _coercions(reader, frames["coercion"])
    inspections = _inspections(reader, frames["inspection"])
    registry = _officers(frames["officer"])
    maxima = statutory_max_cents(
        pl.Series([r["basis"] for r in penalties], dtype=pl.Utf8),
        pl.Series([r["decision"] for r in penalties], dtype=pl.Date),
    ).to_list()
    for record, maximum in zip(penalties, maxima, strict=True):
        record["max"] = maximum
    found: dict[str, list[list[str]]] = {}
    effective = [r for r in penalties if r["effective"]]

    p = rules["multi-agency-inspection"].parameters
    found["multi-agency-inspection"] = _multi_agency(inspections, p)
    found["inconsistent-fines"] = _fine_spread(penalties, rules["inconsistent-fines"].parameters)
    found["major-decision-without-review"] = [
        [r["key"]]
        for r in effective
        if (r["major"] is True or r["hearing"] is not None)
        and (r["review"] is None or (r["decision"] is not None and r["review"] > r["decision"]))
    ]
    p = rules["summary-procedure-beyond-limits"].parameters
    limits = {
        "自然人": p["person_limit"],
        "法人及非法人组织": p["organisation_limit"],
        "个体工商户": p["sole_trader_limit"],
    }
    found["summary-procedure-beyond-limits"] = [
        [r["key"]]
        for r in effective
        if r["procedure"] == "01"
        and (
            (r["fine"] is not None and r["category"] in limits and r["fine"] / 100 > limits[r["category"]])
            or any(k not in ("01", "02") for k in r["kinds"])
        )
    ]
    found["fine-above-statutory-maximum"] = [
        [r["key"]]
        for r in effective
        if (r["fine"] or 0) > 0 and r["max"] is not None and r["fine"] > r["max"]
    ]
    found["too-few-officers-penalty"] = _too_few(
        (r for r in effective if r["procedure"] == "02"),
        registry,
        int(rules["too-few-officers-penalty"].parameters["min"]),
    )
    found["too-few-officers-coercion"] = _too_few(
        (r for r in coercions if r["effective"] and r["type"] == "01"),
        registry,
        int(rules["too-few-officers-coercion"].parameters["min"]),
    )
    p = rules["decision-overdue"].parameters
    found["decision-overdue"] = [
        [r["key"]]
        for r in effective
        if r["procedure"] == "02"
        and r["filing"] is not None
        and r["decision"] is not None
        and r["filing"] <= as_of
        and r["decision"] <= as_of
        and r["decision"] > r["filing"] + dt.timedelta(days=int(p["limit"]))
    ]
    p = rules["seizure-overdue"].parameters
    seizures = []
    for r in coercions:
        if not (r["effective"] and r["type"] == "01" and r["measure"] in ("02", "03") and r["start"]):
            continue
        if r["start"] > as_of:
            continue
        limit = int(p["extension"]["limit"]) if r["extended"] else int(p["limit"])
        until = min(r["released"] or as_of, as_of)
        if until > r["start"] + dt.timedelta(days=limit):
            seizures.append([r["key"]])
    found["seizure-overdue"] = seizures
    p = rules["late-publicity"].parameters
    late = []
    for r in effective:
        if r["publish"] is False or r["minor"] is True or r["publicity"] in ("1", "2"):
            continue
        if r["decision"] is None or r["decision"] > as_of:
            continue
        until = min(r["published"] or as_of, as_of)
        if until > nth_working_day_after(r["decision"], int(p["limit"])):
            late.append([r["key"]])
    found["late-publicity"] = late

    truth = []
    for rule_id, alerts in found.items():
        dataset = rules[rule_id].dataset
        for keys in sorted(alerts):
            truth.append(
                {
                    "rule": rule_id,
                    "dataset": dataset,
                    "keys": keys,
                    "planted": any((dataset, k) in planted for k in keys),
                    "as_of": as_of.isoformat(),
                }
            )
    return truth
