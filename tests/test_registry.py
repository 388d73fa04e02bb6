"""Tests of the packaged law and division registries and of the build script that makes them."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from enforcehub.standard.registry import (
    Citation,
    DivisionRegistry,
    LawRegistry,
    chinese_numeral_to_int,
    int_to_chinese_numeral,
    parse_citations,
)

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- numerals

_DIGITS = "零一二三四五六七八九"


def to_chinese(n: int) -> str:
    """Independent reference writer of 1..9999 in the form statutes use (一千零二, 一百一十, 十五)."""
    assert 1 <= n <= 9999
    thousands, hundreds, tens, ones = n // 1000, n // 100 % 10, n // 10 % 10, n % 10
    parts: list[str] = []
    if thousands:
        parts.append(_DIGITS[thousands] + "千")
    if hundreds:
        parts.append(_DIGITS[hundreds] + "百")
    elif thousands and (tens or ones):
        parts.append("零")
    if tens:
        parts.append(("" if n < 20 else _DIGITS[tens]) + "十")
    elif (thousands or hundreds) and ones and parts[-1] != "零":
        parts.append("零")
    if ones:
        parts.append(_DIGITS[ones])
    return "".join(parts)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("一百", 100),
        ("一百零五", 105),
        ("一百一十", 110),
        ("一百十", 110),
        ("一百二十四", 124),
        ("一百二", 120),
        ("两百", 200),
        ("一千零二", 1002),
        ("一千零二十", 1020),
        ("一千零一十", 1010),
        ("九千九百九十九", 9999),
        ("零", 0),
        ("二〇二一", 2021),
        ("124", 124),
        ("１２", 12),
        (" 五十一 ", 51),
    ],
)
def test_chinese_numeral_to_int(text: str, value: int) -> None:
    assert chinese_numeral_to_int(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "十十", "百", "一百百", "十一百", "零十", "一千零", "一百零十", "第十", "1百", "一万"],
)
def test_chinese_numeral_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        chinese_numeral_to_int(text)


def test_reference_writer_examples() -> None:
    assert [to_chinese(n) for n in (10, 15, 110, 124, 1002, 1010, 1100, 2005)] == [
        "十", "十五", "一百一十", "一百二十四", "一千零二", "一千零一十", "一千一百", "二千零五"
    ]  # fmt: skip


@given(st.integers(min_value=1, max_value=9999))
def test_numeral_round_trip(n: int) -> None:
    assert chinese_numeral_to_int(to_chinese(n)) == n
    assert int_to_chinese_numeral(n) == to_chinese(n)


# --------------------------------------------------------------------------- laws


@pytest.fixture(scope="module")
def laws() -> LawRegistry:
    return LawRegistry.load()


def test_registry_is_loaded_lazily_and_cached() -> None:
    code = (
        "import enforcehub.standard.registry as r;"
        "print(r._packaged_law_registry.cache_info().currsize,"
        " r._packaged_division_registry.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]
    assert LawRegistry.load() is LawRegistry.load()
    assert DivisionRegistry.load() is DivisionRegistry.load()


def test_registry_size(laws: LawRegistry) -> None:
    assert len(laws.names()) > 900
    assert len(laws.all_versions()) > 1000
    assert sum(len(v.articles) for v in laws.all_versions()) > 40_000
    levels = {v.level for v in laws.all_versions()}
    assert levels == {"法律", "行政法规", "部门规章", "地方性法规"}


def test_administrative_penalty_law(laws: LawRegistry) -> None:
    versions = laws.versions("行政处罚法")
    assert versions
    v = laws.in_force("行政处罚法", dt.date(2022, 1, 1))
    assert v is not None
    assert v.version_date == dt.date(2021, 1, 22)
    assert v.title == "中华人民共和国行政处罚法"
    assert (v.level, v.field) == ("法律", "行政法")
    assert v.issuer == "全国人民代表大会"  # adopted 1996 by the NPC itself
    assert len(v.articles) == 86
    assert v.max_article == 86
    assert v.has_article(51)
    assert not v.has_article(87)
    assert not v.has_article(51, "之一")
    art = v.article(51)
    assert art is not None and art.text.startswith("违法事实确凿并有法定依据")
    assert art.label == "第五十一条"
    assert v.history[0].startswith("1996年3月17日")
    assert v.effective_to is None
    # the registry holds only the 2021 text: nothing is in force before it
    assert laws.in_force("行政处罚法", dt.date(2020, 12, 31)) is None
    assert laws.in_force("中华人民共和国行政处罚法", dt.date(2024, 5, 1)) == v


def test_versions_chain_without_gaps(laws: LawRegistry) -> None:
    versions = laws.versions("道路运输条例")
    assert [v.version_date.isoformat() for v in versions] == ["2019-03-02", "2022-03-29", "2023-07-20"]
    for older, newer in itertools.pairwise(versions):
        assert older.effective_to == newer.effective_from - dt.timedelta(days=1)
    assert versions[-1].effective_to is None
    assert laws.in_force("道路运输条例", dt.date(2022, 3, 28)) == versions[0]
    assert laws.in_force("道路运输条例", dt.date(2022, 3, 29)) == versions[1]
    assert laws.in_force("道路运输条例", dt.date(2023, 7, 19)) == versions[1]
    assert laws.in_force("道路运输条例", dt.date(2030, 1, 1)) == versions[2]
    assert len({v.law_id for v in versions}) == 3


def test_every_version_has_contiguous_article_numbers(laws: LawRegistry) -> None:
    for v in laws.all_versions():
        plain = [a.number for a in v.articles if not a.suffix]
        assert plain == list(range(1, len(plain) + 1)), v.name
        assert all(a.text for a in v.articles), v.name


def test_source_oddities_handled(laws: LawRegistry) -> None:
    # one file writes each chapter's articles on a single line
    flight = laws.versions("飞行基本规则")[-1]
    assert flight.max_article == 124 and len(flight.articles) == 124
    assert flight.article(2) is not None and flight.article(2).text.startswith("凡辖有航空器的单位")  # type: ignore[union-attr]
    # plain-text "附 则" headings do not swallow the following articles
    minors = laws.versions("未成年人网络保护条例")[-1]
    assert minors.max_article == 60 and minors.appendix == ""
    assert "附" not in minors.article(58).text[-5:]  # type: ignore[union-attr]
    # appendices are kept apart from the last article
    tax = laws.versions("车船税法")[-1]
    assert tax.appendix.startswith("附") and "税目税额表" not in tax.articles[-1].text
    # the file present in two folders is one version
    assert len(laws.versions("广告法")) == 1
    # instruments without numbered articles keep their text
    cable = laws.versions("保护海底电缆规定")[-1]
    assert cable.articles == () and cable.max_article == 0 and "海底电缆" in cable.preamble


def test_issuers(laws: LawRegistry) -> None:
    def issuer(name: str) -> str:
        return laws.versions(name)[-1].issuer

    assert issuer("食品安全法") == "全国人民代表大会常务委员会"
    assert issuer("道路运输条例") == "国务院"
    assert issuer("广东省市场监管条例") == "广东省人民代表大会常务委员会"
    assert issuer("深圳经济特区数据条例") == "深圳市人民代表大会常务委员会"
    assert issuer("明码标价和禁止价格欺诈规定") == "国家市场监督管理总局"
    assert issuer("机动车登记规定") == "公安部"
    assert {v.issuer for v in laws.all_versions()} >= {"全国人民代表大会", "国务院、中央军事委员会"}


@pytest.mark.parametrize(
    ("cited", "name"),
    [
        ("行政处罚法", "行政处罚法"),
        ("中华人民共和国行政处罚法", "行政处罚法"),
        ("《中华人民共和国行政处罚法》", "行政处罚法"),
        (" 《 中华人民共和国 食品安全法 》", "食品安全法"),
        ("中华人民共和国行政处罚法（2021年修订）", "行政处罚法"),
        ("广东省市场监管条例", "广东省市场监管条例"),
        ("广东省实施〈中华人民共和国消防法〉办法", "广东省实施《消防法》办法"),
        ("医疗机构制剂配制质量管理规范(试行)", "医疗机构制剂配制质量管理规范（试行）"),
        ("国际航行船舶进出中华人民共和国口岸检查办法", "国际航行船舶进出口岸检查办法"),
        ("中华人民共和国道路运输条例", "道路运输条例"),
        ("广东省道路运输条例", "广东省道路运输条例"),  # the provincial one, not the national one
        ("中华人民共和国宇宙法", None),
        ("", None),
    ],
)
def test_resolve_name(laws: LawRegistry, cited: str, name: str | None) -> None:
    assert laws.resolve_name(cited) == name


def test_every_name_and_title_resolves_to_itself(laws: LawRegistry) -> None:
    for v in laws.all_versions():
        assert laws.resolve_name(v.name) == v.name
        assert laws.resolve_name(v.title) == v.name
        assert laws.resolve_name(f"《{v.title}》") == v.name


def test_citations_table(laws: LawRegistry) -> None:
    table = laws.citations_table()
    assert table.columns == [
        "name", "effective_from", "effective_to", "max_article", "law_id", "first_adopted", "earliest_on_file"
    ]
    assert table.schema["effective_from"] == pl.Date and table.schema["effective_to"] == pl.Date
    assert table.schema["max_article"] == pl.Int64
    assert table.height == len(laws.all_versions())
    assert table["law_id"].n_unique() == table.height
    assert table["effective_to"].null_count() == len(laws.names())  # one open version per instrument
    # the vectorised lookup the validator does: version in force on the decision date
    cases = pl.DataFrame(
        {
            "name": ["行政处罚法", "道路运输条例", "道路运输条例"],
            "decided": [dt.date(2022, 1, 1)] * 3,
            "art": [86, 90, 1],
        }
    )
    joined = (
        cases.join(table, on="name", how="left")
        .filter(
            (pl.col("effective_from") <= pl.col("decided"))
            & (pl.col("effective_to").is_null() | (pl.col("effective_to") >= pl.col("decided")))
        )
        .with_columns(ok=pl.col("art") <= pl.col("max_article"))
    )
    assert joined.height == 3
    assert joined["effective_from"].to_list()[1] == dt.date(2019, 3, 2)
    assert joined["ok"].to_list() == [True, False, True]


# --------------------------------------------------------------------------- citations


def test_parse_citations_two_laws_with_clauses() -> None:
    text = "《中华人民共和国食品安全法》第一百二十四条第一款第（一）项、《广东省食品安全条例》第六十条"
    assert parse_citations(text) == [
        Citation(
            "中华人民共和国食品安全法", 124, "", "《中华人民共和国食品安全法》第一百二十四条第一款第（一）项"
        ),
        Citation("广东省食品安全条例", 60, "", "《广东省食品安全条例》第六十条"),
    ]


def test_parse_citations_several_articles_after_one_title() -> None:
    text = (
        "依据《中华人民共和国食品安全法》第一百二十二条第一款、"
        "第一百二十四条第一款第（三）项和第一百三十四条之规定"
    )
    cites = parse_citations(text)
    assert [(c.law, c.article, c.suffix) for c in cites] == [
        ("中华人民共和国食品安全法", 122, ""),
        ("中华人民共和国食品安全法", 124, ""),
        ("中华人民共和国食品安全法", 134, ""),
    ]
    assert cites[1].raw == "第一百二十四条第一款第（三）项"
    assert all(c.raw in text for c in cites)


def test_parse_citations_suffix_range_arabic_and_bare_title() -> None:
    text = (
        "违反了《中华人民共和国刑法》第十条之一，根据《X条例》第3条至第5条的规定，"
        "参照《行政处罚法》及《广东省道路交通安全条例》 第 五十二 条"
    )
    cites = parse_citations(text)
    assert [(c.law, c.article, c.suffix) for c in cites] == [
        ("中华人民共和国刑法", 10, "之一"),
        ("X条例", 3, ""),
        ("X条例", 4, ""),
        ("X条例", 5, ""),
        ("行政处罚法", None, ""),
        ("广东省道路交通安全条例", 52, ""),
    ]
    assert cites[0].raw == "《中华人民共和国刑法》第十条之一"
    assert cites[4].raw == "《行政处罚法》"


def test_parse_citations_paragraph_lists_are_not_articles() -> None:
    cites = parse_citations("《中华人民共和国行政处罚法》第五十一条第一款、第二款，第五十二条")
    assert [c.article for c in cites] == [51, 52]
    assert cites[0].raw.endswith("第一款、第二款")


def test_parse_citations_no_title() -> None:
    assert parse_citations("依据本法第十条规定处罚") == []
    assert parse_citations("") == []


def test_parsed_citations_check_against_registry(laws: LawRegistry) -> None:
    text = "《中华人民共和国行政处罚法》第五十一条、第八十七条"
    on = dt.date(2023, 6, 1)
    results = []
    for c in parse_citations(text):
        name = laws.resolve_name(c.law)
        assert name == "行政处罚法"
        v = laws.in_force(name, on)
        assert v is not None and c.article is not None
        results.append(v.has_article(c.article, c.suffix))
    assert results == [True, False]


# --------------------------------------------------------------------------- divisions


@pytest.fixture(scope="module")
def divisions() -> DivisionRegistry:
    return DivisionRegistry.load()


def test_cities(divisions: DivisionRegistry) -> None:
    cities = divisions.cities()
    assert len(cities) == 21
    names = [c.name for c in cities]
    assert names[0] == "广州市" and "东莞市" in names and "云浮市" in names
    assert "海南行政区" not in names and "汕头地区" not in names
    assert all(c.parent == "440000" and c.code.endswith("00") for c in cities)


def test_name_history_and_validity(divisions: DivisionRegistry) -> None:
    assert divisions.valid_in_year("440111", 1990)
    assert divisions.valid_in_year("440111", 1985)
    assert divisions.name("440111") == "白云区"
    assert divisions.name("440111", 1985) == "郊区"
    assert divisions.name("440111", 1987) == "白云区"
    assert [d.name for d in divisions.history("440111")] == ["郊区", "白云区"]
    assert divisions.name("999999") is None
    # 东山区 merged into 越秀区 in 2005
    assert divisions.valid_in_year("440102", 2000)
    assert not divisions.valid_in_year("440102", 2010)
    assert divisions.name("440102") == "东山区"


def test_counties(divisions: DivisionRegistry) -> None:
    assert divisions.counties("441900") == []  # 东莞: no county level
    assert divisions.counties("442000") == []  # 中山
    guangzhou = [d.name for d in divisions.counties("440100")]
    assert len(guangzhou) == 11
    assert "白云区" in guangzhou and "市辖区" not in guangzhou and "东山区" not in guangzhou
    assert all(d.is_current for d in divisions.counties("440300"))


def test_current_and_historical_codes(divisions: DivisionRegistry) -> None:
    current, ever = divisions.current_codes(), divisions.ever_codes()
    assert current < ever
    for code in ("440102", "440107", "440116", "442300", "441000"):
        assert code in ever and code not in current
    for code in ("440000", "440111", "441900", "440106"):
        assert code in current
    assert divisions.city_of("440106") == "440100"
    assert divisions.city_of("441900") == "441900"
    with pytest.raises(ValueError):
        divisions.city_of("4401")


def test_inverted_source_row_was_cleaned(divisions: DivisionRegistry) -> None:
    # the source has 442401 梅州市 valid 1983..1982; the build opens its start
    rows = divisions.history("442401")
    assert [(d.name, d.valid_from, d.valid_to) for d in rows] == [
        ("梅州市", None, 1982),
        ("梅县市", 1983, 1987),
    ]
    assert divisions.name("442401", 1980) == "梅州市"


# --------------------------------------------------------------------------- build script


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_registry", ROOT / "tools" / "build_registry.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_registry"] = module
    spec.loader.exec_module(module)
    return module


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_build_script_on_a_small_tree(tmp_path: Path) -> None:
    build = _build_module()
    laws = tmp_path / "laws"
    head = "# 中华人民共和国样例法\n\n2001年1月1日 第九届全国人民代表大会常务委员会第一次会议通过\n\n"
    _write(
        laws / "行政法" / "样例法(2001-01-01).md",
        head + "<!-- INFO END -->\n\n## 第一章 总则\n\n第一条 甲。\n\n第二条 乙。\n\n第二条之一 乙之一。\n\n"
        "第三条 丙。\n\n第二款。\n",
    )
    _write(
        laws / "行政法" / "样例法(2010-06-30).md",
        head + "2010年6月30日 第十一届全国人民代表大会常务委员会第十五次会议修订\n\n<!-- INFO END -->\n\n"
        "第一条 甲。 第二条 乙。 第三条 依照本法第二条 规定。\n\n附 则\n\n第四条 本法自公布之日起施行。\n\n"
        "附件：样例表\n",
    )
    _write(laws / "行政法" / "_index.md", "---\n")
    _write(
        laws / "地方性法规" / "广东" / "广东省样例条例(2020-01-01).md",
        "# 广东省样例条例\n\n2019年11月29日 广东省第十三届人民代表大会常务委员会第十五次会议通过\n\n"
        "<!-- INFO END -->\n\n第一条 本条例适用于本省。\n",
    )
    divisions = tmp_path / "divisions.csv"
    _write(
        divisions,
        "code,name,level,parent,valid_from,valid_to\n440100,广州市,city,440000,,\n"
        "440000,广东省,province,,,\n440100,广州市,city,440000,,\n",
    )
    args = ["--quiet", "--laws", str(laws), "--divisions", str(divisions)]
    assert build.main([*args, "--out", str(tmp_path / "a")]) == 0
    assert build.main([*args, "--out", str(tmp_path / "b")]) == 0
    for name in ("laws.json.xz", "divisions.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "divisions.csv").read_text(encoding="utf-8").splitlines() == [
        "code,name,level,parent,valid_from,valid_to",
        "440000,广东省,province,,,",
        "440100,广州市,city,440000,,",
    ]

    reg = LawRegistry.from_bytes((tmp_path / "a" / "laws.json.xz").read_bytes())
    assert reg.names() == ["广东省样例条例", "样例法"]
    old, new = reg.versions("样例法")
    assert [(a.number, a.suffix) for a in old.articles] == [(1, ""), (2, ""), (2, "之一"), (3, "")]
    assert old.has_article(2, "之一") and not old.has_article(3, "之一")
    assert old.article(3) is not None and old.article(3).text == "丙。\n第二款。"  # type: ignore[union-attr]
    assert old.effective_to == dt.date(2010, 6, 29) and new.effective_to is None
    assert [a.text for a in new.articles] == [
        "甲。",
        "乙。",
        "依照本法第二条 规定。",
        "本法自公布之日起施行。",
    ]
    assert new.appendix == "附件：样例表"
    assert new.issuer == "全国人民代表大会常务委员会" and new.level == "法律" and new.field == "行政法"
    local = reg.versions("广东省样例条例")[0]
    assert (local.level, local.issuer) == ("地方性法规", "广东省人民代表大会常务委员会")
    assert reg.resolve_name("《广东省样例条例》") == "广东省样例条例"
    assert reg.resolve_name("中华人民共和国样例法") == "样例法"


def test_first_adoption_comes_from_the_history(laws: LawRegistry) -> None:
    version = laws.versions("行政处罚法")[0]
    assert version.first_adopted == dt.date(1996, 3, 17)
    row = laws.citations_table().filter(pl.col("name") == "行政处罚法").row(0, named=True)
    assert row["first_adopted"] == dt.date(1996, 3, 17)
    assert row["earliest_on_file"] == version.effective_from
