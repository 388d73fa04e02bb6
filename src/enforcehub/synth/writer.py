"""Write generated frames as the files agencies send: CSV (UTF-8 or GB18030), XLSX or JSONL.

Headers are the element names by default, or the Chinese titles (`headers="title"`) as in the
reporting templates. Row numbers follow the validator: in CSV/XLSX the header is row 1 and the
first record row 2; in JSONL the first line is row 1 (`first_row`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from enforcehub.standard.model import Standard

Format = Literal["csv", "xlsx", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "jsonl")


def first_row(fmt: str) -> int:
    """The row number the validator gives the first record of a file in `fmt`."""
    return 1 if fmt == "jsonl" else 2


def headed(frame: pl.DataFrame, standard: Standard, dataset: str, headers: str) -> pl.DataFrame:
    """The frame with element names (`headers="name"`) or Chinese titles (`"title"`) as column names."""
    if headers == "name":
        return frame
    if headers != "title":
        raise ValueError(f"headers must be 'name' or 'title', not {headers!r}")
    titles = {e.name: e.title for e in standard.datasets[dataset].elements}
    return frame.rename({c: titles[c] for c in frame.columns})


def write(frame: pl.DataFrame, path: Path, fmt: str, *, encoding: str = "utf-8") -> Path:
    """Write one dataset file and return its path."""
    if fmt == "csv":
        if encoding.lower().replace("-", "") in ("utf8", "utf_8"):
            frame.write_csv(path)
        else:
            # polars writes UTF-8 only; re-encode for the GBK-family files many agency systems export.
            path.write_bytes(frame.write_csv().encode(encoding))
    elif fmt == "jsonl":
        frame.write_ndjson(path)
    elif fmt == "xlsx":
        _write_xlsx(frame, path)
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return path


XLSX_MAX_RECORDS = 1_048_575  # a worksheet has 1,048,576 rows, one of them the header


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    import xlsxwriter

    if frame.height > XLSX_MAX_RECORDS:
        raise ValueError(
            f"{path.name}: {frame.height:,} records do not fit one worksheet ({XLSX_MAX_RECORDS:,} at most); "
            "use csv or jsonl, or a smaller scale"
        )

    # constant_memory streams rows to disk, so a large sheet does not sit in memory; every cell is
    # written as text so codes like 01 keep their leading zero.
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet("data")
    sheet.write_row(0, 0, frame.columns)
    for index, row in enumerate(frame.iter_rows(), start=1):
        for column, value in enumerate(row):
            if value is not None:
                sheet.write_string(index, column, value)
    workbook.close()
