"""The agency's own rows with their problems beside them, ready to fix and upload again.

Rows are read back from the raw archive (so the clerk gets exactly what they sent, in their own
column order and headers), joined with the stored findings by row number, and written as XLSX
(problem cells highlighted, a comment on each) or CSV (UTF-8 with BOM, formula-safe).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from enforcehub.intake.readers import open_table

ROW_TITLE = "原行号"
PROBLEM_TITLE = "问题说明"


def annotated_rows(
    path: Path, fmt: str | None, name: str | None, findings: list[dict[str, Any]]
) -> tuple[list[str], list[list[Any]], dict[int, dict[str, str]]]:
    """(headers, rows with problems, per row: header → problem text) for the rows that have findings."""
    by_row: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_row[int(finding["row"])].append(finding)
    table = open_table(path, name=name or path.name, format=fmt)
    headers = list(table.headers)
    rows: list[list[Any]] = []
    cell_notes: dict[int, dict[str, str]] = {}
    wanted = pl.Series(sorted(by_row), dtype=pl.Int64)
    for chunk in table.chunks(50_000):
        hits = chunk.filter(pl.col("__row__").is_in(wanted))
        for record in hits.iter_rows(named=True):
            line = int(record["__row__"])
            problems = by_row[line]
            text = "；".join(f"{p['message']}" for p in problems)
            rows.append([line, *[record.get(h) for h in headers], text])
            cell_notes[len(rows)] = {str(p["field"]): str(p["message"]) for p in problems}
    return [ROW_TITLE, *headers, PROBLEM_TITLE], rows, cell_notes


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_defuse(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(
    headers: list[str],
    rows: list[list[Any]],
    notes: dict[int, dict[str, str]],
    field_of_header: dict[str, str],
) -> bytes:
    """A workbook: the rows as sent, problem cells highlighted with the message as a comment."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet("待修改的行")
    head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    bad = workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    problem = workbook.add_format({"font_color": "#9C0006", "text_wrap": True})
    for col, title in enumerate(headers):
        sheet.write_string(0, col, title, head)
    for r, row in enumerate(rows, start=1):
        row_notes = notes.get(r, {})
        for col, value in enumerate(row):
            title = headers[col]
            field = field_of_header.get(title)
            text = "" if value is None else str(value)
            if col == len(headers) - 1:
                sheet.write_string(r, col, text, problem)
            elif field is not None and field in row_notes:
                sheet.write_string(r, col, text, bad)
                sheet.write_comment(r, col, row_notes[field], {"x_scale": 2, "y_scale": 1.5})
            else:
                sheet.write_string(r, col, text)
    sheet.freeze_panes(1, 1)
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, len(headers) - 2, 16)
    sheet.set_column(len(headers) - 1, len(headers) - 1, 60)
    workbook.close()
    return buffer.getvalue()


def _defuse(value: Any) -> Any:
    """Cells starting with = + - @ would run as formulas in Excel: prefix them with a quote."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
