"""The standard in words: types, lengths, requirements, conditions and rules, in Chinese.

Shared by the Markdown docs, the XLSX template and the JSON export, so a clerk reading the
template and an engineer reading the docs see the same sentence for the same rule.
"""

from __future__ import annotations

from enforcehub.standard.exports.values import codeset_of, label_of, plain
from enforcehub.standard.model import CheckName, Condition, Dataset, Element, Rule, Standard
from enforcehub.validate.columns import TRUE_WORDS

TYPE_ZH: dict[str, str] = {
    "string": "字符型",
    "integer": "整数",
    "decimal": "数值",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "布尔（是/否）",
    "code": "代码",
}

CHECK_ZH: dict[CheckName, str] = {
    "uscc": "统一社会信用代码校验（GB 32100）",
    "resident-id": "居民身份证号码校验（GB 11643）",
    "org-code": "组织机构代码校验（GB 11714）",
    "division-code": "广东省现行行政区划代码（GB/T 2260）",
    "law-citation": "法律依据引用校验（《名称》第X条，施行中）",
}

# The finding codes each semantic check can report (docs/standard-format.md).
CHECK_CODES: dict[CheckName, tuple[str, ...]] = {
    "uscc": ("uscc-format", "uscc-checksum", "uscc-category", "uscc-placeholder", "uscc-org-code"),
    "resident-id": (
        "resident-id-format",
        "resident-id-birth-date",
        "resident-id-checksum",
        "resident-id-region",
    ),
    "org-code": ("org-code-format", "org-code-checksum"),
    "division-code": ("division-code",),
    "law-citation": ("law-citation-format", "law-not-in-force", "law-article-missing", "law-unknown"),
}

KIND_ZH = {"action": "执法行为数据", "reference": "基础数据"}

# The code a rule reports when it does not name its own (enforcehub.validate.compiler).
_DEFAULT_RULE_CODE = {
    "date-order": "date-order",
    "required-if": "required",
    "forbidden-unless": "not-applicable",
    "max-when": "above-maximum",
    "not-future": "future-date",
}


def quoted(dataset: Dataset, name: str) -> str:
    """An element named by its Chinese title, in 「」."""
    return f"「{dataset.element(name).title}」"


def type_zh(element: Element) -> str:
    """The element's type in Chinese, with 多值 for multi-valued fields."""
    text = TYPE_ZH[element.type]
    return text + "（多值）" if element.multiple else text


def length_text(element: Element) -> str:
    """Length or precision as a short text: `128`, `1–128`, `≥2`, `18,2`; empty when unbounded."""
    if element.precision is not None:
        return f"{element.precision[0]},{element.precision[1]}"
    if element.min_length is not None and element.max_length is not None:
        if element.min_length == element.max_length:
            return str(element.max_length)
        return f"{element.min_length}–{element.max_length}"
    if element.max_length is not None:
        return str(element.max_length)
    if element.min_length is not None:
        return f"≥{element.min_length}"
    return ""


def value_words(standard: Standard, dataset: Dataset, name: str, values: tuple[str, ...]) -> str:
    """Condition values as people read them: code labels, 是/否 for booleans."""
    element = dataset.element(name)
    codeset = codeset_of(standard, element)
    words: list[str] = []
    for value in values:
        if codeset is not None:
            words.append(label_of(codeset, value))
        elif element.type == "boolean":
            words.append("是" if str(value).lower() in TRUE_WORDS else "否")
        else:
            words.append(str(value))
    return "、".join(f"“{w}”" for w in words)


def condition_zh(standard: Standard, dataset: Dataset, cond: Condition) -> str:
    """A condition in Chinese words, e.g. 「当事人类别」为“自然人”且「罚款金额」已填写."""
    if cond.all is not None:
        return "且".join(_nested(standard, dataset, c) for c in cond.all)
    if cond.any is not None:
        return "或".join(_nested(standard, dataset, c) for c in cond.any)
    assert cond.field is not None  # the loader guarantees exactly one form
    title = quoted(dataset, cond.field)
    if cond.present is not None:
        return f"{title}已填写" if cond.present else f"{title}未填写"
    values = cond.in_ if cond.in_ is not None else cond.not_in or ()
    words = value_words(standard, dataset, cond.field, values)
    multiple = dataset.element(cond.field).multiple
    if cond.in_ is not None:
        verb = "含有" if multiple else "为"
        return f"{title}{verb}{words}" + ("之一" if len(values) > 1 else "")
    verb = "不含" if multiple else "不为"
    return f"{title}已填写且{verb}{words}"


def _nested(standard: Standard, dataset: Dataset, cond: Condition) -> str:
    text = condition_zh(standard, dataset, cond)
    return f"（{text}）" if cond.all is not None or cond.any is not None else text


def required_zh(standard: Standard, dataset: Dataset, element: Element) -> str:
    """是, 否, or 条件：<the condition in words>."""
    if element.required is True:
        return "是"
    if element.required == "conditional" and element.when is not None:
        return f"条件：{condition_zh(standard, dataset, element.when)}时必填"
    return "否"


def bounds_zh(element: Element) -> list[str]:
    """Minimum and maximum as `≥ 0`, `> 0`, `≤ 100000000`, with the unit."""
    unit = element.unit or ""
    parts: list[str] = []
    if element.minimum is not None:
        sign = ">" if element.exclusive_minimum else "≥"
        parts.append(f"{sign} {plain(element.minimum)}{unit}")
    if element.maximum is not None:
        parts.append(f"≤ {plain(element.maximum)}{unit}")
    return parts


def checks_zh(standard: Standard, element: Element, *, pattern_quote: str = "") -> list[str]:
    """Everything checked on the element's value, besides type and length, as short phrases."""
    parts: list[str] = []
    codeset = codeset_of(standard, element)
    if codeset is not None:
        parts.append(f"代码集：{codeset.title}（{codeset.name}）")
    if element.multiple:
        parts.append("多值，用“;”分隔")
    if element.pattern is not None:
        parts.append(f"格式：{pattern_quote}{element.pattern}{pattern_quote}")
    if element.check is not None:
        parts.append(CHECK_ZH[element.check])
    parts += bounds_zh(element)
    return parts


def sentence(text: str) -> str:
    """`text` stripped and ending in a full stop (。) unless it already ends in one."""
    text = text.strip()
    return text if not text or text[-1] in "。！？.!?" else text + "。"


def explanation_zh(element: Element) -> str:
    """The 说明 of an element: definition, unit, 双公示 column, accepted alias headers, note."""
    parts = [element.definition.strip()]
    if element.unit:
        parts.append(f"单位：{element.unit}")
    headers = [a.header + (f"（×{plain(a.scale)}）" if a.scale else "") for a in element.aliases]
    if element.shuanggongshi:
        parts.append(f"双公示字段：{element.shuanggongshi}")
    if headers:
        parts.append("亦接受表头：" + "、".join(headers))
    if element.personal:
        parts.append("个人信息（对外共享时脱敏）")
    if element.note:
        parts.append(f"注：{element.note.strip()}")
    return "".join(sentence(p) for p in parts)


def rule_codes(rule: Rule) -> tuple[str, ...]:
    """The finding codes a rule reports."""
    if rule.kind == "check-when" and rule.check is not None:
        return CHECK_CODES[rule.check]
    if rule.code:
        return (rule.code,)
    return (_DEFAULT_RULE_CODE.get(rule.kind, "rule"),)


def rule_zh(standard: Standard, dataset: Dataset, rule: Rule) -> str:
    """What a rule requires, in one Chinese sentence (without code or basis)."""
    when = f"当{condition_zh(standard, dataset, rule.when)}时，" if rule.when is not None else ""
    field = quoted(dataset, rule.field) if rule.field else ""
    match rule.kind:
        case "date-order":
            sign = " < " if rule.strict else " ≤ "
            order = sign.join(quoted(dataset, n) for n in rule.fields)
            verb = "须晚于" if rule.strict else "不得早于"
            return f"{when}日期先后：{order}（已填写的日期{verb}排在其前的日期）"
        case "required-if":
            return f"{when}{field}必填"
        case "forbidden-unless":
            cond = condition_zh(standard, dataset, rule.when) if rule.when is not None else ""
            return f"仅当{cond}时可填写{field}，否则应为空"
        case "max-when":
            unit = (dataset.element(rule.field).unit or "") if rule.field else ""
            return f"{when}{field}不得大于 {plain(rule.max or 0)}{unit}"
        case "values-subset-when":
            words = value_words(standard, dataset, rule.field or "", rule.allowed)
            return f"{when}{field}只能填写{words}"
        case "days-between":
            start, end = quoted(dataset, rule.start or ""), quoted(dataset, rule.end or "")
            text = f"{when}{end}距{start}不得超过 {plain(rule.max or 0)} 日"
            if rule.max_if is not None:
                cond = condition_zh(standard, dataset, rule.max_if.when)
                text += f"（{cond}时不得超过 {plain(rule.max_if.max)} 日）"
            return text
        case "check-when":
            check = CHECK_ZH[rule.check] if rule.check else ""
            return f"{when}{field}须通过{check}"
        case "not-future":
            return f"{when}{'、'.join(quoted(dataset, n) for n in rule.fields)}不得晚于今天（北京时间）"
        case "min-items":
            return f"{when}{field}至少填写 {rule.min} 项"
    raise AssertionError(rule.kind)  # pragma: no cover - the model's Literal is exhaustive
