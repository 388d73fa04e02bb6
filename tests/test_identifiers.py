"""Check-digit functions and their column kernels: known codes, properties over random codes."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcehub.validate import identifiers as ids

REAL_USCC = [
    "91110000600037341L",
    "91110108551385082Q",
    "91350100M000100Y43",
    "91230500MA1B3N1N2M",
    "91320105780688132K",
    "91330203674737244W",
    "12440300MB2C92173E",
]
TODAY = dt.date(2026, 11, 26)

uscc_bodies = st.tuples(
    st.sampled_from(sorted(ids.USCC_CATEGORIES)),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ids.USCC_ALPHABET, min_size=8, max_size=8),
).map(lambda t: t)


def _uscc(dept: str, region: str, body8: str, category: str) -> str:
    org = "".join(c for c in body8)
    org_body = org.replace("I", "1").replace("O", "0")
    org9 = org_body + ids.org_code_check_char(org_body)
    if org9[-1] not in ids.USCC_ALPHABET:  # 'X' is in the alphabet; keep the code well formed
        org9 = org9[:-1] + "0"
    first17 = dept + category + region + org9
    return first17 + ids.uscc_check_char(first17)


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    dept = draw(st.sampled_from(sorted(ids.USCC_CATEGORIES)))
    category = draw(st.sampled_from(ids.USCC_CATEGORIES[dept]))
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    body = draw(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
    return _uscc(dept, region, body, category)


@st.composite
def valid_resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110105", "360426", "440106", "440304", "441900", "450102"]))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    first17 = region + born.strftime("%Y%m%d") + sequence
    return first17 + ids.ric_check_char(first17)


def test_known_usccs_are_valid() -> None:
    assert ids.uscc_status(pa.array(REAL_USCC)).tolist() == [0] * len(REAL_USCC)
    assert ids.uscc_check_char("91230500MA1B3N1N2") == "M"


def test_uscc_findings_name_the_problem() -> None:
    status = ids.uscc_status(
        pa.array(["91230500MA1B3N1N2N", "00000000000000000X", "9123", None, "Z1230500MA1B3N1N2M"])
    )
    assert status.tolist() == [ids.BAD_CHECKSUM, ids.BAD_PLACEHOLDER, ids.BAD_FORMAT, 0, ids.BAD_FORMAT]


def test_first_characters_a_n_y_are_valid() -> None:
    # python-stdnum wrongly rejects these (reference 5.1); we must not.
    for dept, category in (("A", "1"), ("N", "2"), ("Y", "1")):
        code = _uscc(dept, "440100", "MA1B3N1N", category)
        assert ids.is_valid_uscc(code), code


@settings(max_examples=300)
@given(valid_usccs(), st.data())
def test_every_single_character_change_breaks_a_uscc(code: str, data: st.DataObject) -> None:
    assert ids.is_valid_uscc(code)
    position = data.draw(st.integers(0, 17))
    replacement = data.draw(st.sampled_from([c for c in ids.USCC_ALPHABET if c != code[position]]))
    changed = code[:position] + replacement + code[position + 1 :]
    assert not ids.is_valid_uscc(changed)


@settings(max_examples=300)
@given(valid_resident_ids(), st.data())
def test_every_single_character_change_breaks_a_resident_id(number: str, data: st.DataObject) -> None:
    assert ids.is_valid_resident_id(number, today=TODAY)
    position = data.draw(st.integers(0, 17))
    pool = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in pool if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    assert not ids.is_valid_resident_id(changed, today=TODAY)


def test_resident_id_examples_and_birth_dates() -> None:
    assert ids.is_valid_resident_id("360426199101010071", today=TODAY)
    assert ids.is_valid_resident_id("11010519491231002X", today=TODAY)
    assert ids.is_valid_resident_id("11010519491231002x", today=TODAY)
    status = ids.resident_id_status(pa.array(["110105199902300020", "110105203001010000"]), today=TODAY)
    assert all(s & ids.BAD_BIRTH_DATE for s in status.tolist())


def test_legacy_15_digit_ids_upgrade_to_valid_18() -> None:
    upgraded = ids.upgrade_resident_id("440111860101123")
    assert upgraded.startswith("44011119860101123") and len(upgraded) == 18
    assert ids.is_valid_resident_id(upgraded, today=TODAY)
    assert ids.is_valid_resident_id("440111860101123", today=TODAY)


def test_guangdong_address_codes_include_history() -> None:
    known = frozenset({"440111", "440106"})
    ok = ids.resident_id_status(
        pa.array(["44011119860101123" + ids.ric_check_char("44011119860101123")]),
        today=TODAY,
        guangdong_codes=known,
    )
    bad_first17 = "44999919860101123"
    bad = ids.resident_id_status(
        pa.array([bad_first17 + ids.ric_check_char(bad_first17)]), today=TODAY, guangdong_codes=known
    )
    assert ok.tolist() == [0]
    assert bad.tolist() == [ids.BAD_REGION]


@settings(max_examples=300)
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=8), st.data())
def test_org_code_detects_single_digit_changes(body: str, data: st.DataObject) -> None:
    code = body + ids.org_code_check_char(body)
    assert ids.is_valid_org_code(code)
    digits = [i for i, c in enumerate(body) if c.isdigit()]
    if not digits:
        return
    position = data.draw(st.sampled_from(digits))
    replacement = data.draw(st.sampled_from([c for c in "0123456789" if c != code[position]]))
    # GB 11714 weights are all non-zero mod 11, so any digit-for-digit change moves the sum.
    assert not ids.is_valid_org_code(code[:position] + replacement + code[position + 1 :])


def test_org_codes_from_real_usccs() -> None:
    for code in REAL_USCC:
        assert ids.is_valid_org_code(code[8:17]), code
    assert ids.org_code_check_char("MA1B3N1N") == "2"
    assert ids.is_valid_org_code("60003734-1")
