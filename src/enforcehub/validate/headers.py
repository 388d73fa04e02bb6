"""Map a file's header cells to the standard's element names.

A header may be an element's English name, its Chinese title, its id, its 双公示 column (cf_xdr_mc,
xk_wsh …) or one of its aliases. Matching ignores case, width (NFKC), spaces and the `*` that
templates put before required columns. An alias may carry a scale (双公示 amounts are in 万元).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from enforcehub.errors import EnforcehubError
from enforcehub.standard.model import Dataset


class HeaderError(EnforcehubError):
    """The header row cannot be used: a required column is missing, or one column is given twice."""

    code = "header-invalid"


def header_key(text: str) -> str:
    """The form in which header cells are compared."""
    folded = unicodedata.normalize("NFKC", text).strip().lstrip("*").strip().lower()
    return "".join(folded.split())


@dataclass(frozen=True)
class HeaderSpelling:
    element: str
    scale: float | None = None


def header_index(dataset: Dataset) -> dict[str, HeaderSpelling]:
    """Every accepted header spelling of `dataset`, keyed by `header_key`."""
    index: dict[str, HeaderSpelling] = {}
    for element in dataset.elements:
        spellings = [element.name, element.title, element.id]
        if element.shuanggongshi:
            spellings.append(element.shuanggongshi)
        for spelling in spellings:
            index.setdefault(header_key(spelling), HeaderSpelling(element.name))
        for alias in element.aliases:
            index[header_key(alias.header)] = HeaderSpelling(element.name, alias.scale)
    return index


@dataclass
class HeaderMap:
    """How one file's columns map onto the dataset."""

    columns: dict[str, str] = field(default_factory=dict)  # file header → element name
    scales: dict[str, float] = field(default_factory=dict)  # element name → multiply input by this
    unknown: list[str] = field(default_factory=list)


def map_headers(dataset: Dataset, headers: list[str], *, require_columns: bool = True) -> HeaderMap:
    """Map `headers` onto `dataset`; raise HeaderError when a column is doubled or (for tables,
    `require_columns`) a required column is missing. Records (JSON) report absent keys per row instead."""
    index = header_index(dataset)
    result = HeaderMap()
    seen: dict[str, str] = {}
    for header in headers:
        spelling = index.get(header_key(header))
        if spelling is None:
            result.unknown.append(header)
            continue
        if spelling.element in seen:
            title = dataset.element(spelling.element).title
            raise HeaderError(
                f"列「{seen[spelling.element]}」和列「{header}」都对应数据项「{title}」，请只保留一列",
                code="duplicate-column",
                message_en=f"columns '{seen[spelling.element]}' and '{header}' both give {spelling.element}",
            )
        seen[spelling.element] = header
        result.columns[header] = spelling.element
        if spelling.scale is not None:
            result.scales[spelling.element] = spelling.scale
    missing = [e for e in dataset.elements if e.name not in seen and e.required is True]
    if missing and require_columns:
        titles = "、".join(f"「{e.title}」" for e in missing)
        raise HeaderError(
            f"缺少必填列：{titles}（数据集 {dataset.name}）",
            code="missing-columns",
            message_en=f"missing required columns: {', '.join(e.name for e in missing)} ({dataset.name})",
        )
    return result


def is_known_header(dataset: Dataset) -> Callable[[str], bool]:
    """A predicate telling whether a cell text is a header of `dataset` (used to find the header row)."""
    index = header_index(dataset)

    def known(cell: str) -> bool:
        return header_key(cell) in index

    return known
