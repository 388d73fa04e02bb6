"""Compile a dataset of the standard into a plan of vectorised checks.

A plan has two stages of polars expressions: `derived` (typed values, normalised codes, status
bits of semantic checks) and `checks` (one boolean mask per finding kind, true where a row has
that finding). The plan is built once per dataset and header map and then run on every chunk.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from enforcehub.standard.loader import DIVISIONS
from enforcehub.standard.model import Condition, Dataset, Element, Rule, Severity, Standard
from enforcehub.standard.registry import DivisionRegistry
from enforcehub.validate import identifiers as ids
from enforcehub.validate.columns import (
    ConditionCompiler,
    all_items_match,
    count_items,
    fraction_digits_allowed,
    literal_for,
    normalise_code,
    normalised,
    spellings_regex,
    status,
    today_in_shanghai,
    typed,
    typed_expr,
)
from enforcehub.validate.laws import LAW_BITS, law_status_expr

ParamsFn = Callable[[str | None, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One finding kind: where it is reported, its code, and the mask that finds it."""

    field: str
    code: str
    mask: pl.Expr
    severity: Severity = "error"
    message: str | None = None  # catalogue key when it differs from `code`
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    context: tuple[str, ...] = ()  # other raw columns a message needs
    params_fn: ParamsFn | None = None


@dataclass
class Plan:
    dataset: Dataset
    scales: dict[str, float]
    derived: list[list[pl.Expr]]  # stages: each stage may read the columns of the stages before it
    checks: list[Check]


_USCC_CODES = (
    (ids.BAD_FORMAT, "uscc-format", "error"),
    (ids.BAD_PLACEHOLDER, "uscc-placeholder", "error"),
    (ids.BAD_CATEGORY, "uscc-category", "error"),
    (ids.BAD_CHECKSUM, "uscc-checksum", "error"),
    (ids.BAD_EMBEDDED, "uscc-org-code", "warning"),
)
_RIC_CODES = (
    (ids.BAD_FORMAT, "resident-id-format", "error"),
    (ids.BAD_BIRTH_DATE, "resident-id-birth-date", "error"),
    (ids.BAD_CHECKSUM, "resident-id-checksum", "error"),
    (ids.BAD_REGION, "resident-id-region", "error"),
)
_ORG_CODES = ((ids.BAD_FORMAT, "org-code-format", "error"), (ids.BAD_CHECKSUM, "org-code-checksum", "error"))
_AS_OF_CANDIDATES = (
    "decision_date",
    "inspection_time",
    "received_date",
    "start_date",
    "version_date",
    "effective_from",
)


def _kernel(fn: Callable[[pa.Array], np.ndarray[Any, Any]]) -> Callable[[pl.Series], pl.Series]:
    def run(series: pl.Series) -> pl.Series:
        return pl.Series(series.name, fn(series.to_arrow()), dtype=pl.UInt8)

    return run


@functools.cache
def _guangdong_ever() -> frozenset[str]:
    return DivisionRegistry.load().ever_codes()


def _resident_id_kernel(array: pa.Array) -> np.ndarray[Any, Any]:
    return ids.resident_id_status(array, today=today_in_shanghai(), guangdong_codes=_guangdong_ever())


_KERNELS: dict[
    str, tuple[Callable[[pa.Array], np.ndarray[Any, Any]], tuple[tuple[np.uint8, str, str], ...]]
] = {
    "uscc": (ids.uscc_status, _USCC_CODES),
    "resident-id": (_resident_id_kernel, _RIC_CODES),
    "org-code": (ids.org_code_status, _ORG_CODES),
}


class Compiler:
    def __init__(self, standard: Standard, dataset: Dataset, scales: dict[str, float]) -> None:
        self.standard = standard
        self.dataset = dataset
        self.scales = scales
        self.conditions = ConditionCompiler(standard, dataset)
        self.separators = standard.meta.multi_value_separators
        self.derived: list[dict[str, pl.Expr]] = [{}, {}]
        self.checks: list[Check] = []

    # --- helpers ---------------------------------------------------------------------------

    def raw(self, name: str) -> pl.Expr:
        return pl.col(name)

    def when(self, cond: Condition | None) -> pl.Expr:
        return self.conditions.compile(cond) if cond is not None else pl.lit(True)

    def add(self, element: Element | str, code: str, mask: pl.Expr, **kwargs: Any) -> None:
        name = element if isinstance(element, str) else element.name
        self.checks.append(Check(field=name, code=code, mask=mask.fill_null(False), **kwargs))

    def derive(self, column: str, expr: pl.Expr, *, stage: int = 0) -> pl.Expr:
        """Add a derived column (once); stage 1 columns may read stage 0 columns."""
        if not any(column in s for s in self.derived):
            self.derived[stage][column] = expr.alias(column)
        return pl.col(column)

    def semantic_status(self, element: Element, check: str) -> pl.Expr:
        kernel, _ = _KERNELS[check]
        return self.derive(
            status(element.name, check),
            self.raw(element.name).map_batches(_kernel(kernel), return_dtype=pl.UInt8),
        )

    # --- elements ---------------------------------------------------------------------------

    def element(self, element: Element) -> None:
        raw = self.raw(element.name)
        present = raw.is_not_null()
        scale = self.scales.get(element.name)
        if element.required is True:
            self.add(element, "required", raw.is_null())
        elif element.required == "conditional":
            self.add(
                element, "required", raw.is_null() & self.when(element.when), params={"conditional": True}
            )
        if element.max_length is not None:
            length = raw.str.len_chars()
            self.add(
                element,
                "too-long",
                length > element.max_length,
                params={"max_length": element.max_length},
                params_fn=lambda value, _ctx: {"length": len(value or "")},
            )
        if element.min_length is not None:
            self.add(
                element,
                "too-short",
                raw.str.len_chars() < element.min_length,
                params={"min_length": element.min_length},
            )
        if element.pattern is not None:
            self.add(
                element,
                "pattern",
                present & ~raw.str.contains(f"^(?:{element.pattern})$"),
                params={"pattern": element.pattern},
            )
        if element.type == "code":
            self.code(element)
        parsed = typed_expr(element, raw, scale)
        if parsed is not None:
            value = self.derive(typed(element.name), parsed)
            invalid = {
                "date": "invalid-date",
                "datetime": "invalid-datetime",
                "decimal": "invalid-number",
                "integer": "invalid-integer",
                "boolean": "invalid-boolean",
            }[element.type]
            self.add(element, invalid, present & value.is_null())
            self.bounds(element, value, scale, raw)
        if element.check in _KERNELS:
            self.semantic(element, element.check, pl.lit(True))
        elif element.check == "division-code" and element.codeset != DIVISIONS:
            current = [c.code for c in self.standard.codesets[DIVISIONS].codes]
            self.add(element, "division-code", present & ~raw.is_in(current))
        elif element.check == "law-citation":
            self.law(element)

    def code(self, element: Element) -> None:
        assert element.codeset is not None
        codeset = self.standard.codesets[element.codeset]
        raw = self.raw(element.name)
        choices = "、".join(c.label for c in codeset.codes[:12]) + ("…" if len(codeset.codes) > 12 else "")
        params = {"codeset": codeset.title, "choices": choices}
        if element.multiple:
            every_item_known = all_items_match(raw, spellings_regex(codeset), self.separators)
            self.add(element, "code-not-in-set", raw.is_not_null() & ~every_item_known, params=params)
        else:
            codes = self.derive(normalised(element.name), normalise_code(raw, codeset))
            # A division is one finding with its own code, whether the element says check or codeset.
            code = "division-code" if codeset.name == DIVISIONS else "code-not-in-set"
            self.add(element, code, raw.is_not_null() & codes.is_null(), params=params)

    def bounds(self, element: Element, value: pl.Expr, scale: float | None, raw: pl.Expr) -> None:
        if element.minimum is not None:
            minimum = literal_for(element, element.minimum)
            below = value <= minimum if element.exclusive_minimum else value < minimum
            self.add(
                element,
                "below-minimum",
                below,
                params={
                    "minimum": element.minimum,
                    "strict": "等于或" if element.exclusive_minimum else "",
                    "strict_en": " more than" if element.exclusive_minimum else "",
                },
            )
        if element.maximum is not None:
            self.add(
                element,
                "above-maximum",
                value > literal_for(element, element.maximum),
                params={"maximum": element.maximum},
            )
        digits = fraction_digits_allowed(element, scale)
        if digits is not None:
            self.add(
                element, "too-precise", raw.str.contains(rf"\.\d{{{digits + 1},}}$"), params={"scale": digits}
            )

    def semantic(self, element: Element, check: str, when: pl.Expr) -> None:
        bits = self.semantic_status(element, check)
        for bit, code, severity in _KERNELS[check][1]:
            self.add(element, code, when & ((bits & int(bit)) != 0), severity=severity)

    def law(self, element: Element) -> None:
        as_of = element_as_of(self.dataset)
        as_of_expr = pl.col(typed(as_of)) if as_of else pl.lit(None, dtype=pl.Date)
        if as_of:
            as_of_element = self.dataset.element(as_of)
            as_of_parse = typed_expr(as_of_element, self.raw(as_of), None)
            assert as_of_parse is not None
            self.derive(typed(as_of), as_of_parse)
            if as_of_element.type == "datetime":
                as_of_expr = as_of_expr.dt.date()
        bits = self.derive(
            status(element.name, "law-citation"), law_status_expr(self.raw(element.name), as_of_expr), stage=1
        )
        context = (as_of,) if as_of else ()
        for bit, code, severity in LAW_BITS:
            self.add(
                element,
                code,
                (bits & bit) != 0,
                severity=severity,
                context=context,
                params_fn=_law_params(code, as_of),
            )

    # --- rules ------------------------------------------------------------------------------

    def rule(self, rule: Rule) -> None:
        extra: dict[str, Any] = {
            "params": {"rule": rule.title or "", "rule_en": rule.title_en or rule.title or ""}
        }
        when = self.when(rule.when)
        severity = rule.severity
        match rule.kind:
            case "date-order":
                self.date_order(rule, when)
            case "required-if":
                assert rule.field
                self.add(
                    rule.field,
                    rule.code or "required",
                    when & self.raw(rule.field).is_null(),
                    severity=severity,
                    message=None if rule.code in (None, "required") else "rule",
                    **extra,
                )
            case "forbidden-unless":
                assert rule.field
                self.add(
                    rule.field,
                    rule.code or "not-applicable",
                    ~when & self.raw(rule.field).is_not_null(),
                    severity=severity,
                    message="not-applicable",
                    **extra,
                )
            case "max-when":
                assert rule.field and rule.max is not None
                self.add(
                    rule.field,
                    rule.code or "above-maximum",
                    when & (pl.col(typed(rule.field)) > rule.max),
                    severity=severity,
                    message="rule",
                    **extra,
                )
            case "values-subset-when":
                assert rule.field and rule.code
                element = self.dataset.element(rule.field)
                assert element.codeset is not None
                codeset = self.standard.codesets[element.codeset]
                allowed = [str(v) for v in self.conditions.values_for(element, rule.allowed)]
                raw = self.raw(rule.field)
                # Only rows whose items are all valid codes: unknown items are code-not-in-set already.
                outside = all_items_match(raw, spellings_regex(codeset), self.separators) & ~all_items_match(
                    raw, spellings_regex(codeset, allowed), self.separators
                )
                self.add(rule.field, rule.code, when & outside, severity=severity, message="rule", **extra)
            case "days-between":
                self.days_between(rule, when, extra)
            case "check-when":
                assert rule.field and rule.check
                element = self.dataset.element(rule.field)
                if rule.check in _KERNELS:
                    self.semantic(element, rule.check, when)
            case "not-future":
                today = today_in_shanghai()
                for name in rule.fields:
                    element = self.dataset.element(name)
                    value = pl.col(typed(name))
                    if element.type == "datetime":
                        value = value.dt.date()
                    self.add(
                        name,
                        rule.code or "future-date",
                        when & (value > today),
                        severity=severity,
                        message="future-date",
                    )
            case "min-items":
                assert rule.field and rule.code and rule.min is not None
                items = count_items(self.raw(rule.field), self.separators)
                self.add(
                    rule.field,
                    rule.code,
                    when & self.raw(rule.field).is_not_null() & (items < rule.min),
                    severity=severity,
                    message="rule",
                    **extra,
                )

    def date_order(self, rule: Rule, when: pl.Expr) -> None:
        names = list(rule.fields)
        titles = {n: self.dataset.element(n).title for n in names}
        for i in range(1, len(names)):
            later = names[i]
            current = self._as_date(later)
            earlier = [self._as_date(n) for n in names[:i]]
            latest = pl.max_horizontal(earlier)
            broken = current <= latest if rule.strict else current < latest
            self.add(
                later,
                rule.code or "date-order",
                when & broken,
                severity=rule.severity,
                message="date-order-strict" if rule.strict else "date-order",
                context=tuple(names[:i]),
                params_fn=_latest_earlier(names[:i], titles),
            )

    def _as_date(self, name: str) -> pl.Expr:
        element = self.dataset.element(name)
        parsed = typed_expr(element, self.raw(name), None)
        assert parsed is not None, f"{name} is not a date"
        column = self.derive(typed(name), parsed)
        return column.cast(pl.Datetime("us")) if element.type == "date" else column

    def days_between(self, rule: Rule, when: pl.Expr, extra: dict[str, Any]) -> None:
        assert rule.start and rule.end and rule.max is not None and rule.code
        days = (self._as_date(rule.end) - self._as_date(rule.start)).dt.total_days()
        limit: pl.Expr = pl.lit(rule.max)
        if rule.max_if is not None:
            limit = pl.when(self.when(rule.max_if.when)).then(rule.max_if.max).otherwise(rule.max)
        self.add(rule.end, rule.code, when & (days > limit), severity=rule.severity, message="rule", **extra)

    def plan(self) -> Plan:
        for element in self.dataset.elements:
            self.element(element)
        for rule in self.dataset.rules:
            self.rule(rule)
        stages = [list(stage.values()) for stage in self.derived if stage]
        return Plan(self.dataset, self.scales, stages, self.checks)


def element_as_of(dataset: Dataset) -> str | None:
    """The date a legal basis is judged on: the decision date, or the dataset's main date."""
    for name in _AS_OF_CANDIDATES:
        if name in dataset.names:
            return name
    return None


def _latest_earlier(names: list[str], titles: dict[str, str]) -> ParamsFn:
    def params(value: str | None, context: dict[str, Any]) -> dict[str, Any]:
        present = [n for n in names if context.get(n)]
        other = max(present, key=lambda n: str(context[n])) if present else names[-1]
        return {"other": titles[other], "other_name": other}

    return params


def _law_params(code: str, as_of: str | None) -> ParamsFn:
    from enforcehub.validate.laws import describe_citation_problem

    def params(value: str | None, context: dict[str, Any]) -> dict[str, Any]:
        day = context.get(as_of) if as_of else None
        return describe_citation_problem(code, value, str(day) if day else None)

    return params


def compile_plan(standard: Standard, dataset: Dataset, scales: dict[str, float] | None = None) -> Plan:
    """The vectorised plan for `dataset`, given the unit scales of the file's columns."""
    return Compiler(standard, dataset, scales or {}).plan()
