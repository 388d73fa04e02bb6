"""Reference registries packaged with the standard: statute texts (法律法规) and Guangdong divisions.

Both are built by ``tools/build_registry.py`` into ``enforcehub/standard/data`` and loaded lazily:
nothing is read at import time; :meth:`LawRegistry.load` and :meth:`DivisionRegistry.load` read the
packaged files on first use and cache the result.

Law versions: one :class:`LawVersion` per instrument (short ``name`` such as ``行政处罚法``) and version
date.  A version is in force from its ``effective_from`` (the version date in the source) until the
day before the next version of the same name; the newest version is open (``effective_to`` is None).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import lzma
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "Article",
    "Citation",
    "Division",
    "DivisionRegistry",
    "LawRegistry",
    "LawVersion",
    "chinese_numeral_to_int",
    "int_to_chinese_numeral",
    "parse_citations",
]

_DATA_PACKAGE = "enforcehub.standard"
_LAWS_FILE = "laws.json.xz"
_DIVISIONS_FILE = "divisions.csv"

# --------------------------------------------------------------------------- numerals

_CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
_CN_DIGIT_CHARS = "零〇一二两三四五六七八九"
_CN_NUMERAL_CHARS = _CN_DIGIT_CHARS + "十百千"
_NUMERAL_CLASS = _CN_NUMERAL_CHARS + "0-9０-９"


def chinese_numeral_to_int(text: str) -> int:
    """Convert a Chinese numeral (``一百二十四`` → 124) or a string of digits to an int.

    Accepted: 零〇一二两三四五六七八九 with the units 十百千 in the usual written form (``十`` → 10,
    ``十五`` → 15, ``一千零二`` → 1002, ``一百一十`` / ``一百十`` → 110, ``一百二`` → 120), a run of bare
    digits read positionally (``二〇二一`` → 2021), and Arabic digits (also full-width).
    Surrounding whitespace is ignored.  Anything else raises :class:`ValueError`.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty numeral")
    if s.isdecimal():
        return int(s)
    if any(ch not in _CN_NUMERAL_CHARS for ch in s):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    if len(s) > 1 and all(ch in _CN_DIGITS for ch in s):
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))  # 二〇二一
    total = 0
    pending: int | None = None  # a digit waiting for its unit
    last_unit = 10_000  # units must strictly decrease
    after_zero = False  # a 零 was read since the last unit
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            if pending is not None:
                raise ValueError(f"two digits in a row in {text!r}")
            if digit == 0:
                if len(s) == 1:
                    return 0
                if after_zero or last_unit == 10_000:
                    raise ValueError(f"misplaced 零 in {text!r}")
                after_zero = True
                continue
            pending = digit
        else:
            unit = _CN_UNITS[ch]
            if unit >= last_unit:
                raise ValueError(f"unit {ch} out of order in {text!r}")
            if pending is None:
                if unit != 10:
                    raise ValueError(f"unit {ch} without a digit in {text!r}")
                pending = 1  # 十 = 一十, 一百十 = 一百一十
            if after_zero and last_unit // unit < 100:
                raise ValueError(f"superfluous 零 in {text!r}")
            total += pending * unit
            last_unit = unit
            pending = None
            after_zero = False
    if pending is not None:
        if after_zero or last_unit == 10_000:
            total += pending
        else:
            total += pending * (last_unit // 10)  # 一百二 = 120, 一千二 = 1200, 二十五 = 25
    elif after_zero:
        raise ValueError(f"trailing 零 in {text!r}")
    return total


def int_to_chinese_numeral(n: int) -> str:
    """Write 0 ≤ n ≤ 9999 as a Chinese numeral the way statutes number articles (124 → 一百二十四)."""
    if not 0 <= n <= 9999:
        raise ValueError(f"out of range: {n}")
    if n == 0:
        return "零"
    digits = "零一二三四五六七八九"
    out: list[str] = []
    zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        if not (unit == 10 and d == 1 and not out):  # 十五, but 一百一十五
            out.append(digits[d])
        out.append(name)
    return "".join(out)


# --------------------------------------------------------------------------- laws


@dataclass(frozen=True, slots=True)
class Article:
    """One article (条) of a law version: number, suffix (``""`` or ``之一`` …) and text."""

    number: int
    suffix: str
    text: str

    @property
    def label(self) -> str:
        """The article's heading as written in statutes, e.g. ``第五十一条`` or ``第十条之一``."""
        return f"第{int_to_chinese_numeral(self.number)}条{self.suffix}"


@dataclass(frozen=True, slots=True)
class LawVersion:
    """One version of a statute instrument (law, regulation, rule) with its articles."""

    law_id: str
    name: str
    title: str
    level: str
    field: str
    issuer: str
    version_date: dt.date
    effective_from: dt.date
    effective_to: dt.date | None
    history: tuple[str, ...]
    articles: tuple[Article, ...]
    preamble: str = ""
    appendix: str = ""
    _index: dict[tuple[int, str], Article] = dataclasses.field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for article in self.articles:
            self._index.setdefault((article.number, article.suffix), article)

    @property
    def max_article(self) -> int:
        """Highest article number (0 when the instrument has no numbered articles)."""
        return max((a.number for a in self.articles), default=0)

    def has_article(self, number: int, suffix: str = "") -> bool:
        """Whether the version has article ``number`` with ``suffix`` (``""`` or ``之一`` …)."""
        return (number, suffix) in self._index

    def article(self, number: int, suffix: str = "") -> Article | None:
        """The article ``number`` + ``suffix``, or None."""
        return self._index.get((number, suffix))

    @property
    def first_adopted(self) -> dt.date:
        """The earliest date in the adoption history (通过/公布), else the version date."""
        dates = [
            dt.date(int(y), int(m), int(d))
            for line in self.history
            for y, m, d in _HISTORY_DATE_RE.findall(line)
            if 1 <= int(m) <= 12 and 1 <= int(d) <= 31
        ]
        return min([*dates, self.version_date])

    def in_force_on(self, on: dt.date) -> bool:
        """Whether this version is the one in force on ``on``."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


_HISTORY_DATE_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_KEY_DROP_RE = re.compile(r"[\s\u3000《》〈〉<>“”\"'·・]")
_TRAILING_NOTE_RE = re.compile(r"\((?:\d{4}年?[^()]*|[^()]*(?:修正|修订|修改|施行|公布)[^()]*)\)$")
_TRIAL_RE = re.compile(r"\((?:试行|暂行)\)$")


def _name_key(text: str) -> str:
    """Normalised lookup key of an instrument name or title."""
    s = text.replace("（", "(").replace("）", ")").replace("\u200b", "")
    s = _KEY_DROP_RE.sub("", s)
    return s.replace("中华人民共和国", "")


def _parse_version(entry: dict[str, Any]) -> LawVersion:
    to = entry.get("effective_to")
    return LawVersion(
        law_id=entry["law_id"],
        name=entry["name"],
        title=entry["title"],
        level=entry["level"],
        field=entry["field"],
        issuer=entry["issuer"],
        version_date=dt.date.fromisoformat(entry["version_date"]),
        effective_from=dt.date.fromisoformat(entry["effective_from"]),
        effective_to=dt.date.fromisoformat(to) if to else None,
        history=tuple(entry.get("history", ())),
        articles=tuple(Article(int(n), str(s), str(t)) for n, s, t in entry.get("articles", ())),
        preamble=entry.get("preamble", ""),
        appendix=entry.get("appendix", ""),
    )


class LawRegistry:
    """All packaged statute versions, looked up by name, cited name, date and id."""

    def __init__(self, versions: Iterable[LawVersion]) -> None:
        """Index ``versions`` (normally use :meth:`load`)."""
        by_name: dict[str, list[LawVersion]] = {}
        for v in versions:
            by_name.setdefault(v.name, []).append(v)
        self._by_name: dict[str, list[LawVersion]] = {
            name: sorted(vs, key=lambda v: v.effective_from) for name, vs in sorted(by_name.items())
        }
        self._by_id: dict[str, LawVersion] = {v.law_id: v for vs in self._by_name.values() for v in vs}
        self._title_to_name: dict[str, str] = {}
        self._key_to_name: dict[str, str] = {}
        for name in self._by_name:
            self._key_to_name.setdefault(_name_key(name), name)
        for name, vs in self._by_name.items():
            for v in reversed(vs):  # newest title first
                self._title_to_name.setdefault(v.title, name)
                self._key_to_name.setdefault(_name_key(v.title), name)
        for key, name in list(self._key_to_name.items()):  # 《…规范》 for 《…规范（试行）》
            self._key_to_name.setdefault(_TRIAL_RE.sub("", key), name)
        self._table: pl.DataFrame | None = None

    @classmethod
    def from_bytes(cls, blob: bytes) -> LawRegistry:
        """Build a registry from the (xz-compressed or plain) JSON written by the build script."""
        if blob[:6] == b"\xfd7zXZ\x00":
            blob = lzma.decompress(blob)
        payload = json.loads(blob.decode("utf-8"))
        return cls(_parse_version(e) for e in payload["laws"])

    @classmethod
    def load(cls) -> LawRegistry:
        """The registry of the packaged ``laws.json.xz`` (read once, then cached)."""
        return _packaged_law_registry()

    # -- lookups --------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """All instrument short names, sorted."""
        return list(self._by_name)

    def all_versions(self) -> list[LawVersion]:
        """Every version of every instrument, by name then date."""
        return [v for vs in self._by_name.values() for v in vs]

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[LawVersion]:
        return iter(self.all_versions())

    def get(self, law_id: str) -> LawVersion | None:
        """The version with this ``law_id``, or None."""
        return self._by_id.get(law_id)

    def versions(self, name: str) -> list[LawVersion]:
        """All versions of an instrument, oldest first; ``name`` may also be a cited name or title."""
        canonical = name if name in self._by_name else self.resolve_name(name)
        return list(self._by_name.get(canonical, ())) if canonical else []

    def resolve_name(self, cited: str) -> str | None:
        """Map a cited instrument name to the registry's short name, or None when unknown.

        Accepts the short name (``行政处罚法``), the full title (``中华人民共和国行政处罚法``), and
        variants with ``《》``, ``〈〉``, whitespace, full-width brackets, a leading ``中华人民共和国`` or
        ``广东省`` the registry's name lacks, a trailing version note (``（2021年修订）``) or a
        trailing ``（试行）`` / ``（暂行）`` present on one side only.
        """
        s = cited.strip()
        if s in self._by_name:
            return s
        if s in self._title_to_name:
            return self._title_to_name[s]
        key = _name_key(s)
        candidates = [key]
        stripped = _TRAILING_NOTE_RE.sub("", key)
        if stripped != key:
            candidates.append(stripped)
        for k in list(candidates):
            if _TRIAL_RE.search(k):
                candidates.append(_TRIAL_RE.sub("", k))
        for k in list(candidates):
            if k.startswith("广东省"):
                candidates.append(k[len("广东省") :])
        for k in candidates:
            if k in self._key_to_name:
                return self._key_to_name[k]
        return None

    def in_force(self, name: str, on: dt.date) -> LawVersion | None:
        """The version of ``name`` (or a cited name) in force on ``on``; None before the first one."""
        for v in self.versions(name):
            if v.in_force_on(on):
                return v
        return None

    def citations_table(self) -> pl.DataFrame:
        """One row per version: name, effective_from, effective_to (null = open), max_article, law_id,
        first_adopted (the instrument's first adoption) and earliest_on_file (its earliest version here).

        Meant for vectorised joins in the validator (join on name, filter on the decision date).
        """
        if self._table is None:
            import polars as pl

            versions = self.all_versions()
            self._table = pl.DataFrame(
                {
                    "name": [v.name for v in versions],
                    "effective_from": [v.effective_from for v in versions],
                    "effective_to": [v.effective_to for v in versions],
                    "max_article": [v.max_article for v in versions],
                    "law_id": [v.law_id for v in versions],
                    "first_adopted": [self.versions(v.name)[0].first_adopted for v in versions],
                    "earliest_on_file": [self.versions(v.name)[0].effective_from for v in versions],
                },
                schema={
                    "name": pl.String,
                    "effective_from": pl.Date,
                    "effective_to": pl.Date,
                    "max_article": pl.Int64,
                    "law_id": pl.String,
                    "first_adopted": pl.Date,
                    "earliest_on_file": pl.Date,
                },
            )
        return self._table


@functools.cache
def _packaged_law_registry() -> LawRegistry:
    blob = resources.files(_DATA_PACKAGE).joinpath("data", _LAWS_FILE).read_bytes()
    return LawRegistry.from_bytes(blob)


# --------------------------------------------------------------------------- citations


@dataclass(frozen=True, slots=True)
class Citation:
    """One cited article: instrument name as written (without 《》), article number or None.

    ``raw`` is the exact piece of the source text the citation came from: for the first article after
    a title it starts at ``《``; for later articles of the same title it is that article's own piece
    (``第十二条第二款``); for a range (``第十条至第十二条``) every citation carries the whole range.
    """

    law: str
    article: int | None
    suffix: str
    raw: str


_NUM = f"[{_NUMERAL_CLASS}]+"
_TITLE_RE = re.compile(r"《([^《》]{1,100})》")
_ARTICLE_RE = re.compile(rf"\s*第\s*({_NUM})\s*条(之[{_CN_NUMERAL_CHARS}]+)?")
_CLAUSE_RE = re.compile(
    rf"\s*(?:[、，,]|以及|或者|和|及|或)?\s*"
    rf"(?:第\s*{_NUM}\s*款|第?\s*[（(]\s*{_NUM}\s*[)）]\s*项?|第\s*{_NUM}\s*项|第\s*{_NUM}\s*目)"
)
_SEPARATOR_RE = re.compile(r"\s*(?:[、，,]|以及|或者|和|及|与|或)?")
_RANGE_RE = re.compile(r"\s*(?:至|到|—|－|-|～|~)\s*")
_MAX_RANGE = 200


def _article_number(match: re.Match[str]) -> int | None:
    try:
        return chinese_numeral_to_int(match.group(1))
    except ValueError:
        return None


def _consume_clauses(text: str, pos: int) -> int:
    while m := _CLAUSE_RE.match(text, pos):
        pos = m.end()
    return pos


def parse_citations(text: str) -> list[Citation]:
    """Find every cited instrument and article in a free-text legal basis (法律依据 / 处罚依据).

    ``《中华人民共和国食品安全法》第一百二十四条第一款第（一）项、《广东省食品安全条例》第六十条`` gives
    two citations (食品安全法 Art. 124, 广东省食品安全条例 Art. 60).  A title followed by several
    articles (``《X》第十条、第十二条``) gives one citation per article, a range (``第十条至第十二条``)
    one per article in it, and a title with no article one citation with ``article=None``.
    Paragraph (款), item (项) and sub-item (目) references are kept in ``raw`` only.
    """
    citations: list[Citation] = []
    for title in _TITLE_RE.finditer(text):
        law = re.sub(r"[\s\u3000]+", "", title.group(1))
        if not law:
            continue
        pos = title.end()
        m = _ARTICLE_RE.match(text, pos)
        start = title.start()
        found = False
        while m is not None:
            number = _article_number(m)
            if number is None:
                break
            suffix = m.group(2) or ""
            pos = _consume_clauses(text, m.end())
            numbers = [number]
            r = _RANGE_RE.match(text, pos)
            if r and not suffix:
                end_m = _ARTICLE_RE.match(text, r.end())
                end = _article_number(end_m) if end_m else None
                if end_m and end is not None and not end_m.group(2) and 0 < end - number <= _MAX_RANGE:
                    numbers = list(range(number, end + 1))
                    pos = _consume_clauses(text, end_m.end())
            raw = text[start:pos].strip()
            citations.extend(Citation(law, n, suffix, raw) for n in numbers)
            found = True
            sep = _SEPARATOR_RE.match(text, pos)
            next_pos = sep.end() if sep else pos
            m = _ARTICLE_RE.match(text, next_pos)
            start = next_pos
        if not found:
            citations.append(Citation(law, None, "", title.group(0)))
    return citations


# --------------------------------------------------------------------------- divisions


@dataclass(frozen=True, slots=True)
class Division:
    """One row of the GB/T 2260 table: a code with its name over a span of years."""

    code: str
    name: str
    level: str  # province | city | county
    parent: str | None
    valid_from: int | None  # first year (None = before the records start)
    valid_to: int | None  # last year (None = still current)

    @property
    def is_current(self) -> bool:
        """Whether this row is the code's current name (open ``valid_to``)."""
        return self.valid_to is None

    def valid_in(self, year: int) -> bool:
        """Whether the row was valid in ``year`` (bounds inclusive)."""
        return (self.valid_from is None or self.valid_from <= year) and (
            self.valid_to is None or year <= self.valid_to
        )


def _year(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


class DivisionRegistry:
    """Guangdong administrative division codes (GB/T 2260), current and historical."""

    def __init__(self, rows: Iterable[Division]) -> None:
        """Index ``rows`` (normally use :meth:`load`)."""
        self._rows: tuple[Division, ...] = tuple(
            sorted(rows, key=lambda d: (d.code, d.valid_from or 0, d.valid_to or 9999))
        )
        self._by_code: dict[str, list[Division]] = {}
        for d in self._rows:
            self._by_code.setdefault(d.code, []).append(d)
        self._current = frozenset(d.code for d in self._rows if d.is_current)
        self._ever = frozenset(self._by_code)

    @classmethod
    def from_csv_text(cls, text: str) -> DivisionRegistry:
        """Build a registry from the CSV written by the build script."""
        reader = csv.DictReader(io.StringIO(text))
        return cls(
            Division(
                code=row["code"].strip(),
                name=row["name"].strip(),
                level=row["level"].strip(),
                parent=row["parent"].strip() or None,
                valid_from=_year(row["valid_from"]),
                valid_to=_year(row["valid_to"]),
            )
            for row in reader
        )

    @classmethod
    def load(cls) -> DivisionRegistry:
        """The registry of the packaged ``divisions.csv`` (read once, then cached)."""
        return _packaged_division_registry()

    def all(self) -> list[Division]:
        """Every row, by code then years."""
        return list(self._rows)

    def history(self, code: str) -> list[Division]:
        """All rows of ``code``, oldest first (empty when unknown)."""
        return list(self._by_code.get(code, ()))

    def current_codes(self) -> frozenset[str]:
        """Codes in use today (rows with an open ``valid_to``)."""
        return self._current

    def ever_codes(self) -> frozenset[str]:
        """Every code that ever existed (old resident ID numbers keep their old code)."""
        return self._ever

    def name(self, code: str, year: int | None = None) -> str | None:
        """Name of ``code``: in ``year`` if given, else the current (or, if retired, the last) name."""
        rows = self._by_code.get(code)
        if not rows:
            return None
        if year is not None:
            for d in reversed(rows):
                if d.valid_in(year):
                    return d.name
            return None
        for d in rows:
            if d.is_current:
                return d.name
        return rows[-1].name

    def cities(self) -> list[Division]:
        """The current prefecture-level cities (地级市), by code."""
        return [d for d in self._rows if d.level == "city" and d.is_current]

    def counties(self, city_code: str) -> list[Division]:
        """Current county-level divisions of a city, without the ``市辖区`` placeholder rows."""
        return [
            d
            for d in self._rows
            if d.level == "county" and d.is_current and d.parent == city_code and d.name != "市辖区"
        ]

    @staticmethod
    def city_of(code: str) -> str:
        """The prefecture code of a 6-digit division code (``440106`` → ``440100``)."""
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise ValueError(f"not a 6-digit division code: {code!r}")
        return code[:4] + "00"

    def valid_in_year(self, code: str, year: int) -> bool:
        """Whether ``code`` was a valid code in ``year`` (under any of its names)."""
        return any(d.valid_in(year) for d in self._by_code.get(code, ()))


@functools.cache
def _packaged_division_registry() -> DivisionRegistry:
    text = resources.files(_DATA_PACKAGE).joinpath("data", _DIVISIONS_FILE).read_text(encoding="utf-8")
    return DivisionRegistry.from_csv_text(text)
