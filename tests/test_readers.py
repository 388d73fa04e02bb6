"""Tests for enforcehub.intake.readers: real files written to tmp_path, real outcomes asserted."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcehub.intake import json_reader
from enforcehub.intake.readers import ReadError, Table, open_table
from enforcehub.intake.xlsx_reader import float_series, format_float

HEADERS = ["行政处罚决定书文号", "行政相对人名称", "罚款金额", "处罚决定日期"]
KNOWN = set(HEADERS)


def known(cell: str) -> bool:
    return cell in KNOWN


def read_all(table: Table, size: int = 200_000) -> pl.DataFrame:
    frames = list(table.chunks(size))
    assert frames, "chunks() yielded nothing"
    return pl.concat(frames)


def rows_of(table: Table, size: int = 200_000) -> list[tuple[Any, ...]]:
    return read_all(table, size).rows()


def read_error(source: Any, size: int = 200_000, **kwargs: Any) -> ReadError:
    """Open and fully read; return the ReadError that must occur on the way."""
    with pytest.raises(ReadError) as info:
        table = open_table(source, **kwargs)
        for _ in table.chunks(size):
            pass
    return info.value


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def write_xlsx(tmp_path: Path, name: str, build: Callable[[Any, Any], None], sheet: str = "数据") -> Path:
    path = tmp_path / name
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    build(wb, ws)
    wb.close()
    return path


# --------------------------------------------------------------------------- CSV


def test_csv_utf8_values_rows_and_blank_rows(tmp_path: Path) -> None:
    data = (
        "行政处罚决定书文号,行政相对人名称,罚款金额,处罚决定日期\n"
        "粤市监罚〔2025〕1号,  广州某某有限公司 ,5000,2025-03-01\n"
        "\n"
        ",,,\n"
        "粤市监罚〔2025〕2号,\u3000张三\u3000,,2025-03-02\n"
    ).encode()
    table = open_table(write(tmp_path, "a.csv", data))
    assert table.format == "csv"
    assert table.encoding == "utf-8"
    assert table.headers == HEADERS
    df = read_all(table)
    assert df.columns == [*HEADERS, "__row__"]
    assert df.schema["__row__"] == pl.Int64
    assert all(df.schema[h] == pl.String for h in HEADERS)
    assert df.rows() == [
        ("粤市监罚〔2025〕1号", "广州某某有限公司", "5000", "2025-03-01", 2),
        ("粤市监罚〔2025〕2号", "张三", None, "2025-03-02", 5),
    ]


def test_csv_bom_is_not_part_of_first_header(tmp_path: Path) -> None:
    data = "\ufeff名称,金额\r\n张三,1\r\n".encode()
    table = open_table(write(tmp_path, "bom.csv", data))
    assert table.encoding == "utf-8-sig"
    assert table.headers == ["名称", "金额"]
    assert rows_of(table) == [("张三", "1", 2)]


def test_csv_gbk_is_detected_and_converted(tmp_path: Path) -> None:
    text = "名称,地址\n广州市市场监督管理局,天河区珠江新城\n深圳市某某公司,福田区\n"
    table = open_table(write(tmp_path, "gbk.csv", text.encode("gbk")))
    assert table.encoding == "gb18030"
    assert [n.code for n in table.notices] == ["encoding-detected"]
    assert table.headers == ["名称", "地址"]
    assert rows_of(table) == [("广州市市场监督管理局", "天河区珠江新城", 2), ("深圳市某某公司", "福田区", 3)]


def test_csv_quoted_newlines_quotes_and_commas(tmp_path: Path) -> None:
    data = (
        'name,note,amount\n'
        '"张三","第一行\n第二行",1\n'
        '"李""四""","含,逗号",2\r\n'
        'plain,"",3\n'
    ).encode()
    table = open_table(write(tmp_path, "q.csv", data))
    # Rows are records (as Excel numbers them), not physical lines.
    assert rows_of(table) == [
        ("张三", "第一行\n第二行", "1", 2),
        ('李"四"', "含,逗号", "2", 3),
        ("plain", None, "3", 4),
    ]


@pytest.mark.parametrize(("line", "actual"), [("1,2", 2), ("1,2,3,4", 4), ("1,2,3,", 4), ("only", 1)])
def test_csv_ragged_row_names_row_and_counts(tmp_path: Path, line: str, actual: int) -> None:
    data = f"a,b,c\n1,2,3\n\n{line}\n4,5,6\n".encode()
    err = read_error(write(tmp_path, "r.csv", data))
    assert err.code == "ragged-row"
    assert err.row == 4
    assert "第 4 行" in err.message_zh and f"有 {actual} 个字段" in err.message_zh
    assert "表头有 3 列" in err.message_zh
    assert "row 4" in err.message("en")


def test_csv_duplicate_columns_are_named(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "d.csv", "名称,金额, 名称 \n1,2,3\n".encode()))
    assert err.code == "duplicate-column"
    assert "“名称”" in err.message_zh and "第 1 列" in err.message_zh and "第 3 列" in err.message_zh


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_csv_empty_file(tmp_path: Path, data: bytes) -> None:
    err = read_error(write(tmp_path, "e.csv", data))
    assert err.code == "empty-file"


@pytest.mark.parametrize("data", ["a,b\n", "a,b", "标题\na,b\n\n,\n"])
def test_csv_header_only(tmp_path: Path, data: str) -> None:
    err = read_error(write(tmp_path, "h.csv", data.encode()))
    assert err.code == "header-only"
    assert "只有表头" in err.message_zh


def test_csv_long_line_is_refused_with_small_limit(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n3,4\n" + b"x" * 5000 + b",y\n5,6\n"
    err = read_error(write(tmp_path, "l.csv", data), max_line_bytes=1000)
    assert err.code == "line-too-long"
    assert err.row == 4
    assert "第 4 行" in err.message_zh


def test_csv_long_line_without_newline_streams_and_stops(tmp_path: Path) -> None:
    # A 3 MB "line" with no newline at all: refused while reading it, not after loading it all.
    path = tmp_path / "nl.csv"
    with path.open("wb") as f:
        f.write(b"a,b\n1,2\n")
        for _ in range(3):
            f.write(b"z" * (1 << 20))
    err = read_error(path, max_line_bytes=64 * 1024)
    assert err.code == "line-too-long"
    assert err.row == 3


def test_csv_long_header_line(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "lh.csv", b"x" * 3000 + b"\n1\n"), max_line_bytes=1000)
    assert err.code == "line-too-long"
    assert err.row == 1


def test_csv_unclosed_quote(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "u.csv", b'a,b\n1,2\n3,"4\n5,6\n'))
    assert err.code == "unclosed-quote"
    assert err.row == 3


def test_csv_quotes_inside_unquoted_field_and_text_after_closing_quote(tmp_path: Path) -> None:
    # Like Excel: quotes inside an unquoted field are literal characters.
    assert rows_of(open_table(write(tmp_path, "ok.csv", b'a,b\n3,ab"c"d\n'))) == [("3", 'ab"c"d', 2)]
    err = read_error(write(tmp_path, "s.csv", b'a,b\n1,2\n"3"x,y\n'))
    assert err.code == "malformed-csv"
    assert err.row == 3 and "第 3 行" in err.message_zh


@pytest.mark.parametrize(("sep", "code"), [("\t", "delimiter-detected"), (";", "delimiter-detected")])
def test_csv_tab_and_semicolon(tmp_path: Path, sep: str, code: str) -> None:
    data = sep.join(HEADERS) + "\n" + sep.join(["文号1", "公司,有逗号", "100", "2025-01-01"]) + "\n"
    table = open_table(write(tmp_path, "t.csv", data.encode()))
    assert table.headers == HEADERS
    assert code in [n.code for n in table.notices]
    assert rows_of(table) == [("文号1", "公司,有逗号", "100", "2025-01-01", 2)]


def test_csv_title_row_above_header(tmp_path: Path) -> None:
    title = "2025年第四季度行政处罚信息报送表,,,\n"
    data = (title + ",".join(HEADERS) + "\n文号1,公司,100,2025-01-01\n").encode()
    table = open_table(write(tmp_path, "title.csv", data), expected_headers=known)
    assert table.header_row == 2
    assert table.headers == HEADERS
    assert "title-rows-skipped" in [n.code for n in table.notices]
    assert rows_of(table) == [("文号1", "公司", "100", "2025-01-01", 3)]


def test_csv_unknown_headers_fall_back_to_first_row_with_notice(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "x.csv", b"foo,bar\n1,2\n"), expected_headers=known)
    assert table.headers == ["foo", "bar"]
    assert [n.code for n in table.notices] == ["header-not-recognized"]


def test_csv_value_in_unnamed_trailing_column(tmp_path: Path) -> None:
    ok = open_table(write(tmp_path, "ok.csv", b"a,b,,\n1,2,,\n3,4\n"))
    assert rows_of(ok) == [("1", "2", 2), ("3", "4", 3)]
    err = read_error(write(tmp_path, "bad.csv", b"a,b,,\n1,2,,\n3,4,,x\n"))
    assert err.code == "unnamed-column"
    assert err.row == 3 and "第 4 列" in err.message_zh


def test_csv_hostile_cells_are_plain_strings(tmp_path: Path) -> None:
    evil = ["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "'; DROP TABLE penalty; --",
            "@SUM(1+1)*cmd|' /C calc'!A0"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["a", "b", "c", "d"])
    w.writerow(evil)
    table = open_table(write(tmp_path, "evil.csv", buf.getvalue().encode()))
    assert rows_of(table) == [(*evil, 2)]


def test_csv_streams_large_file_in_bounded_chunks(tmp_path: Path) -> None:
    # ~4 MB with quoted newlines everywhere: several blocks, records cut across block ends.
    rows = [[f"id{i}", f'备注{i}\n第二行"引号"', str(i), ""] for i in range(40_000)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "note", "n", "empty"])
    w.writerows(rows)
    path = write(tmp_path, "big.csv", buf.getvalue().encode())
    table = open_table(path)
    chunks = list(table.chunks(3000))
    assert len(chunks) > 3
    assert all(c.height <= 3000 for c in chunks)
    df = pl.concat(chunks)
    assert df.height == 40_000
    assert df["__row__"].to_list() == list(range(2, 40_002))
    assert df.row(39_999) == ("id39999", '备注39999\n第二行"引号"', "39999", None, 40_001)


def test_csv_undecodable_byte_late_in_file_names_the_row(tmp_path: Path) -> None:
    lines = ["名称,金额"] + [f"公司{i},{i}" for i in range(120_000)]
    data = "\n".join(lines).encode() + b"\n\xff\xfe,1\n"
    path = write(tmp_path, "bad.csv", data)
    table = open_table(path)  # the sample is fine UTF-8
    with pytest.raises(ReadError) as info:
        for _ in table.chunks(10_000):
            pass
    assert info.value.code == "undecodable"
    assert info.value.row == 120_002
    assert "第 120002 行" in info.value.message_zh


def test_csv_undecodable_in_sample(tmp_path: Path) -> None:
    data = "名称,金额\n".encode() + "公司".encode() * 40 + b",1\n\xff\xff\xff,2\n"
    err = read_error(write(tmp_path, "bad.csv", data))
    assert err.code == "undecodable"
    assert err.row == 3


def test_csv_ascii_start_then_gbk(tmp_path: Path) -> None:
    # The 1 MB sample is pure ASCII; GBK shows up later. ASCII is the same in both, so switch.
    head = "".join(f"id{i},name{i}\n" for i in range(120_000))
    data = ("id,name\n" + head).encode() + "id-x,广州市\n".encode("gbk")
    table = open_table(write(tmp_path, "late.csv", data))
    df = read_all(table, 50_000)
    assert df.row(-1) == ("id-x", "广州市", 120_002)
    assert table.encoding == "gb18030"
    assert "encoding-detected" in [n.code for n in table.notices]


def test_csv_utf16_excel_unicode_text(tmp_path: Path) -> None:
    data = "\ufeff名称\t金额\r\n张三\t1\r\n".encode("utf-16-le")
    table = open_table(write(tmp_path, "u16.txt", data))
    assert table.encoding == "utf-16"
    assert rows_of(table) == [("张三", "1", 2)]


def test_csv_classic_mac_line_ends(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "mac.csv", "名称,金额\r张三,1\r李四,2\r".encode("gbk")))
    assert {"line-endings", "encoding-detected"} <= {n.code for n in table.notices}
    assert rows_of(table) == [("张三", "1", 2), ("李四", "2", 3)]


def test_csv_temp_files_are_removed(tmp_path: Path) -> None:
    import gc
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("enforcehub-*"))
    table = open_table(write(tmp_path, "u16.csv", "\ufeffa,b\r\n1,2\r\n".encode("utf-16-le")))
    assert rows_of(table) == [("1", "2", 2)]
    assert read_error(write(tmp_path, "u16h.csv", "\ufeffa,b\r\n".encode("utf-16-le"))).code == "header-only"
    del table
    gc.collect()
    assert not set(Path(tempfile.gettempdir()).glob("enforcehub-*")) - before


# --------------------------------------------------------------------------- property: CSV round trip

CELL = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("abcXYZ019 ,;\"'\n\r\t-_.:/=<>")),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from(list("，。、“”（）〔〕\u3000")),
    ),
    max_size=12,
)


def _expected(value: str) -> str | None:
    v = value.strip()
    return v or None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ncols=st.integers(min_value=2, max_value=5),
    body=st.lists(st.lists(CELL, min_size=5, max_size=5), min_size=1, max_size=30),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_csv_round_trip_property(tmp_path: Path, ncols: int, body: list[list[str]], encoding: str) -> None:
    headers = [f"列{i}" for i in range(ncols)]
    rows = [r[:ncols] for r in body]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    path = write(tmp_path, f"p-{encoding}.csv", buf.getvalue().encode(encoding))
    expected = [(*(_expected(v) for v in r), i + 2) for i, r in enumerate(rows)]
    expected = [e for e in expected if any(v is not None for v in e[:-1])]
    if not expected:
        assert read_error(path).code == "header-only"
        return
    table = open_table(path)
    assert table.headers == headers
    assert table.delimiter == ","  # type: ignore[attr-defined]
    assert rows_of(table) == expected


# --------------------------------------------------------------------------- XLSX


def one_column(wb: Any, ws: Any) -> None:
    ws.write_row(0, 0, ["a"])
    ws.write_row(1, 0, ["x"])


def test_xlsx_title_row_blank_rows_and_values(tmp_path: Path) -> None:
    def build(wb: Any, ws: Any) -> None:
        ws.write(0, 0, "2025年第四季度行政处罚信息报送表")
        ws.write_row(1, 0, HEADERS)
        ws.write_row(2, 0, ["文号1", " 公司甲 ", 5000, "2025-01-01"])
        ws.write_row(4, 0, ["文号2", "公司乙", 12.5, "2025-01-02"])  # row 4 left blank

    path = write_xlsx(tmp_path, "t.xlsx", build)
    table = open_table(path, expected_headers=known)
    assert (table.format, table.sheet, table.header_row) == ("xlsx", "数据", 2)
    assert table.headers == HEADERS
    assert "title-rows-skipped" in [n.code for n in table.notices]
    assert rows_of(table) == [
        ("文号1", "公司甲", "5000", "2025-01-01", 3),
        ("文号2", "公司乙", "12.5", "2025-01-02", 5),
    ]
    # Without the callable, a lone title cell above a wider row is still recognised as a title.
    assert open_table(path).header_row == 2


def test_xlsx_dates_big_numbers_booleans(tmp_path: Path) -> None:
    def build(wb: Any, ws: Any) -> None:
        date = wb.add_format({"num_format": "yyyy-mm-dd"})
        stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        ws.write_row(0, 0, ["id", "date", "time", "flag", "small", "whole", "text_id"])
        ws.write_number(1, 0, 123456789012345678)
        ws.write_datetime(1, 1, dt.datetime(2025, 3, 1), date)
        ws.write_datetime(1, 2, dt.datetime(2025, 3, 1, 10, 29, 59, 999000), stamp)
        ws.write_boolean(1, 3, True)
        ws.write_number(1, 4, 0.00001)
        ws.write_number(1, 5, 45717.0)
        ws.write_string(1, 6, "440101199001011234")

    table = open_table(write_xlsx(tmp_path, "v.xlsx", build))
    ((big, date, stamp, flag, small, whole, text_id, row),) = rows_of(table)
    # Excel keeps ~15-17 significant digits of a number; print the double's digits, never 1.23E+17.
    assert big.isdigit() and len(big) == 18 and big.startswith("123456789012345")
    assert (date, stamp, flag, small, whole, text_id, row) == (
        "2025-03-01", "2025-03-01 10:30:00", "true", "0.00001", "45717", "440101199001011234", 2)


def test_xlsx_offset_table_gaps_and_mixed_columns(tmp_path: Path) -> None:
    # The table starts at C3: rows and columns numbers must still be the sheet's own.
    def build(wb: Any, ws: Any) -> None:
        date = wb.add_format({"num_format": "yyyy-mm-dd"})
        ws.write_row(2, 2, ["金额", "日期", "备注"])
        ws.write_number(3, 2, 5000)
        ws.write_datetime(3, 3, dt.datetime(2025, 1, 2), date)
        ws.write_string(3, 4, "无")
        ws.write_string(5, 2, "无")  # text in a number column
        ws.write_number(5, 4, 0.1 + 0.2)  # a number in a text column

    table = open_table(write_xlsx(tmp_path, "o.xlsx", build))
    assert table.header_row == 3
    assert rows_of(table) == [("5000", "2025-01-02", "无", 4), ("无", None, "0.3", 6)]

    def beyond(wb: Any, ws: Any) -> None:
        build(wb, ws)
        ws.write_string(4, 5, "表外备注")

    err = read_error(write_xlsx(tmp_path, "b.xlsx", beyond))
    assert err.code == "unnamed-column" and "F5" in err.message_zh and err.row == 5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                          st.integers(-10**7, 10**7).map(lambda i: i / 100), st.none()), max_size=20))
def test_float_column_conversion_matches_cell_conversion(values: list[float | None]) -> None:
    expected = [None if v is None else format_float(v) for v in values]
    assert float_series("x", values).to_list() == expected
    assert all(v is None or ("e" not in v and "E" not in v) for v in expected)


def test_xlsx_formula_notice_uses_cached_values(tmp_path: Path) -> None:
    def build(wb: Any, ws: Any) -> None:
        ws.write_row(0, 0, ["a", "b", "c"])
        ws.write_row(1, 0, [1, 2])
        ws.write_formula(1, 2, "=A2+B2", None, 3)
        ws.write_formula(2, 2, "=1/0", None, "#DIV/0!")
        ws.write_row(2, 0, [5, 6])

    table = open_table(write_xlsx(tmp_path, "f.xlsx", build))
    codes = [n.code for n in table.notices]
    assert "formula-cell" in codes and "formula-error" in codes
    formula = next(n for n in table.notices if n.code == "formula-cell")
    assert "C2" in formula.message_zh and "C3" in formula.message_zh and "2 个公式" in formula.message_zh
    assert rows_of(table) == [("1", "2", "3", 2), ("5", "6", None, 3)]


def test_xlsx_hostile_strings_stay_strings(tmp_path: Path) -> None:
    evil = ["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "'; DROP TABLE x; --"]

    def build(wb: Any, ws: Any) -> None:
        ws.write_row(0, 0, ["a", "b", "c"])
        for j, v in enumerate(evil):
            ws.write_string(1, j, v)

    table = open_table(write_xlsx(tmp_path, "evil.xlsx", build))
    assert rows_of(table) == [(*evil, 2)]
    assert not [n for n in table.notices if n.code == "formula-cell"]


def test_xlsx_sheet_selection_and_sheet_not_found(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    hidden = wb.add_worksheet("代码表")
    hidden.write_row(0, 0, ["code"])
    hidden.hide()
    first = wb.add_worksheet("处罚")
    first.write_row(0, 0, ["a"])
    first.write_row(1, 0, ["1"])
    second = wb.add_worksheet("许可")
    second.write_row(0, 0, ["b"])
    second.write_row(1, 0, ["2"])
    first.activate()
    wb.close()
    table = open_table(path)
    assert table.sheet == "处罚"  # the first visible sheet, not the hidden code list
    assert "other-sheets" in [n.code for n in table.notices]
    assert rows_of(open_table(path, sheet="许可")) == [("2", 2)]
    err = read_error(path, sheet="检查")
    assert err.code == "sheet-not-found"
    assert "“处罚”" in err.message_zh and "“许可”" in err.message_zh and "“代码表”" in err.message_zh


def test_xlsx_header_only_empty_and_duplicate(tmp_path: Path) -> None:
    header_only = write_xlsx(tmp_path, "h.xlsx", lambda wb, ws: ws.write_row(0, 0, ["a", "b"]))
    assert read_error(header_only).code == "header-only"
    empty = write_xlsx(tmp_path, "e.xlsx", lambda wb, ws: None)
    assert read_error(empty).code == "empty-file"
    dup = write_xlsx(tmp_path, "d.xlsx", lambda wb, ws: (ws.write_row(0, 0, ["名称", "x", "名称"]),
                                                        ws.write_row(1, 0, [1, 2, 3])))
    err = read_error(dup)
    assert err.code == "duplicate-column"
    assert "A 列" in err.message_zh and "C 列" in err.message_zh


def test_xlsx_value_outside_header_columns(tmp_path: Path) -> None:
    def build(wb: Any, ws: Any) -> None:
        ws.write_row(0, 0, ["a", "b"])
        ws.write_row(1, 0, [1, 2])
        ws.write(2, 3, "备注：已核实")

    err = read_error(write_xlsx(tmp_path, "n.xlsx", build))
    assert err.code == "unnamed-column"
    assert err.row == 3 and "D3" in err.message_zh


def test_xlsx_that_is_really_csv_is_read_as_csv(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "real.xlsx", "名称,金额\n张三,1\n".encode()))
    assert table.format == "csv"
    assert "format-mismatch" in [n.code for n in table.notices]
    assert rows_of(table) == [("张三", "1", 2)]
    # An explicit format is strict.
    assert read_error(tmp_path / "real.xlsx", format="xlsx").code == "not-xlsx"


def test_csv_that_is_really_xlsx_is_read_as_xlsx(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, "book.xlsx", one_column)
    renamed = path.rename(tmp_path / "book.csv")
    table = open_table(renamed)
    assert table.format == "xlsx" and "format-mismatch" in [n.code for n in table.notices]
    assert rows_of(table) == [("x", 2)]


def test_not_xlsx_variants(tmp_path: Path) -> None:
    assert read_error(write(tmp_path, "c.xlsx", b"PK\x03\x04 not really a zip")).code == "not-xlsx"
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    err = read_error(write(tmp_path, "d.xlsx", docx.getvalue()))
    assert err.code == "not-xlsx" and "Word" in err.message_zh
    html = b"<html><body><table><tr><td>1</td></tr></table></body></html>"
    err = read_error(write(tmp_path, "export.xls", html))
    assert err.code == "not-xlsx" and "HTML" in err.message_zh
    assert read_error(write(tmp_path, "p.csv", b"%PDF-1.7\n...")).code == "not-csv"
    assert read_error(write(tmp_path, "blob", b"\x00\x01\x02binary")).code == "unknown-format"


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 256 MB of zeros deflates to ~250 KB: ratio ~1000:1, well past the 200:1 / 50 MB rule.
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(256):
                member.write(block)
    return path


def test_zip_bomb_is_refused_before_calamine(zip_bomb: Path) -> None:
    err = read_error(zip_bomb)
    assert err.code == "zip-bomb"
    assert "sheet1.xml" in err.message_zh


def test_zip_total_size_limit(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, "ok.xlsx", one_column)
    err = read_error(path, max_unzipped_bytes=1000)
    assert err.code == "zip-bomb" and "超过上限" in err.message_zh


# --------------------------------------------------------------------------- JSON


def test_json_array_values_as_written(tmp_path: Path) -> None:
    text = (
        '[{"id": 123456789012345678901, "amount": 1.50, "ok": true,'
        ' "officers": ["张三", "李四"], "n": null},\n'
        ' {" id ": 2, "extra": 1e5, "ok": false, "officers": []}]'
    )
    table = open_table(write(tmp_path, "a.json", text.encode()))
    assert table.format == "json"
    assert table.headers == ["id", "amount", "ok", "officers", "n", "extra"]
    assert rows_of(table) == [
        ("123456789012345678901", "1.50", "true", "张三;李四", None, None, 1),
        ("2", None, "false", None, None, "1e5", 2),
    ]


def test_json_records_object(tmp_path: Path) -> None:
    text = '{"version": 1, "records": [{"a": "x"}, {}, {"a": "y"}], "meta": {"k": [1, 2]}}'
    table = open_table(write(tmp_path, "r.json", text.encode()))
    assert rows_of(table) == [("x", 1), ("y", 3)]
    assert read_error(write(tmp_path, "n.json", b'{"data": []}')).code == "no-records"


def test_jsonl_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    text = '{"a": 1, "b": "x"}\n\n   \n{"b": "y", "c": [1, 2.0]}\n'
    table = open_table(write(tmp_path, "l.jsonl", text.encode()))
    assert table.format == "jsonl"
    assert table.headers == ["a", "b", "c"]
    assert rows_of(table) == [("1", "x", None, 1), (None, "y", "1;2.0", 4)]


def test_json_lines_detected_in_json_file(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "l.json", b'{"a": 1}\n{"a": 2}\n'))
    assert table.format == "jsonl"
    assert rows_of(table) == [("1", 1), ("2", 2)]


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "bad.json", b'[\n  {"a": 1},\n  {"a": 2,}\n]'))
    assert err.code == "invalid-json"
    assert err.row == 3 and err.column == "11"
    assert "第 3 行第 11 列" in err.message_zh
    err = read_error(write(tmp_path, "bad.jsonl", b'{"a": 1}\n\n{"a": 2\n'))
    assert err.code == "invalid-json"
    assert err.row == 3 and "第 3 行" in err.message_zh
    assert read_error(write(tmp_path, "trail.json", b'[{"a": 1}] x')).code == "invalid-json"
    assert read_error(write(tmp_path, "nan.json", b'[{"a": NaN}]')).code == "invalid-json"
    assert read_error(write(tmp_path, "dup.json", b'[{"a": 1, "a": 2}]')).code == "invalid-json"


def test_json_non_object_items_and_nested_objects(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "x.json", b'[{"a": 1}, [1, 2]]'))
    assert err.code == "not-object" and err.row == 2 and "第 2 条记录" in err.message_zh
    err = read_error(write(tmp_path, "x.jsonl", b'{"a": 1}\n"text"\n'))
    assert err.code == "not-object" and err.row == 2
    err = read_error(write(tmp_path, "n.json", b'[{"a": 1}, {"a": {"b": 1}}]'))
    assert err.code == "nested-object" and err.row == 2 and "“a”" in err.message_zh
    assert read_error(write(tmp_path, "e.json", b"[]")).code == "empty-file"


def test_json_streaming_small_buffers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny read buffers and no cache: exercise refills, item-by-item parsing and line tracking.
    monkeypatch.setattr(json_reader, "READ_CHARS", 64)
    monkeypatch.setattr(json_reader, "CACHE_BYTES", 0)
    items = [{"id": i, "name": f"名称{i}", "note": "x" * (i % 50)} for i in range(500)]
    path = write(tmp_path, "s.json", json.dumps(items, ensure_ascii=False, indent=1).encode())
    table = open_table(path)
    chunks = list(table.chunks(128))
    assert [c.height for c in chunks] == [128, 128, 128, 116]
    df = pl.concat(chunks)
    assert df["__row__"].to_list() == list(range(1, 501))
    assert df.row(499) == ("499", "名称499", "x" * 49, 500)
    broken = path.read_bytes().replace(b'"id": 250,', b'"id": 250,,')
    err = read_error(write(tmp_path, "b.json", broken))
    assert err.code == "invalid-json"
    assert err.row == broken[: broken.index(b",,")].count(b"\n") + 1


def test_jsonl_streams_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_reader, "CACHE_BYTES", 0)
    lines = "\n".join(json.dumps({"i": i, "v": f"值{i}"}, ensure_ascii=False) for i in range(10_000))
    table = open_table(write(tmp_path, "big.jsonl", lines.encode()))
    sizes = [c.height for c in table.chunks(4000)]
    assert sizes == [4000, 4000, 2000]


def test_json_long_records_with_small_limit(tmp_path: Path) -> None:
    long_value = "x" * 5000
    err = read_error(write(tmp_path, "l.jsonl", f'{{"a": 1}}\n{{"a": "{long_value}"}}\n'.encode()),
                     max_line_bytes=1000)
    assert err.code == "line-too-long" and err.row == 2
    err = read_error(write(tmp_path, "l.json", f'[{{"a": 1}},\n {{"a": "{long_value}"}}]'.encode()),
                     max_line_bytes=1000)
    assert err.code == "line-too-long" and err.row == 2


def test_json_gbk(tmp_path: Path) -> None:
    table = open_table(write(tmp_path, "g.json", '[{"名称": "广州市"}]'.encode("gbk")))
    assert table.encoding == "gb18030"
    assert rows_of(table) == [("广州市", 1)]


# --------------------------------------------------------------------------- generic


def test_max_bytes_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b"a,b\n1,2\n" * 200_000)
    err = read_error(path, max_bytes=1024 * 1024)
    assert err.code == "file-too-large"
    assert "1.5 MB" in err.message_zh and "1.0 MB" in err.message_zh
    assert read_error(tmp_path / "missing.csv").code == "file-not-found"


def test_bytes_source_and_name(tmp_path: Path) -> None:
    table = open_table("名称\n张三\n".encode(), name="上传.csv")
    assert table.name == "上传.csv" and table.path is None
    assert rows_of(table) == [("张三", 2)]
    err = read_error(b"a,b\n1\n", name="upload.csv")
    assert err.code == "ragged-row" and "upload.csv" in err.message_zh
    assert err.message("en").startswith("upload.csv")


def test_chunks_can_be_read_twice_and_abandoned(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", b"a\n" + b"x\n" * 300_000)
    table = open_table(path)
    first = next(iter(table.chunks(1000)))
    assert first.height == 1000
    assert read_all(table).height == 300_000


# --------------------------------------------------------------------------- robustness


def _mutations() -> st.SearchStrategy[bytes]:
    seeds = [
        '名称,金额\n张三,1\n"李,四","2\n3"\n'.encode(),
        '名称,金额\n张三,1\n'.encode("gbk"),
        b'[{"a": 1, "b": [1, 2]}, {"a": "x"}]',
        b'{"a": 1}\n{"b": 2}\n',
    ]
    edits = st.lists(st.tuples(st.integers(0, 200), st.binary(max_size=3)), max_size=6)

    def apply(seed: bytes, changes: list[tuple[int, bytes]]) -> bytes:
        out = bytearray(seed)
        for at, chunk in changes:
            at = min(at, len(out))
            out[at:at + len(chunk) // 2] = chunk
        return bytes(out)

    return st.builds(apply, st.sampled_from(seeds), edits) | st.binary(max_size=300)


@settings(max_examples=200, deadline=None)
@given(data=_mutations(), name=st.sampled_from(["f.csv", "f.xlsx", "f.json", "f.jsonl", "f", "f.xls"]),
       limit=st.sampled_from([16 << 20, 40]))
def test_bad_input_only_ever_raises_read_error(data: bytes, name: str, limit: int) -> None:
    try:
        table = open_table(data, name=name, max_line_bytes=limit)
        for _ in table.chunks(2):
            pass
    except ReadError as err:
        assert err.code and err.message_zh and err.message_en
