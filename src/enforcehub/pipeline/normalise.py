"""Turn validated rows into the stored form: canonical values, business key, content hash.

Stored values are the standard's canonical ones: codes (not labels), ISO dates, amounts in the
standard's unit (万元 already converted), booleans as true/false, multi-valued codes joined by ';'.

The content is one JSON object per record: every element of the dataset in the standard's order,
null when empty, compact (no spaces), non-ASCII characters as they are (UTF-8). Its content hash is
BLAKE3 of those UTF-8 bytes, the first 128 bits as 32 lowercase hex digits (BLAKE3's output is
extendable, so this equals BLAKE3 with a 16-byte output). Any BLAKE3 implementation reproduces it;
here polars-hash computes it inside polars, without a Python call per row.
"""

from __future__ import annotations

import polars as pl
import polars_hash as plh

from enforcehub.standard.model import Dataset, Standard
from enforcehub.validate.columns import code_mapping, normalised, separators_class, typed

KEY = "__key"
CONTENT = "__content"
HASH = "__hash"
HASH_HEX_DIGITS = 32  # 128 bits: records.content_hash / versions.content_hash are String(32)
SPLIT_ROWS = 10_000
ACT_DATE_CANDIDATES = ("decision_date", "inspection_time", "received_date", "start_date", "version_date")
COUNTERPARTY_CANDIDATES = ("counterparty_uscc", "id_number", "counterparty_code")


def canonical_columns(standard: Standard, dataset: Dataset) -> list[pl.Expr]:
    """One expression per element giving its canonical string value (null when empty)."""
    columns: list[pl.Expr] = []
    separators = separators_class(standard.meta.multi_value_separators)
    for element in dataset.elements:
        raw = pl.col(element.name)
        match element.type:
            case "code" if element.multiple:
                assert element.codeset is not None
                mapping = code_mapping(standard.codesets[element.codeset])
                value = (
                    raw.str.replace_all(separators, ";")
                    .str.split(";")
                    .list.eval(pl.element().str.strip_chars())
                    .list.eval(pl.element().filter(pl.element() != ""))
                    .list.eval(pl.element().replace(mapping))
                    .list.join(";")
                )
            case "code":
                value = pl.col(normalised(element.name))
            case "date":
                value = pl.col(typed(element.name)).dt.strftime("%Y-%m-%d")
            case "datetime":
                value = pl.col(typed(element.name)).dt.strftime("%Y-%m-%d %H:%M:%S")
            case "decimal":
                digits = element.precision[1] if element.precision else 6
                value = pl.col(typed(element.name)).round(digits).cast(pl.Utf8)
            case "integer":
                value = pl.col(typed(element.name)).cast(pl.Utf8)
            case "boolean":
                value = (
                    pl.when(pl.col(typed(element.name)))
                    .then(pl.lit("true"))
                    .otherwise(pl.when(pl.col(typed(element.name)).is_not_null()).then(pl.lit("false")))
                )
            case _:
                value = raw
        columns.append(value.alias(element.name))
    return columns


def stored_frame(standard: Standard, dataset: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical values of valid rows plus __row__, the business key, the content JSON and its hash."""
    names = list(dataset.names)
    stored = (
        frame.lazy()
        .select(pl.col("__row__"), *canonical_columns(standard, dataset))
        .with_columns(
            pl.concat_str([pl.col(k).fill_null("") for k in dataset.key], separator="|").alias(KEY),
            pl.struct(names).struct.json_encode().alias(CONTENT),
        )
        .with_columns(content_hash(CONTENT).alias(HASH))
    )
    if frame.height < SPLIT_ROWS:
        return stored.collect()
    # JSON encoding and hashing run on one thread per column: two halves use both cores.
    half = frame.height // 2
    return pl.concat(pl.collect_all([stored.slice(0, half), stored.slice(half)]), rechunk=False)


def content_hash(column: str) -> pl.Expr:
    """BLAKE3-128 of each string's UTF-8 bytes as 32 hex digits (stable across polars versions,
    unlike polars' own hash)."""
    return plh.col(column).chash.blake3().str.slice(0, HASH_HEX_DIGITS)


def first_present(dataset: Dataset, candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in dataset.names), None)
