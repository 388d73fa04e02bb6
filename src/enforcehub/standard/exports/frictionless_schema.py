"""Frictionless Table Schema (v1) of a dataset, for files with element names as headers.

It carries the checks Table Schema can express: types, required, lengths, patterns, code sets
(enum of codes, labels and aliases, so a file written with labels validates; multi-valued code
fields as a pattern), bounds and the business key as primaryKey. Cross-field rules, checksums,
conditional requirements and decimal places are the hub's alone; each field's description says
what the hub checks besides.

Table Schema v1 has no exclusive bounds: an exclusive minimum becomes the next integer / day /
second, and for decimals the inclusive minimum (said in the description). Date fields use the
default format, so a file must write dates as YYYY-MM-DD and date-times ISO-like
(YYYY-MM-DD HH:MM:SS); the hub also accepts YYYY/MM/DD and YYYYMMDD. Column order must be the
order of the elements (frictionless matches header names by position).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from enforcehub.standard.exports.describe import CHECK_ZH, condition_zh
from enforcehub.standard.exports.values import (
    boolean_words,
    codeset_of,
    multi_value_pattern,
    plain,
    single_value_pattern,
    spellings,
)
from enforcehub.standard.model import Dataset, Element, Standard

_TYPES = {
    "string": "string",
    "code": "string",
    "integer": "integer",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}


def to_frictionless(standard: Standard, dataset: str) -> dict[str, Any]:
    """The Table Schema of `dataset` as a descriptor dict (`frictionless.Schema.from_descriptor`)."""
    ds = standard.dataset(dataset)
    schema: dict[str, Any] = {
        "name": ds.name,
        "title": ds.title,
        "description": ds.description.strip(),
        "fields": [field_descriptor(standard, ds, e) for e in ds.elements],
        "missingValues": [""],
    }
    if ds.key:
        schema["primaryKey"] = list(ds.key)
    return schema


def to_frictionless_package(standard: Standard) -> dict[str, Any]:
    """A Data Package descriptor with one CSV resource per dataset (`<name>.csv`) and its Table Schema."""
    meta = standard.meta
    return {
        "name": "enforcehub-standard",
        "title": f"{meta.title} {meta.version}",
        "version": meta.version,
        "resources": [
            {
                "name": name,
                "title": ds.title,
                "path": f"{name}.csv",
                "format": "csv",
                "encoding": "utf-8",
                "schema": to_frictionless(standard, name),
            }
            for name, ds in standard.datasets.items()
        ],
    }


def field_descriptor(standard: Standard, dataset: Dataset, element: Element) -> dict[str, Any]:
    """One field with its type options and constraints."""
    ftype = _TYPES[element.type]
    field: dict[str, Any] = {"name": element.name, "title": element.title, "type": ftype}
    constraints: dict[str, Any] = {}
    unsaid: list[str] = []
    if element.required is True:
        constraints["required"] = True
    elif element.required == "conditional" and element.when is not None:
        unsaid.append(f"当{condition_zh(standard, dataset, element.when)}时必填")
    if ftype == "string":
        _string_constraints(standard, element, constraints)
    else:
        if element.pattern is not None:
            unsaid.append(f"格式 {element.pattern}")
        if element.max_length is not None or element.min_length is not None:
            unsaid.append("长度")
    if ftype == "boolean":
        field["trueValues"], field["falseValues"] = boolean_words()
    if ftype == "number":
        field["groupChar"] = ","  # the hub drops thousands separators too
        if element.precision is not None:
            unsaid.append(f"最多 {element.precision[1]} 位小数")
    if ftype in ("integer", "number", "date", "datetime"):
        unsaid += _bounds(element, constraints)
    if element.check is not None:
        unsaid.append(CHECK_ZH[element.check])
    description = element.definition.strip()
    if unsaid:
        description += "（平台另行校验：" + "；".join(unsaid) + "）"
    field["description"] = description
    if constraints:
        field["constraints"] = constraints
    return field


def _string_constraints(standard: Standard, element: Element, constraints: dict[str, Any]) -> None:
    if element.min_length is not None:
        constraints["minLength"] = element.min_length
    if element.max_length is not None:
        constraints["maxLength"] = element.max_length
    patterns: list[str] = []
    codeset = codeset_of(standard, element)
    if codeset is not None:
        if element.multiple:
            patterns.append(multi_value_pattern(codeset, standard.meta.multi_value_separators))
        elif codeset.prefix_values:
            patterns.append(single_value_pattern(codeset))
        else:
            constraints["enum"] = spellings(codeset)
    if element.pattern is not None:
        patterns.append(f"^(?:{element.pattern})$")
    if patterns:
        # Frictionless anchors the pattern itself; several patterns must all hold (lookaheads).
        *first, last = patterns
        constraints["pattern"] = "".join(f"(?={p})" for p in first) + last


def _bounds(element: Element, constraints: dict[str, Any]) -> list[str]:
    """Minimum and maximum in the field's own terms; what v1 cannot say comes back as words."""
    unsaid: list[str] = []
    if element.minimum is not None:
        if element.exclusive_minimum and element.type == "decimal":
            unsaid.append(f"须大于 {plain(element.minimum)}")
            constraints["minimum"] = _literal(element, element.minimum, "min")
        else:
            bound: Literal["min", "above"] = "above" if element.exclusive_minimum else "min"
            constraints["minimum"] = _literal(element, element.minimum, bound)
    if element.maximum is not None:
        constraints["maximum"] = _literal(element, element.maximum, "max")
    return unsaid


def _literal(element: Element, value: float | str, bound: Literal["min", "above", "max"]) -> Any:
    """A bound as frictionless reads it for the field's type; `above` is an exclusive minimum."""
    step = 1 if bound == "above" else 0
    if element.type == "date":
        return (dt.date.fromisoformat(str(value)) + dt.timedelta(days=step)).isoformat()
    if element.type == "datetime":
        moment = dt.datetime.fromisoformat(str(value)) + dt.timedelta(seconds=step)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    number = float(value)
    if element.type == "integer":
        return {"min": math.ceil(number), "above": math.floor(number) + 1, "max": math.floor(number)}[bound]
    return plain(number)
