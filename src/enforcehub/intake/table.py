"""The ``Table`` every reader returns, the source it reads from, and the steps all formats share.

Shared steps: choosing the header row (title rows above it are common in government templates),
checking the header cells, and turning raw string columns into the chunk shape the validators
expect (values stripped, empty -> null, blank rows dropped, ``__row__`` attached).
"""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from enforcehub.intake.errors import ReaderNotice, ReadError, shorten

ROW_COLUMN = "__row__"
HEADER_SCAN_ROWS = 10  # title rows above the header: look at this many non-empty rows


@dataclass(frozen=True)
class Source:
    """Where the bytes come from: a path on disk or bytes in memory, plus the name shown to people."""

    name: str
    path: Path | None
    data: bytes | None
    size: int

    def open(self) -> BinaryIO:
        """Open the source for binary reading (a fresh handle each time, so chunks() can be re-run)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")

    @staticmethod
    def of(source: str | os.PathLike[str] | bytes, name: str | None) -> Source:
        """Build a Source from a path or bytes; a missing or unreadable path is a ReadError."""
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            return Source(name or "upload", None, data, len(data))
        path = Path(source)
        display = name or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ReadError(
                "file-not-found",
                f"找不到文件“{display}”或无法读取（{exc.strerror}）。",
                f"Cannot open '{display}': {exc.strerror}.",
            ) from None
        if not path.is_file():
            raise ReadError(
                "file-not-found", f"“{display}”不是一个文件。", f"'{display}' is not a regular file."
            )
        return Source(display, path, None, size)


class Table(ABC):
    """A table read from one file (one sheet of a workbook).

    ``headers`` are the header cells as written (stripped). ``chunks()`` yields polars frames with
    one ``pl.Utf8`` column per header plus ``__row__`` (``pl.Int64``): the row number the sender
    sees in the file. Errors met while streaming are raised as :class:`ReadError` from ``chunks()``.
    """

    def __init__(
        self,
        source: Source,
        fmt: str,
        headers: list[str],
        *,
        encoding: str | None = None,
        header_row: int | None = None,
        sheet: str | None = None,
        notices: list[ReaderNotice] | None = None,
    ) -> None:
        self.source = source
        self.name: str = source.name
        self.path: Path | None = source.path
        self.format: str = fmt
        self.encoding: str | None = encoding
        self.headers: list[str] = headers
        self.header_row: int | None = header_row
        self.sheet: str | None = sheet
        self.notices: list[ReaderNotice] = notices if notices is not None else []

    @abstractmethod
    def chunks(self, size: int = 200_000) -> Iterator[pl.DataFrame]:
        """Yield the data rows as frames of at most ``size`` rows (see the class docstring for the shape)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} format={self.format} columns={len(self.headers)}>"


def choose_header(
    rows: Sequence[tuple[int, list[str]]],
    expected: Callable[[str], bool] | None,
) -> tuple[int, ReaderNotice | None]:
    """Pick the header among the first non-empty rows; return its index in ``rows`` and maybe a notice.

    Without ``expected`` the first non-empty row is the header, except that leading rows with a
    single filled cell above wider rows are taken as titles. With ``expected``, the first row whose
    non-empty cells are mostly (more than half) known headers wins; failing that the row with the
    most known headers (at least two: a header with many renamed columns); failing that the row
    chosen as without ``expected``, with a notice so the sender learns no header was recognised.
    """
    if not rows:
        return 0, None
    if expected is None:
        # A lone cell above wider rows is a title ("2025年第四季度行政处罚信息报送表"), not a header.
        widths = [sum(1 for c in cells if c) for _, cells in rows[:HEADER_SCAN_ROWS]]
        if widths[0] == 1:
            wide = next((i for i, w in enumerate(widths) if w >= 2), 0)
            return wide, _title_notice(rows, wide)
        return 0, None
    scores: list[int] = []
    for i, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        filled = [c for c in cells if c]
        known = sum(1 for c in filled if expected(c))
        if known and known * 2 > len(filled):
            return i, _title_notice(rows, i)
        scores.append(known)
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    if scores[best] >= 2:
        return best, _title_notice(rows, best)
    index, _ = choose_header(rows, None)  # same fallback as without the callable (titles skipped)
    row = rows[index][0]
    return index, ReaderNotice(
        "header-not-recognized",
        f"前 {len(scores)} 个非空行中没有找到可识别的表头，已把第 {row} 行当作表头。",
        f"No row among the first {len(scores)} non-empty rows looks like a known header; row {row} is used.",
        row=row,
    )


def _title_notice(rows: Sequence[tuple[int, list[str]]], index: int) -> ReaderNotice | None:
    if index == 0:
        return None
    row = rows[index][0]
    title = next((c for c in rows[0][1] if c), "")
    return ReaderNotice(
        "title-rows-skipped",
        f"表头在第 {row} 行，上方的 {index} 行标题（如“{shorten(title)}”）已跳过。",
        f"The header is on row {row}; {index} title row(s) above it (e.g. '{shorten(title)}') were skipped.",
        row=row,
    )


def check_headers(
    cells: list[str],
    *,
    row: int,
    where: str,
    where_en: str,
    label: Callable[[int], str],
    label_en: Callable[[int], str],
) -> list[str]:
    """Validate stripped header cells; return the named headers (trailing empty cells dropped).

    ``label(i)`` names column i for messages ('第 3 列' for CSV, 'C 列' for a sheet).
    """
    named = list(cells)
    while named and not named[-1]:
        named.pop()
    empty = [i for i, c in enumerate(named) if not c]
    if empty:
        shown = "、".join(label(i) for i in empty[:10])
        shown_en = ", ".join(label_en(i) for i in empty[:10])
        raise ReadError(
            "empty-header",
            f"{where}第 {row} 行（表头）的 {shown} 没有列名；请补上列名或删除该列。",
            f"{where_en}: header row {row} has no column name in {shown_en}.",
            row=row,
            column=label_en(empty[0]),
        )
    seen: dict[str, int] = {}
    dups: list[tuple[str, int, int]] = []
    for i, c in enumerate(named):
        if c == ROW_COLUMN:
            raise ReadError(
                "reserved-column",
                f"{where}第 {row} 行（表头）的 {label(i)} 使用了保留的列名“{ROW_COLUMN}”。",
                f"{where_en}: header row {row}, {label_en(i)} uses the reserved name '{ROW_COLUMN}'.",
                row=row,
                column=label_en(i),
            )
        if c in seen:
            dups.append((c, seen[c], i))
        else:
            seen[c] = i
    if dups:
        shown = "；".join(f"“{shorten(c)}”（{label(a)}和{label(b)}）" for c, a, b in dups[:10])
        shown_en = "; ".join(f"'{shorten(c)}' ({label_en(a)} and {label_en(b)})" for c, a, b in dups[:10])
        raise ReadError(
            "duplicate-column",
            f"{where}第 {row} 行（表头）有重复的列名：{shown}。",
            f"{where_en}: header row {row} has duplicate column names: {shown_en}.",
            row=row,
            column=label_en(dups[0][2]),
        )
    return named


def tidy(
    df: pl.DataFrame, headers: list[str], first_row: int, *, strip: bool = True, rows: pl.Series | None = None
) -> pl.DataFrame:
    """Strip values, turn empty strings into nulls, attach ``__row__`` and drop entirely empty rows.

    ``df`` holds exactly ``headers`` as string columns. Row numbers are ``first_row + i`` unless
    ``rows`` gives them explicitly (JSON Lines with blank lines, sheets with gaps).
    """
    cols = [pl.col(h) for h in headers]
    if strip:
        # Unicode-aware strip: clerks' full-width spaces (U+3000) and pasted NBSPs go too.
        df = df.with_columns(c.str.strip_chars() for c in cols)
    df = df.with_columns(
        pl.when(c.str.len_bytes() > 0).then(c).alias(h) for c, h in zip(cols, headers, strict=True)
    )
    if rows is None:
        df = df.with_columns((pl.int_range(0, pl.len(), dtype=pl.Int64) + first_row).alias(ROW_COLUMN))
    else:
        df = df.with_columns(rows.cast(pl.Int64).alias(ROW_COLUMN))
    if headers:
        df = df.filter(pl.any_horizontal(c.is_not_null() for c in cols))
    return df


def split_frame(df: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    """Yield ``df`` in slices of at most ``size`` rows (zero-copy), skipping empty frames."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    for start in range(0, df.height, size):
        yield df.slice(start, size)
