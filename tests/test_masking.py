"""Masking of personal information (reference 7.4): mask builders, the registry, apply_masks and the
publication rule; properties over random natural-person records with valid ID numbers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcehub.share import masking
from enforcehub.share.masking import (
    MASKS,
    apply_masks,
    mask_for_publication,
    mask_id_number,
    mask_name_initial,
    mask_phone,
    natural_person,
    scrub_numbers,
)
from enforcehub.validate.identifiers import is_valid_resident_id, ric_check_char

PERSON = "自然人"
ORG = "法人及非法人组织"


def values(expr: pl.Expr, items: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"v": items}, schema={"v": pl.Utf8}).select(expr.alias("out"))["out"].to_list()


def resident_id(born: dt.date, region: str = "330921", sequence: str = "001") -> str:
    first17 = region + born.strftime("%Y%m%d") + sequence
    return first17 + ric_check_char(first17)


# --- builders -----------------------------------------------------------------------------------------


def test_id_number_keeps_six_and_preserves_length() -> None:
    number = resident_id(dt.date(1985, 7, 9))
    assert values(mask_id_number(pl.col("v")), [number, None]) == ["330921************", None]


def test_id_number_is_configurable() -> None:
    assert values(mask_id_number(pl.col("v"), keep_prefix=4, char="#"), ["11010519491231002X"]) == [
        "1101##############"
    ]
    assert values(mask_id_number(pl.col("v"), keep_prefix=0, char="$"), ["E1234"]) == ["$$$$$"]
    with pytest.raises(ValueError, match="one character"):
        mask_id_number(pl.col("v"), char="**")


def test_short_document_numbers_are_masked_whole() -> None:
    assert values(mask_id_number(pl.col("v")), ["E12345", "E1234567"]) == ["******", "E12345**"]


def test_phone() -> None:
    got = values(mask_phone(pl.col("v")), ["13812345678", "020-8765 4321", "12345", None])
    assert got == ["138****5678", "020-**** 4321", "*****", None]


def test_name_initial() -> None:
    got = values(mask_name_initial(pl.col("v")), ["张三丰", "欧阳娜娜", "李", "", None])
    assert got == ["张**", "欧***", "*", "", None]


def test_scrub_numbers_in_free_text() -> None:
    text = (
        "当事人（身份证11010519491231002X，电话138 1234 5678，账号6222020200112233445）"
        "罚款2000元，2023年5月1日"
    )
    assert values(scrub_numbers(pl.col("v")), [text]) == [
        "当事人（身份证***，电话***，账号***）罚款2000元，2023年5月1日"
    ]


def test_registry_names() -> None:
    assert set(MASKS) == {"id-number", "phone", "name-initial", "scrub-numbers", "drop", "keep"}
    got = values(MASKS["drop"](pl.col("v")), ["a", None])
    assert got == [None, None]
    assert values(MASKS["keep"](pl.col("v")), ["a"]) == ["a"]


def test_drop_keeps_the_column_type() -> None:
    frame = pl.DataFrame({"d": [dt.date(2024, 1, 1)]})
    assert frame.select(MASKS["drop"](pl.col("d")))["d"].dtype == pl.Date


# --- apply_masks ---------------------------------------------------------------------------------------


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pl.DataFrame([{n: r.get(n) for n in names} for r in rows], schema=dict.fromkeys(names, pl.Utf8))


def test_apply_masks_when_natural_person() -> None:
    rows = frame(
        {"counterparty_category": PERSON, "phone": "13812345678", "counterparty_name": "张三"},
        {"counterparty_category": ORG, "phone": "02087654321", "counterparty_name": "某公司"},
        {"counterparty_category": None, "phone": "13912345678", "counterparty_name": "?"},
    )
    out = apply_masks(rows, {"phone": "phone", "missing_field": "drop"}, when=natural_person())
    # masked for the person and (fail closed) for the unknown category; organisation untouched
    assert out["phone"].to_list() == ["138****5678", "02087654321", "139****5678"]
    assert out["counterparty_name"].to_list() == rows["counterparty_name"].to_list()
    assert out.columns == rows.columns


def test_apply_masks_accepts_builders_and_lazy_frames() -> None:
    rows = frame({"id_number": "11010519491231002X"})
    out = apply_masks(rows.lazy(), {"id_number": lambda e: mask_id_number(e, keep_prefix=2)})
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["id_number"].to_list() == ["11****************"]


def test_apply_masks_rejects_unknown_masks() -> None:
    with pytest.raises(ValueError, match="unknown mask 'blur'"):
        apply_masks(frame({"a": "x"}), {"a": "blur"})


# --- the publication rule ------------------------------------------------------------------------------


def test_publication_rule() -> None:
    adult = resident_id(dt.date(1980, 2, 3))
    child = resident_id(dt.date(2010, 2, 3))
    rows = frame(
        {
            "decision_date": "2024-05-06",
            "counterparty_name": "张三",
            "counterparty_category": PERSON,
            "id_type": "111",
            "id_number": adult,
            "counterparty_address": "广东省广州市天河区某路1号",
            "violation_facts": f"张三（{adult}）无照经营",
            "legal_reviewer": "李四;王五",
            "legal_representative": None,
            "legal_rep_id_number": None,
        },
        {
            "decision_date": "2024-05-06",
            "counterparty_name": "广州某某有限公司",
            "counterparty_category": ORG,
            "id_type": None,
            "id_number": None,
            "counterparty_address": "广州市越秀区某路2号",
            "violation_facts": "联系电话13812345678",
            "legal_reviewer": "李四",
            "legal_representative": "赵六",
            "legal_rep_id_number": adult,
        },
        {
            "decision_date": "2024-05-06",
            "counterparty_name": "小明",
            "counterparty_category": PERSON,
            "id_type": "111",
            "id_number": child,
            "counterparty_address": "某地",
            "violation_facts": "",
            "legal_reviewer": None,
            "legal_representative": None,
            "legal_rep_id_number": None,
        },
    )
    out = mask_for_publication(rows).to_dicts()
    assert [r["counterparty_name"] for r in out] == ["张三", "广州某某有限公司"]  # the minor is excluded
    person, org = out
    assert person["id_number"] == adult[:6] + "*" * 12
    assert person["counterparty_address"] is None
    assert person["violation_facts"] == "张三（***）无照经营"
    assert person["legal_reviewer"] is None and org["legal_reviewer"] is None
    assert org["counterparty_address"] == "广州市越秀区某路2号"  # an organisation's address is public
    assert org["violation_facts"] == "联系电话13812345678"  # organisations' free text is theirs to word
    assert org["legal_representative"] == "赵六"
    assert org["legal_rep_id_number"] == adult[:6] + "*" * 12


def test_publication_rule_can_leave_minors_to_the_caller() -> None:
    rows = frame(
        {
            "decision_date": "2024-05-06",
            "counterparty_category": PERSON,
            "id_type": "111",
            "id_number": resident_id(dt.date(2010, 2, 3)),
        },
        {"decision_date": "2024-05-06", "counterparty_category": ORG, "minor_involved": "true"},
    )
    assert mask_for_publication(rows).height == 0
    assert mask_for_publication(rows, exclude_minors=False).height == 2


def test_publication_rule_without_a_category_masks_as_natural_person() -> None:
    rows = frame({"counterparty_address": "某路3号", "phone": "13812345678"})
    out = masking.mask_for_publication(rows).row(0, named=True)
    assert out == {"counterparty_address": None, "phone": None}


# --- properties ---------------------------------------------------------------------------------------

REGIONS = ["440103", "440106", "440304", "441900", "445102", "330921", "110105"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
ROADS = ["天河路", "中山五路", "人民北路", "解放南路", "江南大道中", "东风东路"]
PHONE = re.compile(r"1[3-9][0-9]{9}")
ELEVEN_DIGITS = re.compile(r"[0-9]{11}")


@st.composite
def natural_person_rows(draw: st.DrawFn) -> dict[str, Any]:
    born = draw(st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2015, 12, 31)))
    decided = draw(st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2026, 12, 31)))
    first17 = (
        draw(st.sampled_from(REGIONS))
        + born.strftime("%Y%m%d")
        + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    )
    number = first17 + ric_check_char(first17)
    phone = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    name = draw(st.sampled_from(SURNAMES)) + draw(st.text(alphabet=GIVEN, min_size=1, max_size=2))
    address = (
        f"广东省广州市{draw(st.sampled_from(ROADS))}{draw(st.integers(min_value=1, max_value=999))}号"
        f"{draw(st.integers(min_value=101, max_value=2999))}房"
    )
    written = draw(st.sampled_from(["{}", "{} ", "{}（手机）"]))
    return {
        "decision_date": decided.isoformat(),
        "counterparty_name": name,
        "counterparty_category": PERSON,
        "id_type": "111",
        "id_number": number,
        "counterparty_address": address,
        "phone": written.format(phone),
        "violation_facts": f"{name}（公民身份号码{number}，联系电话{phone}）未经许可从事经营活动",
        "penalty_content": f"罚款{draw(st.integers(min_value=50, max_value=200))}元",
        "remarks": draw(st.sampled_from([None, f"当事人电话{phone[:3]}-{phone[3:7]}-{phone[7:]}"])),
        "minor_involved": draw(st.sampled_from(["false", None])),
        "_born": born,
    }


def eighteenth_birthday(born: dt.date) -> dt.date:
    """Oracle: the 18th birthday, 28 February for a 29 February birth in a common year."""
    try:
        return born.replace(year=born.year + 18)
    except ValueError:
        return dt.date(born.year + 18, 2, 28)


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(natural_person_rows(), min_size=1, max_size=12))
def test_masked_output_never_shows_id_phone_or_address(rows: list[dict[str, Any]]) -> None:
    assert all(is_valid_resident_id(r["id_number"], today=dt.date(2030, 1, 1)) for r in rows)
    source = frame(*[{k: v for k, v in r.items() if k != "_born"} for r in rows])
    out = mask_for_publication(source)

    adults = [r for r in rows if dt.date.fromisoformat(r["decision_date"]) > eighteenth_birthday(r["_born"])]
    assert out["counterparty_name"].to_list() == [r["counterparty_name"] for r in adults]
    assert out["id_number"].to_list() == [r["id_number"][:6] + "*" * 12 for r in adults]
    for row, original in zip(out.to_dicts(), adults, strict=True):
        text = " ".join(str(v) for v in row.values() if v is not None)
        assert original["id_number"] not in text
        assert original["counterparty_address"] not in text
        assert not PHONE.search(text)
        assert not ELEVEN_DIGITS.search(text)


@settings(max_examples=60, deadline=None)
@given(
    number=st.tuples(
        st.sampled_from(REGIONS),
        st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
        st.from_regex(r"[0-9]{3}", fullmatch=True),
    ),
    keep=st.integers(min_value=0, max_value=10),
)
def test_id_mask_keeps_prefix_and_length(number: tuple[str, dt.date, str], keep: int) -> None:
    first17 = number[0] + number[1].strftime("%Y%m%d") + number[2]
    full = first17 + ric_check_char(first17)
    (masked,) = values(mask_id_number(pl.col("v"), keep_prefix=keep), [full])
    assert masked is not None
    assert len(masked) == len(full)
    assert masked[:keep] == full[:keep]
    assert set(masked[keep:]) == {"*"}
