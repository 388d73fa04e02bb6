"""Readers for the files agencies send to the hub: CSV, XLSX/XLS, JSON and JSON Lines.

Entry point: :func:`open_table` returns a :class:`Table`; ``table.chunks(size)`` yields polars
frames of all-string columns (stripped, empty -> null) plus ``__row__``, the row number the sender
sees. Bad input never produces a traceback: every failure is a :class:`ReadError` whose ``code``
is stable and whose Chinese and English messages name the file and the place.

Format detection (``format=None``): the content decides when it is recognised with confidence
(zip workbook, OLE2 workbook, JSON text, delimited text), the extension only breaks ties.
A file whose extension disagrees with a confidently recognised content is read as what it is, with
a ``format-mismatch`` notice (a ``.xlsx`` that is really CSV text is read as CSV). Content that no
reader can handle (an HTML page saved as ``.xls``, a PDF, a Word document) is a ``not-xlsx`` /
``not-csv`` / ``not-json`` error naming what the file looks like, or ``unknown-format`` when the
name gives no expectation. An explicit ``format=`` is strict: content of another kind is an error.

Error codes (``ReadError.code``):

===================  =====================================================================
file-not-found       the path does not exist or is not a readable file
file-too-large       larger than ``max_bytes``
empty-file           no bytes, only whitespace/blank lines, an empty sheet, or no JSON records
header-only          a header row but no data rows
undecodable          bytes that are neither UTF-8 nor GBK/GB18030 (or UTF-16 with a BOM)
unclosed-quote       a CSV double quote that never closes (at the end of file or past the limit)
line-too-long        a line/record longer than ``max_line_bytes`` (default 16 MB)
ragged-row           a CSV row with more or fewer fields than the header
malformed-csv        a misplaced double quote inside a field
duplicate-column     two header cells (or trimmed JSON keys) with the same name
empty-header         a header cell with no name between named ones (or an empty JSON key)
reserved-column      a header named ``__row__``
unnamed-column       a value in a column that has no header (right of the header's last cell)
not-xlsx             not a readable workbook: corrupt zip, HTML/XML "Excel", Word file, ...
not-csv / not-json   the content is binary or markup, not text of that kind
unknown-format       no extension to go by and content no reader understands
zip-bomb             the workbook would unpack to more than ``max_unzipped_bytes`` (default 2 GiB),
                     has a member compressed > 200:1 and > 50 MB, or lies about its sizes
encrypted            the workbook has an opening password
sheet-not-found      ``sheet=`` names no sheet; the message lists the sheets
invalid-json         JSON syntax error; ``row`` is the line, ``column`` the column
not-object           a JSON record (array item or JSON Lines line) that is not an object
nested-object        a JSON value that is an object (lists of scalars are joined with ';')
no-records           a JSON object without a ``records`` array
===================  =====================================================================

Notice codes (``ReaderNotice.code``, non-fatal): ``encoding-detected`` (GB18030 or UTF-16
converted), ``delimiter-detected`` (tab or semicolon), ``title-rows-skipped``,
``header-not-recognized``, ``formula-cell`` (cached values used, cells listed, capped at 20),
``formula-error`` (a formula cached an error such as #DIV/0!; read as empty), ``other-sheets``,
``format-mismatch``, ``line-endings`` (classic Mac CR line ends converted).

Choices: header-only files are errors, not empty tables. Rows that are entirely empty are skipped
and never renumber the others. CSV rows are records (a quoted field may span lines), numbered
like Excel shows them; title rows above the header count. The default sheet is the first
visible worksheet. Legacy ``.xls`` is read by calamine too; its ``Table.format`` is 'xlsx' like
every workbook (``format='xls'`` is accepted as an input alias).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from enforcehub.intake.csv_reader import DEFAULT_MAX_LINE_BYTES, open_csv
from enforcehub.intake.errors import ReaderNotice, ReadError, fmt_size
from enforcehub.intake.json_reader import open_json
from enforcehub.intake.table import ROW_COLUMN, Source, Table
from enforcehub.intake.xlsx_reader import DEFAULT_MAX_UNZIPPED_BYTES, ZIP_ERRORS, describe_zip, open_workbook

__all__ = ["ROW_COLUMN", "ReadError", "ReaderNotice", "Table", "detect_format", "open_table"]

FORMATS = ("csv", "xlsx", "xls", "json", "jsonl")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
FORMAT_NAMES = {
    "csv": ("CSV 文本", "CSV text"),
    "xlsx": ("Excel 工作簿", "an Excel workbook"),
    "xls": ("Excel 97-2003 工作簿", "an Excel 97-2003 workbook"),
    "json": ("JSON", "JSON"),
    "jsonl": ("JSON Lines", "JSON Lines"),
}
MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF", "PDF 文件", "a PDF file"),
    (b"\x89PNG", "PNG 图片", "a PNG image"),
    (b"\xff\xd8\xff", "JPEG 图片", "a JPEG image"),
    (b"GIF8", "GIF 图片", "a GIF image"),
    (b"Rar!", "RAR 压缩包", "a RAR archive"),
    (b"7z\xbc\xaf", "7z 压缩包", "a 7z archive"),
    (b"\x1f\x8b", "gzip 压缩文件", "a gzip file"),
    (b"{\\rtf", "RTF 文档", "an RTF document"),
)
NOT_CODES = {"xlsx": "not-xlsx", "xls": "not-xlsx", "csv": "not-csv", "json": "not-json", "jsonl": "not-json"}
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def open_table(
    source: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    format: str | None = None,
    sheet: str | None = None,
    max_bytes: int | None = None,
    expected_headers: Callable[[str], bool] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
) -> Table:
    """Open ``source`` (a path or the file's bytes) and return a :class:`Table`.

    ``name`` is what messages call the file (default: the path's file name, or 'upload').
    ``format`` forces 'csv', 'xlsx', 'xls', 'json' or 'jsonl'; None detects it (see module doc).
    ``sheet`` picks a worksheet by name. ``expected_headers(cell)`` says whether a cell is a known
    column title; it is used to find the header below title rows. ``max_bytes``,
    ``max_line_bytes`` and ``max_unzipped_bytes`` are safety limits. Raises :class:`ReadError`.
    """
    src = Source.of(source, name)
    if max_bytes is not None and src.size > max_bytes:
        raise ReadError(
            "file-too-large",
            f"文件“{src.name}”大小为 {fmt_size(src.size)}，超过允许的上限 {fmt_size(max_bytes)}。",
            f"'{src.name}' is {fmt_size(src.size)}, over the {fmt_size(max_bytes)} limit.",
        )
    if src.size == 0:
        raise ReadError("empty-file", f"文件“{src.name}”是空的。", f"'{src.name}' is empty.")
    fmt, notice = detect_format(src, format)
    if fmt in ("xlsx", "xls"):
        return open_workbook(
            src,
            fmt=fmt,
            sheet=sheet,
            expected_headers=expected_headers,
            max_unzipped_bytes=max_unzipped_bytes,
            format_notice=notice,
        )
    if fmt in ("json", "jsonl"):
        return open_json(src, fmt, max_line_bytes=max_line_bytes, format_notice=notice)
    return open_csv(
        src, expected_headers=expected_headers, max_line_bytes=max_line_bytes, format_notice=notice
    )


def _content_kind(src: Source) -> tuple[str, str, str]:
    """Classify the first bytes: ('zip'|'workbook-zip'|'ole2'|'text'|'json'|'bad', zh, en)."""
    with src.open() as f:
        head = f.read(8192)
        if head.startswith(ZIP_MAGIC):
            try:
                f.seek(0)
                with zipfile.ZipFile(f) as zf:
                    names = zf.namelist()
            except ZIP_ERRORS:
                return "bad", "已损坏的 ZIP 压缩包", "a damaged zip archive"
            if any(n.startswith("xl/workbook.") for n in names):
                return "workbook-zip", "Excel 工作簿", "an Excel workbook"
            zh, en = describe_zip(names)
            return "bad", zh, en
    if head.startswith(OLE2):
        return "ole2", "Excel 97-2003 工作簿", "an Excel 97-2003 workbook"
    for magic, zh, en in MAGIC:
        if head.startswith(magic):
            return "bad", zh, en
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text", "UTF-16 文本", "UTF-16 text"
    if b"\x00" in head:
        return "bad", "二进制文件", "a binary file"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head or b"<workbook" in text:
            return "bad", "Excel 2003 XML 表格（不是 .xlsx）", "an Excel 2003 XML spreadsheet (not .xlsx)"
        if b"<html" in text or b"<!doctype html" in text or b"<table" in text:
            return (
                "bad",
                "网页（HTML）表格，常见于业务系统“导出 Excel”",
                "an HTML table (a typical 'export to Excel')",
            )
        if text.startswith(b"<?xml"):
            return "bad", "XML 文件", "an XML file"
    if text.startswith((b"[", b"{")):
        return "json", "JSON 文本", "JSON text"
    return "text", "文本", "text"


def _json_or_lines(src: Source) -> str:
    """For JSON text starting with '{': one object per line means JSON Lines."""
    with src.open() as f:
        head = f.read(1 << 16).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return "json"
    lines = [line.strip() for line in head.splitlines()[:3]]
    return "jsonl" if len(lines) > 1 and lines[0].endswith(b"}") and lines[1].startswith(b"{") else "json"


def detect_format(src: Source, forced: str | None) -> tuple[str, ReaderNotice | None]:
    """Decide the reader for ``src``; return (format, notice when the extension disagreed)."""
    ext_fmt = EXTENSIONS.get(Path(src.name).suffix.lower())
    if forced is not None and forced not in FORMATS:
        raise ReadError(
            "unknown-format",
            f"不支持的格式“{forced}”；支持 {', '.join(FORMATS)}。",
            f"Unsupported format '{forced}'; use one of {', '.join(FORMATS)}.",
        )
    kind, zh, en = _content_kind(src)
    if kind == "workbook-zip":
        found = "xlsx"
    elif kind == "ole2":
        found = "xls"
    elif kind == "json":
        found = (
            forced if forced in ("json", "jsonl") else "jsonl" if ext_fmt == "jsonl" else _json_or_lines(src)
        )
    elif kind == "text":
        found = forced if forced in ("json", "jsonl") else "csv"
    else:
        expected = forced or ext_fmt
        code = NOT_CODES.get(expected or "", "unknown-format")
        hint = "请在 Excel/WPS 中打开后另存为 .xlsx 或 CSV 再上传。"
        raise ReadError(
            code,
            f"{src.name}：无法读取，文件内容是{zh}。{hint}",
            f"{src.name}: cannot be read, the content is {en}. Save it as .xlsx or CSV and upload again.",
        )
    if forced is not None:
        pair = {found, forced}
        compatible = found == forced or pair <= {"xlsx", "xls"} or pair <= {"json", "jsonl"}
        if not compatible:
            code = NOT_CODES[forced]
            want_zh, want_en = FORMAT_NAMES[forced]
            raise ReadError(
                code,
                f"{src.name}：要求的格式是{want_zh}，但文件内容是{zh}。",
                f"{src.name}: {want_en} was required but the content is {en}.",
            )
        return found, None  # within a family the content picks the reader (a zip always gets the bomb checks)
    if ext_fmt is None or ext_fmt == found or {ext_fmt, found} <= {"json", "jsonl"}:
        return found, None
    got_zh, got_en = FORMAT_NAMES[found]
    ext = Path(src.name).suffix
    return found, ReaderNotice(
        "format-mismatch",
        f"文件扩展名是 {ext}，但内容是{got_zh}，已按{got_zh}读取。",
        f"The file is named {ext} but holds {got_en}; it was read as such.",
    )
