"""Masking of personal information for sharing and publication (reference 7.4), as polars expressions.

Mask builders take a column expression and return the masked expression, so a declarative profile names
them (`MASKS`) and `apply_masks(frame, {field: mask_name}, when=natural_person())` applies them row-wise.

The publication rule of 7.4 (`mask_for_publication`): the penalised party's name stays; for a 自然人 the
证件号码 is masked and address, contact details, bank accounts and health data are dropped; other natural
persons' names are dropped; organisations' bank accounts are dropped; records whose party is a minor are
excluded (the same test as `pub_public` in `enforcehub.share.publicity`).

Choices ([uncertain] or not covered by the reference):

- M1 ID masking keeps the first 6 characters and replaces the rest with `*`, length preserved
  (`330921************`, the observed 信用中国 catalogue form); both are parameters. A value not longer than
  the kept prefix is masked whole (a short passport number would otherwise be shown in full).
- M2 Phone masking keeps the first 3 and last 4 characters and masks every digit between them
  (138****5678); a value of 7 characters or fewer has all its digits masked.
- M3 "name-initial" keeps the first character (张**, length preserved); a one-character name becomes `*`.
- M4 "drop" nulls the value (keeping the column and its type) because it applies row by row; drop the
  column itself where a consumer must not see it at all.
- M5 A null condition counts as true (fail closed): a row whose counterparty category is missing is
  masked as a natural person's.
- M6 `id_number` and `legal_rep_id_number` hold only natural persons' document numbers (an organisation
  has none), so they are masked on every row, not only for 自然人 parties.
- M7 Names of other natural persons: `legal_reviewer` (法制审核人员) is dropped on every row. The legal
  representative of an organisation or 个体工商户 is a public registration fact in 双公示 (penalty.yaml
  C201014) and stays; on a 自然人 row there is no legal representative, so that field is dropped there.
- M8 Free text (违法事实, 处罚内容, 备注 …) of a 自然人 record is scrubbed of digit runs of 11 or more
  (phone, ID, bank account numbers; an ID may end in X) and of mobile numbers written 138-1234-5678 or
  138 1234 5678, each replaced by `***`; licence numbers and the
  suspended/revoked licence reference get the same treatment (a Chinese driving licence number is the ID
  number). Addresses and other persons' names inside free text cannot be found reliably and are not
  removed: such records should carry the `sensitive` flag and be redacted at source.
- M9 个体工商户 rows are treated like organisations (only bank accounts dropped), as the category says;
  whether the operator's phone or address should be hidden is not settled by the reference.
- M10 `bank_account` and `health_status` are not elements of the standard yet; the rule names them so a
  future element with that name is covered. Fields absent from a frame are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, TypeVar

import polars as pl

from enforcehub.share.publicity import DEFAULT_CONFIG, NATURAL_PERSON, PublicityConfig, minor_party

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
MaskBuilder = Callable[[pl.Expr], pl.Expr]

_ANY_CHAR = r"(?s)."
# IDs (may end in X), runs of 11+ digits, and mobile numbers written with a space or hyphen (138-1234-5678).
_LONG_NUMBER = r"[0-9]{17}[Xx]|[0-9]{11,}|1[3-9][0-9][- ][0-9]{4}[- ][0-9]{4}"


def _replacement(char: str) -> str:
    if len(char) != 1:
        raise ValueError(f"the mask character must be one character, not {char!r}")
    return char.replace("$", "$$")  # `$` starts a group reference in a regex replacement


def _masked(expr: pl.Expr, char: str) -> pl.Expr:
    """Every character of the value replaced by `char` (length preserved)."""
    return expr.str.replace_all(_ANY_CHAR, _replacement(char))


def mask_id_number(expr: pl.Expr, keep_prefix: int = 6, char: str = "*") -> pl.Expr:
    """Keep the first `keep_prefix` characters, mask the rest, length preserved (choice M1).

    `440106199001011234` → `440106************`. Null stays null.
    """
    if keep_prefix < 0:
        raise ValueError("keep_prefix must not be negative")
    value = expr.cast(pl.Utf8)
    length = value.str.len_chars()
    kept = value.str.head(keep_prefix) + _masked(value.str.slice(keep_prefix), char)
    return pl.when(length > keep_prefix).then(kept).otherwise(_masked(value, char))


def mask_phone(expr: pl.Expr, keep_prefix: int = 3, keep_suffix: int = 4, char: str = "*") -> pl.Expr:
    """Keep the first and last characters, mask the digits between them (choice M2).

    `13812345678` → `138****5678`. Separators are kept; null stays null.
    """
    if keep_prefix < 0 or keep_suffix < 0:
        raise ValueError("keep_prefix and keep_suffix must not be negative")
    value = expr.cast(pl.Utf8)
    length = value.str.len_chars()
    digit = _replacement(char)
    inner = (length - keep_prefix - keep_suffix).clip(lower_bound=0)
    middle = value.str.slice(keep_prefix, inner).str.replace_all(r"[0-9]", digit)
    kept = value.str.head(keep_prefix) + middle + value.str.tail(keep_suffix)
    everything = value.str.replace_all(r"[0-9]", digit)
    return pl.when(length > keep_prefix + keep_suffix).then(kept).otherwise(everything)


def mask_name_initial(expr: pl.Expr, char: str = "*") -> pl.Expr:
    """Keep the first character of a name, mask the rest (张三丰 → 张**; choice M3). Null stays null."""
    value = expr.cast(pl.Utf8)
    length = value.str.len_chars()
    return (
        pl.when(length > 1)
        .then(value.str.head(1) + _masked(value.str.slice(1), char))
        .when(length == 1)
        .then(pl.lit(char))
        .otherwise(value)
    )


def scrub_numbers(expr: pl.Expr) -> pl.Expr:
    """Replace phone, ID and bank numbers (runs of 11+ digits) inside free text by `***` (M8)."""
    return expr.cast(pl.Utf8).str.replace_all(_LONG_NUMBER, "***")


def drop_value(expr: pl.Expr) -> pl.Expr:
    """A null of the expression's own type (choice M4)."""
    return pl.when(pl.lit(False)).then(expr)


def keep_value(expr: pl.Expr) -> pl.Expr:
    """The value unchanged (a profile says so explicitly)."""
    return expr


MASKS: Final[Mapping[str, MaskBuilder]] = MappingProxyType(
    {
        "id-number": mask_id_number,
        "phone": mask_phone,
        "name-initial": mask_name_initial,
        "scrub-numbers": scrub_numbers,
        "drop": drop_value,
        "keep": keep_value,
    }
)


def natural_person(column: str = "counterparty_category") -> pl.Expr:
    """True on rows whose party is a 自然人 (null when the category is missing)."""
    return pl.col(column).cast(pl.Utf8).str.strip_chars() == NATURAL_PERSON


def apply_masks(
    frame: FrameT,
    masks: Mapping[str, str | MaskBuilder],
    *,
    when: pl.Expr | None = None,
    registry: Mapping[str, MaskBuilder] = MASKS,
) -> FrameT:
    """Mask each named field (a mask name from `registry`, or a builder) on the rows where `when` holds.

    A null `when` counts as true (choice M5); fields the frame does not have are skipped; an unknown
    mask name is a ValueError. Other columns are untouched.
    """
    names = set(frame.collect_schema().names())
    condition = None if when is None else when.fill_null(True)
    exprs: list[pl.Expr] = []
    for field, mask in masks.items():
        if isinstance(mask, str):
            if mask not in registry:
                raise ValueError(f"unknown mask {mask!r} for {field} (known: {', '.join(sorted(registry))})")
            build = registry[mask]
        else:
            build = mask
        if field not in names:
            continue
        masked = build(pl.col(field))
        if condition is not None:
            masked = pl.when(condition).then(masked).otherwise(pl.col(field))
        exprs.append(masked.alias(field))
    return frame.with_columns(exprs) if exprs else frame


# --- the publication rule of reference 7.4 --------------------------------------------------------

# Every row: document numbers of natural persons (M6), other natural persons' names (M7), bank accounts.
PUBLICATION_MASKS_ALL: Final[Mapping[str, str]] = MappingProxyType(
    {
        "id_number": "id-number",
        "legal_rep_id_number": "id-number",
        "legal_reviewer": "drop",
        "bank_account": "drop",
    }
)

# Rows whose party is a 自然人: address, contact, bank, health, birth date dropped; free text scrubbed.
PUBLICATION_MASKS_NATURAL_PERSON: Final[Mapping[str, str]] = MappingProxyType(
    {
        "counterparty_address": "drop",
        "registered_address": "drop",
        "business_address": "drop",
        "phone": "drop",
        "birth_date": "drop",
        "health_status": "drop",
        "legal_representative": "drop",
        "legal_rep_id_type": "drop",
        "legal_rep_id_number": "drop",
        "case_name": "scrub-numbers",
        "violation_type": "scrub-numbers",
        "violation_facts": "scrub-numbers",
        "penalty_content": "scrub-numbers",
        "license_suspended_or_revoked": "scrub-numbers",
        "license_content": "scrub-numbers",
        "license_number": "scrub-numbers",
        "decision_title": "scrub-numbers",
        "remarks": "scrub-numbers",
        "status_reason": "scrub-numbers",
        "publicity_withdrawal_reason": "scrub-numbers",
    }
)


def mask_for_publication(
    frame: FrameT, *, config: PublicityConfig = DEFAULT_CONFIG, exclude_minors: bool = True
) -> FrameT:
    """Penalty or licence rows as they may be published (reference 7.4).

    Drops the rows whose party is a minor (unless `exclude_minors` is false: then the caller filters on
    `pub_public`), masks document numbers and other persons' names on every row, and drops a natural
    person's address, contact, bank and health data. The party's name is kept. The other publicity
    conditions (withdrawal, periods) are `enforcehub.share.publicity`'s.
    """
    if exclude_minors:
        frame = frame.filter(~minor_party(frame.collect_schema(), config))
    frame = apply_masks(frame, PUBLICATION_MASKS_ALL)
    return apply_masks(frame, PUBLICATION_MASKS_NATURAL_PERSON, when=_natural_person_or_unknown(frame))


def _natural_person_or_unknown(frame: pl.DataFrame | pl.LazyFrame) -> pl.Expr:
    """`natural_person()`, or true everywhere when the frame has no category (fail closed, M5)."""
    if "counterparty_category" in frame.collect_schema().names():
        return natural_person()
    return pl.lit(True)
