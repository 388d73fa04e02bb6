"""The legal-basis check: every 《law》第X条 cited must exist in the version in force on the as-of date.

Citations are parsed once per distinct legal-basis text (a file repeats the same bases many
times), then joined with the registry's version table in polars: the work grows with distinct
texts and citations, not with Python calls per row.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import numpy as np
import polars as pl

from enforcehub.standard.registry import Citation, LawRegistry, parse_citations

LAW_FORMAT, LAW_UNKNOWN, LAW_NOT_IN_FORCE, LAW_ARTICLE_MISSING = 1, 2, 4, 8
LAW_BITS: tuple[tuple[int, str, str], ...] = (
    (LAW_FORMAT, "law-citation-format", "error"),
    (LAW_UNKNOWN, "law-unknown", "warning"),
    (LAW_NOT_IN_FORCE, "law-not-in-force", "error"),
    (LAW_ARTICLE_MISSING, "law-article-missing", "error"),
)


@functools.lru_cache(maxsize=100_000)
def _citations(text: str) -> tuple[tuple[str | None, str, int | None], ...]:
    """(resolved registry name or None, name as cited, article) for each citation in `text`."""
    registry = LawRegistry.load()
    return tuple((registry.resolve_name(c.law), c.law, c.article) for c in parse_citations(text))


def _citation_table(bases: pl.Series) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {"basis": [], "cite": [], "law": [], "article": [], "unparsed": []}
    for text in bases.to_list():
        found = _citations(text)
        if not found:
            rows["basis"].append(text)
            rows["cite"].append(0)
            rows["law"].append(None)
            rows["article"].append(None)
            rows["unparsed"].append(True)
        for index, (law, _cited, article) in enumerate(found):
            rows["basis"].append(text)
            rows["cite"].append(index)
            rows["law"].append(law)
            rows["article"].append(article)
            rows["unparsed"].append(False)
    return pl.DataFrame(
        rows,
        schema={
            "basis": pl.Utf8,
            "cite": pl.Int32,
            "law": pl.Utf8,
            "article": pl.Int64,
            "unparsed": pl.Boolean,
        },
    )


def law_status(frame: pl.DataFrame) -> pl.Series:
    """Status bits per row of a frame with columns `basis` (text) and `as_of` (date, may be null)."""
    n = frame.height
    out = np.zeros(n, dtype=np.uint8)
    indexed = frame.with_row_index("__i").filter(pl.col("basis").is_not_null())
    if indexed.height == 0:
        return pl.Series("law", out, dtype=pl.UInt8)
    cites = _citation_table(indexed["basis"].unique())
    versions = LawRegistry.load().citations_table()
    joined = indexed.join(cites, on="basis").join(versions, left_on="law", right_on="name", how="left")
    in_force = (pl.col("effective_from") <= pl.col("as_of")) & (
        pl.col("effective_to").is_null() | (pl.col("as_of") <= pl.col("effective_to"))
    )
    in_force = (
        pl.when(pl.col("as_of").is_null()).then(pl.col("effective_from").is_not_null()).otherwise(in_force)
    )
    # Before the instrument existed: not in force. Between its adoption and the earliest version on
    # file we cannot know its article numbers, so the citation is not judged.
    before_adoption = (pl.col("as_of") < pl.col("first_adopted")).fill_null(False)
    unverifiable = (~before_adoption & (pl.col("as_of") < pl.col("earliest_on_file"))).fill_null(False)
    article_ok = pl.col("article").is_null() | (pl.col("article") <= pl.col("max_article"))
    per_cite = joined.group_by("__i", "cite").agg(
        pl.col("unparsed").first(),
        pl.col("law").first().is_null().alias("unknown"),
        (in_force.fill_null(False) | unverifiable).any().alias("in_force"),
        ((in_force & article_ok).fill_null(False) | unverifiable).any().alias("article_ok"),
    )
    bits = (
        per_cite.select(
            "__i",
            (
                pl.when(pl.col("unparsed"))
                .then(LAW_FORMAT)
                .when(pl.col("unknown"))
                .then(LAW_UNKNOWN)
                .when(~pl.col("in_force"))
                .then(LAW_NOT_IN_FORCE)
                .when(~pl.col("article_ok"))
                .then(LAW_ARTICLE_MISSING)
                .otherwise(0)
            )
            .cast(pl.UInt8)
            .alias("bits"),
        )
        .group_by("__i")
        .agg(pl.col("bits").bitwise_or())
    )
    np.bitwise_or.at(out, bits["__i"].to_numpy(), bits["bits"].to_numpy())
    return pl.Series("law", out, dtype=pl.UInt8)


def law_status_expr(basis: pl.Expr, as_of: pl.Expr) -> pl.Expr:
    """An expression giving the status bits of each row's legal basis."""
    return pl.struct(basis.alias("basis"), as_of.cast(pl.Date).alias("as_of")).map_batches(
        lambda s: law_status(s.struct.unnest()), return_dtype=pl.UInt8
    )


def describe_citation_problem(code: str, value: str | None, as_of: str | None) -> dict[str, Any]:
    """Message parameters naming the first citation in `value` that has problem `code`."""
    if not value:
        return {}
    registry = LawRegistry.load()
    day = _parse_day(as_of)
    for citation in parse_citations(value):
        name = registry.resolve_name(citation.law)
        if code == "law-unknown" and name is None:
            return {"law": citation.law}
        if name is None:
            continue
        versions = registry.versions(name)
        version = registry.in_force(name, day) if day else versions[-1]
        first = versions[0]
        if code == "law-not-in-force" and version is None and (day is None or day < first.first_adopted):
            return {"law": citation.law, "as_of": as_of or ""}
        if code == "law-article-missing" and version is not None and _missing(citation, version.max_article):
            return {
                "law": citation.law,
                "article": citation.article,
                "max_article": version.max_article,
                "as_of": as_of or "",
            }
    return {}


def _missing(citation: Citation, max_article: int) -> bool:
    return citation.article is not None and citation.article > max_article


def _parse_day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10].replace("/", "-"))
    except ValueError:
        return None
