"""The standard as typed values: code sets, elements, datasets, rules and conditions.

These models mirror the YAML files one to one (see docs/standard-format.md). Unknown keys are
refused so a typo in a standard file is an error, not a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ElementType = Literal["string", "integer", "decimal", "date", "datetime", "boolean", "code"]
CheckName = Literal["uscc", "resident-id", "org-code", "division-code", "law-citation"]
Severity = Literal["error", "warning"]
KEBAB = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
SNAKE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"

ACTION_DATASETS = ("penalty", "license", "coercion", "inspection", "levy", "requisition")
REFERENCE_DATASETS = ("law", "matter", "agency", "officer", "counterparty", "supervision", "complaint")
DATASET_NAMES = ACTION_DATASETS + REFERENCE_DATASETS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Code(_Strict):
    code: str
    label: str
    en: str | None = None
    aliases: tuple[str, ...] = ()
    note: str | None = None


class CodeSet(_Strict):
    name: str = ""
    title: str
    title_en: str | None = None
    source: str | None = None
    note: str | None = None
    codes: tuple[Code, ...] = ()
    # Values starting with one of these prefixes are accepted as they are (信用中国's "其他-<说明>").
    prefix_values: tuple[str, ...] = ()
    # False where labels repeat (many divisions are called 市辖区): only codes are accepted on input.
    labels_accepted: bool = True


class Condition(_Strict):
    """A condition over one record; exactly one form is used (checked by the loader)."""

    field: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    not_in: tuple[str, ...] | None = None
    present: bool | None = None
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def fields(self) -> set[str]:
        """Every element name the condition reads."""
        names = {self.field} if self.field else set()
        for part in (self.all or ()) + (self.any or ()):
            names |= part.fields()
        return names


class Alias(_Strict):
    header: str
    scale: float | None = None


class Element(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Z][0-9]{6}$")]
    name: Annotated[str, Field(pattern=SNAKE)]
    title: str
    title_en: str | None = None
    definition: str
    type: ElementType
    max_length: int | None = None
    min_length: int | None = None
    precision: tuple[int, int] | None = None
    required: bool | Literal["conditional"] = False
    when: Condition | None = None
    codeset: str | None = None
    multiple: bool = False
    pattern: str | None = None
    minimum: float | str | None = None
    maximum: float | str | None = None
    exclusive_minimum: bool = False
    check: CheckName | None = None
    unit: str | None = None
    aliases: tuple[Alias, ...] = ()
    shuanggongshi: str | None = None
    personal: bool = False
    note: str | None = None


class MaxIf(_Strict):
    when: Condition
    max: float


class Rule(_Strict):
    kind: Literal[
        "date-order",
        "required-if",
        "forbidden-unless",
        "max-when",
        "values-subset-when",
        "days-between",
        "check-when",
        "not-future",
        "min-items",
    ]
    code: Annotated[str, Field(pattern=KEBAB)] | None = None
    title: str | None = None
    title_en: str | None = None
    basis: str | None = None
    severity: Severity = "error"
    note: str | None = None
    fields: tuple[str, ...] = ()
    strict: bool = False
    field: str | None = None
    when: Condition | None = None
    max: float | None = None
    min: int | None = None
    allowed: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    max_if: MaxIf | None = None
    check: CheckName | None = None

    def element_names(self) -> set[str]:
        """Every element name this rule reads."""
        names = set(self.fields)
        names |= {n for n in (self.field, self.start, self.end) if n}
        if self.when:
            names |= self.when.fields()
        if self.max_if:
            names |= self.max_if.when.fields()
        return names


class Dataset(_Strict):
    name: str
    table: Annotated[str, Field(pattern=r"^[A-Z][0-9]{4}$")]
    title: str
    title_en: str
    description: str
    kind: Literal["action", "reference"]
    key: tuple[str, ...]
    elements: tuple[Element, ...]
    rules: tuple[Rule, ...] = ()
    note: str | None = None

    def element(self, name: str) -> Element:
        """The element called `name`; KeyError when there is none."""
        for element in self.elements:
            if element.name == name:
                return element
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.elements)


class StandardMeta(_Strict):
    version: str
    title: str
    title_en: str
    published: str
    notes: tuple[dict[str, str], ...] = ()
    multi_value_separators: tuple[str, ...] = (";", "；", "、", ",", "，", "|")
    long_term_date: str = "2099-12-31"


class Standard(_Strict):
    meta: StandardMeta
    codesets: dict[str, CodeSet]
    datasets: dict[str, Dataset]

    def dataset(self, name: str) -> Dataset:
        """The dataset called `name`; KeyError when there is none."""
        return self.datasets[name]
