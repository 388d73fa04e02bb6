"""Identifier checks: 统一社会信用代码 (GB 32100), 公民身份号码 (GB 11643), 组织机构代码 (GB 11714).

Two forms of each: scalar functions (for the generator, tests and single values) and column
kernels that check a whole Arrow column at once with numpy. The kernels return a uint8 status
per row whose bits name what is wrong, so one pass serves every finding code of a check.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pyarrow as pa

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
USCC_PLACEHOLDER = "00000000000000000X"

# Registration department (pos. 1) → allowed category chars (pos. 2), GB 32100 as extended (reference 5.1).
USCC_CATEGORIES: dict[str, str] = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}
# GB/T 2260 province-level prefixes (31 provinces plus 台湾 71, 香港 81, 澳门 82).
PROVINCE_PREFIXES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)

Status = npt.NDArray[np.uint8]

# Status bits shared by the kernels below.
BAD_FORMAT = np.uint8(1)
BAD_CHECKSUM = np.uint8(2)
BAD_CATEGORY = np.uint8(4)
BAD_PLACEHOLDER = np.uint8(8)
BAD_EMBEDDED = np.uint8(16)  # USCC: embedded organisation code fails GB 11714 (a warning)
BAD_BIRTH_DATE = np.uint8(32)
BAD_REGION = np.uint8(64)


# --- scalar forms -------------------------------------------------------------------------------


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character for an 8-character organisation-code body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def ric_check_char(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits of an ID number."""
    check = (1 - sum(int(d) * w for d, w in zip(first17, RIC_WEIGHTS, strict=True))) % 11
    return "X" if check == 10 else str(check)


def is_valid_uscc(code: str) -> bool:
    """True when `code` is a well-formed USCC with a correct check character (GB 32100)."""
    fatal = BAD_FORMAT | BAD_CHECKSUM | BAD_CATEGORY | BAD_PLACEHOLDER
    return not int(uscc_status(pa.array([code]))[0]) & fatal


def is_valid_org_code(code: str) -> bool:
    """True when `code` is a 9-character organisation code with a correct check character."""
    return bool(org_code_status(pa.array([code]))[0] == 0)


def is_valid_resident_id(number: str, *, today: dt.date | None = None) -> bool:
    """True when `number` is a valid 18-digit (or legacy 15-digit) resident ID number."""
    return bool(resident_id_status(pa.array([number]), today=today)[0] == 0)


def upgrade_resident_id(number15: str) -> str:
    """Convert a legacy 15-digit ID number to 18 digits (insert '19', append the check character)."""
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + ric_check_char(first17)


# --- column kernels -----------------------------------------------------------------------------
# Kernels work position by position on (width, n) byte matrices: n-long contiguous gathers and
# int32 accumulators keep a million-row column well under 100 ms (a (n, width) int64 matrix did not).


def _fixed_width(column: pa.Array, width: int) -> tuple[npt.NDArray[np.bool_], bytes]:
    """Rows whose value has exactly `width` bytes, and those values concatenated (n_fit * width bytes)."""
    column = column.cast(pa.large_string())
    n = len(column)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64, count=n + 1, offset=column.offset * 8)
    fits = np.diff(offsets) == width
    if column.null_count:
        fits &= ~_nulls(column)
    kept = column if fits.all() else column.filter(pa.array(fits))
    kept_offsets = np.frombuffer(
        kept.buffers()[1], dtype=np.int64, count=len(kept) + 1, offset=kept.offset * 8
    )
    data = kept.buffers()[2]
    raw = b"" if data is None else memoryview(data)[kept_offsets[0] : kept_offsets[-1]].tobytes()
    return fits, raw


def _matrix(raw: bytes, width: int, table: bytes | None = None) -> npt.NDArray[np.uint8]:
    """A (width, n) view of fixed-width values, each byte mapped through `table` if given."""
    mapped = raw.translate(table) if table is not None else raw
    return np.frombuffer(mapped, dtype=np.uint8).reshape(-1, width).T


def _table(alphabet: str, *, lower_too: bool = False) -> bytes:
    """A bytes.translate table giving each character's value in `alphabet`, 255 for any other byte."""
    table = bytearray(b"\xff" * 256)
    for value, char in enumerate(alphabet):
        table[ord(char)] = value
        if lower_too:
            table[ord(char.lower())] = value
    return bytes(table)


_USCC_VALUE = _table(USCC_ALPHABET, lower_too=True)
_ORG_VALUE = _table("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", lower_too=True)
_DIGIT = _table("0123456789")
_UPPER_X = bytes(range(256)).replace(b"x", b"X")
_CATEGORY_OK = np.zeros((256, 256), dtype=bool)
for _dept, _cats in USCC_CATEGORIES.items():
    for _cat in _cats:
        _CATEGORY_OK[ord(_dept), ord(_cat)] = True
        _CATEGORY_OK[ord(_dept.lower()), ord(_cat)] = True
INVALID = 255


def _nulls(column: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _weighted(values: npt.NDArray[np.uint8], weights: tuple[int, ...]) -> npt.NDArray[np.int32]:
    total = np.zeros(values.shape[1], dtype=np.int32)
    for position, weight in enumerate(weights):
        total += values[position].astype(np.int32) * np.int32(weight)
    return total


def _bit(mask: npt.NDArray[np.bool_], bit: np.uint8) -> Status:
    return mask.astype(np.uint8) * bit


def uscc_status(column: pa.Array) -> Status:
    """Status bits per row of a string column of USCCs; null rows are 0 (absence is checked elsewhere)."""
    status = np.full(len(column), BAD_FORMAT, dtype=np.uint8)
    fits, raw = _fixed_width(column, 18)
    chars = _matrix(raw, 18, _UPPER_X)
    values = _matrix(raw, 18, _USCC_VALUE)
    well_formed = (values != INVALID).all(axis=0) & (_matrix(raw, 18, _DIGIT)[2:8] != INVALID).all(axis=0)
    expected = (31 - _weighted(values, USCC_WEIGHTS) % 31) % 31
    placeholder = (chars[:17] == ord("0")).all(axis=0) & (chars[17] == ord("X"))
    bits = (
        _bit(expected != values[17], BAD_CHECKSUM)
        | _bit(~_CATEGORY_OK[chars[0], chars[1]], BAD_CATEGORY)
        | _bit(_org_bad(_matrix(raw, 18, _ORG_VALUE)[8:17]), BAD_EMBEDDED)
    )
    bits = np.where(placeholder, BAD_PLACEHOLDER, bits)
    status[fits] = np.where(well_formed, bits, BAD_FORMAT)
    status[_nulls(column)] = 0
    return status


def _org_bad(values: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Columns of a (9, n) matrix of base-36 values (X = 33) that are not valid GB 11714 codes."""
    check = 11 - _weighted(values[:8], ORG_WEIGHTS) % 11
    expected = np.where(check == 11, 0, check)  # 10 stands for X
    last = values[8].astype(np.int32)
    last_ok = np.where(last == 33, expected == 10, (last <= 9) & (last == expected))
    bad: npt.NDArray[np.bool_] = ~(values[:8] != INVALID).all(axis=0) | ~last_ok
    return bad


def org_code_status(column: pa.Array) -> Status:
    """Status bits per row of a column of 9-character organisation codes (hyphen before the check allowed)."""
    import pyarrow.compute as pc

    column = pc.replace_substring(column.cast(pa.large_string()), "-", "")
    status = np.full(len(column), BAD_FORMAT, dtype=np.uint8)
    fits, raw = _fixed_width(column, 9)
    values = _matrix(raw, 9, _ORG_VALUE)
    body_ok = (values[:8] != INVALID).all(axis=0)
    status[fits] = np.where(body_ok, _bit(_org_bad(values), BAD_CHECKSUM), BAD_FORMAT)
    status[_nulls(column)] = 0
    return status


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _valid_dates(
    year: npt.NDArray[np.int32], month: npt.NDArray[np.int32], day: npt.NDArray[np.int32]
) -> npt.NDArray[np.bool_]:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    limit = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    valid: npt.NDArray[np.bool_] = (month >= 1) & (month <= 12) & (day >= 1) & (day <= limit)
    return valid


def _number(digits: npt.NDArray[np.uint8], start: int, stop: int) -> npt.NDArray[np.int32]:
    total = np.zeros(digits.shape[1], dtype=np.int32)
    for position in range(start, stop):
        total = total * 10 + digits[position]
    return total


_PROVINCES = np.array(sorted(int(p) for p in PROVINCE_PREFIXES), dtype=np.int32)


def resident_id_status(
    column: pa.Array,
    *,
    today: dt.date | None = None,
    guangdong_codes: frozenset[str] | None = None,
) -> Status:
    """Status bits per row of a column of resident ID numbers (18 digits, or legacy 15 digits).

    `guangdong_codes`: every 44xxxx code ever valid; when given, a Guangdong address code must be one of them.
    """
    today = today or dt.date.today()
    status = np.full(len(column), BAD_FORMAT, dtype=np.uint8)
    known = np.array(sorted(int(c) for c in guangdong_codes or ()), dtype=np.int32)
    for width in (18, 15):
        fits, raw = _fixed_width(column, width)
        if not raw:
            continue
        digits = _matrix(raw, width, _DIGIT)
        well_formed = (digits[:17] != INVALID).all(axis=0)
        last_is_x = None
        if width == 18:
            last_is_x = _matrix(raw, width, _UPPER_X)[17] == ord("X")
            well_formed &= (digits[17] != INVALID) | last_is_x
        digits = np.where(digits == INVALID, 0, digits).astype(np.uint8)
        if width == 18:
            year, month, day = _number(digits, 6, 10), _number(digits, 10, 12), _number(digits, 12, 14)
        else:
            year, month, day = 1900 + _number(digits, 6, 8), _number(digits, 8, 10), _number(digits, 10, 12)
        born = _valid_dates(year, month, day) & (year >= 1850)
        born &= year * 10000 + month * 100 + day <= today.year * 10000 + today.month * 100 + today.day
        bits = _bit(~born, BAD_BIRTH_DATE)
        if last_is_x is not None:
            check = (1 - _weighted(digits, RIC_WEIGHTS)) % 11
            given = np.where(last_is_x, 10, digits[17])
            bits |= _bit(check != given, BAD_CHECKSUM)
        province = _number(digits, 0, 2)
        region_ok = np.isin(province, _PROVINCES)
        if guangdong_codes is not None:
            region_ok &= (province != 44) | np.isin(_number(digits, 0, 6), known)
        bits |= _bit(~region_ok, BAD_REGION)
        status[fits] = np.where(well_formed, bits, BAD_FORMAT)
    status[_nulls(column)] = 0
    return status
