"""The catalogue of finding codes: one place for every message a user reads, Chinese first.

Templates take `title` (the element's Chinese title), `value` and the parameters of the check
(`max_length`, `minimum`, `pattern`, `other` …). A code missing here is a programming error,
caught by a test that walks every check the compiler can emit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    zh: str
    en: str


CATALOGUE: dict[str, Message] = {
    "required": Message("「{title}」为必填项，不能为空", "{name} is required"),
    "too-long": Message(
        "「{title}」长度超过 {max_length} 个字符（实际 {length} 个）",
        "{name} is longer than {max_length} characters ({length})",
    ),
    "too-short": Message(
        "「{title}」长度不足 {min_length} 个字符", "{name} is shorter than {min_length} characters"
    ),
    "pattern": Message(
        "「{title}」格式不正确：应符合 {pattern}", "{name} does not match the pattern {pattern}"
    ),
    "code-not-in-set": Message(
        "「{title}」的值「{value}」不在代码集「{codeset}」中（可选：{choices}）",
        "{name} value '{value}' is not in code set {codeset} (allowed: {choices})",
    ),
    "invalid-date": Message(
        "「{title}」不是有效日期，应为 YYYY-MM-DD（或 YYYY/MM/DD、YYYYMMDD）",
        "{name} is not a valid date; use YYYY-MM-DD (or YYYY/MM/DD, YYYYMMDD)",
    ),
    "invalid-datetime": Message(
        "「{title}」不是有效时间，应为 YYYY-MM-DD HH:MM:SS",
        "{name} is not a valid date-time; use YYYY-MM-DD HH:MM:SS",
    ),
    "invalid-number": Message("「{title}」不是有效数字", "{name} is not a valid number"),
    "invalid-integer": Message("「{title}」不是有效整数", "{name} is not a valid integer"),
    "invalid-boolean": Message("「{title}」应填写 是/否", "{name} must be yes/no (是/否, true/false, 1/0)"),
    "too-precise": Message(
        "「{title}」小数位数超过 {scale} 位", "{name} has more than {scale} decimal places"
    ),
    "below-minimum": Message(
        "「{title}」不能小于{strict} {minimum}", "{name} must be at least{strict_en} {minimum}"
    ),
    "above-maximum": Message("「{title}」不能大于 {maximum}", "{name} must be at most {maximum}"),
    "uscc-format": Message(
        "「{title}」不是18位统一社会信用代码（GB 32100：数字或大写字母，不含 I、O、S、V、Z，第3–8位为行政区划码）",
        "{name} is not an 18-character unified social credit code (GB 32100)",
    ),
    "uscc-checksum": Message(
        "「{title}」统一社会信用代码校验位错误（GB 32100）",
        "{name}: unified social credit code check character is wrong",
    ),
    "uscc-category": Message(
        "「{title}」统一社会信用代码的登记管理部门或机构类别代码（第1–2位）无效",
        "{name}: registration department / category (positions 1–2) of the code is not valid",
    ),
    "uscc-placeholder": Message(
        "「{title}」是占位代码（00000000000000000X），请填写真实的统一社会信用代码",
        "{name} is the placeholder code 00000000000000000X; give the real code",
    ),
    "uscc-org-code": Message(
        "「{title}」第9–17位的组织机构代码校验不通过（GB 11714），请核实",
        "{name}: the embedded organisation code (positions 9–17) fails its GB 11714 check; please verify",
    ),
    "resident-id-format": Message(
        "「{title}」不是有效的居民身份证号码（18位，末位可为X；或旧式15位）",
        "{name} is not a resident ID number (18 characters, last may be X; or legacy 15 digits)",
    ),
    "resident-id-birth-date": Message(
        "「{title}」中的出生日期不是有效日期或晚于今天",
        "{name}: the embedded birth date is not a real past date",
    ),
    "resident-id-checksum": Message(
        "「{title}」居民身份证号码校验位错误（GB 11643）",
        "{name}: resident ID check character is wrong (GB 11643)",
    ),
    "resident-id-region": Message(
        "「{title}」前6位不是有效的行政区划代码（GB/T 2260）",
        "{name}: the first 6 digits are not a valid division code (GB/T 2260)",
    ),
    "org-code-format": Message(
        "「{title}」不是9位组织机构代码（GB 11714）",
        "{name} is not a 9-character organisation code (GB 11714)",
    ),
    "org-code-checksum": Message(
        "「{title}」组织机构代码校验位错误（GB 11714）", "{name}: organisation code check character is wrong"
    ),
    "division-code": Message(
        "「{title}」「{value}」不是广东省现行行政区划代码（GB/T 2260）",
        "{name} '{value}' is not a current Guangdong division code (GB/T 2260)",
    ),
    "law-citation-format": Message(
        "「{title}」未按《法律名称》第X条的格式引用法律依据",
        "{name} does not cite a law as 《name》第X条",
    ),
    "law-unknown": Message(
        "「{title}」引用的《{law}》不在法律法规库中，请核实名称",
        "{name} cites 《{law}》, which is not in the law registry; check the name",
    ),
    "law-not-in-force": Message(
        "「{title}」引用的《{law}》在{as_of}时尚未施行或已失效",
        "{name} cites 《{law}》, which was not in force on {as_of}",
    ),
    "law-article-missing": Message(
        "「{title}」引用的《{law}》第{article}条在{as_of}施行的版本中不存在（该版本共{max_article}条）",
        "{name} cites article {article} of 《{law}》, which the version in force on {as_of} lacks "
        "(it has {max_article} articles)",
    ),
    "date-order": Message(
        "「{title}」（{value}）不能早于「{other}」", "{name} ({value}) cannot be earlier than {other_name}"
    ),
    "date-order-strict": Message(
        "「{title}」（{value}）必须晚于「{other}」", "{name} ({value}) must be later than {other_name}"
    ),
    "future-date": Message("「{title}」（{value}）晚于今天", "{name} ({value}) is in the future"),
    "not-applicable": Message(
        "「{title}」在当前情形下不应填写：{rule}", "{name} must be empty here: {rule_en}"
    ),
    "rule": Message("「{title}」不符合规则：{rule}", "{name} breaks the rule: {rule_en}"),
    # Registry checks (pipeline/registries.py): action records against the hub's reference data.
    "agency-unknown": Message(
        "「{title}」{value} 不在执法主体名录中，请先报送执法主体信息",
        "{name} {value} is not in the agency registry; report the agency first",
    ),
    "agency-inactive": Message(
        "「{title}」{value} 在执法主体名录中已撤销，不能作出执法决定",
        "{name} {value} is revoked in the agency registry",
    ),
    "agency-outside-region": Message(
        "「{title}」{value} 不属于本平台所辖区划（{region}）",
        "{name} {value} is not an agency of this hub's region ({region})",
    ),
    "officer-unknown": Message(
        "「{title}」中有执法证号不在执法人员名录中：{value}",
        "{name}: a certificate number is not in the officer registry: {value}",
    ),
    "officer-other-agency": Message(
        "「{title}」中有执法人员不属于该执法主体：{value}",
        "{name}: an officer belongs to another agency: {value}",
    ),
    "matter-unknown": Message(
        "「{title}」{value} 不在执法事项清单中", "{name} {value} is not in the matter list"
    ),
}


def render(code: str, lang: str, params: dict[str, object], *, fallback: str = "rule") -> str:
    """The message for `code` in `lang`, filled from `params`; rule codes fall back to the rule template."""
    message = CATALOGUE.get(code) or CATALOGUE[fallback]
    template = message.en if lang == "en" else message.zh
    try:
        return template.format_map(_Defaulting(params))
    except (ValueError, IndexError):
        return template


class _Defaulting(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return ""
