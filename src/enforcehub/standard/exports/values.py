"""Accepted input spellings of an element, as lists and as regular expressions.

The hub accepts a code set's code, label or any alias; a multi-valued field holds several of them
separated by one of `meta.multi_value_separators`, items stripped and empty items ignored (see
`enforcehub.validate.columns`). The exports say the same thing in their own vocabularies: enums
for single values, patterns for multi-valued ones.

Patterns are written in the subset that Python `re`, Rust `regex` and ECMA-262 (JSON Schema) read
alike: only syntax characters are escaped, character classes escape only `\\ ] ^ -`.
"""

from __future__ import annotations

from collections.abc import Iterable

from enforcehub.standard.model import CodeSet, Element, Standard
from enforcehub.validate.columns import FALSE_WORDS, TRUE_WORDS

Separators = tuple[str, ...]
_SYNTAX = set("\\^$.|?*+()[]{}/")
_CLASS_SYNTAX = set("\\]^-[")


def escape(text: str) -> str:
    """`text` as a regex literal, escaping only regex syntax characters."""
    return "".join("\\" + ch if ch in _SYNTAX else ch for ch in text)


def char_class(chars: Iterable[str], *, negate: bool = False) -> str:
    """A character class matching any of `chars` (any other character when `negate`)."""
    body = "".join("\\" + ch if ch in _CLASS_SYNTAX else ch for ch in chars)
    return ("[^" if negate else "[") + body + "]"


def unique(values: Iterable[str]) -> list[str]:
    """`values` without repeats, first occurrence kept."""
    return list(dict.fromkeys(values))


def spellings(codeset: CodeSet, codes: Iterable[str] | None = None) -> list[str]:
    """Every accepted spelling (code, label, aliases) of the set, or of `codes` only (in any spelling)."""
    wanted = None if codes is None else {code_of(codeset, value) for value in codes}
    return unique(
        spelling
        for code in codeset.codes
        if wanted is None or code.code in wanted
        for spelling in ((code.code, code.label, *code.aliases) if codeset.labels_accepted else (code.code,))
    )


def code_of(codeset: CodeSet, value: str) -> str:
    """The code a spelling stands for; the value itself when it is not a spelling of the set."""
    for code in codeset.codes:
        if value in (code.code, code.label, *code.aliases):
            return code.code
    return value


def label_of(codeset: CodeSet, value: str) -> str:
    """The Chinese label of the code a spelling stands for; the value itself when unknown."""
    for code in codeset.codes:
        if value in (code.code, code.label, *code.aliases):
            return code.label
    return value


def boolean_words() -> tuple[list[str], list[str]]:
    """Accepted spellings of true and false, in the case variants a file may use (the hub ignores case)."""

    def variants(words: Iterable[str]) -> list[str]:
        return unique(v for w in words for v in (w, w.upper(), w.capitalize()))

    return variants(TRUE_WORDS), variants(FALSE_WORDS)


def item_alternatives(codeset: CodeSet, separators: Separators, codes: Iterable[str] | None = None) -> str:
    """One item of a code field as a regex alternation (spellings, then prefix values)."""
    # A spelling holding a separator can never be one item: the hub splits it first.
    words = [s for s in spellings(codeset, codes) if not any(sep in s for sep in separators)]
    words.sort(key=lambda s: (-len(s), s))
    parts = [escape(w) for w in words]
    if codes is None:
        rest = char_class(separators, negate=True) + "*"
        parts += [escape(prefix) + rest for prefix in codeset.prefix_values]
    return "|".join(parts) if parts else "(?!)"


def multi_value_pattern(codeset: CodeSet, separators: Separators, codes: Iterable[str] | None = None) -> str:
    """Anchored regex for a multi-valued code cell: accepted items separated by any separator."""
    item = rf"\s*(?:(?:{item_alternatives(codeset, separators, codes)})\s*)?"
    return rf"^{item}(?:{char_class(separators)}{item})*$"


def any_item_pattern(codeset: CodeSet, separators: Separators, codes: Iterable[str]) -> str:
    """Unanchored regex true when some item of a multi-valued cell is one of `codes`."""
    seps = char_class(separators)
    return rf"(?:^|{seps})\s*(?:{item_alternatives(codeset, separators, codes)})\s*(?:{seps}|$)"


def single_value_pattern(codeset: CodeSet) -> str:
    """Anchored regex for a single code cell: an accepted spelling or a prefix value."""
    words = sorted(spellings(codeset), key=lambda s: (-len(s), s))
    parts = [escape(w) for w in words] + [escape(prefix) + ".*" for prefix in codeset.prefix_values]
    return "^(?:" + "|".join(parts) + ")$"


def element_pattern(element: Element) -> str | None:
    """The element's own pattern, anchored the way the hub applies it (the whole value must match)."""
    return None if element.pattern is None else f"^(?:{element.pattern})$"


def codeset_of(standard: Standard, element: Element) -> CodeSet | None:
    """The code set of a code element, None for other elements."""
    if element.type != "code" or element.codeset is None:
        return None
    return standard.codesets[element.codeset]


def plain(value: float | str | int) -> float | str | int:
    """A bound as written: 0.0 → 0, so exports show integers as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
