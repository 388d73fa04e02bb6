"""The official Chinese working-day calendar (工作日), 调休 included, for deadlines counted in working days.

Which days are working days comes from the `chinese-calendar` package: the State Council's yearly
holiday notices (法定节假日 and the 调休 Saturdays/Sundays that are working days). It knows the years
FIRST_OFFICIAL_YEAR … LAST_OFFICIAL_YEAR. Outside those years no notice exists (or is not packaged
yet): the calendar falls back to "Monday to Friday are working days" and says so —
`is_official(day)` and the vectorised `official(expr)` are False there, and callers carry that flag
(alerts record it in their detail) so a count over an unknown year is never mistaken for an official one.

Counting convention (行政处罚法 第八十五条, 行政强制法 第六十九条; 民法典 第二百零一条): the day a period
starts is not counted. `add_working_days(d, 7)` is the seventh working day after `d` — the last day
of a "7 个工作日" period starting on `d`; `working_days_between(a, b)` counts the working days in
(a, b] (negative when b < a). A deadline of n working days after `a` is met by a date `x` exactly
when `x <= add_working_days(a, n)`.

Vectorised: one table of every day from TABLE_START to TABLE_END holds whether it is a working day
and the running count of working days; polars expressions look dates up by their day number
(`gather`), so a column of ten million dates costs two array lookups, never a Python call per row.
Dates outside the table (before 1950 or after 2099) give null.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import chinese_calendar
import numpy as np
import polars as pl

__all__ = [
    "FIRST_OFFICIAL_YEAR",
    "LAST_OFFICIAL_YEAR",
    "TABLE_END",
    "TABLE_START",
    "add_working_days",
    "add_working_days_expr",
    "count_working_days",
    "is_official",
    "is_working_day",
    "official",
    "working_days_between",
]

TABLE_START = dt.date(1950, 1, 1)
TABLE_END = dt.date(2099, 12, 31)
_EPOCH = dt.date(1970, 1, 1)


def _official_years() -> tuple[int, int]:
    """The years the packaged holiday notices cover (2004 … the latest notice published)."""
    days = [*chinese_calendar.holidays, *chinese_calendar.workdays]
    return min(d.year for d in days), max(d.year for d in days)


FIRST_OFFICIAL_YEAR, LAST_OFFICIAL_YEAR = _official_years()


@dataclass(frozen=True)
class _Table:
    offset: int  # day number (days since 1970-01-01) of TABLE_START
    working: np.ndarray  # bool per day
    official: np.ndarray  # bool per day: covered by a holiday notice
    cumulative: np.ndarray  # int32 per day: working days from TABLE_START up to and including it
    ordinals: np.ndarray  # int32: the table index of the k-th working day (k = 1 … total) at k - 1

    @property
    def size(self) -> int:
        return len(self.working)


@functools.cache
def _table() -> _Table:
    start = np.datetime64(TABLE_START.isoformat(), "D")
    days = start + np.arange((TABLE_END - TABLE_START).days + 1)
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    working = weekday < 5
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    official = (years >= FIRST_OFFICIAL_YEAR) & (years <= LAST_OFFICIAL_YEAR)
    base = (TABLE_START - _EPOCH).days
    # Inside the official years: a holiday (法定节假日 and its bridging days) is never a working day, a
    # 调休 day always is (chinese_calendar.is_workday's own rule, applied to the whole table at once).
    holidays = np.asarray(sorted(chinese_calendar.holidays), dtype="datetime64[D]")
    shifted = np.asarray(sorted(chinese_calendar.workdays), dtype="datetime64[D]")
    working = np.where(official & np.isin(days, holidays), False, working)
    working = np.where(official & np.isin(days, shifted), True, working)
    cumulative = np.cumsum(working, dtype=np.int32)
    ordinals = np.flatnonzero(working).astype(np.int32)
    return _Table(base, working, official, cumulative, ordinals)


def _index(day: dt.date) -> int:
    table = _table()
    index = (day - _EPOCH).days - table.offset
    if not 0 <= index < table.size:
        raise ValueError(f"{day} is outside the working-day table ({TABLE_START} … {TABLE_END})")
    return index


def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day: official where a holiday notice exists, else Monday–Friday."""
    return bool(_table().working[_index(day)])


def is_official(day: dt.date) -> bool:
    """Whether `day` lies in a year the official holiday notices cover (else: weekends-only fallback)."""
    return FIRST_OFFICIAL_YEAR <= day.year <= LAST_OFFICIAL_YEAR


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n > 0), before it (n < 0), or `day` itself (n = 0).

    The start day is not counted, so `add_working_days(d, 7)` is the last day of a 7-working-day
    period starting on `d` even when `d` is a holiday."""
    if n == 0:
        return day
    table = _table()
    index = _index(day)
    count = int(table.cumulative[index])
    ordinal = count + n if n > 0 else count - int(table.working[index]) + n + 1
    if not 1 <= ordinal <= len(table.ordinals):
        raise ValueError(f"{day} {n:+d} working days is outside the working-day table")
    return _EPOCH + dt.timedelta(days=int(table.offset + table.ordinals[ordinal - 1]))


def count_working_days(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: after `start`, up to and including `end` (negative if end < start)."""
    table = _table()
    return int(table.cumulative[_index(end)]) - int(table.cumulative[_index(start)])


# --- vectorised -------------------------------------------------------------------------------------


def _position(day: pl.Expr) -> pl.Expr:
    """The table index of a Date expression, null outside the table."""
    table = _table()
    index = day.cast(pl.Date).cast(pl.Int64) - table.offset
    return pl.when(index.is_between(0, table.size - 1)).then(index)


def _lookup(values: np.ndarray, index: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=dtype)).gather(index)


def official(day: pl.Expr) -> pl.Expr:
    """Boolean expression: the date lies in a year covered by official holiday notices (null → null)."""
    years = day.cast(pl.Date).dt.year()
    return years.is_between(FIRST_OFFICIAL_YEAR, LAST_OFFICIAL_YEAR)


def working_day(day: pl.Expr) -> pl.Expr:
    """Boolean expression: the date is a working day (official calendar, else Monday–Friday)."""
    return _lookup(_table().working, _position(day), pl.Boolean())


def working_days_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Int expression: working days in (start, end] — after `start`, up to and including `end`;
    negative when end < start; null when either is null or outside the table."""
    cumulative = _table().cumulative
    return _lookup(cumulative, _position(end), pl.Int32()).cast(pl.Int64) - _lookup(
        cumulative, _position(start), pl.Int32()
    ).cast(pl.Int64)


def add_working_days_expr(start: pl.Expr, n: int | pl.Expr) -> pl.Expr:
    """Date expression: the n-th working day after `start` (n ≥ 0; n = 0 gives `start`), the last day
    of an n-working-day period starting on `start`. Null when `start` is null or the result falls
    outside the table."""
    table = _table()
    count = pl.lit(n) if isinstance(n, int) else n
    ordinal = _lookup(table.cumulative, _position(start), pl.Int32()).cast(pl.Int64) + count
    valid = ordinal.is_between(1, len(table.ordinals))
    index = _lookup(table.ordinals, pl.when(valid).then(ordinal - 1), pl.Int32()).cast(pl.Int64)
    day = (index + table.offset).cast(pl.Date)
    return pl.when(count == 0).then(start.cast(pl.Date)).otherwise(day)
