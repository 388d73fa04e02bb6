"""An independent, row-at-a-time reading of the standard: which findings should one record have?

The error injector uses it to make the truth exact: after mutating a record it asks the oracle
for the record's findings and keeps the mutation only when they are exactly the intended ones.
It is written from docs/standard-format.md and the reference (not from the validator's code), so
a disagreement between the validator and the truth points at one of the two, never at both.
Only the injected rows are judged here, so plain Python is fast enough.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from enforcehub.standard.model import CodeSet, Condition, Dataset, Element, Rule, Standard
from enforcehub.standard.registry import DivisionRegistry, LawRegistry, parse_citations
from enforcehub.validate.identifiers import (
    PROVINCE_PREFIXES,
    USCC_ALPHABET,
    USCC_CATEGORIES,
    org_code_check_char,
    ric_check_char,
    uscc_check_char,
)

Record = dict[str, str | None]
DIVISIONS = "divisions"
Finding = tuple[str, str]  # (field, code)
TRUE_WORDS = ("true", "t", "1", "y", "yes", "是", "对")
FALSE_WORDS = ("false", "f", "0", "n", "no", "否", "不是")
AS_OF_CANDIDATES = ("decision_date", "inspection_time", "received_date", "version_date", "effective_from")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def today() -> dt.date:
    """Business 'today' in Asia/Shanghai, as the validator judges 'not in the future'."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def parse_date(raw: str) -> dt.date | None:
    """YYYY-MM-DD (also / or . separated, one-digit month/day) or YYYYMMDD; None when not a date."""
    text = re.sub(r"[ T]00:00(:00)?$", "", raw).replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text) or (
        re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text) if len(text) == 8 else None
    )
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_datetime(raw: str) -> dt.datetime | None:
    """YYYY-MM-DD HH:MM[:SS] (T allowed); a bare date is midnight."""
    text = raw.replace("/", "-").replace("T", " ")
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return dt.datetime.strptime(text, form)
        except ValueError:
            pass
    if len(text) <= 10:
        day = parse_date(text)
        return dt.datetime(day.year, day.month, day.day) if day else None
    return None


@dataclass
class Oracle:
    """The findings the standard implies for single records of one dataset."""

    standard: Standard
    dataset: Dataset
    today: dt.date = field(default_factory=today)

    @cached_property
    def elements(self) -> dict[str, Element]:
        """The dataset's elements by name."""
        return {e.name: e for e in self.dataset.elements}

    @cached_property
    def _mappings(self) -> dict[str, dict[str, str]]:
        return {name: _code_mapping(cs) for name, cs in self.standard.codesets.items()}

    @cached_property
    def _current_divisions(self) -> frozenset[str]:
        return frozenset(c.code for c in self.standard.codesets["divisions"].codes)

    @cached_property
    def _ever_divisions(self) -> frozenset[str]:
        return DivisionRegistry.load().ever_codes()

    @cached_property
    def as_of(self) -> str | None:
        """The element whose date a legal basis is judged on (decision date, inspection time …)."""
        return next((n for n in AS_OF_CANDIDATES if n in self.elements), None)

    # --- values -----------------------------------------------------------------------------

    def items(self, raw: str) -> list[str]:
        """The items of a multi-valued cell (any of the standard's separators, blanks dropped)."""
        text = raw
        for sep in self.standard.meta.multi_value_separators:
            text = text.replace(sep, ";")
        return [item.strip() for item in text.split(";") if item.strip()]

    def code_of(self, codeset: str, raw: str) -> str | None:
        """The code an input spelling stands for, or None when the code set does not accept it."""
        cs = self.standard.codesets[codeset]
        for prefix in cs.prefix_values:
            if raw.startswith(prefix):
                return raw
        return self._mappings[codeset].get(raw)

    def typed(self, element: Element, raw: str | None) -> object:
        """The typed value (None when absent or unparseable)."""
        if raw is None:
            return None
        match element.type:
            case "date":
                return parse_date(raw)
            case "datetime":
                return parse_datetime(raw)
            case "decimal":
                cleaned = raw.replace(",", "")
                return float(cleaned) if _NUMBER.match(cleaned) else None
            case "integer":
                return int(raw) if _INTEGER.match(raw) else None
            case "boolean":
                lowered = raw.lower()
                return True if lowered in TRUE_WORDS else False if lowered in FALSE_WORDS else None
        return raw

    def moment(self, record: Record, name: str) -> dt.datetime | None:
        """A date or datetime field as a datetime (dates at midnight), None when absent or invalid."""
        value = self.typed(self.elements[name], record.get(name))
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        return None

    # --- conditions -------------------------------------------------------------------------

    def holds(self, cond: Condition | None, record: Record) -> bool:
        """Whether a `when` condition holds for a record (absent values never match `in`)."""
        if cond is None:
            return True
        if cond.all is not None:
            return all(self.holds(c, record) for c in cond.all)
        if cond.any is not None:
            return any(self.holds(c, record) for c in cond.any)
        assert cond.field is not None
        element = self.elements[cond.field]
        raw = record.get(cond.field)
        if cond.present is not None:
            return (raw is not None) == cond.present
        wanted = self._wanted(element, cond.in_ if cond.in_ is not None else cond.not_in or ())
        hit = False
        if raw is not None:
            if element.type == "code" and element.codeset:
                values = (
                    [self.code_of(element.codeset, i) for i in self.items(raw)]
                    if element.multiple
                    else [self.code_of(element.codeset, raw)]
                )
                hit = any(v is not None and v in wanted for v in values)
            elif element.type == "boolean":
                value = self.typed(element, raw)
                hit = value is not None and value in wanted
            else:
                hit = raw in wanted
        return hit if cond.in_ is not None else (not hit and raw is not None)

    def _wanted(self, element: Element, values: tuple[str, ...]) -> list[object]:
        if element.type == "code" and element.codeset:
            mapping = self._mappings[element.codeset]
            return [mapping.get(v, v) for v in values]
        if element.type == "boolean":
            return [str(v).lower() in TRUE_WORDS for v in values]
        return list(values)

    # --- findings ---------------------------------------------------------------------------

    def findings(self, record: Record) -> tuple[set[Finding], set[Finding]]:
        """(errors, warnings) of one record, each a set of (field, code)."""
        errors: set[Finding] = set()
        warnings: set[Finding] = set()

        def add(name: str, code: str, severity: str = "error") -> None:
            (errors if severity == "error" else warnings).add((name, code))

        for element in self.dataset.elements:
            self._element(element, record, add)
        for rule in self.dataset.rules:
            self._rule(rule, record, add)
        return errors, warnings

    def _element(self, element: Element, record: Record, add: Callable[..., None]) -> None:
        name, raw = element.name, record.get(element.name)
        if raw is None:
            if element.required is True or (
                element.required == "conditional" and self.holds(element.when, record)
            ):
                add(name, "required")
            return
        if element.max_length is not None and len(raw) > element.max_length:
            add(name, "too-long")
        if element.min_length is not None and len(raw) < element.min_length:
            add(name, "too-short")
        if element.pattern is not None and not re.fullmatch(f"(?:{element.pattern})", raw):
            add(name, "pattern")
        if element.type == "code" and element.codeset:
            values = self.items(raw) if element.multiple else [raw]
            if any(self.code_of(element.codeset, v) is None for v in values):
                # A division outside the current Guangdong codes is one finding with its own code.
                add(name, "division-code" if element.codeset == DIVISIONS else "code-not-in-set")
        invalid = {
            "date": "invalid-date",
            "datetime": "invalid-datetime",
            "decimal": "invalid-number",
            "integer": "invalid-integer",
            "boolean": "invalid-boolean",
        }.get(element.type)
        value = self.typed(element, raw)
        if invalid and value is None:
            add(name, invalid)
        if value is not None and invalid:
            self._bounds(element, value, raw, add)
        if element.check in ("uscc", "resident-id", "org-code"):
            self._semantic(element.check, name, raw, add)
        elif (
            element.check == "division-code"
            and element.codeset != DIVISIONS
            and raw not in self._current_divisions
        ):
            add(name, "division-code")
        elif element.check == "law-citation":
            self._law(name, raw, record, add)

    def _bounds(self, element: Element, value: object, raw: str, add: Callable[..., None]) -> None:
        def bound(limit: float | str) -> object:
            if element.type == "date":
                return dt.date.fromisoformat(str(limit))
            if element.type == "datetime":
                return dt.datetime.fromisoformat(str(limit))
            return float(limit)

        if element.minimum is not None:
            low = bound(element.minimum)
            if value <= low if element.exclusive_minimum else value < low:  # type: ignore[operator]
                add(element.name, "below-minimum")
        if element.maximum is not None and value > bound(element.maximum):  # type: ignore[operator]
            add(element.name, "above-maximum")
        if element.precision is not None and re.search(rf"\.\d{{{element.precision[1] + 1},}}$", raw):
            add(element.name, "too-precise")

    def _semantic(self, check: str, name: str, raw: str, add: Callable[..., None]) -> None:
        if check == "uscc":
            codes = uscc_problems(raw)
        elif check == "org-code":
            codes = org_code_problems(raw)
        else:
            codes = resident_id_problems(raw, self.today, self._ever_divisions)
        for code in codes:
            add(name, code, "warning" if code == "uscc-org-code" else "error")

    def _law(self, name: str, raw: str, record: Record, add: Callable[..., None]) -> None:
        registry = LawRegistry.load()
        moment = self.moment(record, self.as_of) if self.as_of else None
        as_of = moment.date() if moment else None
        citations = parse_citations(raw)
        if not citations:
            add(name, "law-citation-format")
            return
        for citation in citations:
            law = registry.resolve_name(citation.law)
            if law is None:
                add(name, "law-unknown", "warning")
                continue
            versions = registry.versions(law)
            if as_of is not None and as_of < versions[0].first_adopted:
                add(name, "law-not-in-force")  # the instrument did not exist yet
                continue
            if as_of is not None and as_of < versions[0].effective_from:
                continue  # adopted, but its text then is not on file: article numbers cannot be judged
            in_force = [v for v in versions if as_of is None or v.in_force_on(as_of)]
            if not in_force:
                add(name, "law-not-in-force")
            elif citation.article is not None and not any(
                citation.article <= v.max_article for v in in_force
            ):
                add(name, "law-article-missing")

    def _rule(self, rule: Rule, record: Record, add: Callable[..., None]) -> None:
        when = self.holds(rule.when, record)
        severity = rule.severity
        match rule.kind:
            case "date-order":
                names = list(rule.fields)
                for i in range(1, len(names)):
                    later = self.moment(record, names[i])
                    earlier = [m for m in (self.moment(record, n) for n in names[:i]) if m is not None]
                    if later is None or not earlier:
                        continue
                    latest = max(earlier)
                    if later <= latest if rule.strict else later < latest:
                        add(names[i], rule.code or "date-order", severity)
            case "required-if":
                assert rule.field
                if when and record.get(rule.field) is None:
                    add(rule.field, rule.code or "required", severity)
            case "forbidden-unless":
                assert rule.field
                if not when and record.get(rule.field) is not None:
                    add(rule.field, rule.code or "not-applicable", severity)
            case "max-when":
                assert rule.field and rule.max is not None
                value = self.typed(self.elements[rule.field], record.get(rule.field))
                if when and isinstance(value, float) and value > rule.max:
                    add(rule.field, rule.code or "above-maximum", severity)
            case "values-subset-when":
                assert rule.field and rule.code
                element = self.elements[rule.field]
                raw = record.get(rule.field)
                if when and raw is not None and element.codeset:
                    allowed = self._wanted(element, rule.allowed)
                    codes = [self.code_of(element.codeset, i) for i in self.items(raw)]
                    if any(c is not None and c not in allowed for c in codes):
                        add(rule.field, rule.code, severity)
            case "days-between":
                assert rule.start and rule.end and rule.max is not None and rule.code
                start, end = self.moment(record, rule.start), self.moment(record, rule.end)
                limit = rule.max_if.max if rule.max_if and self.holds(rule.max_if.when, record) else rule.max
                if when and start and end and (end - start).days > limit:
                    add(rule.end, rule.code, severity)
            case "check-when":
                assert rule.field and rule.check
                raw = record.get(rule.field)
                if when and raw is not None and rule.check in ("uscc", "resident-id", "org-code"):
                    self._semantic(rule.check, rule.field, raw, add)
            case "not-future":
                for name in rule.fields:
                    moment = self.moment(record, name)
                    if when and moment is not None and moment.date() > self.today:
                        add(name, rule.code or "future-date", severity)
            case "min-items":
                assert rule.field and rule.code and rule.min is not None
                raw = record.get(rule.field)
                if when and raw is not None and len(self.items(raw)) < rule.min:
                    add(rule.field, rule.code, severity)


def _code_mapping(codeset: CodeSet) -> dict[str, str]:
    """Accepted spellings → code; a code set may accept its codes only (divisions: 广州市 is no code)."""
    mapping: dict[str, str] = {}
    for code in codeset.codes:
        spellings = (code.label, *code.aliases, code.code) if codeset.labels_accepted else (code.code,)
        for spelling in spellings:
            mapping[spelling] = code.code
    return mapping


_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}


def uscc_problems(raw: str) -> list[str]:
    """GB 32100 findings of one code (reference 5.1): format, placeholder, checksum, category, org-code."""
    code = raw.upper()
    if len(raw.encode()) != 18 or any(c not in _USCC_VALUES for c in code) or not code[2:8].isdigit():
        return ["uscc-format"]
    if code == "00000000000000000X":
        return ["uscc-placeholder"]
    problems = []
    if uscc_check_char(code[:17]) != code[17]:
        problems.append("uscc-checksum")
    if code[1] not in USCC_CATEGORIES.get(code[0], ""):
        problems.append("uscc-category")
    if org_code_problems(code[8:17]):
        problems.append("uscc-org-code")
    return problems


def org_code_problems(raw: str) -> list[str]:
    """GB 11714 findings of one organisation code (a hyphen before the check character allowed)."""
    code = raw.replace("-", "").upper()
    if len(code.encode()) != 9 or not all(c.isdigit() or "A" <= c <= "Z" for c in code[:8]):
        return ["org-code-format"]
    return [] if org_code_check_char(code[:8]) == code[8] else ["org-code-checksum"]


def resident_id_problems(raw: str, on: dt.date, guangdong: frozenset[str]) -> list[str]:
    """GB 11643 findings of one ID number (18 digits, or legacy 15) (reference 5.2)."""
    number = raw.upper()
    if len(raw.encode()) == 18 and number[:17].isdigit() and (number[17].isdigit() or number[17] == "X"):
        year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
        checksum = ric_check_char(number[:17]) != number[17]
    elif len(raw.encode()) == 15 and number.isdigit():
        year, month, day = 1900 + int(number[6:8]), int(number[8:10]), int(number[10:12])
        checksum = False
    else:
        return ["resident-id-format"]
    problems = []
    try:
        born: dt.date | None = dt.date(year, month, day)
    except ValueError:
        born = None
    if born is None or year < 1850 or born > on:
        problems.append("resident-id-birth-date")
    if checksum:
        problems.append("resident-id-checksum")
    if number[:2] not in PROVINCE_PREFIXES or (number[:2] == "44" and number[:6] not in guangdong):
        problems.append("resident-id-region")
    return problems
