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
(fields - 1) separators per record, and no record has more, so the total decides. Separators
inside quotes are subtracted (counted by walking the quote pairs, or from the parsed values when
a block has very many). If the total does not match (blank lines, short rows) the block is
counted record by record with numpy to find the first ragged row, if there is one.
"""

from __future__ import annotations

import re
import tempfile
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np
import polars as pl

from enforcehub.intake.csv_records import (
    QUOTE,
    detect_delimiter,
    last_record_end,
    long_line_start,
    parse_record,
    quoted_separators,
    record_ends,
    separator_counts,
)
from enforcehub.intake.encoding import DecodeFailure, detect_encoding, sniff_bom, transcode_to_utf8
from enforcehub.intake.errors import MB, ReaderNotice, ReadError, fmt_size, shorten
from enforcehub.intake.table import (
    HEADER_SCAN_ROWS,
    Source,
    Table,
    check_headers,
    choose_header,
    split_frame,
    tidy,
)

SAMPLE_BYTES = 1 << 20
DEFAULT_MAX_LINE_BYTES = 16 * MB
MIN_BLOCK_BYTES = 1 << 20
MAX_BLOCK_BYTES = 16 << 20  # ~40k rows of 400 B: peak memory stays a few hundred MB
DELIMITER_NAMES = {",": ("逗号", "comma"), "\t": ("制表符", "tab"), ";": ("分号", "semicolon")}
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（带 BOM）",
    "gb18030": "GBK/GB18030",
    "utf-16": "UTF-16",
}


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
    avg_record_bytes: float
    ascii_so_far: bool


def open_csv(
    source: Source,
    *,
    expected_headers: Callable[[str], bool] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    format_notice: ReaderNotice | None = None,
) -> CsvTable:
    """Open a delimited text file; header problems, empty files and bad encodings raise ReadError."""
    notices: list[ReaderNotice] = [format_notice] if format_notice else []
    with source.open() as f:
        head = f.read(SAMPLE_BYTES)
    bom, bom_len = sniff_bom(head)
    utf16 = bom in ("utf-16-le", "utf-16-be")
    data_source, temp_path = source, None
    try:
        if utf16:
            assert bom is not None
            temp_path = _to_temp(source, bom_len, lambda src, dst: _utf16(source.name, src, bom, dst))
            bom_len = 0
        elif b"\n" not in head and b"\r" in head:
            # Classic Mac line ends (old Excel for Mac "CSV"): CR is a single ASCII byte in both
            # UTF-8 and GB18030, so it can be swapped for LF byte by byte.
            temp_path = _to_temp(source, 0, _cr_to_lf)
            notices.append(
                ReaderNotice(
                    "line-endings",
                    "文件使用旧式 Mac 换行符（CR），已转换后读取。",
                    "The file uses classic Mac line ends (CR); they were converted.",
                )
            )
        if temp_path is not None:
            data_source = Source(source.name, temp_path, None, temp_path.stat().st_size)
        with data_source.open() as f:
            f.seek(bom_len)
            layout = _inspect(f, source.name, bom_len, max_line_bytes, expected_headers, notices)
        if bom == "utf-8-sig":
            layout.label = "utf-8-sig"
        elif utf16:
            layout.label = "utf-16"
            notices.append(_encoding_notice("utf-16"))
        elif layout.codec == "gb18030":
            notices.append(_encoding_notice("gb18030"))
        if layout.sep != ",":
            zh, en = DELIMITER_NAMES[layout.sep]
            notices.append(ReaderNotice("delimiter-detected", f"分隔符为{zh}。", f"The delimiter is a {en}."))
        table = CsvTable(source, data_source, layout, max_line_bytes, notices)
    except BaseException:
        if temp_path is not None:
            temp_path.unlink(missing_ok=True)
        raise
    if temp_path is not None:
        weakref.finalize(table, temp_path.unlink, missing_ok=True)  # the table reads it on every chunks()
    return table


def _encoding_notice(codec: str) -> ReaderNotice:
    name = ENCODING_NAMES[codec]
    return ReaderNotice(
        "encoding-detected",
        f"文件编码为 {name}，已自动转换为 UTF-8 读取。",
        f"The file is encoded as {codec.upper()}; it was converted to UTF-8.",
    )


def _to_temp(source: Source, skip: int, convert: Callable[[BinaryIO, IO[bytes]], None]) -> Path:
    """Stream ``source`` (from byte ``skip``) through ``convert`` into a temporary file."""
    with tempfile.NamedTemporaryFile(prefix="enforcehub-", suffix=".csv", delete=False) as tmp:
        path = Path(tmp.name)
        try:
            with source.open() as f:
                f.seek(skip)
                convert(f, tmp)
        except BaseException:
            tmp.close()
            path.unlink(missing_ok=True)
            raise
    return path


def _utf16(name: str, src: BinaryIO, encoding: str | None, dest: IO[bytes]) -> None:
    try:
        transcode_to_utf8(src, encoding or "utf-16", dest)
    except DecodeFailure as exc:
        raise ReadError(
            "undecodable",
            f"{name}：第 {exc.offset} 行附近有无法按 UTF-16 解码的内容，文件可能已损坏。",
            f"{name}: line {exc.offset} cannot be decoded as UTF-16; the file may be damaged.",
            row=exc.offset,
        ) from None


def _cr_to_lf(src: BinaryIO, dest: IO[bytes]) -> None:
    while block := src.read(4 << 20):
        dest.write(block.replace(b"\r", b"\n"))


def _inspect(
    f: BinaryIO,
    name: str,
    bom_len: int,
    max_line: int,
    expected: Callable[[str], bool] | None,
    notices: list[ReaderNotice],
) -> _Layout:
    buf = f.read(SAMPLE_BYTES)
    complete = len(buf) < SAMPLE_BYTES
    # Extend the sample until it holds enough records to find the header (or the file ends).
    while not complete and len(record_ends(buf, False)) < 2 * HEADER_SCAN_ROWS + 2:
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

    def record(i: int) -> str:
        """Text of the i-th record of the sample."""
        return buf[int(starts[i]) : int(ends[i]) + 1].decode(codec)

    # Only the first non-blank records matter; decoding the whole sample would be wasted work.
    nonblank: list[tuple[int, str]] = []
    for i in range(len(ends)):
        text = record(i)
        if text.strip():
            nonblank.append((i, text))
            if len(nonblank) > HEADER_SCAN_ROWS + 1:
                break
    sep = detect_delimiter([t for _, t in nonblank[:HEADER_SCAN_ROWS]])
    rows: list[tuple[int, list[str]]] = []
    for i, text in nonblank:
        cells = [c.strip() for c in parse_record(text, sep)]
        if any(cells):
            rows.append((i + 1, cells))
    if not rows:
        raise ReadError(
            "empty-file",
            f"文件“{name}”没有任何内容（只有空行或分隔符）。",
            f"'{name}' has no content (only blank lines or delimiters).",
        )
    index, notice = choose_header(rows, expected)
    if notice:
        notices.append(notice)
    header_row, cells = rows[index]
    after = len(rows) - index - 1
    if after == 0:  # look further for one data row (blank rows and rows of bare delimiters don't count)
        after = int(
            any(any(c.strip() for c in parse_record(record(i), sep)) for i in range(rows[-1][0], len(ends)))
        )
    if complete and after == 0:
        raise _header_only(name, header_row)
    data_start = int(ends[header_row - 1]) + 1
    long_at = long_line_start(buf[:data_start], max_line)
    if long_at is not None:
        raise _too_long(name, int(np.searchsorted(ends, long_at)) + 1, max_line)
    n_after = len(ends) - header_row
    avg = (int(ends[-1]) + 1 - data_start) / n_after if n_after > 0 else 400.0
    return _Layout(codec, codec, bom_len + data_start, sep, cells, header_row, max(avg, 16.0), buf.isascii())


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
        f"{name}: row {row} is longer than {fmt_size(limit)}; "
        "line breaks may be missing or the file is damaged.",
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
    quoted_seps: int | None = None  # separators inside quotes, when cheap to count here


class CsvTable(Table):
    """A delimited text file; see the module docstring for how it is streamed."""

    def __init__(
        self,
        source: Source,
        data_source: Source,
        layout: _Layout,
        max_line_bytes: int,
        notices: list[ReaderNotice],
    ) -> None:
        width = len(layout.cells)
        headers = check_headers(
            layout.cells,
            row=layout.header_row,
            where=f"{source.name}：",
            where_en=source.name,
            label=lambda i: f"第 {i + 1} 列",
            label_en=lambda i: f"column {i + 1}",
        )
        super().__init__(
            source, "csv", headers, encoding=layout.label, header_row=layout.header_row, notices=notices
        )
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
            pieces = self._pieces(f, self._layout.data_start, block, state)
            pending = pool.submit(next, pieces, None)
            while True:
                piece = pending.result()
                if piece is None:
                    break
                pending = pool.submit(next, pieces, None)
                if state.switched_notice is not None:
                    if state.switched_notice not in self.notices:  # chunks() may run more than once
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

    def _pieces(self, f: BinaryIO, start: int, block: int, state: _StreamState) -> Iterator[_Piece]:
        # Every read starts at a record boundary (seeking back over the partial record instead of
        # concatenating it: on large blocks each avoided copy is tens of milliseconds).
        sep = ord(self.delimiter)
        pos, size = start, block
        while True:
            f.seek(pos)
            data = f.read(size)
            if not data:
                return
            eof = len(data) < size
            arr = np.frombuffer(data, dtype=np.uint8)
            quotes = int(np.count_nonzero(arr == QUOTE))
            if eof:
                if quotes % 2:
                    yield _Piece(data, b"", 0, quotes, True, ("eof-quote", 0))
                    return
                cut = len(data)
            else:
                found = last_record_end(data, quotes, 0)
                if found is None:
                    if len(data) > self._max_line:
                        kind = "unclosed-quote" if b"\n" in data else "line-too-long"
                        yield _Piece(data, b"", 0, quotes, False, (kind, 0))
                        return
                    size *= 2  # one record longer than the block: read again, more
                    continue
                cut = found
            raw = data if cut == len(data) else data[:cut]
            long_at = long_line_start(raw, self._max_line)
            if long_at is not None:
                yield _Piece(raw, b"", 0, 0, eof, ("line-too-long", long_at))
                return
            seps = int(np.count_nonzero(arr[:cut] == sep))
            piece = _Piece(raw, raw, seps, quotes - data.count(b'"', cut), eof)
            piece.quoted_seps = quoted_separators(raw, self.delimiter.encode(), piece.quotes)
            piece.error = state.transcode(piece, self.name)
            yield piece
            if eof or piece.error:
                return
            pos, size = pos + cut, block

    # -- main thread: parse with polars, check field counts, tidy

    def _schema(self) -> dict[str, pl.DataType]:
        return {f"_c{i}": pl.String() for i in range(self._width)}

    def _read(self, data: bytes, truncate: bool) -> pl.DataFrame:
        return pl.read_csv(
            data,
            has_header=False,
            separator=self.delimiter,
            quote_char='"',
            schema=self._schema(),
            infer_schema=False,
            missing_columns="insert",
            truncate_ragged_lines=truncate,
            empty_string_is_null=False,
            raise_if_empty=False,
        )

    def _parse(self, piece: _Piece, base: int) -> tuple[pl.DataFrame, int]:
        try:
            df = self._read(piece.data, truncate=False)
        except pl.exceptions.PolarsError:
            df = self._diagnose(piece, base)
        else:
            inside = piece.quoted_seps
            if inside is None:
                # Many quoted fields: count separators in the values (only quoted fields can hold them).
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
            text = piece.raw[int(starts[i]) : int(ends[i]) + 1].decode(self._decode_codec(), "replace")
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
        hit = df.select(
            pl.any_horizontal(pl.col(c).str.strip_chars().str.len_bytes() > 0 for c in extra)
            .arg_true()
            .first()
        ).item()
        if hit is None:
            return
        row = base + int(hit)
        values = df.row(int(hit))
        col = next(i for i in range(named, self._width) if (values[i] or "").strip())
        raise ReadError(
            "unnamed-column",
            f"{self.name}：第 {row} 行第 {col + 1} 列有内容“{shorten(str(values[col]).strip())}”，"
            "但该列没有列名。",
            f"{self.name}: row {row}, column {col + 1} holds a value but the column has no header.",
            row=row,
            column=f"column {col + 1}",
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
            f"{self.name}: {where_en} has a misplaced double quote; "
            "quote the whole field and double the quotes inside it.",
            row=row,
        )

    def _stray_quote_row(self, piece: _Piece, base: int) -> int | None:
        sep = re.escape(self.delimiter)
        # As polars reads it: a quoted field, or an unquoted one (which may hold quotes, not first).
        field = f'(?:"(?:[^"]|"")*"|[^"{sep}][^{sep}]*|)'
        pattern = re.compile(f"{field}(?:{sep}{field})*")
        ends = record_ends(piece.raw, True)
        start = 0
        for i, end in enumerate(ends):
            chunk = piece.raw[start : int(end) + 1]
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
