"""CSV reading: encoding and delimiter detection, header discovery, streaming blocks through polars.

How a file is streamed. The raw bytes are cut into blocks (sized from ``chunks(size)``) at record
boundaries: the last newline with an even number of quotes before it. The structural bytes
(newline, quote, comma, tab, semicolon) never occur inside a UTF-8 or GB18030 multibyte
character, so this works on the raw bytes of either encoding. A worker thread reads, cuts,
checks line lengths and transcodes GB18030 blocks while the main thread parses the previous
block with polars (which releases the GIL), so memory stays at a few blocks whatever the size.

Field counts. polars fills missing trailing fields with empty strings, so it cannot tell
"a,b" from "a,b," on its own. polars is run strictly (more fields than the header -> error) and
the block's separator count is checked: outside quotes a well-formed block has exactly
(fields - 1) separators per record. If the sum does not match (blank lines, short rows) the block
is counted record by record with numpy to find the first ragged row, if there is one.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import polars as pl

from enforcehub.intake.encoding import DecodeFailure, detect_encoding, sniff_bom, transcode_to_utf8
from enforcehub.intake.errors import MB, ReaderNotice, ReadError, fmt_size, shorten
from enforcehub.intake.table import Source, Table, check_headers, choose_header, split_frame, tidy

SAMPLE_BYTES = 1 << 20
DEFAULT_MAX_LINE_BYTES = 16 * MB
MIN_BLOCK_BYTES = 1 << 20
MAX_BLOCK_BYTES = 64 << 20
DELIMITERS = (",", "\t", ";")
DELIMITER_NAMES = {",": ("逗号", "comma"), "\t": ("制表符", "tab"), ";": ("分号", "semicolon")}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gb18030": "GBK/GB18030",
                  "utf-16": "UTF-16"}
QUOTE = 0x22
NEWLINE = 0x0A


# --------------------------------------------------------------------------- record structure


def record_ends(raw: bytes, complete: bool) -> npt.NDArray[np.int64]:
    """Offsets of the newlines that end records in ``raw`` (quote parity even before them).

    With ``complete`` a trailing record without a final newline ends at ``len(raw)``.
    """
    arr = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(arr == NEWLINE)
    if raw.find(b'"') >= 0:
        quotes = np.flatnonzero(arr == QUOTE)
        ends = ends[(np.searchsorted(quotes, ends) & 1) == 0]
    if complete and raw and (not len(ends) or ends[-1] != len(raw) - 1):
        ends = np.append(ends, len(raw))
    return ends.astype(np.int64, copy=False)


def separator_counts(raw: bytes, sep: int, ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Separators outside quotes in each record delimited by ``ends``."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    seps = np.flatnonzero(arr == sep)
    counts = np.diff(np.searchsorted(seps, ends), prepend=0).astype(np.int64)
    if raw.find(b'"') >= 0:
        quotes = np.flatnonzero(arr == QUOTE)
        if len(quotes) % 2:
            quotes = np.append(quotes, len(raw))
        opens, closes = quotes[0::2], quotes[1::2]
        inside = np.searchsorted(seps, closes) - np.searchsorted(seps, opens)
        owner = np.searchsorted(ends, opens)
        keep = owner < len(ends)
        counts -= np.bincount(owner[keep], weights=inside[keep], minlength=len(ends)).astype(np.int64)
    return counts


def last_record_end(buf: bytes, quotes: int, low: int) -> int | None:
    """Offset just past the last record-ending newline in ``buf[low:]``, or None.

    ``quotes`` is the number of quote bytes in ``buf``; ``buf`` starts at a record boundary.
    """
    pos = len(buf)
    tail = 0
    while True:
        nl = buf.rfind(b"\n", low, pos)
        if nl < 0:
            return None
        tail += buf.count(b'"', nl, pos)
        if (quotes - tail) % 2 == 0:
            return nl + 1
        pos = nl


def long_line_start(raw: bytes, limit: int) -> int | None:
    """Start offset of a physical line longer than ``limit`` bytes in ``raw``, or None.

    Any line longer than ``limit`` contains a whole aligned window of ``limit // 2`` bytes without
    a newline, so probing those windows with ``find`` (memchr speed, and it stops at the first
    newline) is exact and costs next to nothing on normal data.
    """
    if len(raw) <= limit:
        return None
    step = max(limit // 2, 1)
    for i in range(0, len(raw) - step + 1, step):
        if raw.find(b"\n", i, i + step) == -1:
            start = raw.rfind(b"\n", 0, i) + 1
            end = raw.find(b"\n", i + step)
            if (len(raw) if end < 0 else end) - start > limit:
                return start
    return None


def count_unquoted(text: str, delimiter: str) -> int:
    """Occurrences of ``delimiter`` outside double-quoted fields."""
    return re.sub(r'"(?:[^"]|"")*"', "", text).count(delimiter)


def detect_delimiter(lines: list[str]) -> str:
    """Pick comma, tab or semicolon from the first non-blank records (comma when in doubt).

    Score = the largest per-line count times how many lines share it: a header and its data rows
    agree on the real delimiter, while commas inside TSV text or a title row are sporadic.
    """
    best, best_score = ",", 0
    for d in DELIMITERS:
        counts = [count_unquoted(line, d) for line in lines]
        top = max(counts, default=0)
        score = top * sum(1 for c in counts if c == top) if top else 0
        if score > best_score:
            best, best_score = d, score
    return best


def parse_record(text: str, delimiter: str) -> list[str]:
    """Split one record (which may hold quoted newlines) into fields the way polars does."""
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


# --------------------------------------------------------------------------- opening


@dataclass
class _Layout:
    """Everything found by looking at the start of the file."""

    codec: str  # how the data bytes decode: 'utf-8' or 'gb18030'
    label: str  # encoding reported to the caller
    data_start: int
    sep: str
    cells: list[str]
    header_row: int
    sample_rows_after_header: int  # non-empty data records seen in the sample
    complete: bool  # the sample is the whole file
    avg_record_bytes: float
    ascii_so_far: bool


def open_csv(source: Source, *, expected_headers: Callable[[str], bool] | None = None,
             max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, format_notice: ReaderNotice | None = None) -> CsvTable:
    """Open a delimited text file; header problems, empty files and bad encodings raise ReadError."""
    notices: list[ReaderNotice] = [format_notice] if format_notice else []
    with source.open() as f:
        head = f.read(4)
    bom, bom_len = sniff_bom(head)
    data_source, temp_path = source, None
    if bom in ("utf-16-le", "utf-16-be"):
        assert bom is not None
        temp_path = _transcode_utf16(source, bom, bom_len)
        data_source = Source(source.name, temp_path, None, temp_path.stat().st_size)
        bom_len = 0
    with data_source.open() as f:
        f.seek(bom_len)
        layout = _inspect(f, source.name, bom_len, max_line_bytes, expected_headers, notices)
    if bom == "utf-8-sig":
        layout.label = "utf-8-sig"
    elif bom in ("utf-16-le", "utf-16-be"):
        layout.label = "utf-16"
        notices.append(_encoding_notice("utf-16"))
    elif layout.codec == "gb18030":
        notices.append(_encoding_notice("gb18030"))
    if layout.sep != ",":
        zh, en = DELIMITER_NAMES[layout.sep]
        notices.append(ReaderNotice("delimiter-detected", f"分隔符为{zh}。", f"The delimiter is a {en}."))
    table = CsvTable(source, data_source, layout, max_line_bytes, notices)
    if temp_path is not None:
        weakref.finalize(table, temp_path.unlink, missing_ok=True)
    return table


def _encoding_notice(codec: str) -> ReaderNotice:
    name = ENCODING_NAMES[codec]
    return ReaderNotice("encoding-detected", f"文件编码为 {name}，已自动转换为 UTF-8 读取。",
                        f"The file is encoded as {codec.upper()}; it was converted to UTF-8.")


def _transcode_utf16(source: Source, encoding: str, bom_len: int) -> Path:
    with tempfile.NamedTemporaryFile(prefix="enforcehub-", suffix=".csv", delete=False) as tmp:
        path = Path(tmp.name)
        try:
            with source.open() as f:
                f.seek(bom_len)
                transcode_to_utf8(f, encoding, tmp)
        except DecodeFailure as exc:
            path.unlink(missing_ok=True)
            raise ReadError(
                "undecodable",
                f"{source.name}：第 {exc.offset} 行附近有无法按 UTF-16 解码的内容，文件可能已损坏。",
                f"{source.name}: line {exc.offset} cannot be decoded as UTF-16; the file may be damaged.",
                row=exc.offset,
            ) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


def _inspect(f: BinaryIO, name: str, bom_len: int, max_line: int,
             expected: Callable[[str], bool] | None, notices: list[ReaderNotice]) -> _Layout:
    buf = f.read(SAMPLE_BYTES)
    complete = len(buf) < SAMPLE_BYTES
    # Extend the sample until it holds enough records to find the header (or the file ends).
    while not complete and len(record_ends(buf, False)) < 2 * 10 + 2:
        if len(buf) > max_line + SAMPLE_BYTES:
            break
        more = f.read(SAMPLE_BYTES)
        complete = not more
        buf += more
    if not buf.strip(b" \t\r\n\x00"):
        raise ReadError("empty-file", f"文件“{name}”是空的。", f"'{name}' is empty.")
    ends = record_ends(buf, complete)
    if not len(ends):
        raise _unclosed(name, 1, max_line) if b"\n" in buf else _too_long(name, 1, max_line)
    if complete and buf.count(b'"') % 2:
        raise _unclosed(name, len(ends), None)
    try:
        codec = detect_encoding(buf, complete)
    except DecodeFailure as exc:
        row = int(np.searchsorted(ends, exc.offset)) + 1
        raise _undecodable(name, row, exc.byte) from None
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    texts = [buf[int(s): int(e) + 1].decode(codec) for s, e in zip(starts, ends, strict=True)]
    nonblank = [i for i, t in enumerate(texts) if t.strip()]
    sep = detect_delimiter([texts[i] for i in nonblank[:10]])
    rows: list[tuple[int, list[str]]] = []
    for i in nonblank:
        cells = [c.strip() for c in parse_record(texts[i], sep)]
        if any(cells):
            rows.append((i + 1, cells))
    if not rows:
        raise ReadError("empty-file", f"文件“{name}”没有任何内容（只有空行或分隔符）。",
                        f"'{name}' has no content (only blank lines or delimiters).")
    index, notice = choose_header(rows, expected)
    if notice:
        notices.append(notice)
    header_row, cells = rows[index]
    after = len(rows) - index - 1
    if complete and after == 0:
        raise _header_only(name, header_row)
    data_start = int(ends[header_row - 1]) + 1
    long_at = long_line_start(buf[:data_start], max_line)
    if long_at is not None:
        raise _too_long(name, int(np.searchsorted(ends, long_at)) + 1, max_line)
    n_after = max(len(texts) - header_row, 1)
    avg = (len(buf) - data_start) / n_after if len(texts) > header_row else 400.0
    return _Layout(codec, codec, bom_len + data_start, sep, cells, header_row, after, complete,
                   max(avg, 16.0), buf.isascii())


def _unclosed(name: str, row: int, limit: int | None) -> ReadError:
    if limit is None:
        return ReadError(
            "unclosed-quote",
            f"{name}：第 {row} 行有一个英文双引号直到文件末尾都没有闭合，该行之后的内容无法分列。",
            f"{name}: a double quote opened on row {row} is never closed before the end of the file.",
            row=row,
        )
    return ReadError(
        "unclosed-quote",
        f"{name}：从第 {row} 行开始的一条记录超过 {fmt_size(limit)} 仍未结束，"
        "很可能是某个字段的英文双引号没有成对闭合。",
        f"{name}: the record starting on row {row} runs past {fmt_size(limit)}; "
        "a double quote is probably not closed.",
        row=row,
    )


def _too_long(name: str, row: int, limit: int) -> ReadError:
    return ReadError(
        "line-too-long",
        f"{name}：第 {row} 行超过 {fmt_size(limit)}，不是正常的表格数据（可能换行符丢失或文件损坏）。",
        f"{name}: row {row} is longer than {fmt_size(limit)}; line breaks may be missing or the file is damaged.",
        row=row,
    )


def _undecodable(name: str, row: int, byte: int | None) -> ReadError:
    shown = f"（字节 0x{byte:02X}）" if byte is not None else ""
    shown_en = f" (byte 0x{byte:02X})" if byte is not None else ""
    return ReadError(
        "undecodable",
        f"{name}：第 {row} 行有无法识别的字符{shown}，文件既不是 UTF-8 也不是 GBK/GB18030 编码，"
        "或者混用了两种编码。请用 Excel/WPS 另存为“CSV UTF-8”后重新上传。",
        f"{name}: row {row} has bytes that are neither UTF-8 nor GBK/GB18030{shown_en}, "
        "or the file mixes encodings. Save it as 'CSV UTF-8' and upload again.",
        row=row,
    )


def _header_only(name: str, header_row: int) -> ReadError:
    return ReadError(
        "header-only",
        f"{name}：只有表头（第 {header_row} 行），没有数据行。",
        f"{name}: only the header (row {header_row}) is present; there are no data rows.",
        row=header_row,
    )


# --------------------------------------------------------------------------- streaming


@dataclass
class _Piece:
    raw: bytes  # bytes as in the file (for error positions)
    data: bytes  # UTF-8 bytes handed to polars
    seps: int  # separator bytes in raw
    quotes: int  # quote bytes in raw
    complete: bool  # last piece: may end without a newline
    error: tuple[str, int] | None = None  # deferred error: (kind, offset in raw)


class CsvTable(Table):
    """A delimited text file; see the module docstring for how it is streamed."""

    def __init__(self, source: Source, data_source: Source, layout: _Layout, max_line_bytes: int,
                 notices: list[ReaderNotice]) -> None:
        width = len(layout.cells)
        headers = check_headers(
            layout.cells, row=layout.header_row, where=f"{source.name}：", where_en=source.name,
            label=lambda i: f"第 {i + 1} 列", label_en=lambda i: f"column {i + 1}",
        )
        super().__init__(source, "csv", headers, encoding=layout.label, header_row=layout.header_row,
                         notices=notices)
        self._data_source = data_source
        self._layout = layout
        self._width = width
        self._max_line = max_line_bytes
        self.delimiter: str = layout.sep

    def chunks(self, size: int = 200_000) -> Iterator[pl.DataFrame]:
        """Yield frames of at most ``size`` rows; raises ReadError for ragged rows, bad bytes etc."""
        if size <= 0:
            raise ValueError("chunk size must be positive")
        block = int(min(max(size * self._layout.avg_record_bytes * 1.05, MIN_BLOCK_BYTES), MAX_BLOCK_BYTES))
        state = _StreamState(self._layout.codec, self._layout.ascii_so_far)
        produced = False
        base = self._layout.header_row + 1
        with self._data_source.open() as f, ThreadPoolExecutor(1, thread_name_prefix="csv-read") as pool:
            f.seek(self._layout.data_start)
            pieces = self._pieces(f, block, state)
            pending = pool.submit(next, pieces, None)
            while True:
                piece = pending.result()
                if piece is None:
                    break
                pending = pool.submit(next, pieces, None)
                if state.switched_notice is not None:
                    self.notices.append(state.switched_notice)
                    self.encoding = "gb18030"
                    state.switched_notice = None
                if piece.error is not None:
                    raise self._piece_error(piece, base, piece.error)
                df, records = self._parse(piece, base)
                for part in split_frame(df, size):
                    produced = True
                    yield part
                base += records
        if not produced:
            raise _header_only(self.name, self._layout.header_row)

    # -- worker thread: read, cut at record boundaries, check, transcode

    def _pieces(self, f: BinaryIO, block: int, state: _StreamState) -> Iterator[_Piece]:
        sepb = self.delimiter.encode()
        carry, carry_quotes, low = b"", 0, 0
        while True:
            data = f.read(block)
            eof = not data
            buf = carry + data if carry else data
            if not buf:
                return
            quotes = carry_quotes + data.count(b'"')
            if eof:
                if quotes % 2:
                    yield _Piece(buf, b"", 0, quotes, True, ("eof-quote", 0))
                    return
                cut = len(buf)
            else:
                found = last_record_end(buf, quotes, low)
                if found is None:
                    if len(buf) > self._max_line:
                        kind = "unclosed-quote" if b"\n" in buf else "line-too-long"
                        yield _Piece(buf, b"", 0, quotes, False, (kind, 0))
                        return
                    carry, carry_quotes, low = buf, quotes, len(buf)
                    continue
                cut = found
            raw, carry = buf[:cut], buf[cut:]
            carry_quotes = carry.count(b'"')
            low = 0
            long_at = long_line_start(raw, self._max_line)
            if long_at is not None:
                yield _Piece(raw, b"", 0, 0, eof, ("line-too-long", long_at))
                return
            piece = _Piece(raw, raw, raw.count(sepb), quotes - carry_quotes, eof)
            piece.error = state.transcode(piece, self.name)
            yield piece
            if eof or piece.error:
                return

    # -- main thread: parse with polars, check field counts, tidy

    def _schema(self) -> dict[str, pl.DataType]:
        return {f"_c{i}": pl.String() for i in range(self._width)}

    def _read(self, data: bytes, truncate: bool) -> pl.DataFrame:
        return pl.read_csv(
            data, has_header=False, separator=self.delimiter, quote_char='"', schema=self._schema(),
            infer_schema=False, missing_columns="insert", truncate_ragged_lines=truncate,
            empty_string_is_null=False, raise_if_empty=False,
        )

    def _parse(self, piece: _Piece, base: int) -> tuple[pl.DataFrame, int]:
        try:
            df = self._read(piece.data, truncate=False)
        except pl.exceptions.PolarsError:
            df = self._diagnose(piece, base)
        else:
            inside = 0
            if piece.quotes and self._width > 1:
                # Separators inside quoted values: only quoted fields can hold them.
                cols = [pl.col(c).str.count_matches(self.delimiter, literal=True).sum() for c in df.columns]
                inside = int(df.select(pl.sum_horizontal(cols)).item())
            if piece.seps - inside != (self._width - 1) * df.height:
                self._check_counts(piece, base)
        named = len(self.headers)
        if named < self._width:
            self._check_unnamed(df, base, named)
        df = df.select(pl.col(f"_c{i}").alias(h) for i, h in enumerate(self.headers))
        return tidy(df, self.headers, base), df.height

    def _check_counts(self, piece: _Piece, base: int) -> None:
        """Count fields record by record; raise for the first non-blank record with a wrong count."""
        ends = record_ends(piece.raw, piece.complete)
        counts = separator_counts(piece.raw, ord(self.delimiter), ends) + 1
        low, high = len(self.headers), self._width
        bad = np.flatnonzero((counts < low) | (counts > high))
        starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
        for i in bad[:100_000]:
            text = piece.raw[int(starts[i]): int(ends[i]) + 1].decode(self._decode_codec(), "replace")
            if not any(c.strip() for c in parse_record(text, self.delimiter)):
                continue  # blank lines and rows of bare delimiters are skipped, whatever their width
            row = base + int(i)
            raise ReadError(
                "ragged-row",
                f"{self.name}：第 {row} 行有 {counts[i]} 个字段，但表头有 {self._width} 列"
                f"（该行开头：“{shorten(text.strip())}”）。请检查该行是否多了或少了分隔符，"
                "含逗号的内容要用英文双引号括起来。",
                f"{self.name}: row {row} has {counts[i]} fields but the header has {self._width} "
                f"(row starts with '{shorten(text.strip())}').",
                row=row,
            )

    def _decode_codec(self) -> str:
        return "gb18030" if self.encoding == "gb18030" else "utf-8"

    def _check_unnamed(self, df: pl.DataFrame, base: int, named: int) -> None:
        extra = [f"_c{i}" for i in range(named, self._width)]
        hit = df.select(pl.any_horizontal(pl.col(c).str.strip_chars().str.len_bytes() > 0 for c in extra)
                        .arg_true().first()).item()
        if hit is None:
            return
        row = base + int(hit)
        values = df.row(int(hit))
        col = next(i for i in range(named, self._width) if (values[i] or "").strip())
        raise ReadError(
            "unnamed-column",
            f"{self.name}：第 {row} 行第 {col + 1} 列有内容“{shorten(str(values[col]).strip())}”，但该列没有列名。",
            f"{self.name}: row {row}, column {col + 1} holds a value but the column has no header.",
            row=row, column=f"column {col + 1}",
        )

    def _diagnose(self, piece: _Piece, base: int) -> pl.DataFrame:
        """polars refused the block: find out why and raise, or recover when only blank rows are wide."""
        try:
            piece.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._piece_error(piece, base, ("undecodable", exc.start)) from None
        row = self._stray_quote_row(piece, base)
        if row is None:
            self._check_counts(piece, base)
            try:
                # Only blank rows were too wide (e.g. ",,,,,," left by formatted cells): safe to truncate.
                return self._read(piece.data, truncate=True)
            except pl.exceptions.PolarsError:
                pass
        where, where_en = (f"第 {row} 行", f"row {row}") if row else ("某一行", "a row")
        raise ReadError(
            "malformed-csv",
            f"{self.name}：{where}的英文双引号用法不正确（字段中间出现了引号，或引号没有成对）。"
            "字段内的双引号要写成两个双引号，并把整个字段用双引号括起来。",
            f"{self.name}: {where_en} has a misplaced double quote; quote the whole field and double inner quotes.",
            row=row,
        )

    def _stray_quote_row(self, piece: _Piece, base: int) -> int | None:
        sep = re.escape(self.delimiter)
        field = f'(?:"(?:[^"]|"")*"|[^"{sep}]*)'
        pattern = re.compile(f"{field}(?:{sep}{field})*")
        ends = record_ends(piece.raw, True)
        start = 0
        for i, end in enumerate(ends):
            chunk = piece.raw[start: int(end) + 1]
            start = int(end) + 1
            if b'"' not in chunk:
                continue
            text = chunk.decode(self._decode_codec(), "replace").rstrip("\r\n")
            if not pattern.fullmatch(text):
                return base + i
        return None

    def _piece_error(self, piece: _Piece, base: int, error: tuple[str, int]) -> ReadError:
        kind, offset = error
        row = base + int(np.searchsorted(record_ends(piece.raw, True), offset))
        if kind == "undecodable":
            return _undecodable(self.name, row, piece.raw[offset] if offset < len(piece.raw) else None)
        if kind == "eof-quote":
            return _unclosed(self.name, row, None)
        if kind == "unclosed-quote":
            return _unclosed(self.name, row, self._max_line)
        return _too_long(self.name, row, self._max_line)


class _StreamState:
    """Encoding state shared by the worker thread and ``chunks``."""

    def __init__(self, codec: str, ascii_so_far: bool) -> None:
        self.codec = codec
        self.ascii_so_far = ascii_so_far and codec == "utf-8"
        self.switched_notice: ReaderNotice | None = None

    def transcode(self, piece: _Piece, name: str) -> tuple[str, int] | None:
        """Fill ``piece.data`` with UTF-8; return a deferred 'undecodable' error if the bytes are bad."""
        if self.ascii_so_far:
            if piece.raw.isascii():
                return None
            self.ascii_so_far = False
            try:
                piece.raw.decode("utf-8")
                return None
            except UnicodeDecodeError as exc:
                utf8_offset = exc.start
            try:
                piece.data = piece.raw.decode("gb18030").encode("utf-8")
            except UnicodeDecodeError:
                return ("undecodable", utf8_offset)
            # Everything before was ASCII (identical in both), so switching now loses nothing.
            self.codec = "gb18030"
            self.switched_notice = ReaderNotice(
                "encoding-detected",
                f"{name}：文件开头全是英文字符，从后面的内容判断编码为 GBK/GB18030，已自动转换。",
                f"{name}: the start of the file is plain ASCII; later content shows it is GBK/GB18030.",
            )
            return None
        if self.codec == "gb18030":
            try:
                piece.data = piece.raw.decode("gb18030").encode("utf-8")
            except UnicodeDecodeError as exc:
                return ("undecodable", exc.start)
        return None
