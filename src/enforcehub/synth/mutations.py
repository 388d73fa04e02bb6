"""The ways to break a record, derived from the standard: one mutation per check and error rule.

Each mutation names the finding it intends (field, code) and makes candidate records; the injector
(`errors.inject`) keeps a candidate only when the oracle confirms exactly that finding. Values are
chosen to break one thing only: a USCC keeps its format when its check character changes, a
resident ID keeps a valid birth date when its check character changes, a date is moved just
before the latest earlier date of its order rule, a law citation gets an article beyond the last
one of the version in force.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from enforcehub.standard.model import Dataset, Element, Rule, Standard
from enforcehub.standard.registry import LawRegistry, int_to_chinese_numeral, parse_citations
from enforcehub.synth.oracle import Oracle, Record
from enforcehub.validate.identifiers import USCC_ALPHABET, USCC_CATEGORIES, ric_check_char, uscc_check_char

Candidates = Callable[[Record, np.random.Generator], list[Record]]


@dataclass(frozen=True)
class Mutation:
    """One way to break a record: the intended finding (field, code) and how to produce it."""

    code: str
    field: str
    make: Candidates
    twins: frozenset[str] = frozenset()  # codes the same requirement also reports on the same field


def mutations_for(standard: Standard, dataset: Dataset, oracle: Oracle) -> list[Mutation]:
    """Every mutation the dataset's elements and error rules allow."""
    required_rules: dict[str, set[str]] = {}
    for rule in dataset.rules:
        if rule.kind == "required-if" and rule.field and rule.severity == "error":
            required_rules.setdefault(rule.field, set()).add(rule.code or "required")
    out: list[Mutation] = []
    for element in dataset.elements:
        out += _element_mutations(element, oracle, required_rules.get(element.name, set()))
    for rule in dataset.rules:
        if rule.severity == "error":
            out += _rule_mutations(rule, dataset, oracle)
    return out


def _when(oracle: Oracle, element: Element) -> Callable[[Record], bool]:
    return lambda record: oracle.holds(element.when, record) if element.required == "conditional" else True


def _element_mutations(element: Element, oracle: Oracle, rule_codes: set[str]) -> list[Mutation]:
    name = element.name
    out: list[Mutation] = []

    def present(fn: Callable[[str, np.random.Generator, Record], list[str | None]]) -> Candidates:
        def make(record: Record, rng: np.random.Generator) -> list[Record]:
            value = record.get(name)
            if value is None:
                return []
            return [{**record, name: v} for v in fn(value, rng, record)]

        return make

    if element.required is True or element.required == "conditional":
        holds = _when(oracle, element)
        out.append(
            Mutation(
                "required",
                name,
                lambda r, _g: [{**r, name: None}] if r.get(name) is not None and holds(r) else [],
                frozenset(rule_codes),
            )
        )
    if element.max_length is not None and element.type in ("string", "code"):
        limit = element.max_length
        out.append(Mutation("too-long", name, present(lambda v, _g, _r: [v + "补" * (limit - len(v) + 1)])))
    if element.min_length is not None:
        shortest = element.min_length
        out.append(Mutation("too-short", name, present(lambda v, _g, _r: [v[: shortest - 1]])))
    if element.pattern is not None:
        # Characters patterns usually refuse: a leading '#', a trailing '?' (mojibake), '<'.
        out.append(Mutation("pattern", name, present(lambda v, _g, _r: ["#" + v[1:], v + "?", "<" + v[1:]])))
    if element.type == "code":
        # The validator reports a division outside the current codes as division-code, whichever
        # way the element asks for it (codeset: divisions or check: division-code).
        out.append(
            Mutation(
                "division-code" if element.codeset == "divisions" else "code-not-in-set",
                name,
                present(lambda v, _g, _r: [v + ";未知代码"] if element.multiple else ["未知代码", "449999"]),
            )
        )
    invalid = INVALID_CODES.get(element.type)
    if invalid:
        kind = element.type
        out.append(Mutation(invalid, name, present(lambda v, _g, _r: [_unparseable(kind, v)])))
    if element.minimum is not None:
        out.append(Mutation("below-minimum", name, present(lambda v, _g, _r: [_below(element)])))
    if element.maximum is not None:
        out.append(Mutation("above-maximum", name, present(lambda v, _g, _r: [_above(element)])))
    if element.precision is not None:
        digits = element.precision[1]
        out.append(
            Mutation(
                "too-precise",
                name,
                present(lambda v, _g, _r: [(v if "." in v else v + ".") + "7" * (digits + 1)]),
            )
        )
    if element.check in ("uscc", "resident-id", "org-code"):
        out += _semantic_mutations(element.check, name, lambda _r: True)
    elif element.check == "division-code":
        if element.codeset != "divisions":  # otherwise the code-set mutation above covers it
            out.append(Mutation("division-code", name, present(lambda v, _g, _r: ["449999", "441999"])))
    elif element.check == "law-citation":
        out += _law_mutations(name, oracle)
    return out


INVALID_CODES = {
    "date": "invalid-date",
    "datetime": "invalid-datetime",
    "decimal": "invalid-number",
    "integer": "invalid-integer",
    "boolean": "invalid-boolean",
}


def _unparseable(kind: str, value: str) -> str:
    """A value of the same look that does not parse: 30 February, hour 25, 5000元, 十二, 待定."""
    return {
        "date": value[:4] + "-02-30",
        "datetime": value[:10] + " 25:00:00",
        "decimal": value + "元",
        "integer": "十二",
        "boolean": "待定",
    }[kind]


def _below(element: Element) -> str:
    assert element.minimum is not None
    if element.type == "date":
        return (dt.date.fromisoformat(str(element.minimum)) - dt.timedelta(days=1)).isoformat()
    low = float(element.minimum)
    value = low if element.exclusive_minimum else low - 1
    return str(int(value)) if value == int(value) else str(value)


def _above(element: Element) -> str:
    assert element.maximum is not None
    if element.type == "date":
        return (dt.date.fromisoformat(str(element.maximum)) + dt.timedelta(days=1)).isoformat()
    return str(int(float(element.maximum)) + 1)


def _semantic_mutations(check: str, name: str, holds: Callable[[Record], bool]) -> list[Mutation]:
    def on(fn: Callable[[str], list[str]]) -> Candidates:
        def make(record: Record, _rng: np.random.Generator) -> list[Record]:
            value = record.get(name)
            if value is None or not holds(record):
                return []
            return [{**record, name: v} for v in fn(value.upper())]

        return make

    if check == "uscc":
        return [
            Mutation("uscc-checksum", name, on(lambda v: [v[:17] + _other_char(v[17], USCC_ALPHABET)])),
            Mutation("uscc-format", name, on(lambda v: [v[:2] + "A" + v[3:]])),
            Mutation("uscc-placeholder", name, on(lambda v: ["00000000000000000X"])),
            Mutation("uscc-category", name, on(_bad_category)),
        ]
    if check == "resident-id":
        return [
            Mutation(
                "resident-id-checksum", name, on(lambda v: [v[:17] + _other_char(v[17], "0123456789X")])
            ),
            Mutation("resident-id-birth-date", name, on(lambda v: [_ric(v[:10] + "13" + v[12:17])])),
            Mutation("resident-id-format", name, on(lambda v: [v[:17]])),
            Mutation("resident-id-region", name, on(lambda v: [_ric("99" + v[2:17])])),
        ]
    return [
        Mutation("org-code-checksum", name, on(lambda v: [v[:8] + _other_char(v[8], "0123456789")])),
        Mutation("org-code-format", name, on(lambda v: [v[:3] + "*" + v[4:]])),
    ]


def _other_char(current: str, alphabet: str) -> str:
    index = alphabet.find(current)
    return alphabet[(index + 1) % len(alphabet)]


def _ric(first17: str) -> str:
    return first17 + ric_check_char(first17)


def _bad_category(code: str) -> list[str]:
    allowed = USCC_CATEGORIES.get(code[0], "")
    bad = next(c for c in "45678" if c not in allowed)
    first17 = code[0] + bad + code[2:17]
    return [first17 + uscc_check_char(first17)]


def _law_mutations(name: str, oracle: Oracle) -> list[Mutation]:
    registry = LawRegistry.load()
    # A law adopted after the as-of date did not exist yet (an older, unfiled version would be unverifiable).
    firsts = sorted((registry.versions(n)[0].first_adopted, n) for n in registry.names())

    def as_of(record: Record) -> dt.date | None:
        moment = oracle.moment(record, oracle.as_of) if oracle.as_of else None
        return moment.date() if moment else None

    def missing_article(record: Record, _rng: np.random.Generator) -> list[Record]:
        value = record.get(name)
        if value is None:
            return []
        day = as_of(record)
        for citation in parse_citations(value):
            law = registry.resolve_name(citation.law)
            if law is None:
                continue
            versions = [v for v in registry.versions(law) if day is None or v.in_force_on(day)]
            if versions:
                beyond = max(v.max_article for v in versions) + 3
                title = versions[-1].title
                return [{**record, name: f"{value}、《{title}》第{int_to_chinese_numeral(beyond)}条"}]
        return []

    def not_in_force(record: Record, _rng: np.random.Generator) -> list[Record]:
        value, day = record.get(name), as_of(record)
        if value is None or day is None:
            return []
        later = [
            n
            for adopted, n in firsts
            if adopted > day
            and registry.versions(n)[0].effective_from > day
            and "《" not in registry.versions(n)[0].title
        ]
        if not later:
            return []
        version = registry.versions(later[0])[0]
        return [{**record, name: f"{value}、《{version.title}》第一条"}]

    return [
        Mutation("law-article-missing", name, missing_article),
        Mutation("law-not-in-force", name, not_in_force),
        Mutation(
            "law-citation-format",
            name,
            lambda r, _g: [{**r, name: "依据相关法律、法规的规定"}] if r.get(name) is not None else [],
        ),
    ]


def _rule_mutations(rule: Rule, dataset: Dataset, oracle: Oracle) -> list[Mutation]:
    elements = {e.name: e for e in dataset.elements}

    def holds(record: Record) -> bool:
        return oracle.holds(rule.when, record)

    code = rule.code
    field = rule.field or ""
    match rule.kind:
        case "date-order":
            return [
                Mutation(code or "date-order", later, _move_before(rule, i, elements, oracle))
                for i, later in enumerate(rule.fields)
                if i > 0
            ]
        case "required-if":
            twins = frozenset({"required"}) if elements[field].required is not False else frozenset()
            return [Mutation(code or "required", field, _blank(field, holds), twins)]
        case "forbidden-unless":
            return [
                Mutation(code or "not-applicable", field, _fill_forbidden(elements[field], holds, oracle))
            ]
        case "max-when":
            assert rule.max is not None
            too_much = str(int(rule.max * 2 + 100))
            return [Mutation(code or "above-maximum", field, _set_when(field, holds, lambda _v: [too_much]))]
        case "values-subset-when":
            codeset = elements[field].codeset
            assert code and codeset
            allowed = set(oracle._wanted(elements[field], rule.allowed))
            outside = [c.label for c in oracle.standard.codesets[codeset].codes if c.code not in allowed]
            return [
                Mutation(
                    code, field, _set_when(field, holds, lambda v: [f"{v};{label}" for label in outside])
                )
            ]
        case "days-between":
            return [Mutation(code or "days-between", rule.end or "", _stretch(rule, elements, oracle))]
        case "check-when":
            if rule.check in ("uscc", "resident-id", "org-code"):
                return _semantic_mutations(rule.check, field, holds)
            return []
        case "not-future":
            return [
                Mutation(code or "future-date", name, _future(name, elements[name], holds))
                for name in rule.fields
            ]
        case "min-items":
            assert code and rule.min is not None
            keep = rule.min - 1
            if keep < 1:
                return []
            return [
                Mutation(code, field, _set_when(field, holds, lambda v: [";".join(oracle.items(v)[:keep])]))
            ]
    return []


def _blank(field: str, holds: Callable[[Record], bool]) -> Candidates:
    def make(record: Record, _rng: np.random.Generator) -> list[Record]:
        return [{**record, field: None}] if holds(record) and record.get(field) is not None else []

    return make


def _set_when(field: str, holds: Callable[[Record], bool], values: Callable[[str], list[str]]) -> Candidates:
    def make(record: Record, _rng: np.random.Generator) -> list[Record]:
        value = record.get(field)
        if value is None or not holds(record):
            return []
        return [{**record, field: v} for v in values(value)]

    return make


def _fill_forbidden(element: Element, holds: Callable[[Record], bool], oracle: Oracle) -> Candidates:
    def make(record: Record, _rng: np.random.Generator) -> list[Record]:
        if holds(record) or record.get(element.name) is not None:
            return []
        return [{**record, element.name: v} for v in _plausible(element, record, oracle)]

    return make


def _format_like(element: Element, moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if element.type == "datetime" else moment.date().isoformat()


def _move_before(rule: Rule, index: int, elements: dict[str, Element], oracle: Oracle) -> Candidates:
    later = rule.fields[index]

    def make(record: Record, rng: np.random.Generator) -> list[Record]:
        if oracle.moment(record, later) is None:
            return []
        earlier = [m for m in (oracle.moment(record, n) for n in rule.fields[:index]) if m is not None]
        if not earlier:
            return []
        latest = max(earlier)
        step = dt.timedelta(hours=1) if elements[later].type == "datetime" else dt.timedelta(days=1)
        shifts = [int(rng.integers(1, 6)), 1] + ([0] if rule.strict else [])
        return [{**record, later: _format_like(elements[later], latest - step * k)} for k in shifts]

    return make


def _stretch(rule: Rule, elements: dict[str, Element], oracle: Oracle) -> Candidates:
    assert rule.start and rule.end and rule.max is not None
    start_name, end_name, base = rule.start, rule.end, rule.max

    def make(record: Record, rng: np.random.Generator) -> list[Record]:
        start = oracle.moment(record, start_name)
        if start is None or record.get(end_name) is None or not oracle.holds(rule.when, record):
            return []
        limit = rule.max_if.max if rule.max_if and oracle.holds(rule.max_if.when, record) else base
        days = [int(limit) + int(rng.integers(1, 10)), int(limit) + 1]
        return [
            {**record, end_name: _format_like(elements[end_name], start + dt.timedelta(days=d))} for d in days
        ]

    return make


def _future(name: str, element: Element, holds: Callable[[Record], bool]) -> Candidates:
    def make(record: Record, _rng: np.random.Generator) -> list[Record]:
        if record.get(name) is None or not holds(record):
            return []
        return [{**record, name: "2099-06-30 10:00:00" if element.type == "datetime" else "2099-06-30"}]

    return make


def _plausible(element: Element, record: Record, oracle: Oracle) -> list[str]:
    """Well-formed values for a field that should have stayed empty."""
    if element.check is not None:
        # A value that passes the field's own check: the same kind of value from another field.
        same = [record[n] for n, e in oracle.elements.items() if e.check == element.check and record.get(n)]
        return [v for v in same if v][:2]
    match element.type:
        case "decimal" | "integer":
            return ["1000"]
        case "boolean":
            return ["否", "是"]
        case "date" | "datetime":
            days = [record[n] for n, e in oracle.elements.items() if e.type == element.type and record.get(n)]
            return [d for d in days if d][:3]
        case "code":
            assert element.codeset
            labels = [c.label for c in oracle.standard.codesets[element.codeset].codes]
            return list(reversed(labels))[:6]
    return ["详见附件"]
