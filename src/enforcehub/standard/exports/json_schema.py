"""JSON Schema (2020-12) of one record as an API client sends it.

Keys are element names. Values arrive as text from clerks' systems, so every element accepts a
string; numbers also accept JSON numbers, booleans JSON booleans. An optional element may be
absent, null or "" (the hub treats all three as empty). Code elements accept the code, the label
or an alias, as the hub does. Conditional requirements and the rules that can be said in JSON
Schema become `if`/`then` under `allOf`; the others are listed in `$comment` (the hub checks them).

Dates are asked for in their canonical form (YYYY-MM-DD, `format: date`); date-times as
`YYYY-MM-DD HH:MM:SS` Beijing time. No `format: date-time` is given: RFC 3339 requires a time
zone offset, which the standard's date-times do not carry.
"""

from __future__ import annotations

import contextlib
from typing import Any

from enforcehub.standard.exports.describe import condition_zh, rule_codes, rule_zh
from enforcehub.standard.exports.values import (
    any_item_pattern,
    boolean_words,
    codeset_of,
    element_pattern,
    multi_value_pattern,
    plain,
    single_value_pattern,
    spellings,
)
from enforcehub.standard.model import Condition, Dataset, Element, Rule, Standard

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]
EMPTY: Schema = {"enum": [None, "", []]}
NOT_EMPTY: dict[str, Any] = {"not": EMPTY}
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}$"
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
_LISTED_CODES = 30
# Rules JSON Schema cannot say (comparisons between fields, today's date, item counts, checksums).
_NOT_EXPRESSIBLE = ("date-order", "days-between", "not-future", "check-when", "min-items")


def to_jsonschema(standard: Standard, dataset: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one record of `dataset`; for None, every dataset's schema under `$defs`."""
    if dataset is not None:
        return record_schema(standard, standard.dataset(dataset))
    meta = standard.meta
    defs = {}
    for name, ds in standard.datasets.items():
        schema = record_schema(standard, ds)
        del schema["$schema"]
        defs[name] = schema
    return {
        "$schema": DIALECT,
        "$id": f"urn:enforcehub:standard:{meta.version}",
        "title": f"{meta.title} {meta.version}",
        "description": f"{meta.title_en} {meta.version}: one record of each dataset, under $defs.",
        "$defs": defs,
    }


def record_schema(standard: Standard, dataset: Dataset) -> dict[str, Any]:
    """The schema of one record of `dataset`."""
    properties = {e.name: property_schema(standard, dataset, e) for e in dataset.elements}
    required = [e.name for e in dataset.elements if e.required is True]
    conditionals: list[dict[str, Any]] = []
    for element in dataset.elements:
        if element.required == "conditional" and element.when is not None:
            conditionals.append(
                {
                    "if": condition_schema(standard, dataset, element.when),
                    "then": {"required": [element.name], "properties": {element.name: NOT_EMPTY}},
                }
            )
    unsaid: list[str] = []
    for rule in dataset.rules:
        said = rule_schema(standard, dataset, rule)
        if said is None:
            unsaid.append(_rule_comment(standard, dataset, rule))
        else:
            conditionals.append(said)
    key = "、".join(dataset.element(k).title for k in dataset.key)
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:enforcehub:standard:{standard.meta.version}:{dataset.name}",
        "title": f"{dataset.title}（{dataset.name}，{dataset.table}）",
        "description": (
            f"{dataset.description.strip()} 业务主键：{key}。每条记录一个 JSON 对象，键为数据项英文名；"
            "值可为字符串（数值、布尔项也可为 JSON 数字、布尔值）；非必填项可省略、为 null 或空字符串。"
        ),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if conditionals:
        schema["allOf"] = conditionals
    if unsaid:
        schema["$comment"] = "平台另行校验（JSON Schema 无法表达）：" + "；".join(unsaid)
    return schema


def property_schema(standard: Standard, dataset: Dataset, element: Element) -> dict[str, Any]:
    """One element: title, description, and its value schema (or empty, when not required)."""
    prop: dict[str, Any] = {"title": element.title, "description": _description(standard, dataset, element)}
    value = value_schema(standard, element)
    if element.required is True:
        prop.update(value)
    else:
        prop["anyOf"] = [value, EMPTY]
    return prop


def value_schema(standard: Standard, element: Element) -> dict[str, Any]:
    """The schema of a non-empty value of the element."""
    separators = standard.meta.multi_value_separators
    schema: dict[str, Any]
    patterns: list[str] = []
    match element.type:
        case "integer":
            schema = {"type": ["integer", "string"]}
            patterns.append(INTEGER_PATTERN)
        case "decimal":
            schema = {"type": ["number", "string"]}
            patterns.append(_decimal_pattern(element))
        case "boolean":
            true_words, false_words = boolean_words()
            schema = {"enum": [True, False, *true_words, *false_words]}
        case "date":
            schema = {"type": "string", "format": "date"}
            patterns.append(DATE_PATTERN)
        case "datetime":
            schema = {"type": "string"}
            patterns.append(DATETIME_PATTERN)
        case "code":
            codeset = codeset_of(standard, element)
            assert codeset is not None  # the loader guarantees a code set for code elements
            schema = {"type": "string"}
            if element.multiple:
                patterns.append(multi_value_pattern(codeset, separators))
            elif codeset.prefix_values:
                patterns.append(single_value_pattern(codeset))
            else:
                schema["enum"] = spellings(codeset)
        case _:
            schema = {"type": "string"}
    if element.type in ("string", "code"):
        schema["minLength"] = max(1, element.min_length or 1)
    elif element.min_length is not None:
        schema["minLength"] = element.min_length
    if element.max_length is not None:
        schema["maxLength"] = element.max_length
    own = element_pattern(element)
    if own is not None:
        patterns.append(own)
    if patterns:
        schema["pattern"] = patterns[0]
    if len(patterns) > 1:
        schema["allOf"] = [{"pattern": p} for p in patterns[1:]]
    if element.type in ("integer", "decimal"):
        if element.minimum is not None:
            key = "exclusiveMinimum" if element.exclusive_minimum else "minimum"
            schema[key] = plain(float(element.minimum))
        if element.maximum is not None:
            schema["maximum"] = plain(float(element.maximum))
    if element.multiple:
        # The hub also takes a JSON array for a multi-valued field (it joins the items with ";").
        return {"anyOf": [schema, {"type": "array", "minItems": 1, "items": _item_schema(standard, element)}]}
    return schema


def _item_schema(standard: Standard, element: Element, codes: tuple[str, ...] | None = None) -> Schema:
    """One item of a multi-valued element given as a JSON array (only `codes`, when given)."""
    codeset = codeset_of(standard, element)
    if codeset is None:
        return {"type": "string", "minLength": 1}
    if codeset.prefix_values and codes is None:
        return {"type": "string", "pattern": single_value_pattern(codeset)}
    return {"enum": spellings(codeset, codes)}


def _decimal_pattern(element: Element) -> str:
    scale = element.precision[1] if element.precision else None
    fraction = "[0-9]*" if scale is None else f"[0-9]{{0,{scale}}}"
    tail = "[0-9]+" if scale is None else f"[0-9]{{1,{scale}}}"
    if scale == 0:
        return r"^[+-]?[0-9]+\.?$"
    return rf"^[+-]?(?:[0-9]+(?:\.{fraction})?|\.{tail})$"


def condition_schema(standard: Standard, dataset: Dataset, cond: Condition) -> dict[str, Any]:
    """A condition as a schema a record satisfies exactly when the condition holds."""
    if cond.all is not None:
        return {"allOf": [condition_schema(standard, dataset, c) for c in cond.all]}
    if cond.any is not None:
        return {"anyOf": [condition_schema(standard, dataset, c) for c in cond.any]}
    assert cond.field is not None  # the loader guarantees exactly one form
    name = cond.field
    if cond.present is not None:
        if cond.present:
            return {"required": [name], "properties": {name: NOT_EMPTY}}
        return {"properties": {name: EMPTY}}
    values = cond.in_ if cond.in_ is not None else cond.not_in or ()
    hit = _hit_schema(standard, dataset.element(name), values)
    if cond.in_ is not None:
        return {"required": [name], "properties": {name: hit}}
    return {"required": [name], "properties": {name: {"allOf": [NOT_EMPTY, {"not": hit}]}}}


def _hit_schema(standard: Standard, element: Element, values: tuple[str, ...]) -> dict[str, Any]:
    """The values of `element` that count as one of `values`, in every accepted spelling."""
    codeset = codeset_of(standard, element)
    if codeset is not None:
        if element.multiple:
            pattern = any_item_pattern(codeset, standard.meta.multi_value_separators, values)
            as_array = {"type": "array", "contains": _item_schema(standard, element, values)}
            return {"anyOf": [{"type": "string", "pattern": pattern}, as_array]}
        return {"enum": spellings(codeset, values)}
    if element.type == "boolean":
        true_words, false_words = boolean_words()
        wanted: list[Any] = []
        for value in values:
            truth = value.lower() in true_words
            wanted += [True, *true_words] if truth else [False, *false_words]
        return {"enum": wanted}
    if element.type in ("integer", "decimal"):
        numbers: list[Any] = []
        for value in values:
            numbers.append(value)
            with contextlib.suppress(ValueError):
                numbers.append(plain(float(value)))
        return {"enum": numbers}
    return {"enum": list(values)}


def rule_schema(standard: Standard, dataset: Dataset, rule: Rule) -> dict[str, Any] | None:
    """A rule as `if`/`then`, or None when JSON Schema cannot say it."""
    if rule.kind in _NOT_EXPRESSIBLE or rule.field is None:
        return None
    cond = condition_schema(standard, dataset, rule.when) if rule.when is not None else {}
    field = rule.field
    then: dict[str, Any]
    match rule.kind:
        case "required-if":
            then = {"required": [field], "properties": {field: NOT_EMPTY}}
        case "forbidden-unless":
            return {
                "$comment": _rule_comment(standard, dataset, rule),
                "if": {"not": cond},
                "then": {"properties": {field: EMPTY}},
            }
        case "max-when":
            then = {"properties": {field: {"maximum": plain(rule.max or 0)}}}
        case "values-subset-when":
            codeset = codeset_of(standard, dataset.element(field))
            if codeset is None:
                return None
            element = dataset.element(field)
            pattern = multi_value_pattern(codeset, standard.meta.multi_value_separators, rule.allowed)
            allowed = [
                EMPTY,
                {"type": "string", "pattern": pattern},
                {"type": "array", "items": _item_schema(standard, element, rule.allowed)},
            ]
            then = {"properties": {field: {"anyOf": allowed}}}
        case _:
            return None
    return {"$comment": _rule_comment(standard, dataset, rule), "if": cond, "then": then}


def _rule_comment(standard: Standard, dataset: Dataset, rule: Rule) -> str:
    return f"{'/'.join(rule_codes(rule))}: {rule_zh(standard, dataset, rule)}"


def _description(standard: Standard, dataset: Dataset, element: Element) -> str:
    parts = [element.definition.strip()]
    if element.required == "conditional" and element.when is not None:
        parts.append(f"当{condition_zh(standard, dataset, element.when)}时必填。")
    codeset = codeset_of(standard, element)
    if codeset is not None:
        shown = codeset.codes[:_LISTED_CODES]
        listed = [f"{c.code} {c.label}" if c.code != c.label else c.code for c in shown]
        more = f" 等，共 {len(codeset.codes)} 项" if len(codeset.codes) > _LISTED_CODES else ""
        parts.append(
            f"代码集 {codeset.name}（{codeset.title}）：可填写代码、名称或别名（{'、'.join(listed)}{more}）。"
        )
        if codeset.prefix_values:
            parts.append("亦接受以" + "、".join(f"“{p}”" for p in codeset.prefix_values) + "开头的值。")
    if element.multiple:
        parts.append("多值：字符串中用“;”分隔（亦接受 ；、,，|），或为字符串数组。")
    if element.type == "date":
        parts.append("格式 YYYY-MM-DD。")
    elif element.type == "datetime":
        parts.append("格式 YYYY-MM-DD HH:MM:SS（北京时间）。")
    elif element.type in ("integer", "decimal"):
        parts.append("可为 JSON 数字或数字字符串（取值范围仅对 JSON 数字校验，平台对两者均校验）。")
    if element.type in ("date", "datetime") and (element.minimum is not None or element.maximum is not None):
        low = f"不早于 {element.minimum}" if element.minimum is not None else ""
        high = f"不晚于 {element.maximum}" if element.maximum is not None else ""
        parts.append(f"取值{'，'.join(p for p in (low, high) if p)}（平台校验）。")
    if element.check is not None:
        parts.append(f"平台另做 {element.check} 校验。")
    if element.unit:
        parts.append(f"单位：{element.unit}。")
    return " ".join(parts)
