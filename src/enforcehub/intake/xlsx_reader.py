"""XLSX (and legacy XLS) reading through python-calamine.

Before calamine sees an XLSX file, the zip directory is checked against decompression bombs
(declared total size and per-member compression ratio). Formulas are never evaluated: calamine
returns the values Excel cached when it saved the file. The sheet's XML is scanned (streamed, on
a second thread while calamine parses) for ``<f>`` elements so the sender is told which cells
hold formulas; the scan also goes through Python's zipfile, which stops at the declared size and
checks the CRC, so a member lying about its size is caught there too.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import posixpath
import re
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, BinaryIO

import polars as pl
import python_calamine as pc

from enforcehub.intake.errors import MB, ReaderNotice, ReadError, column_letter, fmt_size, shorten
from enforcehub.intake.table import Source, Table, check_headers, choose_header, split_frame, tidy

DEFAULT_MAX_UNZIPPED_BYTES = 2 * 1024 * MB
BOMB_RATIO = 200  # a member this much smaller compressed than uncompressed ...
BOMB_MIN_BYTES = 50 * MB  # ... and at least this big uncompressed is treated as a bomb
MAX_MEMBERS = 10_000
MAX_LISTED_CELLS = 20
HEADER_SCAN_LIMIT = 1000  # rows looked at (blank ones included) to find the header
# Hostile zips make zipfile raise nearly anything (BadZipFile, zlib.error, NotImplementedError for
# unknown methods, RuntimeError for encryption, struct.error, ...): all of it means "not a workbook".
ZIP_ERRORS = (Exception,)
Cell = Any  # what calamine returns: str | float | int | bool | date | datetime | time | timedelta

_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
# A formula is the first child of its cell: <c r="B2" ...><f>...</f><v>cached</v></c>.
_FORMULA_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b")
_ERROR_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]{1,20})<")


# --------------------------------------------------------------------------- cell values


def format_float(value: float) -> str:
    """Whole numbers without '.0'; never scientific notation; 15 significant digits like Excel."""
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    if value.is_integer():
        return str(int(value))  # an 18-digit ID typed as a number: print the digits the file holds
    text = f"{value:.15g}"
    if "e" in text:
        text = format(Decimal(text), "f")
    return text


def _round_seconds(value: dt.datetime) -> dt.datetime:
    # Excel stores times as day fractions; 10:30:00 often comes back as 10:29:59.999.
    if value.microsecond >= 500_000:
        value += dt.timedelta(seconds=1)
    return value.replace(microsecond=0)


def format_cell(value: Cell) -> str:
    """Text of one calamine cell: ISO dates, 'true'/'false', numbers as described in format_float."""
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is float:
        return format_float(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        return _round_seconds(value).isoformat(sep=" ")
    if kind is dt.date:
        return str(value.isoformat())
    if kind is dt.time:
        whole = _round_seconds(dt.datetime.combine(dt.date(2000, 1, 1), value))
        return whole.time().isoformat()
    if kind is dt.timedelta:
        seconds = round(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return "" if value is None else str(value)


def float_series(name: str, values: Sequence[float | None]) -> pl.Series:
    """Vectorised :func:`format_float` for a column of numbers (None for blank cells).

    polars prints the shortest round-trip digits, which equal Python's 15-significant-digit text
    whenever there are at most 15 of them (typed values: 12.5, 1234.56). Only computed values
    (0.30000000000000004), scientific notation and huge numbers go through format_float.
    """
    s = pl.Series(name, values, dtype=pl.Float64)
    whole = ((s == s.floor()) & (s.abs() < 2.0**63)).fill_null(False)
    short = s.cast(pl.String)
    digits = short.str.replace_all(r"[-.]", "").str.strip_chars_start("0").str.len_chars()
    plain = s.is_not_null() & ~short.str.contains("e", literal=True) & (digits <= 15)
    exact = whole | plain.fill_null(False)
    ints = s.cast(pl.Int64, strict=False).cast(pl.String)
    text = pl.select(pl.when(whole).then(ints).when(exact).then(short).alias(name)).to_series()
    rest = (~exact & s.is_not_null()).arg_true()
    if len(rest):
        idx = rest.to_list()
        text = text.scatter(idx, [format_float(float(values[i] or 0.0)) for i in idx])
    return text


def column_series(name: str, column: Sequence[Cell]) -> pl.Series:
    """Cell texts of one column; columns of a single non-text type are converted in bulk."""
    kinds = set(map(type, column))
    if kinds <= {str}:
        return pl.Series(name, column, dtype=pl.String)
    typed = kinds - {str}
    # Blank cells come back as '': a column of numbers with gaps is still a number column.
    if len(typed) == 1 and (str not in kinds or not any(v for v in column if type(v) is str)):
        kind = next(iter(typed))
        values = column if str not in kinds else [None if type(v) is str else v for v in column]
        if kind is float:
            return float_series(name, values)
        if kind is dt.date:
            return pl.Series(name, values, dtype=pl.Date).dt.to_string("%Y-%m-%d")
        if kind is dt.datetime:
            stamps = pl.Series(name, values, dtype=pl.Datetime("us"))
            # Same rounding as _round_seconds: Excel's 10:29:59.999 is 10:30:00.
            return stamps.dt.offset_by("500ms").dt.truncate("1s").dt.to_string("%Y-%m-%d %H:%M:%S")
    return pl.Series(name, [v if type(v) is str else format_cell(v) for v in column], dtype=pl.String)


# --------------------------------------------------------------------------- zip checks


def check_zip(f: BinaryIO, name: str, max_unzipped: int) -> zipfile.ZipFile:
    """Open the zip directory and refuse bombs, before any decompression happens."""
    try:
        zf = zipfile.ZipFile(f)
        infos = zf.infolist()
    except ZIP_ERRORS as exc:
        raise ReadError(
            "not-xlsx",
            f"{name}：文件已损坏，无法作为 Excel 工作簿（ZIP）打开（{shorten(str(exc), 60)}）。",
            f"{name}: the file is damaged and cannot be opened as an Excel workbook "
            f"({shorten(str(exc), 60)}).",
        ) from None
    total = sum(i.file_size for i in infos)
    bad = next(
        (
            i
            for i in infos
            if i.file_size > BOMB_MIN_BYTES and i.file_size > BOMB_RATIO * max(i.compress_size, 1)
        ),
        None,
    )
    if len(infos) > MAX_MEMBERS or total > max_unzipped or bad is not None:
        detail = (
            f"成员“{shorten(bad.filename)}”压缩比超过 {BOMB_RATIO}:1"
            if bad is not None
            else f"解压后共 {fmt_size(total)}，超过上限 {fmt_size(max_unzipped)}"
        )
        detail_en = (
            f"member '{shorten(bad.filename)}' is compressed over {BOMB_RATIO}:1"
            if bad is not None
            else f"it unpacks to {fmt_size(total)}, over the {fmt_size(max_unzipped)} limit"
        )
        if len(infos) > MAX_MEMBERS:
            detail, detail_en = f"包含 {len(infos)} 个成员", f"it has {len(infos)} members"
        zf.close()
        raise ReadError(
            "zip-bomb",
            f"{name}：文件解压后异常巨大（{detail}），疑似压缩炸弹，已拒绝读取。",
            f"{name}: refused, the file looks like a decompression bomb ({detail_en}).",
        )
    return zf


def describe_zip(names: list[str]) -> tuple[str, str]:
    """What a zip that is not a workbook probably is, in Chinese and English."""
    if any(n.startswith("word/") for n in names):
        return "Word 文档（.docx）", "a Word document (.docx)"
    if any(n.startswith("ppt/") for n in names):
        return "PowerPoint 演示文稿", "a PowerPoint presentation"
    if "content.xml" in names and "mimetype" in names:
        return "OpenDocument 文档（WPS/LibreOffice 的 .ods/.odt）", "an OpenDocument file (.ods/.odt)"
    return f"普通 ZIP 压缩包（含 {len(names)} 个文件）", f"a plain zip archive ({len(names)} files)"


def _attrs(tag_body: bytes) -> dict[str, str]:
    return {k.decode(): html.unescape(v.decode("utf-8", "replace")) for k, v in _ATTR.findall(tag_body)}


def sheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Map sheet name -> worksheet XML member path, from workbook.xml and its relationships."""
    try:
        workbook = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except ZIP_ERRORS:
        return {}
    targets: dict[str, str] = {}
    for m in _REL_TAG.finditer(rels):
        a = _attrs(m.group(1))
        if "Id" in a and "Target" in a:
            target = a["Target"]
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            targets[a["Id"]] = path
    out: dict[str, str] = {}
    for m in _SHEET_TAG.finditer(workbook):
        a = _attrs(m.group(1))
        rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), None)
        if "name" in a and rid in targets:
            out[a["name"]] = targets[rid]
    return out


class FormulaScan:
    """Stream one worksheet XML and collect the cells that hold formulas (run on a thread)."""

    def __init__(self, zf: zipfile.ZipFile, member: str) -> None:
        self.zf, self.member = zf, member
        self.cells: list[str] = []
        self.count = 0
        self.errors: list[tuple[str, str]] = []
        self.failure: str | None = None
        self.thread = threading.Thread(target=self._run, name="xlsx-formula-scan", daemon=True)

    def _run(self) -> None:
        try:
            with self.zf.open(self.member) as fh:
                tail = b""
                while True:
                    block = fh.read(1 << 20)
                    if not block:
                        break
                    buf = tail + block
                    # Cheap pre-filter: most blocks of a plain data sheet hold no formula at all.
                    if b"<f" in buf or b":f" in buf:
                        self._scan(buf, len(tail))
                    tail = buf[-512:]
        except ZIP_ERRORS as exc:
            self.failure = f"{type(exc).__name__}: {exc}"

    def _scan(self, buf: bytes, skip: int) -> None:
        for m in _FORMULA_CELL.finditer(buf):
            if m.end() <= skip:
                continue  # seen in the previous block's tail
            a = _attrs(m.group(1))
            ref = a.get("r", "?")
            self.count += 1
            if len(self.cells) < MAX_LISTED_CELLS:
                self.cells.append(ref)
            if a.get("t") == "e" and len(self.errors) < MAX_LISTED_CELLS:
                v = _ERROR_VALUE.search(buf, m.end(), m.end() + 4096)
                self.errors.append((ref, v.group(1).decode("utf-8", "replace") if v else "#ERROR"))


# --------------------------------------------------------------------------- opening


def open_workbook(
    source: Source,
    *,
    fmt: str,
    sheet: str | None,
    expected_headers: Callable[[str], bool] | None,
    max_unzipped_bytes: int,
    format_notice: ReaderNotice | None = None,
) -> XlsxTable:
    """Open an .xlsx/.xls file and find the header; problems raise ReadError."""
    notices: list[ReaderNotice] = [format_notice] if format_notice else []
    name = source.name
    scan: FormulaScan | None = None
    zf: zipfile.ZipFile | None = None
    handle = source.open()
    try:
        members: dict[str, str] = {}
        if fmt == "xlsx":
            zf = check_zip(handle, name, max_unzipped_bytes)
            names = zf.namelist()
            if not any(n.startswith("xl/workbook.") for n in names):
                zh, en = describe_zip(names)
                raise ReadError(
                    "not-xlsx",
                    f"{name}：这不是 Excel 工作簿，而是{zh}。",
                    f"{name}: this is not an Excel workbook but {en}.",
                )
            members = sheet_members(zf)
        book = _calamine_open(source, handle, name)
        chosen = _choose_sheet(book, sheet, name, notices)
        if zf is not None and chosen in members:
            scan = FormulaScan(zf, members[chosen])
            scan.thread.start()
        try:
            data = book.get_sheet_by_name(chosen)
        except Exception as exc:  # calamine raises its own errors and occasionally plain ones
            raise _calamine_error(name, exc) from None
        if scan is not None:
            scan.thread.join()
            _formula_notices(scan, name, chosen, notices)
    finally:
        if scan is not None and scan.thread.is_alive():
            scan.thread.join()
        if zf is not None:
            zf.close()
        handle.close()
    return XlsxTable(source, chosen, data, expected_headers, notices)


def _calamine_open(source: Source, handle: BinaryIO, name: str) -> pc.CalamineWorkbook:
    try:
        if source.path is not None:
            return pc.CalamineWorkbook.from_path(str(source.path))
        handle.seek(0)
        return pc.CalamineWorkbook.from_filelike(io.BytesIO(handle.read()))
    except Exception as exc:  # any failure inside calamine is a bad file, never a traceback
        raise _calamine_error(name, exc) from None


def _calamine_error(name: str, exc: Exception) -> ReadError:
    if isinstance(exc, pc.PasswordError):
        return ReadError(
            "encrypted",
            f"{name}：工作簿设置了打开密码，请去掉密码后重新上传。",
            f"{name}: the workbook is password-protected; remove the password and upload again.",
        )
    detail = shorten(str(exc), 80)
    return ReadError(
        "not-xlsx",
        f"{name}：无法读取该 Excel 文件，文件可能已损坏（{detail}）。",
        f"{name}: the Excel file cannot be read; it may be damaged ({detail}).",
    )


def _choose_sheet(
    book: pc.CalamineWorkbook, sheet: str | None, name: str, notices: list[ReaderNotice]
) -> str:
    names = list(book.sheet_names)
    if not names:
        raise ReadError("empty-file", f"{name}：工作簿里没有工作表。", f"{name}: the workbook has no sheets.")
    if sheet is not None:
        if sheet in names:
            return sheet
        listed = "、".join(f"“{n}”" for n in names)
        raise ReadError(
            "sheet-not-found",
            f"{name}：找不到工作表“{sheet}”。工作簿中的工作表有：{listed}。",
            f"{name}: no sheet named '{sheet}'. The sheets are: {', '.join(names)}.",
        )
    # The first visible worksheet: templates often keep a hidden sheet of dropdown codes.
    visible = [
        m.name
        for m in book.sheets_metadata
        if m.visible == pc.SheetVisibleEnum.Visible and m.typ == pc.SheetTypeEnum.WorkSheet
    ]
    chosen = visible[0] if visible else names[0]
    others = [n for n in visible if n != chosen]
    if others:
        listed = "、".join(f"“{n}”" for n in others[:10])
        notices.append(
            ReaderNotice(
                "other-sheets",
                f"已读取工作表“{chosen}”；工作簿中的其他工作表（{listed}）未读取。",
                f"Read sheet '{chosen}'; the other sheets ({', '.join(others[:10])}) were not read.",
            )
        )
    return chosen


def _formula_notices(scan: FormulaScan, name: str, sheet: str, notices: list[ReaderNotice]) -> None:
    if scan.failure is not None:
        raise ReadError(
            "zip-bomb" if "CRC" in scan.failure or "size" in scan.failure else "not-xlsx",
            f"{name}：工作表“{sheet}”的数据与文件目录记录的不一致，文件已损坏或被篡改（{shorten(scan.failure)}）。",
            f"{name}: sheet '{sheet}' does not match the zip directory; the file is damaged or crafted.",
        )
    if scan.count:
        listed = "、".join(scan.cells) + ("等" if scan.count > len(scan.cells) else "")
        notices.append(
            ReaderNotice(
                "formula-cell",
                f"工作表“{sheet}”有 {scan.count} 个公式单元格（{listed}），"
                "已使用文件中保存的计算结果，公式本身不会被执行。",
                f"Sheet '{sheet}' has {scan.count} formula cell(s) ({', '.join(scan.cells)}); "
                "their saved results were used, formulas are never evaluated.",
                column=scan.cells[0] if scan.cells else None,
            )
        )
    for ref, value in scan.errors:
        notices.append(
            ReaderNotice(
                "formula-error",
                f"工作表“{sheet}”单元格 {ref} 的公式结果是错误值 {value}，按空值处理。",
                f"Sheet '{sheet}', cell {ref}: the formula result is the error {value}; read as empty.",
                column=ref,
            )
        )


# --------------------------------------------------------------------------- the table


class XlsxTable(Table):
    """One worksheet. Row numbers are the sheet's own row numbers."""

    def __init__(
        self,
        source: Source,
        sheet: str,
        data: pc.CalamineSheet,
        expected: Callable[[str], bool] | None,
        notices: list[ReaderNotice],
    ) -> None:
        self._data = data
        start = data.start
        if start is None:
            raise ReadError(
                "empty-file",
                f"{source.name}：工作表“{sheet}”是空的。",
                f"{source.name}: sheet '{sheet}' is empty.",
            )
        self._col0 = start[1]
        where, where_en = f"{source.name}：工作表“{sheet}”", f"{source.name}, sheet '{sheet}'"
        rows: list[tuple[int, list[str]]] = []
        # calamine's iter_rows starts at sheet row 1 (index 0) and at the first used column.
        for index, row in enumerate(data.iter_rows()):
            cells = [format_cell(v).strip() for v in row]
            if any(cells):
                rows.append((index + 1, cells))
                if len(rows) > 10:
                    break
            if index > HEADER_SCAN_LIMIT:
                break
        if not rows:
            raise ReadError("empty-file", f"{where}没有内容。", f"{where_en} has no content.")
        pick, notice = choose_header(rows, expected)
        if notice:
            notices.append(notice)
        header_row, cells = rows[pick]
        headers = check_headers(
            cells,
            row=header_row,
            where=where,
            where_en=where_en,
            label=lambda i: f"{column_letter(self._col0 + i)} 列",
            label_en=lambda i: f"column {column_letter(self._col0 + i)}",
        )
        if pick == len(rows) - 1 and (data.end is None or data.end[0] + 1 <= header_row):
            raise ReadError(
                "header-only",
                f"{where}只有表头（第 {header_row} 行），没有数据行。",
                f"{where_en}: only the header (row {header_row}) is present; no data rows.",
                row=header_row,
            )
        # Legacy .xls is a workbook too: callers branch on 'xlsx' for "spreadsheet".
        super().__init__(source, "xlsx", headers, header_row=header_row, sheet=sheet, notices=notices)
        self._where = where

    def chunks(self, size: int = 200_000) -> Iterator[pl.DataFrame]:
        """Yield frames of at most ``size`` rows; cells outside the header's columns raise ReadError."""
        if size <= 0:
            raise ValueError("chunk size must be positive")
        header_row = self.header_row or 1
        width = len(self.headers)
        batch: list[list[Cell]] = []
        numbers: list[int] = []
        produced = False
        for index, row in enumerate(self._data.iter_rows()):
            number = index + 1
            if number <= header_row:
                continue
            batch.append(row)
            numbers.append(number)
            if len(batch) >= size:
                df = self._frame(batch, numbers, width)
                produced = produced or df.height > 0
                yield from split_frame(df, size)
                batch, numbers = [], []
        if batch:
            df = self._frame(batch, numbers, width)
            produced = produced or df.height > 0
            yield from split_frame(df, size)
        if not produced:
            raise ReadError(
                "header-only",
                f"{self._where}只有表头（第 {header_row} 行），没有数据行。",
                f"{self.name}: only the header (row {header_row}) is present; no data rows.",
                row=header_row,
            )

    def _frame(self, batch: list[list[Cell]], numbers: list[int], width: int) -> pl.DataFrame:
        columns = list(zip(*batch, strict=False)) if batch else []
        for j in range(width, len(columns)):
            self._check_unnamed(columns[j], numbers, j)
        df = pl.DataFrame(
            [
                column_series(h, columns[j])
                if j < len(columns)
                else pl.Series(h, [None] * len(batch), dtype=pl.String)
                for j, h in enumerate(self.headers)
            ]
        )
        return tidy(df, self.headers, 0, rows=pl.Series(numbers, dtype=pl.Int64))

    def _check_unnamed(self, column: tuple[Cell, ...], numbers: list[int], j: int) -> None:
        for i, v in enumerate(column):
            if v == "" or (type(v) is str and not v.strip()):
                continue
            ref = f"{column_letter(self._col0 + j)}{numbers[i]}"
            raise ReadError(
                "unnamed-column",
                f"{self._where}单元格 {ref} 有内容“{shorten(format_cell(v))}”，但这一列没有表头。"
                "请删除表格外的内容或给该列加上列名。",
                f"{self.name}, sheet '{self.sheet}': cell {ref} holds a value but its column has no header.",
                row=numbers[i],
                column=column_letter(self._col0 + j),
            )
