"""The complete standard as one JSON document, for machines (code generators, other hubs, portals).

Every key of every element and rule is present (null when unset), so a consumer can rely on the
shape. Order is the order of the standard files: datasets in their fixed order, elements and
rules as written, code sets as in codesets.yaml with the built-in `divisions` last.
"""

from __future__ import annotations

from typing import Any

from enforcehub.standard.exports.describe import condition_zh, rule_codes, rule_zh
from enforcehub.standard.exports.values import plain
from enforcehub.standard.model import CodeSet, Condition, Dataset, Element, Rule, Standard

FORMAT_NAME = "enforcehub-standard"
FORMAT_VERSION = 1


def to_json(standard: Standard, dataset: str | None = None) -> dict[str, Any]:
    """The standard (or one dataset with the code sets it uses) as a JSON-ready dict."""
    datasets = [standard.dataset(dataset)] if dataset else list(standard.datasets.values())
    used = {e.codeset for d in datasets for e in d.elements if e.codeset}
    codesets = {
        name: codeset_json(codeset)
        for name, codeset in standard.codesets.items()
        if dataset is None or name in used
    }
    meta = standard.meta
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "standard": {
            "version": meta.version,
            "title": meta.title,
            "title_en": meta.title_en,
            "published": meta.published,
            "notes": [dict(note) for note in meta.notes],
            "multi_value_separators": list(meta.multi_value_separators),
            "long_term_date": meta.long_term_date,
        },
        "codesets": codesets,
        "datasets": [dataset_json(standard, d) for d in datasets],
    }


def codeset_json(codeset: CodeSet) -> dict[str, Any]:
    """One code set with all its codes."""
    return {
        "name": codeset.name,
        "title": codeset.title,
        "title_en": codeset.title_en,
        "source": codeset.source,
        "note": codeset.note,
        "prefix_values": list(codeset.prefix_values),
        "codes": [
            {"code": c.code, "label": c.label, "en": c.en, "aliases": list(c.aliases), "note": c.note}
            for c in codeset.codes
        ],
    }


def dataset_json(standard: Standard, dataset: Dataset) -> dict[str, Any]:
    """One dataset with every element and rule."""
    return {
        "name": dataset.name,
        "table": dataset.table,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "kind": dataset.kind,
        "description": dataset.description,
        "note": dataset.note,
        "key": list(dataset.key),
        "elements": [element_json(standard, dataset, e) for e in dataset.elements],
        "rules": [rule_json(standard, dataset, r) for r in dataset.rules],
    }


def element_json(standard: Standard, dataset: Dataset, element: Element) -> dict[str, Any]:
    """One element; `when` is the structured condition, `when_zh` the same in words."""
    codes = [c.code for c in standard.codesets[element.codeset].codes] if element.codeset else None
    return {
        "id": element.id,
        "name": element.name,
        "title": element.title,
        "title_en": element.title_en,
        "definition": element.definition,
        "type": element.type,
        "required": element.required,
        "when": condition_json(element.when) if element.when else None,
        "when_zh": condition_zh(standard, dataset, element.when) if element.when else None,
        "max_length": element.max_length,
        "min_length": element.min_length,
        "precision": list(element.precision) if element.precision else None,
        "minimum": _bound(element.minimum),
        "maximum": _bound(element.maximum),
        "exclusive_minimum": element.exclusive_minimum,
        "pattern": element.pattern,
        "codeset": element.codeset,
        "codes": codes,
        "multiple": element.multiple,
        "check": element.check,
        "unit": element.unit,
        "aliases": [{"header": a.header, "scale": _bound(a.scale)} for a in element.aliases],
        "shuanggongshi": element.shuanggongshi,
        "personal": element.personal,
        "note": element.note,
    }


def rule_json(standard: Standard, dataset: Dataset, rule: Rule) -> dict[str, Any]:
    """One rule with every field, the finding codes it reports and its sentence in Chinese."""
    return {
        "kind": rule.kind,
        "code": rule.code,
        "finding_codes": list(rule_codes(rule)),
        "title": rule.title,
        "title_en": rule.title_en,
        "description_zh": rule_zh(standard, dataset, rule),
        "basis": rule.basis,
        "severity": rule.severity,
        "note": rule.note,
        "fields": list(rule.fields),
        "strict": rule.strict,
        "field": rule.field,
        "when": condition_json(rule.when) if rule.when else None,
        "max": _bound(rule.max),
        "min": rule.min,
        "allowed": list(rule.allowed),
        "start": rule.start,
        "end": rule.end,
        "max_if": _max_if(rule),
        "check": rule.check,
    }


def condition_json(cond: Condition) -> dict[str, Any]:
    """A condition in the form of the standard files (`{field, in}`, `{all: [...]}` …)."""
    if cond.all is not None:
        return {"all": [condition_json(c) for c in cond.all]}
    if cond.any is not None:
        return {"any": [condition_json(c) for c in cond.any]}
    out: dict[str, Any] = {"field": cond.field}
    if cond.in_ is not None:
        out["in"] = list(cond.in_)
    if cond.not_in is not None:
        out["not_in"] = list(cond.not_in)
    if cond.present is not None:
        out["present"] = cond.present
    return out


def _max_if(rule: Rule) -> dict[str, Any] | None:
    if rule.max_if is None:
        return None
    return {"when": condition_json(rule.max_if.when), "max": _bound(rule.max_if.max)}


def _bound(value: float | str | None) -> float | str | int | None:
    return None if value is None else plain(value)
