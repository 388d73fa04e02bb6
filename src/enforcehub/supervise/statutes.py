"""The highest fine a decision's cited articles allow, read from the packaged statute texts.

Neither the standard nor the matter list carries fine ranges per 执法事项 (the matter dataset has
hearing thresholds and time limits, not 罚款幅度), so the statutory maximum is read from the text of
the articles a penalty cites as its 处罚依据, in the version in force on the decision date:

- every amount written as money in those articles (``五千元``, ``二十万元``, ``1万元``, ``15000元``) is a
  candidate; the ceiling is the largest of them. Amounts that are not fines (``货值金额不足一万元的``,
  the fines for the responsible persons) can only raise the ceiling, so the check errs towards
  silence, never towards a false alert;
- an article whose fine is a multiple or a share of something the record does not carry (``货值金额
  十倍以上二十倍以下``, ``违法所得一倍以上五倍以下``, ``工程造价百分之五``) makes the ceiling unknown;
- a basis without any article that mentions 罚款 and an amount has no ceiling (unknown), as has a
  basis whose articles are not in the registry.

The ceiling is a step function of the decision date (it changes where a cited instrument gets a new
version), computed once per distinct basis text and joined to the records with `join_asof`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable

import polars as pl

from enforcehub.standard.registry import LawRegistry, chinese_numeral_to_int, parse_citations

__all__ = ["amounts_in", "ceiling_cents", "ceiling_table", "statutory_max_cents"]

_MONEY = re.compile(r"([0-9０-９]+(?:\.[0-9]+)?\s*[万亿]?|[零〇一二两三四五六七八九十百千万亿]+)\s*元")
_RELATIVE = re.compile(r"倍|百分之|[%％‰]")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_START = dt.date(1900, 1, 1)


def _chinese(text: str) -> int:
    """一百二十万 → 1200000, 三千 → 3000, 十万 → 100000 (sections split at 亿 and 万)."""
    total = 0
    rest = text
    for unit, factor in (("亿", 100_000_000), ("万", 10_000)):
        if unit in rest:
            head, rest = rest.split(unit, 1)
            total += (chinese_numeral_to_int(head) if head else 1) * factor
    if rest:
        total += chinese_numeral_to_int(rest.lstrip("零〇"))
    return total


def parse_amount(text: str) -> int | None:
    """An amount as written before 元 (Arabic or Chinese numerals, 万/亿) in fen; None if unreadable."""
    value = text.strip().translate(_FULL_WIDTH).replace(" ", "")
    try:
        if value[0].isdigit():
            factor = {"万": 10_000, "亿": 100_000_000}.get(value[-1], 1)
            number = float(value[:-1] if factor > 1 else value)
            return round(number * factor * 100)
        return _chinese(value) * 100
    except (ValueError, IndexError):
        return None


def amounts_in(text: str) -> list[int]:
    """Every money amount in an article's text, in fen."""
    found = (parse_amount(m.group(1)) for m in _MONEY.finditer(text))
    return [a for a in found if a is not None and a > 0]


def ceiling_cents(texts: Iterable[str]) -> int | None:
    """The fine ceiling the cited articles' texts allow (fen), or None when they do not fix one."""
    candidates: list[int] = []
    fined = False
    for text in texts:
        if "罚款" not in text:
            continue
        if _RELATIVE.search(text):
            return None
        fined = True
        candidates += amounts_in(text)
    return max(candidates) if fined and candidates else None


@functools.lru_cache(maxsize=50_000)
def _citations(basis: str) -> tuple[tuple[str, int, str], ...]:
    registry = LawRegistry.load()
    found: list[tuple[str, int, str]] = []
    for citation in parse_citations(basis):
        name = registry.resolve_name(citation.law)
        if name is not None and citation.article is not None:
            found.append((name, citation.article, citation.suffix))
    return tuple(found)


def _ceiling_on(basis: str, day: dt.date) -> int | None:
    registry = LawRegistry.load()
    texts: list[str] = []
    for name, number, suffix in _citations(basis):
        version = registry.in_force(name, day)
        article = version.article(number, suffix) if version is not None else None
        if article is not None:
            texts.append(article.text)
    return ceiling_cents(texts)


@functools.lru_cache(maxsize=50_000)
def _steps(basis: str) -> tuple[tuple[dt.date, int | None], ...]:
    """(from date, ceiling) steps of one basis text: a new step where a cited instrument changes."""
    registry = LawRegistry.load()
    starts = {_START}
    for name, _number, _suffix in _citations(basis):
        for version in registry.versions(name):
            starts.add(version.effective_from)
            if version.effective_to is not None:
                starts.add(version.effective_to + dt.timedelta(days=1))
    return tuple((day, _ceiling_on(basis, day)) for day in sorted(starts))


def ceiling_table(bases: Iterable[str]) -> pl.DataFrame:
    """basis, valid_from, max_cents: the ceiling of each distinct basis text from each date on."""
    rows: dict[str, list[object]] = {"basis": [], "valid_from": [], "max_cents": []}
    for basis in sorted(set(bases)):
        for day, ceiling in _steps(basis):
            rows["basis"].append(basis)
            rows["valid_from"].append(day)
            rows["max_cents"].append(ceiling)
    return pl.DataFrame(rows, schema={"basis": pl.Utf8, "valid_from": pl.Date, "max_cents": pl.Int64})


def statutory_max_cents(basis: pl.Series, day: pl.Series) -> pl.Series:
    """Per row: the ceiling (fen) of its legal basis on its decision date, null when unknown."""
    frame = pl.DataFrame({"basis": basis.cast(pl.Utf8), "day": day.cast(pl.Date)}).with_row_index("__i")
    wanted = frame.filter(pl.col("basis").is_not_null() & pl.col("day").is_not_null())
    if not wanted.height:
        return pl.Series("statutory_max_cents", [None] * frame.height, dtype=pl.Int64)
    table = ceiling_table(wanted["basis"].unique().to_list()).sort("valid_from")
    joined = wanted.sort("day").join_asof(
        table, left_on="day", right_on="valid_from", by="basis", strategy="backward", check_sortedness=False
    )
    out = frame.join(joined.select("__i", "max_cents"), on="__i", how="left").sort("__i")
    return out["max_cents"].alias("statutory_max_cents")
