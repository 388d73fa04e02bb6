"""The 行政执法公示 portal's words: the page texts (Chinese first, English on `?lang=en`), the titles of
a public document's fields, and the cities one may filter by."""

from __future__ import annotations

import functools
from typing import Any, Literal

from enforcehub.share.profile import Profile
from enforcehub.standard.model import Standard
from enforcehub.standard.registry import DivisionRegistry

Lang = Literal["zh", "en"]
PROVINCE_LEVEL = "440000"  # entries of provincial departments: the province's own code as "city"
LONG_TERM = "2099-12-31"

TEXT: dict[str, tuple[str, str]] = {
    "title": ("行政执法公示", "Administrative Law-Enforcement Publicity"),
    "subtitle": (
        "广东省行政处罚、行政许可决定公示查询",
        "Search the administrative penalty and licence decisions published in Guangdong",
    ),
    "keyword": ("关键词", "Keyword"),
    "keyword_hint": (
        "行政相对人名称、统一社会信用代码或决定书文号",
        "Party name, unified social credit code or decision number",
    ),
    "dataset": ("类别", "Type"),
    "all": ("全部", "All"),
    "penalty": ("行政处罚", "Administrative penalty"),
    "license": ("行政许可", "Administrative licence"),
    "city": ("地市", "City"),
    "all_cities": ("全省", "All of Guangdong"),
    "province_level": ("省直部门", "Provincial departments"),
    "agency": ("执法机关", "Agency"),
    "agency_hint": ("机关名称或统一社会信用代码", "Agency name or its credit code"),
    "date_from": ("决定日期自", "Decided from"),
    "date_to": ("至", "to"),
    "search": ("查询", "Search"),
    "reset": ("重置", "Reset"),
    "results": ("共 {total} 条公示信息", "{total} published decisions"),
    "none": ("没有符合条件的公示信息", "No published decision matches"),
    "col_number": ("决定书文号", "Decision number"),
    "col_party": ("行政相对人", "Party"),
    "col_type": ("类别", "Type"),
    "col_agency": ("执法机关", "Agency"),
    "col_city": ("地市", "City"),
    "col_date": ("决定日期", "Decided"),
    "col_until": ("公示截止", "Public until"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "back": ("返回查询", "Back to the search"),
    "period": ("公示期", "Publicity period"),
    "long_term": ("长期", "long term"),
    "notice": (
        "本页仅公示处于公示期内的行政处罚和行政许可决定。自然人的证件号码等个人信息已依法处理；"
        "涉及未成年人的案件不予公示；决定被撤销、确认违法或无效的，公示信息随即撤下。",
        "Only decisions within their publicity period are shown. Natural persons' ID numbers and other "
        "personal information are masked; cases involving minors are not published; a decision that is "
        "revoked or declared unlawful or void is taken down at once.",
    ),
    "not_found": (
        "未找到该公示信息：可能不存在、已撤下或不在公示期内。",
        "No such published decision: it does not exist, was taken down or is outside its publicity period.",
    ),
    "rate_limited": ("查询过于频繁，请 {seconds} 秒后再试。", "Too many requests; try again in {seconds} s."),
    "invalid": ("查询条件有误", "The search is not valid"),
    "switch": ("English", "中文"),
    "colon": ("：", ": "),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}

# Titles of the derived columns a profile may emit (the elements have their own titles).
DERIVED_TITLES: dict[str, tuple[str, str]] = {
    "pub_regime": ("公示依据", "Publicity rule"),
    "pub_start": ("公示开始日期", "Public from"),
    "pub_min_end": ("最短公示期满日期", "Earliest end (credit repair)"),
    "pub_max_end": ("公示截止日期", "Public until"),
    "agency_field": ("执法领域", "Enforcement field"),
    "_seq": ("变更序号", "Change number"),
    "_change": ("变更类型", "Change"),
    "_record_id": ("记录编号", "Record id"),
    "_version": ("版本", "Version"),
    "_key": ("业务主键", "Business key"),
    "_committed_at": ("更新时间", "Updated"),
    "_region": ("行政区划代码", "Division"),
}


def texts(lang: Lang) -> dict[str, str]:
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in TEXT.items()}


@functools.cache
def cities() -> tuple[tuple[str, str], ...]:
    """The 21 prefecture-level cities of Guangdong (code, name), from the division registry."""
    return tuple((d.code, d.name) for d in DivisionRegistry.load().cities())


def city_codes() -> frozenset[str]:
    return frozenset(code for code, _ in cities()) | {PROVINCE_LEVEL}


def city_name(code: str | None, lang: Lang) -> str:
    if code == PROVINCE_LEVEL:
        return texts(lang)["province_level"]
    return dict(cities()).get(code or "", code or "")


def field_titles(profile: Profile, dataset: str, standard: Standard) -> list[tuple[str, str, str]]:
    """(output field, Chinese title, English title) of a dataset's public document, in profile order:
    the profile's own title, else the source element's, else the derived column's."""
    elements = {e.name: e for e in standard.datasets[dataset].elements}
    out: list[tuple[str, str, str]] = []
    for field in profile.datasets[dataset].fields:
        element = elements.get(field.source or "")
        derived = DERIVED_TITLES.get(field.source or "")
        if element is not None:
            zh, en = element.title, element.title_en
        elif derived is not None:
            zh, en = derived
        else:
            zh, en = field.name, None
        out.append((field.name, field.title or zh, en or field.name.replace("_", " ")))
    return out


def shown(value: Any, lang: Lang) -> str:
    """A document value as text for the page."""
    if isinstance(value, bool):
        return texts(lang)["yes" if value else "no"]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "；".join(shown(v, lang) for v in value)
    return str(value)
