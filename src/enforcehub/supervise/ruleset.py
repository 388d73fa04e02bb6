"""Supervision rules as data: one YAML file per rule in supervise/rules/, checked before any is run.

A rule names its dataset, its legal basis (law + article), a severity, a `kind` — the computation it
compiles to (supervise/kinds.py) — with that kind's parameters, and conditions over the facts'
columns (`where`: which records the rule looks at; `violation`: what is wrong, for record conditions).
The format is documented in docs/supervision.md ("Rule files").
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from enforcehub.errors import EnforcehubError
from enforcehub.store.supervision import FACT_SCHEMA
from enforcehub.supervise.facts import ACTION_DATASETS

KINDS = ("record-condition", "deadline", "min-officers", "distinct-agencies-in-window", "group-spread")
# Columns rules may name: the facts, plus amounts in 元 and the party class derived from them.
VIRTUAL_COLUMNS: dict[str, pl.DataType] = {
    "fine_amount": pl.Float64(),
    "statutory_max": pl.Float64(),
    "party_class": pl.Utf8(),  # person (自然人) or organisation (everyone else)
}
RULE_COLUMNS: dict[str, pl.DataType] = {**FACT_SCHEMA, **VIRTUAL_COLUMNS}
_PARAMETER = re.compile(r"^\$([a-z_][a-z0-9_]*)$")
# Parameters each kind requires (name → type).
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "record-condition": {},
    "deadline": {"start": str, "end": list, "limit": int, "unit": str, "open_end": str},
    "min-officers": {"min": int},
    "distinct-agencies-in-window": {"min_agencies": int, "window_days": int},
    "group-spread": {
        "group_by": list,
        "compare": str,
        "min_per_unit": int,
        "min_units": int,
        "max_ratio": (int, float),
    },
}


class RuleError(EnforcehubError):
    code = "rule-invalid"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Basis(_Strict):
    law: str
    article: str
    note: str | None = None


class Condition(_Strict):
    """One test on a fact column, or a combination (`all`, `any`, `not`); exactly one form per node.

    `in`/`not_in` (text; not_in is true for an empty value), `present`, `is`/`is_not` (booleans;
    `is_not: false` is true for true and for empty), `gt` (a number or `$parameter`), `gt_field`
    (another column), `not_subset_of` (';'-joined codes with an item outside the list)."""

    field: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    not_in: tuple[str, ...] | None = None
    present: bool | None = None
    is_: bool | None = Field(default=None, alias="is")
    is_not: bool | None = None
    gt: float | str | None = None
    gt_field: str | None = None
    not_subset_of: tuple[str, ...] | None = None
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    def tests(self) -> list[str]:
        names = ("in_", "not_in", "present", "is_", "is_not", "gt", "gt_field", "not_subset_of")
        return [n for n in names if getattr(self, n) is not None]

    def fields(self) -> set[str]:
        found = {self.field} if self.field else set()
        if self.gt_field:
            found.add(self.gt_field)
        for child in (*(self.all or ()), *(self.any or ()), *((self.not_,) if self.not_ else ())):
            found |= child.fields()
        return found


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")
    title: str
    title_en: str
    severity: Literal["high", "medium", "low"]
    dataset: str
    basis: tuple[Basis, ...] = Field(min_length=1)
    kind: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    where: Condition | None = None
    violation: Condition | None = None
    show: tuple[str, ...] = ()
    description: str
    statistic: str
    limits: str

    def summary(self) -> dict[str, Any]:
        """The rule as the CLI and API list it."""
        return {
            "id": self.id,
            "title": self.title,
            "title_en": self.title_en,
            "severity": self.severity,
            "dataset": self.dataset,
            "kind": self.kind,
            "basis": [b.model_dump(exclude_none=True) for b in self.basis],
            "parameters": self.parameters,
        }


def _check_condition(condition: Condition, rule: Rule, where: str) -> None:
    combos = [n for n in ("all", "any", "not_") if getattr(condition, n) is not None]
    tests = condition.tests()
    if condition.field is None:
        if len(combos) != 1 or tests:
            raise ValueError(f"{where}: give one of all / any / not, or a field with one test")
    elif len(tests) != 1 or combos:
        raise ValueError(f"{where}: field {condition.field} needs exactly one test")
    for name in condition.fields():
        if name not in RULE_COLUMNS:
            raise ValueError(f"{where}: unknown column {name!r}")
    if isinstance(condition.gt, str):
        match = _PARAMETER.match(condition.gt)
        if not match or not isinstance(rule.parameters.get(match.group(1)), int | float):
            raise ValueError(f"{where}: gt {condition.gt!r} is not a number or a numeric $parameter")
    for child in (*(condition.all or ()), *(condition.any or ())):
        _check_condition(child, rule, where)
    if condition.not_ is not None:
        _check_condition(condition.not_, rule, where)


def check_rule(rule: Rule, origin: str) -> None:
    """Refuse a rule the engine could not run, naming the file and the problem."""
    try:
        if rule.dataset not in ACTION_DATASETS:
            raise ValueError(f"dataset {rule.dataset!r} is not one of {', '.join(ACTION_DATASETS)}")
        if rule.kind not in KINDS:
            raise ValueError(f"kind {rule.kind!r} is not one of {', '.join(KINDS)}")
        for name, kind in REQUIRED[rule.kind].items():
            if not isinstance(rule.parameters.get(name), kind):
                raise ValueError(f"parameter {name!r} is missing or has the wrong type")
        if rule.kind == "record-condition" and rule.violation is None:
            raise ValueError("a record-condition rule needs `violation`")
        if rule.kind != "record-condition" and rule.violation is not None:
            raise ValueError("only record-condition rules have `violation`")
        for part, condition in (("where", rule.where), ("violation", rule.violation)):
            if condition is not None:
                _check_condition(condition, rule, part)
        columns = list(rule.show)
        p = rule.parameters
        if rule.kind == "deadline":
            columns += [p["start"], *p["end"]]
            if p["unit"] not in ("calendar", "working") or p["open_end"] not in ("as-of", "skip"):
                raise ValueError("deadline: unit is calendar or working, open_end is as-of or skip")
            extension = p.get("extension")
            if extension is not None:
                if not isinstance(extension, dict) or set(extension) != {"field", "limit"}:
                    raise ValueError("deadline: extension is {field: <boolean column>, limit: <days>}")
                columns.append(extension["field"])
        if rule.kind == "group-spread":
            columns += [*p["group_by"], p["compare"]]
        for name in columns:
            if name not in RULE_COLUMNS:
                raise ValueError(f"unknown column {name!r}")
    except ValueError as exc:
        raise RuleError(
            f"监督规则 {origin} 无效：{exc}", message_en=f"supervision rule {origin} is invalid: {exc}"
        ) from None


def parse_rule(text: str, origin: str) -> Rule:
    """One rule from its YAML text (`origin` names it in errors)."""
    try:
        data = yaml.safe_load(text)
        rule = Rule.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise RuleError(
            f"监督规则 {origin} 无法读取：{exc}", message_en=f"cannot read supervision rule {origin}: {exc}"
        ) from None
    check_rule(rule, origin)
    return rule


def _files(directory: Path | Traversable) -> list[Any]:
    return sorted((f for f in directory.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


def load_rules(directory: Path | None = None) -> dict[str, Rule]:
    """Every rule of a directory (default: the packaged supervise/rules/), by id, in file order.
    A rule's id must equal its file name."""
    if directory is None:
        return dict(_packaged())
    return _load(directory)


@functools.cache
def _packaged() -> tuple[tuple[str, Rule], ...]:
    return tuple(_load(resources.files("enforcehub.supervise").joinpath("rules")).items())


def _load(directory: Path | Traversable) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for file in _files(directory):
        rule = parse_rule(file.read_text(encoding="utf-8"), file.name)
        if rule.id != file.name.removesuffix(".yaml"):
            raise RuleError(
                f"监督规则 {file.name} 的 id 须与文件名相同（{rule.id}）",
                message_en=f"supervision rule {file.name}: id {rule.id} must equal the file name",
            )
        rules[rule.id] = rule
    return rules


def parameter(rule: Rule, value: float | str) -> float:
    """A number, or the value of a `$parameter` of the rule."""
    if isinstance(value, str):
        match = _PARAMETER.match(value)
        assert match is not None
        return float(rule.parameters[match.group(1)])
    return float(value)


def condition_expr(condition: Condition, rule: Rule) -> pl.Expr:
    """The condition as a boolean polars expression over the rule frame (never null: unknown = false,
    except `not_in`, `is_not` which are true for an empty value)."""
    if condition.all is not None:
        return pl.all_horizontal([condition_expr(c, rule) for c in condition.all])
    if condition.any is not None:
        return pl.any_horizontal([condition_expr(c, rule) for c in condition.any])
    if condition.not_ is not None:
        return ~condition_expr(condition.not_, rule)
    assert condition.field is not None
    column = pl.col(condition.field)
    if condition.in_ is not None:
        return column.is_in(list(condition.in_)).fill_null(False)
    if condition.not_in is not None:
        return ~column.is_in(list(condition.not_in)).fill_null(False)
    if condition.present is not None:
        return column.is_not_null() if condition.present else column.is_null()
    if condition.is_ is not None:
        return (column == condition.is_).fill_null(False)
    if condition.is_not is not None:
        return (column != condition.is_not).fill_null(True)
    if condition.gt is not None:
        return (column > parameter(rule, condition.gt)).fill_null(False)
    if condition.gt_field is not None:
        return (column > pl.col(condition.gt_field)).fill_null(False)
    assert condition.not_subset_of is not None
    allowed = list(condition.not_subset_of)
    items = column.str.split(";").list.eval(pl.element().is_in(allowed).not_())
    return items.list.any().fill_null(False)


def where_expr(rule: Rule) -> pl.Expr:
    return condition_expr(rule.where, rule) if rule.where is not None else pl.lit(True)


VIRTUAL_SOURCES = {
    "fine_amount": "fine_cents",
    "statutory_max": "statutory_max_cents",
    "party_class": "counterparty_category",
}
# Columns every kind reads besides those its rule names.
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "record-condition": (),
    "deadline": (),
    "min-officers": ("officer_certs",),
    "distinct-agencies-in-window": ("counterparty_code",),
    "group-spread": ("fine_cents",),
}
BASE_COLUMNS = ("record_id", "business_key", "agency_uscc", "region", "city", "act_date")


def rule_columns(rule: Rule) -> set[str]:
    """The fact columns a rule reads (so an evaluation reads only those from the store)."""
    names: set[str] = {*BASE_COLUMNS, *KIND_COLUMNS[rule.kind], *rule.show}
    for condition in (rule.where, rule.violation):
        if condition is not None:
            names |= condition.fields()
    p = rule.parameters
    if rule.kind == "deadline":
        names |= {p["start"], *p["end"]}
        if p.get("extension"):
            names.add(p["extension"]["field"])
    if rule.kind == "group-spread":
        names |= {*p["group_by"], p["compare"]}
    return {VIRTUAL_SOURCES.get(n, n) for n in names}


def rule_frame(facts: pl.DataFrame) -> pl.DataFrame:
    """Facts with the virtual columns rules may use (those whose source column was read)."""
    virtual = {
        "fine_amount": pl.col("fine_cents") / 100,
        "statutory_max": pl.col("statutory_max_cents") / 100,
        "party_class": pl.when(pl.col("counterparty_category") == "自然人")
        .then(pl.lit("person"))
        .otherwise(pl.lit("organisation")),
    }
    return facts.with_columns(
        expr.alias(name) for name, expr in virtual.items() if VIRTUAL_SOURCES[name] in facts.columns
    )
