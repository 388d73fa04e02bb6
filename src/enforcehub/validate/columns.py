"""Column expressions: raw strings → typed values and normalised codes, and conditions over them.

Every expression here is a polars expression over the raw (string) columns of a chunk, so the
same compiled plan checks a ten-row API call and a ten-million-row file.

Naming of derived columns: `__t:<element>` typed value, `__n:<element>` normalised code(s),
`__s:<element>:<check>` status bits of a semantic check.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import polars as pl

from enforcehub.standard.model import CodeSet, Condition, Dataset, Element, Standard

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRUE_WORDS = ("true", "t", "1", "y", "yes", "是", "对")
FALSE_WORDS = ("false", "f", "0", "n", "no", "否", "不是")
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_INTEGER = r"^[+-]?\d+$"


def typed(name: str) -> str:
    return f"__t:{name}"


def normalised(name: str) -> str:
    return f"__n:{name}"


def status(name: str, check: str) -> str:
    return f"__s:{name}:{check}"


def today_in_shanghai() -> dt.date:
    """Business dates are in Asia/Shanghai (invariant 6)."""
    return dt.datetime.now(SHANGHAI).date()


def code_mapping(codeset: CodeSet) -> dict[str, str]:
    """Every accepted spelling (code, label, alias) → the code."""
    mapping: dict[str, str] = {}
    for code in codeset.codes:
        spellings = (code.label, *code.aliases, code.code) if codeset.labels_accepted else (code.code,)
        for spelling in spellings:
            mapping[spelling] = code.code
    return mapping


def regex_escape(text: str) -> str:
    """Escape `text` for the Rust regex engine polars uses (only its metacharacters)."""
    return "".join("\\" + ch if ch in r"\.^$|?*+()[]{}-&~#" else ch for ch in text)


ITEM_BREAK = "[^;；、,，|]*"


def separators_class(separators: tuple[str, ...]) -> str:
    return "[" + "".join(regex_escape(s) for s in separators) + "]"


def spellings_regex(codeset: CodeSet, codes: list[str] | None = None) -> str:
    """An alternation of every accepted spelling of `codes` (default: all codes, plus prefix values)."""
    wanted = set(codes) if codes is not None else None
    spellings = sorted(
        (s for s, c in code_mapping(codeset).items() if wanted is None or c in wanted), key=len, reverse=True
    )
    parts = [regex_escape(s) for s in spellings]
    if wanted is None:
        parts += [regex_escape(p) + ITEM_BREAK for p in codeset.prefix_values]
    return "(?:" + "|".join(parts) + ")" if parts else "(?:\\x00\\x01)"


def all_items_match(raw: pl.Expr, item: str, separators: tuple[str, ...]) -> pl.Expr:
    """True when every item of a multi-valued cell matches the regex `item`."""
    sep = separators_class(separators)
    return raw.str.contains(rf"^\s*{item}\s*(?:{sep}\s*{item}\s*)*{sep}?\s*$")


def any_item_matches(raw: pl.Expr, item: str, separators: tuple[str, ...]) -> pl.Expr:
    """True when some item of a multi-valued cell matches the regex `item`."""
    sep = separators_class(separators)
    return raw.str.contains(rf"(?:^|{sep})\s*{item}\s*(?:$|{sep})")


def count_items(raw: pl.Expr, separators: tuple[str, ...]) -> pl.Expr:
    """Number of non-empty items in a multi-valued cell."""
    sep = separators_class(separators)
    return raw.str.replace_all(r"\s", "").str.count_matches(rf"[^{sep[1:-1]}]+")


def normalise_code(raw: pl.Expr, codeset: CodeSet) -> pl.Expr:
    """Single code: the code for an accepted spelling, the value itself for a prefix value, else null."""
    mapped = raw.replace_strict(code_mapping(codeset), default=None, return_dtype=pl.Utf8)
    for prefix in codeset.prefix_values:
        mapped = pl.when(raw.str.starts_with(prefix)).then(raw).otherwise(mapped)
    return mapped


def _dates_slow(raw: pl.Series) -> pl.Series:
    cleaned = (
        raw.str.strip_suffix(" 00:00:00")
        .str.strip_suffix("T00:00:00")
        .str.replace_all("/", "-", literal=True)
        .str.replace_all(".", "-", literal=True)
    )
    eight = cleaned.str.contains(r"^\d{8}$").fill_null(False)
    parsed = cleaned.str.to_date("%Y-%m-%d", strict=False)
    if not eight.any():
        return parsed
    return parsed.scatter(eight.arg_true(), cleaned.filter(eight).str.to_date("%Y%m%d", strict=False))


def _dates(raw: pl.Series) -> pl.Series:
    # Fast path for the ISO form almost every file uses; the other spellings only for rows that need them.
    fast = raw.str.to_date("%Y-%m-%d", strict=False)
    retry = fast.is_null() & raw.is_not_null()
    if not retry.any():
        return fast
    return fast.scatter(retry.arg_true(), _dates_slow(raw.filter(retry)))


def parse_date(raw: pl.Expr) -> pl.Expr:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY-M-D, YYYY.MM.DD or YYYYMMDD; a trailing 00:00:00 is allowed."""
    return raw.map_batches(_dates, return_dtype=pl.Date)


def parse_datetime(raw: pl.Expr) -> pl.Expr:
    """YYYY-MM-DD HH:MM:SS (T allowed, seconds optional); a bare date is midnight."""
    cleaned = raw.str.replace_all("/", "-").str.replace("T", " ")
    return pl.coalesce(
        cleaned.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"),
        cleaned.str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="us"),
        pl.when(cleaned.str.len_chars() <= 10).then(
            cleaned.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
        ),
    )


def parse_decimal(raw: pl.Expr, scale: float | None) -> pl.Expr:
    cleaned = raw.str.replace_all(",", "")
    value = pl.when(cleaned.str.contains(_NUMBER)).then(cleaned.cast(pl.Float64, strict=False))
    return value * scale if scale else value


def parse_integer(raw: pl.Expr) -> pl.Expr:
    return pl.when(raw.str.contains(_INTEGER)).then(raw.cast(pl.Int64, strict=False))


def _case_variants(words: tuple[str, ...]) -> list[str]:
    return sorted({v for w in words for v in (w, w.upper(), w.capitalize())})


_BOOLEAN_SPELLINGS = {
    **dict.fromkeys(_case_variants(TRUE_WORDS), True),
    **dict.fromkeys(_case_variants(FALSE_WORDS), False),
}


def parse_boolean(raw: pl.Expr) -> pl.Expr:
    """是/否, true/false, 1/0, y/n, yes/no in lower, upper or capitalised case; anything else is null."""
    return raw.replace_strict(_BOOLEAN_SPELLINGS, default=None, return_dtype=pl.Boolean)


def fraction_digits_allowed(element: Element, scale: float | None) -> int | None:
    """Decimal places accepted on input: the element's scale plus the digits a unit scale adds (万元 → 元)."""
    if element.precision is None:
        return None
    extra = round(math.log10(scale)) if scale and scale > 1 else 0
    return element.precision[1] + extra


def typed_expr(element: Element, raw: pl.Expr, scale: float | None) -> pl.Expr | None:
    """The typed value of an element, null where the raw value does not parse; None for plain strings."""
    match element.type:
        case "date":
            return parse_date(raw)
        case "datetime":
            return parse_datetime(raw)
        case "decimal":
            return parse_decimal(raw, scale)
        case "integer":
            return parse_integer(raw)
        case "boolean":
            return parse_boolean(raw)
    return None


def literal_for(element: Element, value: float | str) -> dt.date | dt.datetime | float:
    """A bound from the standard (minimum/maximum) as a value comparable with the typed column."""
    if element.type == "date":
        return dt.date.fromisoformat(str(value))
    if element.type == "datetime":
        return dt.datetime.fromisoformat(str(value))
    return float(value)


class ConditionCompiler:
    """Turns `when` conditions into boolean expressions over raw, typed and normalised columns."""

    def __init__(self, standard: Standard, dataset: Dataset) -> None:
        self.standard = standard
        self.dataset = dataset

    def values_for(self, element: Element, values: tuple[str, ...]) -> list[object]:
        """Condition values in the column's own terms: codes for code sets, booleans for booleans."""
        if element.type == "code" and element.codeset:
            mapping = code_mapping(self.standard.codesets[element.codeset])
            return [mapping.get(v, v) for v in values]
        if element.type == "boolean":
            return [str(v).lower() in TRUE_WORDS for v in values]
        return list(values)

    def multi_hit(self, element: Element, codes: list[object]) -> pl.Expr:
        """Some item of a multi-valued cell is one of `codes` (any accepted spelling)."""
        assert element.codeset is not None
        regex = spellings_regex(self.standard.codesets[element.codeset], [str(c) for c in codes])
        return any_item_matches(pl.col(element.name), regex, self.standard.meta.multi_value_separators)

    def column(self, element: Element) -> pl.Expr:
        if element.type == "code" and not element.multiple:
            return pl.col(normalised(element.name))
        if element.type == "boolean":
            return pl.col(typed(element.name))
        return pl.col(element.name)

    def compile(self, cond: Condition) -> pl.Expr:
        """A boolean expression that is never null (null counts as false)."""
        if cond.all is not None:
            return pl.all_horizontal([self.compile(c) for c in cond.all])
        if cond.any is not None:
            return pl.any_horizontal([self.compile(c) for c in cond.any])
        assert cond.field is not None  # the loader guarantees exactly one form
        element = self.dataset.element(cond.field)
        if cond.present is not None:
            present = pl.col(element.name).is_not_null()
            return present if cond.present else ~present
        column = self.column(element)
        wanted = self.values_for(element, cond.in_ if cond.in_ is not None else cond.not_in or ())
        if element.multiple and element.codeset:
            hit = self.multi_hit(element, wanted).fill_null(False)
        else:
            hit = column.is_in(wanted).fill_null(False)
        if cond.in_ is not None:
            return hit
        return ~hit & pl.col(element.name).is_not_null()
