"""Valid identifiers, generated whole arrays at a time.

- 统一社会信用代码 (GB 32100): department + category + 6-digit division + a 9-character 组织机构代码
  whose own GB 11714 check character is correct (the validator warns when it is not) + check char.
- 公民身份号码 (GB 11643): a real division code, a real birth date, a sequence whose parity gives the
  sex, and the MOD 11-2 check character.

The arithmetic works on (n, width) byte matrices, so a few hundred thousand codes cost milliseconds.
The scalar functions of `enforcehub.validate.identifiers` are the independent oracle the tests use.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from enforcehub.validate.identifiers import ORG_WEIGHTS, RIC_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

StrArray = npt.NDArray[np.str_]
IntArray = npt.NDArray[np.int64]

_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_c)] = _i
_BASE36_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _BASE36_VALUE[ord(_c)] = _i
_USCC_CHARS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_RIC_CHECK_CHARS = np.frombuffer(b"0123456789X", dtype=np.uint8)

# Letters of new-style (post-2015) organisation-code bodies: USCC alphabet letters, so the body
# is also legal inside a USCC (no I, O, S, V, Z).
_BODY_ALPHABET = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)


def _matrix(values: StrArray, width: int) -> npt.NDArray[np.uint8]:
    """(n, width) ASCII bytes of fixed-width ASCII strings."""
    raw = np.asarray(values).astype(f"S{width}")
    return raw.view(np.uint8).reshape(len(raw), width)


def _strings(matrix: npt.NDArray[np.uint8]) -> StrArray:
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix).view(f"S{width}").ravel().astype(f"U{width}")


def org_check_chars(bodies: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """GB 11714 check characters (ASCII) for an (n, 8) matrix of body bytes."""
    values = _BASE36_VALUE[bodies]
    total = (values * np.asarray(ORG_WEIGHTS, dtype=np.int64)).sum(axis=1)
    check = 11 - total % 11  # 1..11; 10 → X, 11 → 0
    return np.where(check == 11, ord("0"), np.where(check == 10, ord("X"), ord("0") + check)).astype(np.uint8)


def uscc_check_chars(first17: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """GB 32100 check characters (ASCII) for an (n, 17) matrix of bytes."""
    values = _USCC_VALUE[first17]
    total = (values * np.asarray(USCC_WEIGHTS, dtype=np.int64)).sum(axis=1)
    return np.asarray(_USCC_CHARS[(31 - total % 31) % 31], dtype=np.uint8)


def ric_check_chars(first17: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """GB 11643 check characters (ASCII) for an (n, 17) matrix of digit bytes."""
    digits = first17.astype(np.int64) - ord("0")
    total = (digits * np.asarray(RIC_WEIGHTS, dtype=np.int64)).sum(axis=1)
    return np.asarray(_RIC_CHECK_CHARS[(1 - total) % 11], dtype=np.uint8)


def org_bodies(rng: np.random.Generator, n: int, *, style: str) -> npt.NDArray[np.uint8]:
    """(n, 8) organisation-code bodies.

    style `new`: MA + 6 characters, as issued with USCCs since 2015 (MA1B3N1N);
    `old`: 8 digits, pre-2015 codes carried over into the USCC;
    `government`: 00 + 6 digits, the block the old code system gave to 机关.
    """
    body = np.empty((n, 8), dtype=np.uint8)
    if style == "new":
        body[:, 0] = ord("M")
        # MA dominates; MB/MC… appear in big cities once MA ran out.
        body[:, 1] = np.frombuffer(b"AAAAAAABBC", dtype=np.uint8)[rng.integers(0, 10, n)]
        body[:, 2:] = _BODY_ALPHABET[rng.integers(0, len(_BODY_ALPHABET), (n, 6))]
    elif style == "old":
        body[:, 0] = ord("0") + rng.integers(1, 10, n)
        body[:, 1:] = ord("0") + rng.integers(0, 10, (n, 7))
    elif style == "government":
        body[:, :2] = ord("0")
        body[:, 2] = ord("0") + rng.integers(5, 10, n)
        body[:, 3:] = ord("0") + rng.integers(0, 10, (n, 5))
    else:
        raise ValueError(f"unknown organisation-code style {style!r}")
    return body


def org_codes(bodies: npt.NDArray[np.uint8]) -> StrArray:
    """9-character organisation codes (no hyphen) from (n, 8) bodies."""
    return _strings(np.concatenate([bodies, org_check_chars(bodies)[:, None]], axis=1))


def usccs(prefix: str, regions: StrArray, bodies: npt.NDArray[np.uint8]) -> StrArray:
    """USCCs `prefix` (2 chars: 91 企业, 92 个体工商户, 11 机关) + region + body + org check + check."""
    n = len(regions)
    first17 = np.empty((n, 17), dtype=np.uint8)
    first17[:, 0] = ord(prefix[0])
    first17[:, 1] = ord(prefix[1])
    first17[:, 2:8] = _matrix(regions, 6)
    first17[:, 8:16] = bodies
    first17[:, 16] = org_check_chars(bodies)
    return _strings(np.concatenate([first17, uscc_check_chars(first17)[:, None]], axis=1))


def unique_usccs(
    rng: np.random.Generator, prefix: str, regions: StrArray, *, style: str, taken: set[str] | None = None
) -> StrArray:
    """USCCs for each region, distinct from each other and from `taken` (`taken` gains them)."""
    out = usccs(prefix, regions, org_bodies(rng, len(regions), style=style)).copy()
    seen = taken if taken is not None else set()
    pending = np.arange(len(regions))
    # Collisions are rare (31^6 bodies per region): redraw only the colliding rows, in row order.
    while len(pending):
        redo: list[int] = []
        for index in pending.tolist():
            code = str(out[index])
            if code in seen:
                redo.append(index)
            else:
                seen.add(code)
        pending = np.asarray(redo, dtype=np.int64)
        if len(pending):
            out[pending] = usccs(prefix, regions[pending], org_bodies(rng, len(pending), style=style))
    return out


def resident_ids(
    rng: np.random.Generator,
    regions: StrArray,
    births: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
) -> StrArray:
    """18-digit ID numbers: region + YYYYMMDD + sequence (odd for men, even for women) + check."""
    n = len(regions)
    first17 = np.empty((n, 17), dtype=np.uint8)
    first17[:, :6] = _matrix(regions, 6)
    first17[:, 6:14] = _matrix(np.datetime_as_string(births.astype("datetime64[D]")), 10)[
        :, [0, 1, 2, 3, 5, 6, 8, 9]
    ]
    sequence = rng.integers(0, 500, n) * 2 + np.where(male, 1, 0)
    first17[:, 14] = ord("0") + sequence // 100
    first17[:, 15] = ord("0") + sequence // 10 % 10
    first17[:, 16] = ord("0") + sequence % 10
    return _strings(np.concatenate([first17, ric_check_chars(first17)[:, None]], axis=1))
