"""The standard as human documentation (docs/standard.md), generated and never edited by hand.

Deterministic: the same standard gives the same text byte for byte (no timestamps), so a test
can hold the committed file to the standard.
"""

from __future__ import annotations

from enforcehub.standard.exports.describe import (
    KIND_ZH,
    explanation_zh,
    length_text,
    required_zh,
    rule_codes,
    rule_zh,
    type_zh,
)
from enforcehub.standard.exports.values import codeset_of, plain
from enforcehub.standard.model import CodeSet, Dataset, Element, Rule, Standard
from enforcehub.validate.catalogue import CATALOGUE

GENERATED = (
    "> 本文件由 `enforcehub standard export --format markdown` 从 `src/enforcehub/standard/files/` 生成，"
    "请勿手工编辑。Generated from the standard files; do not edit by hand."
)
_HEAD_KEYS = ("title", "topic", "subject", "name", "id")
_PLAIN_KEYS = ("text", "note", "choice", "decision")


def to_markdown(standard: Standard, dataset: str | None = None) -> str:
    """The docs of the whole standard (or of one dataset and the code sets it uses) as Markdown."""
    datasets = [standard.dataset(dataset)] if dataset else list(standard.datasets.values())
    used = {e.codeset for ds in datasets for e in ds.elements if e.codeset}
    codesets = [cs for name, cs in standard.codesets.items() if dataset is None or name in used]
    parts = [_intro(standard), _notes(standard), _contents(datasets, codesets)]
    parts += [_dataset(standard, ds, number) for number, ds in enumerate(datasets, start=1)]
    parts.append(_codesets(standard, codesets, datasets))
    parts.append(_findings(datasets))
    return "\n\n".join(p.rstrip("\n") for p in parts if p) + "\n"


def cell(text: str) -> str:
    """Text made safe for a table cell: pipes escaped, line breaks as <br>."""
    lines = (line.strip().replace("|", "\\|") for line in text.strip().splitlines())
    return "<br>".join(line for line in lines if line)


def code(text: str) -> str:
    """Inline code (with backticks chosen so the text may hold a backtick)."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _intro(standard: Standard) -> str:
    meta = standard.meta
    seps = " ".join(code(s) for s in meta.multi_value_separators)
    first = next((ds for ds in standard.datasets.values() if ds.elements), None)
    example = f"（如 {first.table} → {first.elements[0].id}）" if first else ""
    return f"""# {meta.title}

{meta.title_en}

{GENERATED}

- 版本 Version：{meta.version}
- 发布日期 Published：{meta.published}
- 机器可读版本 Machine-readable：`enforcehub standard export --format json | jsonschema | frictionless | xlsx`

## 如何阅读 How to read

- 每个数据集（表）有固定英文名（如 `penalty`）、表代码和业务主键；数据项编号由表代码加序号组成{example}。
- **name** 是英文名，CSV 文件和接口使用它作列名/键名；表格文件也可使用中文名称、数据项编号、\
双公示字段名或所列别名作表头（忽略大小写、全半角、空格和表头前的 `*`）。
- **类型**：字符型、整数、数值（小数）、日期（YYYY-MM-DD，亦接受 YYYY/MM/DD、YYYYMMDD）、\
日期时间（YYYY-MM-DD HH:MM:SS，北京时间）、布尔（是/否、true/false、1/0）、代码（取自代码集）。
- **长度**：字符型和代码的最大字符数（`1–128` 表示最少 1、最多 128）；数值为“总位数,小数位数”。
- **必填**：是 / 否 / 条件（满足所述条件时必填）。
- **代码集**：可填写代码、名称或别名，平台统一转换为代码保存。多值项用 {code(";")} 分隔（亦接受 {seps}）。
- 日期 {meta.long_term_date} 表示“长期”。
- 校验不通过时，结果中的代码见文末“校验结果代码”。"""


def _notes(standard: Standard) -> str:
    if not standard.meta.notes:
        return ""
    lines = ["## 取舍说明 Choices", "", "标准来源未作规定之处所作的选择："]
    lines.append("")
    for note in standard.meta.notes:
        head = next((k for k in _HEAD_KEYS if k in note), None)
        rest = [
            value.strip() if key in _PLAIN_KEYS else f"{key}: {value.strip()}"
            for key, value in note.items()
            if key != head
        ]
        lead = f"**{note[head].strip()}**" if head else ""
        lines.append("- " + "：".join(p for p in (lead, " ".join(rest)) if p))
    return "\n".join(lines)


def _contents(datasets: list[Dataset], codesets: list[CodeSet]) -> str:
    lines = ["## 目录 Contents", ""]
    for number, ds in enumerate(datasets, start=1):
        count = len(ds.elements)
        lines.append(f"{number}. [{ds.title} `{ds.name}`](#{ds.name}) — {ds.table}，{count} 个数据项")
    lines.append(f"{len(datasets) + 1}. [代码集 Code sets](#codesets)（{len(codesets)} 个）")
    lines.append(f"{len(datasets) + 2}. [校验结果代码 Finding codes](#findings)")
    return "\n".join(lines)


def _dataset(standard: Standard, dataset: Dataset, number: int) -> str:
    key = " + ".join(code(k) for k in dataset.key)
    lines = [
        f'<a id="{dataset.name}"></a>',
        "",
        f"## {number}. {dataset.title} `{dataset.name}`",
        "",
        f"- 英文名称：{dataset.title_en}",
        f"- 表代码：{dataset.table}；类别：{KIND_ZH[dataset.kind]}（{dataset.kind}）",
        f"- 业务主键：{key}",
        "",
        dataset.description.strip(),
    ]
    if dataset.note:
        lines += ["", f"> 注：{dataset.note.strip()}"]
    lines += [
        "",
        "| 编号 | name | 中文名称 | 类型 | 长度 | 必填 | 代码集/校验 | 说明 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_element_row(standard, dataset, e) for e in dataset.elements]
    if dataset.rules:
        lines += ["", "### 规则 Rules", ""]
        lines += [f"{i}. {_rule_line(standard, dataset, r)}" for i, r in enumerate(dataset.rules, start=1)]
    return "\n".join(lines)


def _element_row(standard: Standard, dataset: Dataset, element: Element) -> str:
    checks: list[str] = []
    codeset = codeset_of(standard, element)
    if codeset is not None:
        checks.append(f"[{codeset.title}](#codeset-{codeset.name}) {code(codeset.name)}")
    if element.multiple:
        checks.append("多值")
    if element.pattern is not None:
        checks.append(f"格式 {code(element.pattern)}")
    if element.check is not None:
        checks.append(f"校验 {code(element.check)}")
    unit = element.unit or ""
    if element.minimum is not None:
        checks.append(f"{'>' if element.exclusive_minimum else '≥'} {_number(element.minimum)}{unit}")
    if element.maximum is not None:
        checks.append(f"≤ {_number(element.maximum)}{unit}")
    required = required_zh(standard, dataset, element)
    name = code(element.name) + (" 🔒" if element.personal else "")
    cells = [
        element.id,
        name,
        element.title,
        type_zh(element),
        length_text(element),
        required,
        "；".join(checks),
        explanation_zh(element),
    ]
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def _rule_line(standard: Standard, dataset: Dataset, rule: Rule) -> str:
    sentence = rule_zh(standard, dataset, rule)
    head = f"**{rule.title}**：" if rule.title else ""
    tail = [f"代码 {'、'.join(code(c) for c in rule_codes(rule))}"]
    if rule.basis:
        tail.append(f"依据：{rule.basis}")
    if rule.severity == "warning":
        tail.append("警告（不拒收）")
    text = f"{head}{sentence}。（{'；'.join(tail)}）"
    if rule.title_en:
        text += f" — {rule.title_en}"
    if rule.note:
        text += f"<br>注：{rule.note.strip()}"
    return text


def _codesets(standard: Standard, codesets: list[CodeSet], datasets: list[Dataset]) -> str:
    lines = ['<a id="codesets"></a>', "", "## 代码集 Code sets"]
    for codeset in codesets:
        users = [f"{ds.name}.{e.name}" for ds in datasets for e in ds.elements if e.codeset == codeset.name]
        lines += ["", f'<a id="codeset-{codeset.name}"></a>', "", f"### {codeset.title} `{codeset.name}`", ""]
        if codeset.title_en:
            lines.append(f"- 英文名称：{codeset.title_en}")
        if codeset.source:
            lines.append(f"- 来源：{codeset.source}")
        if users:
            lines.append(f"- 使用者：{'、'.join(code(u) for u in users)}")
        if codeset.prefix_values:
            prefixes = "、".join(code(p) for p in codeset.prefix_values)
            lines.append(f"- 亦接受以 {prefixes} 开头的任意值（按原样保存）")
        if codeset.note:
            lines.append(f"- 注：{codeset.note.strip()}")
        lines += ["", "| 代码 | 名称 | English | 别名 | 说明 |", "|---|---|---|---|---|"]
        for item in codeset.codes:
            cells = [code(item.code), item.label, item.en or "", "、".join(item.aliases), item.note or ""]
            lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _findings(datasets: list[Dataset]) -> str:
    lines = [
        '<a id="findings"></a>',
        "",
        "## 校验结果代码 Finding codes",
        "",
        "每条校验结果带一个稳定的代码。信息模板中 `{title}` 为数据项中文名称，"
        "`{name}` 为英文名，`{value}` 为所填的值。",
        "",
        "| 代码 | 中文信息 | English |",
        "|---|---|---|",
    ]
    for name, message in CATALOGUE.items():
        lines.append(f"| {code(name)} | {cell(message.zh)} | {cell(message.en)} |")
    rows: list[str] = []
    for ds in datasets:
        for rule in ds.rules:
            if rule.code and rule.code not in CATALOGUE:
                title = rule.title or ""
                severity = "警告" if rule.severity == "warning" else "错误"
                cells = [code(rule.code), code(ds.name), cell(title), cell(rule.title_en or ""), severity]
                rows.append("| " + " | ".join(cells) + " |")
    if rows:
        lines += [
            "",
            "### 规则代码 Rule codes",
            "",
            "数据集规则自带的代码，信息按规则标题显示。",
            "",
            "| 代码 | 数据集 | 中文 | English | 严重程度 |",
            "|---|---|---|---|---|",
        ]
        lines += rows
    return "\n".join(lines)


def _number(value: float | str) -> str:
    return str(plain(value))
