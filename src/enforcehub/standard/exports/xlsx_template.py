"""The XLSX reporting template agencies fill in (报送模板).

One sheet per dataset, named by its Chinese title. Row 1 holds the headers and nothing else, so
a filled-in template validates as it is: Chinese titles, `*` before required ones (the header
matcher strips it). Each header cell has an input message (definition, 必填, 长度) and a comment
with the element id and English name. Code columns get a drop-down of labels (from the hidden
sheet 下拉选项 via defined names, since list literals are limited to 255 characters); dates,
numbers and lengths get Excel validations; text columns are formatted as text so 18-digit codes
stay text. Sheets 填报说明 (every element explained, then the rules) and 代码表 (every code set
used) follow.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from enforcehub.standard.exports.describe import (
    CHECK_ZH,
    TYPE_ZH,
    bounds_zh,
    explanation_zh,
    length_text,
    required_zh,
    rule_codes,
    rule_zh,
    type_zh,
)
from enforcehub.standard.exports.values import codeset_of, plain
from enforcehub.standard.model import CodeSet, Dataset, Element, Standard

GUIDE_SHEET = "填报说明"
CODES_SHEET = "代码表"
LISTS_SHEET = "下拉选项"
GUIDE_HEADERS = ("数据集", "数据项编号", "名称", "英文名", "类型", "长度", "必填", "代码集", "校验", "说明")
CODES_HEADERS = ("代码集", "代码集名称", "代码", "名称", "英文", "别名", "说明")
RULE_HEADERS = ("数据集", "规则", "结果代码", "依据", "严重程度")
LAST_ROW = 1_048_575  # Excel's last row (0-based): validations cover the whole column
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_EARLIEST = dt.date(1900, 1, 1)
Target = str | Path | IO[bytes]


def to_xlsx(standard: Standard, dataset: str | None = None, target: Target | None = None) -> bytes:
    """The template for every dataset (or only `dataset`) as XLSX bytes; also written to `target` if given."""
    datasets = [standard.dataset(dataset)] if dataset else list(standard.datasets.values())
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    _Template(standard, workbook).build(datasets)
    workbook.close()
    data = buffer.getvalue()
    if isinstance(target, str | Path):
        Path(target).write_bytes(data)
    elif target is not None:
        target.write(data)
    return data


def sheet_names(datasets: list[Dataset]) -> dict[str, str]:
    """Dataset name → sheet name: the Chinese title made valid (≤31 chars, no []:*?/\\) and unique."""
    taken = {GUIDE_SHEET, CODES_SHEET, LISTS_SHEET}
    names: dict[str, str] = {}
    for ds in datasets:
        base = _BAD_SHEET_CHARS.sub("_", ds.title).strip("'")[:31] or ds.name[:31]
        name, n = base, 2
        while name.lower() in {t.lower() for t in taken}:
            suffix = f"({n})"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        taken.add(name)
        names[ds.name] = name
    return names


def dropdown_choices(codeset: CodeSet) -> list[str]:
    """What a code column's drop-down offers: the labels, or the codes when labels repeat (市辖区)."""
    labels = [c.label for c in codeset.codes]
    return labels if len(set(labels)) == len(labels) else [c.code for c in codeset.codes]


def header_text(element: Element) -> str:
    """The header cell of an element: its Chinese title, with `*` when required."""
    return ("*" if element.required is True else "") + element.title


def display_width(text: str) -> int:
    """Width in Excel character units: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


class _Template:
    def __init__(self, standard: Standard, workbook: Any) -> None:
        self.standard = standard
        self.workbook = workbook
        add = workbook.add_format
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        head = {
            **base,
            "bold": True,
            "bg_color": "#DDEBF7",
            "border": 1,
            "text_wrap": True,
            "align": "center",
        }
        self.header = add(head)
        self.header_required = add({**head, "font_color": "#C00000"})
        self.title = add({**base, "bold": True, "font_size": 14})
        self.wrap = add({**base, "text_wrap": True, "valign": "top"})
        self.text = add({**base, "num_format": "@"})
        self.date = add({**base, "num_format": "yyyy-mm-dd"})
        self.datetime = add({**base, "num_format": "yyyy-mm-dd hh:mm:ss"})
        self.integer = add({**base, "num_format": "0"})
        self.general = add(base)
        self.decimals: dict[int, Any] = {}
        self.lists: dict[str, str] = {}

    def build(self, datasets: list[Dataset]) -> None:
        meta = self.standard.meta
        self.workbook.set_properties(
            {
                "title": f"{meta.title} {meta.version} 报送模板",
                "subject": meta.title_en,
                "author": "enforcehub",
                "created": _published(meta.published),
            }
        )
        names = sheet_names(datasets)
        used = self.codesets_used(datasets)
        data_sheets = [(ds, self.workbook.add_worksheet(names[ds.name])) for ds in datasets]
        guide = self.workbook.add_worksheet(GUIDE_SHEET)
        codes = self.workbook.add_worksheet(CODES_SHEET)
        lists = self.workbook.add_worksheet(LISTS_SHEET)
        self.write_lists(lists, [c for c in used if self.needs_list(c, datasets)])
        for ds, sheet in data_sheets:
            self.write_dataset(sheet, ds)
        self.write_guide(guide, datasets, names)
        self.write_codes(codes, used)
        lists.hide()
        data_sheets[0][1].activate()

    def codesets_used(self, datasets: list[Dataset]) -> list[CodeSet]:
        names = {e.codeset for ds in datasets for e in ds.elements if e.type == "code" and e.codeset}
        return [cs for name, cs in self.standard.codesets.items() if name in names]

    @staticmethod
    def needs_list(codeset: CodeSet, datasets: list[Dataset]) -> bool:
        return any(e.codeset == codeset.name and not e.multiple for ds in datasets for e in ds.elements)

    # --- sheets -------------------------------------------------------------------------------

    def write_lists(self, sheet: Any, codesets: list[CodeSet]) -> None:
        for col, codeset in enumerate(codesets):
            sheet.write_string(0, col, codeset.name)
            for row, choice in enumerate(dropdown_choices(codeset), start=1):
                sheet.write_string(row, col, choice)
            letter = xlsxwriter.utility.xl_col_to_name(col)
            name = f"list_{codeset.name}"
            last = len(codeset.codes) + 1
            self.workbook.define_name(name, f"='{LISTS_SHEET}'!${letter}$2:${letter}${last}")
            self.lists[codeset.name] = name

    def write_dataset(self, sheet: Any, dataset: Dataset) -> None:
        sheet.freeze_panes(1, 0)
        sheet.set_row(0, 36)
        for col, element in enumerate(dataset.elements):
            header = header_text(element)
            sheet.set_column(col, col, self.width(element, header), self.column_format(element))
            style = self.header_required if element.required is True else self.header
            sheet.write_string(0, col, header, style)
            sheet.write_comment(
                0,
                col,
                f"{element.id}  {element.name}\n{element.title_en or ''}".strip(),
                {"x_scale": 1.6, "y_scale": 0.8},
            )
            sheet.data_validation(
                0,
                col,
                0,
                col,
                {
                    "validate": "any",
                    "input_title": _cut(element.title, 32),
                    "input_message": _cut(self.input_message(dataset, element), 255),
                },
            )
            validation = self.validation(element)
            if validation is not None:
                sheet.data_validation(1, col, LAST_ROW, col, validation)

    def write_guide(self, sheet: Any, datasets: list[Dataset], names: dict[str, str]) -> None:
        meta = self.standard.meta
        sheet.write_string(0, 0, f"《{meta.title}》{meta.version} 报送模板填报说明", self.title)
        notes = [
            "1. 每个数据集一张工作表，第一行为表头，请勿修改或删除表头；"
            "数据从第二行起逐行填写，不要合并单元格。",
            "2. 表头带“*”的为必填项；“必填”为“条件”的，满足所述条件时必填。",
            "3. 代码类数据项可从下拉列表选择名称，也可填写代码或别名（见“代码表”）；"
            f"多值项用英文分号“;”分隔（亦接受 {' '.join(meta.multi_value_separators[1:])}）。",
            "4. 日期填写为 YYYY-MM-DD（如 2024-03-15），日期时间为 YYYY-MM-DD HH:MM:SS；"
            f"长期有效填 {meta.long_term_date}。",
            "5. 统一社会信用代码、身份证号码等请按文本填写，避免被转成数字；金额等数值不带单位。",
            "6. 表头也可使用英文名或数据项编号（CSV 文件和接口使用英文名）。",
        ]
        for row, note in enumerate(notes, start=1):
            sheet.write_string(row, 0, note)
        row = len(notes) + 2
        for col, head in enumerate(GUIDE_HEADERS):
            sheet.write_string(row, col, head, self.header)
        sheet.freeze_panes(row + 1, 0)
        for ds in datasets:
            for element in ds.elements:
                row += 1
                codeset = codeset_of(self.standard, element)
                checks = self.checks(element)
                cells = (
                    names[ds.name],
                    element.id,
                    element.title,
                    element.name,
                    type_zh(element),
                    length_text(element),
                    required_zh(self.standard, ds, element),
                    f"{codeset.title}（{codeset.name}）" if codeset else "",
                    "；".join(checks),
                    explanation_zh(element),
                )
                for col, value in enumerate(cells):
                    sheet.write_string(row, col, value, self.wrap)
        row += 2
        sheet.write_string(row, 0, "校验规则", self.title)
        row += 1
        for col, head in enumerate(RULE_HEADERS):
            sheet.write_string(row, col, head, self.header)
        for ds in datasets:
            for rule in ds.rules:
                row += 1
                sentence = rule_zh(self.standard, ds, rule)
                text = f"{rule.title}：{sentence}" if rule.title else sentence
                severity = "警告" if rule.severity == "warning" else "错误"
                rule_cells = (names[ds.name], text, "、".join(rule_codes(rule)), rule.basis or "", severity)
                for col, value in enumerate(rule_cells):
                    sheet.write_string(row, col, value, self.wrap)
        for col, width in enumerate((14, 12, 24, 26, 10, 8, 24, 22, 30, 60)):
            sheet.set_column(col, col, width)

    def write_codes(self, sheet: Any, codesets: list[CodeSet]) -> None:
        for col, head in enumerate(CODES_HEADERS):
            sheet.write_string(0, col, head, self.header)
        sheet.freeze_panes(1, 0)
        row = 0
        for codeset in codesets:
            for code in codeset.codes:
                row += 1
                cells = (
                    codeset.name,
                    codeset.title,
                    code.code,
                    code.label,
                    code.en or "",
                    "、".join(code.aliases),
                    code.note or "",
                )
                for col, value in enumerate(cells):
                    sheet.write_string(row, col, value, self.text)
            for prefix in codeset.prefix_values:
                row += 1
                cells = (
                    codeset.name,
                    codeset.title,
                    f"{prefix}…",
                    f"{prefix}<说明>",
                    "",
                    "",
                    f"以“{prefix}”开头的值按原样接受",
                )
                for col, value in enumerate(cells):
                    sheet.write_string(row, col, value, self.text)
        for col, width in enumerate((24, 28, 12, 30, 30, 30, 40)):
            sheet.set_column(col, col, width)

    # --- one column ---------------------------------------------------------------------------

    def checks(self, element: Element) -> list[str]:
        parts: list[str] = []
        if element.multiple:
            parts.append("多值，用“;”分隔")
        if element.pattern is not None:
            parts.append(f"格式：{element.pattern}")
        if element.check is not None:
            parts.append(CHECK_ZH[element.check])
        return parts + bounds_zh(element)

    def input_message(self, dataset: Dataset, element: Element) -> str:
        lines = [element.definition.strip(), f"必填：{required_zh(self.standard, dataset, element)}"]
        kind = TYPE_ZH[element.type]
        length = length_text(element)
        lines.append(f"类型：{kind}" + (f"；长度：{length}" if length else ""))
        if element.type == "date":
            lines.append("格式：YYYY-MM-DD")
        elif element.type == "datetime":
            lines.append("格式：YYYY-MM-DD HH:MM:SS")
        codeset = codeset_of(self.standard, element)
        if codeset is not None:
            if element.multiple:
                how = "多个值用“;”分隔，可填代码、名称或别名"
            elif dropdown_choices(codeset)[0] == codeset.codes[0].label:
                how = "从下拉列表选择名称，也可填代码或别名"
            else:
                how = "从下拉列表选择代码，也可填名称"
            lines.append(f"代码集：{codeset.title}，{how}")
        lines += [c for c in self.checks(element) if not c.startswith("多值")]
        if element.unit:
            lines.append(f"单位：{element.unit}")
        return "\n".join(lines)

    def column_format(self, element: Element) -> Any:
        match element.type:
            case "date":
                return self.date
            case "datetime":
                return self.datetime
            case "integer":
                return self.integer
            case "decimal":
                scale = element.precision[1] if element.precision else None
                if scale is None:
                    return self.general
                if scale not in self.decimals:
                    pattern = "0." + "0" * scale if scale else "0"
                    self.decimals[scale] = self.workbook.add_format(
                        {"font_name": "宋体", "font_size": 11, "valign": "vcenter", "num_format": pattern}
                    )
                return self.decimals[scale]
            case "boolean":
                return self.general
        return self.text

    def validation(self, element: Element) -> dict[str, Any] | None:
        error = {"error_title": _cut(element.title, 32)}
        codeset = codeset_of(self.standard, element)
        if codeset is not None and not element.multiple:
            return {
                "validate": "list",
                "source": f"={self.lists[codeset.name]}",
                "error_type": "warning",
                **error,
                "error_message": "请从下拉列表选择；代码、名称或别名也可接受（见“代码表”）。",
            }
        if element.type == "boolean":
            return {
                "validate": "list",
                "source": ["是", "否"],
                **error,
                "error_message": "请填写“是”或“否”。",
            }
        if element.type in ("date", "datetime"):
            low = _as_date(element.minimum, _EARLIEST)
            long_term = _as_date(self.standard.meta.long_term_date, dt.date(2099, 12, 31))
            high = _as_date(element.maximum, long_term)
            if element.exclusive_minimum:
                low += dt.timedelta(days=1)
            return {
                "validate": "date",
                "criteria": "between",
                "minimum": low,
                "maximum": high,
                **error,
                "error_message": f"请填写 {low} 至 {high} 之间的日期（YYYY-MM-DD）。",
            }
        if element.type in ("integer", "decimal"):
            return self.number_validation(element, error)
        if element.max_length is not None:
            low_len = element.min_length or 0
            return {
                "validate": "length",
                "criteria": "between",
                "minimum": low_len,
                "maximum": element.max_length,
                **error,
                "error_message": f"长度应为 {low_len}–{element.max_length} 个字符。",
            }
        return None

    @staticmethod
    def number_validation(element: Element, error: dict[str, str]) -> dict[str, Any]:
        kind = "integer" if element.type == "integer" else "decimal"
        low = None if element.minimum is None else plain(float(element.minimum))
        high = None if element.maximum is None else plain(float(element.maximum))
        words = "整数" if kind == "integer" else "数值"
        if low is not None and high is not None and not element.exclusive_minimum:
            rule = {"criteria": "between", "minimum": low, "maximum": high}
            text = f"请填写 {low} 至 {high} 之间的{words}。"
        elif low is not None:
            # Excel cannot say "> low and <= high" at once; the upper bound is left to the hub.
            rule = {"criteria": ">" if element.exclusive_minimum else ">=", "value": low}
            text = f"请填写{'大于' if element.exclusive_minimum else '不小于'} {low} 的{words}。"
        elif high is not None:
            rule = {"criteria": "<=", "value": high}
            text = f"请填写不大于 {high} 的{words}。"
        else:
            rule = {"criteria": "between", "minimum": -1e15, "maximum": 1e15}
            text = f"请填写{words}。"
        return {"validate": kind, **rule, **error, "error_message": text}

    def width(self, element: Element, header: str) -> float:
        by_type = {"date": 12, "datetime": 20, "integer": 10, "decimal": 14, "boolean": 8}
        codeset = codeset_of(self.standard, element)
        if element.type in by_type:
            content = by_type[element.type]
        elif codeset is not None:
            content = max((display_width(c.label) for c in codeset.codes), default=8) + 4
            if element.multiple:
                content *= 2
        else:
            content = (element.max_length or 30) + 2
        return float(min(max(display_width(header) + 2, content, 8), 40))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_date(value: float | str | None, default: dt.date) -> dt.date:
    if value is None:
        return default
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return default


def _published(text: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = dt.date(2000, 1, 1)
    return dt.datetime(day.year, day.month, day.day)
