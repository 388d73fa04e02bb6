"""Small vectorised helpers shared by the record generators: dates, money, draws, text.

Dates are numpy ``datetime64[D]`` arrays with NaT for "not (yet) happened"; they become strings
only when a frame is built. The synthetic province has its own fixed "today" (2026-06-30) so the
output never drifts with the calendar and no generated date lies in the real future.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

Days = npt.NDArray[np.datetime64]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

TODAY = np.datetime64("2026-06-30", "D")
FIRST_DAY = np.datetime64("2023-01-01", "D")
NAT = np.datetime64("NaT", "D")
YES, NO = "是", "否"


def decision_days(
    rng: np.random.Generator, n: int, *, start: np.datetime64 = FIRST_DAY, end: np.datetime64 = TODAY
) -> Days:
    """`n` decision dates between start and end, rising over time (more agencies report each year)."""
    span = int((end - start).astype(np.int64))
    # sqrt of a uniform leans towards recent dates: reporting coverage grew since 2023.
    offset = np.sqrt(rng.random(n)) * 0.6 + rng.random(n) * 0.4
    days = start + (offset * span).astype(np.int64)
    # Few decisions are dated on weekends; move Saturday/Sunday to the Friday before.
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    days = days - np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
    return np.asarray(np.maximum(days, start), dtype="datetime64[D]")


def add_days(days: Days, offset: Ints | int) -> Days:
    """`days + offset`, NaT staying NaT."""
    return np.asarray(
        days + np.asarray(offset, dtype=np.int64).astype("timedelta64[D]"), dtype="datetime64[D]"
    )


def until_today(days: Days) -> Days:
    """Dates after the synthetic today have not happened yet: NaT."""
    return np.where(days > TODAY, NAT, days).astype("datetime64[D]")


def date_strings(days: Days) -> pl.Series:
    """ISO dates as strings, NaT as null."""
    return pl.Series(days.astype("datetime64[D]")).cast(pl.Utf8)


def datetime_strings(days: Days, seconds: Ints) -> pl.Series:
    """'YYYY-MM-DD HH:MM:SS' strings from a day plus seconds into that day, NaT as null."""
    moment = (days.astype("datetime64[s]") + seconds.astype("timedelta64[s]")).astype("datetime64[ms]")
    return pl.Series(moment).dt.strftime("%Y-%m-%d %H:%M:%S")


def chinese_dates(days: Days, *, day: bool = True) -> pl.Series:
    """'2025年3月12日' (or '2025年3月' with day=False) for use inside texts."""
    series = pl.Series(days.astype("datetime64[D]"))
    parts = [
        series.dt.year().cast(pl.Utf8),
        pl.Series(["年"] * len(series)),
        series.dt.month().cast(pl.Utf8),
        pl.Series(["月"] * len(series)),
    ]
    if day:
        parts += [series.dt.day().cast(pl.Utf8), pl.Series(["日"] * len(series))]
    return (
        pl.DataFrame({str(i): p for i, p in enumerate(parts)})
        .select(pl.concat_str([pl.col(str(i)) for i in range(len(parts))]))
        .to_series()
    )


def log_uniform(rng: np.random.Generator, low: Floats | float, high: Floats | float, n: int) -> Floats:
    """Amounts spread evenly on a log scale: small fines are common, big ones rare but present."""
    lo = np.log(np.maximum(np.asarray(low, dtype=np.float64), 1.0))
    hi = np.log(np.maximum(np.asarray(high, dtype=np.float64), 1.0))
    return np.asarray(np.exp(lo + (hi - lo) * rng.random(n)), dtype=np.float64)


def round_money(amount: Floats) -> Floats:
    """Round to the steps officials use: 10 元 below 500, 100 below 10,000, 1,000 above."""
    step = np.where(amount < 500, 10, np.where(amount < 10_000, 100, 1000))
    return np.asarray(np.maximum(np.round(amount / step) * step, step), dtype=np.float64)


def money_strings(amount: Floats, present: Bools | None = None) -> pl.Series:
    """Amounts in 元 as plain decimals ('5000', '1234.5'), null where not present."""
    series = pl.Series(np.round(amount, 2))
    text = (
        pl.when(series == series.round(0))
        .then(series.cast(pl.Int64).cast(pl.Utf8))
        .otherwise(series.cast(pl.Utf8))
    )
    out = pl.select(text.alias("m")).to_series()
    if present is not None:
        out = pl.select(pl.when(pl.Series(present)).then(out)).to_series()
    return out.alias("money")


def weighted_pick(rng: np.random.Generator, weights: Floats, n: int) -> Ints:
    """`n` indexes drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(rng.choice(len(p), size=n, p=p / p.sum()), dtype=np.int64)


def skewed_offset(rng: np.random.Generator, count: Ints, power: float = 1.8) -> Ints:
    """An index in [0, count) leaning towards 0: a few counterparties are met again and again."""
    return np.minimum((rng.random(len(count)) ** power * count).astype(np.int64), np.maximum(count - 1, 0))


def fill(values: list[str] | tuple[str, ...], index: Ints) -> npt.NDArray[np.str_]:
    """values[index] as a numpy string array."""
    return np.asarray(values)[index]


def nulls(n: int) -> pl.Series:
    """A column of `n` nulls (an element the generator leaves empty)."""
    return pl.Series([None] * n, dtype=pl.Utf8)


def text(values: npt.NDArray[np.str_] | list[str], present: Bools | None = None) -> pl.Series:
    """Strings as a polars column, empty strings and rows not `present` as null."""
    series = pl.Series(np.asarray(values).tolist(), dtype=pl.Utf8)
    if present is not None:
        series = pl.select(pl.when(pl.Series(present)).then(series)).to_series()
    return pl.select(pl.when(series != "").then(series)).to_series()


def yes_no(flag: Bools, present: Bools | None = None) -> pl.Series:
    """是/否 per row, null where not present."""
    return text(np.where(flag, YES, NO), present)


def concat(*parts: pl.Series | str) -> pl.Series:
    """Concatenate columns and literal strings row by row (null parts count as empty)."""
    n = max(len(p) for p in parts if isinstance(p, pl.Series))
    frame = pl.DataFrame(
        {
            f"p{i}": (p if isinstance(p, pl.Series) else pl.Series([p] * n, dtype=pl.Utf8))
            for i, p in enumerate(parts)
        }
    )
    return frame.select(pl.concat_str([pl.col(c).fill_null("") for c in frame.columns])).to_series()
