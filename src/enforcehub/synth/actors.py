"""Who acts and on whom: the columns every action dataset shares (agency, reporting unit, party, officers).

Each action generator draws agency rows (Zipf weights), counterparty rows (same field, inside
the agency's jurisdiction) and officers (of that agency), then asks for the shared columns here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from enforcehub.synth.common import Bools, Ints, text, weighted_pick
from enforcehub.synth.parties import IND, ORG, PERSON, draw
from enforcehub.synth.province import Province
from enforcehub.synth.world import DEPARTMENTS

CATEGORY_ORDER = (ORG, IND, PERSON)


@dataclass
class Actors:
    """Agency and counterparty rows of a batch of records (indexes into the province tables)."""

    agency: Ints  # agency_index per record
    party: Ints  # party_index per record
    agencies: pl.DataFrame  # the agency rows, one per record
    parties: pl.DataFrame  # the counterparty rows, one per record

    @property
    def field(self) -> npt.NDArray[np.str_]:
        """The enforcement field of each record's agency."""
        return self.agencies["field"].to_numpy().astype(str)

    @functools.cached_property
    def category(self) -> npt.NDArray[np.str_]:
        """The counterparty category (行政相对人类别) of each record."""
        return self.parties["category"].to_numpy().astype(str)

    @functools.cached_property
    def person(self) -> Bools:
        """Whether each record's counterparty is a natural person."""
        return np.asarray(self.category == PERSON)


def pick_agencies(
    rng: np.random.Generator, province: Province, n: int, fields: set[str] | None = None
) -> Ints:
    """`n` agency indexes by Zipf weight, optionally only agencies of some fields."""
    table = province.agencies
    weight = table["weight"].to_numpy().copy()
    if fields is not None:
        weight = np.where(table["field"].is_in(sorted(fields)).to_numpy(), weight, 0.0)
    return weighted_pick(rng, weight, n)


def pick_parties(
    rng: np.random.Generator, province: Province, agency: Ints, wanted: npt.NDArray[np.str_]
) -> Ints:
    """A counterparty per record of the agency's field and jurisdiction, preferably of category `wanted`."""
    rows = province.agencies[agency]
    level = rows["level"].to_numpy().astype(str)
    scope = np.where(level == "province", "field", np.where(level == "county", "county", "city"))
    place = np.where(level == "province", "", rows["region_code"].to_numpy().astype(str))
    return draw(rng, province.parties, rows["field"].to_numpy().astype(str), wanted, scope, place)


def categories(rng: np.random.Generator, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    """A wanted category per row from per-row weights (n × 3, order ORG, IND, PERSON)."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    index = (rng.random(len(weights))[:, None] > cumulative).sum(axis=1)
    return np.asarray(np.asarray(CATEGORY_ORDER)[np.minimum(index, 2)], dtype=str)


def actors(province: Province, agency: Ints, party: Ints) -> Actors:
    """Bundle the drawn rows."""
    return Actors(agency, party, province.agencies[agency], province.parties.table[party])


def officer_certs(
    rng: np.random.Generator, province: Province, agency: Ints, count: Ints
) -> tuple[pl.Series, pl.Series]:
    """`count` (1–3) distinct officers of the agency per record: (执法证号, 姓名), each joined with ';'."""
    start = province.officer_start[agency]
    size = province.officer_count[agency]
    first = (rng.random(len(agency)) * size).astype(np.int64)
    d1 = 1 + (rng.random(len(agency)) * np.maximum(size - 1, 1)).astype(np.int64)
    d2 = 1 + (rng.random(len(agency)) * np.maximum(size - 2, 1)).astype(np.int64)
    d2 = np.where(d2 >= d1, d2 + 1, d2)  # distinct from d1 (size ≥ 3 wherever a third is asked for)
    certs = province.officers["cert_number"].to_numpy().astype(str)
    names = province.officers["name"].to_numpy().astype(str)
    picks = [start + first, start + (first + d1) % size, start + (first + d2) % size]
    cert = [pl.Series(certs[p].tolist(), dtype=pl.Utf8) for p in picks]
    name = [pl.Series(names[p].tolist(), dtype=pl.Utf8) for p in picks]
    count = np.where(size >= 3, count, np.minimum(count, size))
    return _join_first(cert, count).alias("certs"), _join_first(name, count).alias("names")


def _join_first(columns: list[pl.Series], count: Ints) -> pl.Series:
    frame = pl.DataFrame({"a": columns[0], "b": columns[1], "c": columns[2], "k": count})
    return frame.select(
        pl.when(pl.col("k") == 1)
        .then(pl.col("a"))
        .when(pl.col("k") == 2)
        .then(pl.concat_str("a", "b", separator=";"))
        .otherwise(pl.concat_str("a", "b", "c", separator=";"))
    ).to_series()


def agency_columns(who: Actors) -> dict[str, pl.Series]:
    """agency_name, agency_uscc, region_code, and the reporting unit (数据来源单位) with code and region."""
    rows = who.agencies
    return {
        "agency_name": rows["name"],
        "agency_uscc": rows["uscc"],
        "region_code": rows["region_code"],
        "reporting_unit": rows["reporting_unit"],
        "reporting_unit_uscc": rows["reporting_unit_uscc"],
        "reporting_unit_region": rows["reporting_unit_region"],
    }


def party_columns(who: Actors, *, id_label: str) -> dict[str, pl.Series]:
    """The counterparty columns of the 双公示 layout: name, category, USCC / ID, legal representative."""
    rows = who.parties
    person = who.person
    organisation = ~person
    org_only = np.asarray(who.category == ORG)
    n = rows.height
    return {
        "counterparty_name": rows["name"],
        "counterparty_category": rows["category"],
        "counterparty_uscc": text(rows["uscc"].fill_null("").to_numpy().astype(str), organisation),
        "org_code": text(rows["org_code"].fill_null("").to_numpy().astype(str), org_only),
        "legal_representative": text(
            rows["legal_representative"].fill_null("").to_numpy().astype(str), organisation
        ),
        "legal_rep_id_type": text(np.full(n, id_label), organisation),
        "legal_rep_id_number": text(rows["id_number"].to_numpy().astype(str), organisation),
        "id_type": text(np.full(n, id_label), person),
        "id_number": text(rows["id_number"].to_numpy().astype(str), person),
    }


def minors(who: Actors, on: npt.NDArray[np.datetime64]) -> Bools:
    """Natural persons younger than 18 on the given dates (by calendar birthday, not 18 × 365 days)."""
    birth = who.parties["birth_date"]
    day = pl.Series(on.astype("datetime64[D]"))
    before_birthday = (day.dt.month() * 100 + day.dt.day()) < (birth.dt.month() * 100 + birth.dt.day())
    age = (day.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)).to_numpy()
    return np.asarray(who.person & (age < 18))


def document_numbers(
    province: Province, agency: Ints, days: np.ndarray, word: str | None = None
) -> pl.Series:
    """文书号 such as 穗天市监处罚〔2025〕123号: the agency's prefix, a word (default: its department's
    penalty word), the year and a number counted per agency and year in date order."""
    rows = province.agencies[agency]
    words = (
        rows["field"].replace_strict({d.field: d.word for d in DEPARTMENTS}, default="", return_dtype=pl.Utf8)
        if word is None
        else pl.lit(word)
    )
    frame = pl.DataFrame(
        {"agency": agency, "prefix": rows["doc_prefix"], "day": pl.Series(days.astype("datetime64[D]"))}
    ).with_columns(words.alias("word") if isinstance(words, pl.Expr) else pl.Series("word", words))
    frame = frame.with_columns(pl.col("day").dt.year().alias("year"))
    # Ordinal rank breaks ties by row order, so the numbering is deterministic; reports rarely
    # start at 1 (not every decision is reported), hence a small per-agency offset.
    seq = pl.col("day").rank("ordinal").over(["agency", "year"]).cast(pl.Int64) + pl.col("agency") * 7 % 13
    return frame.select(
        pl.concat_str(
            [
                "prefix",
                "word",
                pl.lit("〔"),
                pl.col("year").cast(pl.Utf8),
                pl.lit("〕"),
                seq.cast(pl.Utf8),
                pl.lit("号"),
            ]
        )
    ).to_series()


GENERIC_CHANGES = (
    "原记录当事人名称录入有误，予以更正",
    "原记录日期录入有误，予以更正",
    "补充完善执法依据条款",
)
GENERIC_REVOCATIONS = ("经复核，原决定认定事实不清，予以撤销", "经行政复议决定撤销", "重复报送，予以撤销")


def record_status(
    rng: np.random.Generator,
    n: int,
    *,
    changed: float = 0.015,
    revoked: float = 0.005,
    changes: tuple[str, ...] = GENERIC_CHANGES,
    revocations: tuple[str, ...] = GENERIC_REVOCATIONS,
) -> dict[str, pl.Series]:
    """status (有效/变更/撤销), status_reason and publicity_status: a corrected or revoked record is
    reported again as a new version with its reason, and a revoked one is withdrawn from publicity."""
    draw = rng.random(n)
    is_changed = draw < changed
    is_revoked = ~is_changed & (draw < changed + revoked)
    status = np.where(is_changed, "变更", np.where(is_revoked, "撤销", "有效"))
    reason = np.where(
        is_changed,
        np.asarray(changes)[rng.integers(0, len(changes), n)],
        np.where(is_revoked, np.asarray(revocations)[rng.integers(0, len(revocations), n)], ""),
    )
    return {
        "status": text(status),
        "status_reason": text(reason),
        "publicity_status": text(np.where(is_revoked, "撤销", "正常")),
    }
