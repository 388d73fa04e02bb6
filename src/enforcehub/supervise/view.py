"""What a supervision page shows, independent of how: cards, charts, tables and key-value sections.

Every dashboard page is a builder `(conn, scope, params) -> Page` registered with `@page(...)`. The
same Page is rendered as HTML (web/dashboard.py), answered as JSON by the supervision API
(`/api/v1/supervision/{slug}`) and its tables exported as XLSX — so every figure on a page is also
available as data, and the two can never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class Scope:
    """Whose figures: the principal and the region it may see (None = the whole province)."""

    principal: str
    role: str
    region_prefix: str | None  # "4401" for Guangzhou, None for the province
    lang: str = "zh"

    def city_allowed(self, city: str | None) -> bool:
        return self.region_prefix is None or (city or "").startswith(self.region_prefix)


@dataclass
class Card:
    label: str
    label_en: str
    value: Any
    unit: str = ""
    hint: str = ""


@dataclass
class Chart:
    """An ECharts chart: `option` is the ECharts option object (data included), rendered as is."""

    id: str
    title: str
    title_en: str
    option: dict[str, Any]
    height: int = 320


@dataclass
class Column:
    key: str
    title: str
    title_en: str
    link: str | None = None  # a format string over the row, e.g. "/dashboard/record/{dataset}/{record_id}"


@dataclass
class TableView:
    id: str
    title: str
    title_en: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""


@dataclass
class Section:
    """Key-value facts (a record's fields, an entity's identity)."""

    title: str
    title_en: str
    items: list[tuple[str, Any]]


@dataclass
class Action:
    """A form on the page (e.g. close an alert): POSTed with the session's CSRF token."""

    label: str
    label_en: str
    url: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, placeholder)


@dataclass
class Page:
    slug: str
    title: str
    title_en: str
    cards: list[Card] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)  # the parameters the page was built with

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def table(self, table_id: str) -> TableView | None:
        return next((t for t in self.tables if t.id == table_id), None)


Builder = Callable[[Connection, Scope, Mapping[str, str]], Page]


@dataclass(frozen=True)
class PageSpec:
    slug: str
    title: str
    title_en: str
    order: int
    builder: Builder
    in_nav: bool = True


PAGES: dict[str, PageSpec] = {}


def page(
    slug: str, title: str, title_en: str, *, order: int, in_nav: bool = True
) -> Callable[[Builder], Builder]:
    """Register a page builder under `slug` (its URL: /dashboard/<slug>, /api/v1/supervision/<slug>)."""

    def register(builder: Builder) -> Builder:
        PAGES[slug] = PageSpec(slug, title, title_en, order, builder, in_nav)
        return builder

    return register


def navigation() -> list[PageSpec]:
    load_pages()
    return sorted((p for p in PAGES.values() if p.in_nav), key=lambda p: p.order)


def load_pages() -> None:
    """Import the page modules (each registers its builders)."""
    import importlib
    import pkgutil

    from enforcehub.supervise import pages

    for module in pkgutil.iter_modules(pages.__path__):
        importlib.import_module(f"{pages.__name__}.{module.name}")


def write_xlsx(
    target: Any, tables: Sequence[TableView], lang: str = "zh", *, sheet_names: Sequence[str] | None = None
) -> None:
    """Tables as sheets (xlsxwriter; strings are never formulas, numbers or URLs): the dashboard's
    table downloads and `enforcehub report` write the same cells. Sheets are named by `sheet_names`,
    else by the tables' ids."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        target,
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "in_memory": True,
        },
    )
    head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    names = list(sheet_names) if sheet_names is not None else [t.id for t in tables]
    for table, name in zip(tables, names, strict=True):
        sheet = workbook.add_worksheet(name[:31])
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.title_en if lang == "en" else column.title, head)
            sheet.set_column(col, col, 40 if column.key.startswith("definition") else 16)
        for r, row in enumerate(table.rows, start=1):
            for col, column in enumerate(table.columns):
                value = row.get(column.key)
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_string(r, col, "是" if value else "否")
                elif isinstance(value, int | float):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
        sheet.freeze_panes(1, 0)
    workbook.close()
