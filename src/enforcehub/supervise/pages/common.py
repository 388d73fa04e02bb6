"""Helpers shared by the page builders: city names, scope filters, period parameters."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import polars as pl

from enforcehub.supervise.view import Scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVINCE = "440000"
DATASET_TITLES = {
    "penalty": ("行政处罚", "Penalties"),
    "license": ("行政许可", "Licences"),
    "coercion": ("行政强制", "Coercive measures"),
    "inspection": ("行政检查", "Inspections"),
    "levy": ("行政征收", "Levies"),
    "requisition": ("行政征用", "Requisitions"),
}


@functools.cache
def city_names() -> dict[str, str]:
    """City code → name for the 21 cities, plus 440000 省直部门 (provincial departments)."""
    from enforcehub.standard.registry import DivisionRegistry

    names = {d.code: d.name for d in DivisionRegistry.load().cities()}
    names[PROVINCE] = "省直部门"
    return names


def city_label(code: str | None, lang: str = "zh") -> str:
    if not code:
        return "未知" if lang != "en" else "unknown"
    name = city_names().get(code, code)
    if code == PROVINCE and lang == "en":
        return "Provincial departments"
    return name


def scoped(frame: pl.DataFrame, scope: Scope, column: str = "city") -> pl.DataFrame:
    """Only the rows of the scope's region."""
    if scope.region_prefix is None or frame.is_empty():
        return frame
    return frame.filter(pl.col(column).str.starts_with(scope.region_prefix))


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def months(params: Mapping[str, str], default_months: int = 24) -> tuple[str, str]:
    """(from, to) as YYYY-MM from `month_from`/`month_to`, default: the last `default_months` months."""
    end = params.get("month_to") or today().strftime("%Y-%m")
    start = params.get("month_from")
    if not start:
        year, month = int(end[:4]), int(end[5:7])
        total = year * 12 + month - 1 - (default_months - 1)
        start = f"{total // 12:04d}-{total % 12 + 1:02d}"
    for value in (start, end):
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ValueError(f"not a month (YYYY-MM): {value!r}")
    return start, end
