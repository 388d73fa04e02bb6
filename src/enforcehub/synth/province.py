"""The whole synthetic province in one value: places, agencies, supervisors, officers, parties, matters.

Built once per `generate` call from one seed; every record generator draws from it. Sizes of the
reference pools follow the requested scale (counterparties grow with the records), while the
agencies are the same at every scale, so a small and a large file describe the same province.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import polars as pl

from enforcehub.standard.registry import DivisionRegistry, LawRegistry, LawVersion, int_to_chinese_numeral
from enforcehub.synth import catalog_actions as acts
from enforcehub.synth import ids, names
from enforcehub.synth.catalog import VIOLATIONS, Cite
from enforcehub.synth.common import FIRST_DAY
from enforcehub.synth.parties import Parties, build
from enforcehub.synth.world import CITY_PROFILE, DEPARTMENT_BY_FIELD, DEPARTMENTS, Place, agencies, places

JUSTICE = "justice"  # 司法行政: the 行政执法监督机构 of each level
POSITIONS = ("科员", "一级科员", "四级主任科员", "副科长", "科长", "执法队员", "中队长", "大队长", "副局长")
SUPERVISOR_POSITIONS = ("一级主任科员", "行政执法协调监督科科长", "副局长", "四级调研员")
MATTER_START = FIRST_DAY.astype(dt.date)  # the matter list in force from the start of the generated period


@dataclass(frozen=True)
class Province:
    """Every pool the record generators draw from."""

    cities: list[Place]
    counties: list[Place]
    agencies: pl.DataFrame  # enforcement agencies (see world.agencies), plus agency_index
    supervisors: pl.DataFrame  # 司法厅/司法局 acting as 行政执法监督机构, same columns
    officers: pl.DataFrame  # sorted by agency_index; officer_start/officer_count index them
    officer_start: np.ndarray  # per agency_index (enforcement agencies, then supervisors)
    officer_count: np.ndarray
    parties: Parties
    matters: pl.DataFrame  # matter catalogue: key, type, field, code …


def build_province(rng: np.random.Generator, counterparties: int) -> Province:
    """The province for one run: deterministic for a given generator state and pool size."""
    cities, counties = places()
    agency_table = agencies(rng, cities, counties, zipf=0.95)
    supervisor_table = _supervisors(rng, cities, counties, offset=agency_table.height)
    officers, start, count = _officers(rng, pl.concat([agency_table, supervisor_table], how="diagonal"))
    party_pool = build(rng, counterparties, cities, counties)
    return Province(
        cities, counties, agency_table, supervisor_table, officers, start, count, party_pool, _matters()
    )


def _supervisors(
    rng: np.random.Generator, cities: list[Place], counties: list[Place], offset: int
) -> pl.DataFrame:
    rows = [("广东省司法厅", "440000", "440000", "province")]
    rows += [(f"{c.name}司法局", c.code, c.code, "city") for c in cities]
    # County 司法局 exist everywhere; a sample of them report supervision records.
    rows += [
        ((f"{k.city_name}{k.name}" if k.name.endswith("区") else k.name) + "司法局", k.code, k.city, "county")
        for k in counties
        if rng.random() < 0.25
    ]
    frame = pl.DataFrame(
        rows,
        schema={"name": pl.Utf8, "region_code": pl.Utf8, "city": pl.Utf8, "level": pl.Utf8},
        orient="row",
    )
    uscc = ids.unique_usccs(rng, "11", frame["region_code"].to_numpy().astype("U6"), style="government")
    weight = rng.lognormal(0, 0.5, frame.height)
    return frame.with_columns(
        pl.Series("uscc", uscc.tolist(), dtype=pl.Utf8),
        pl.lit(JUSTICE).alias("field"),
        pl.lit(None, dtype=pl.Utf8).alias("parent"),
        pl.lit(None, dtype=pl.Utf8).alias("doc_prefix"),
        pl.Series("weight", weight / weight.sum()),
        pl.Series("agency_index", np.arange(offset, offset + frame.height), dtype=pl.Int64),
        pl.col("name").alias("reporting_unit"),
        pl.Series("reporting_unit_uscc", uscc.tolist(), dtype=pl.Utf8),
        pl.col("region_code").alias("reporting_unit_region"),
    )


FIELD_CODES = {d.field: f"{i + 1:02d}" for i, d in enumerate(DEPARTMENTS)} | {JUSTICE: "22"}


def _officers(rng: np.random.Generator, bodies: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Officers per agency: at least two (two are needed to act), more for busy agencies."""
    weight = bodies["weight"].to_numpy()
    count = np.clip(2 + np.round(weight / weight.max() * 40 + rng.integers(0, 4, bodies.height)), 2, 48)
    count = count.astype(np.int64)
    agency = np.repeat(np.arange(bodies.height), count)
    n = len(agency)
    male = rng.random(n) < 0.7
    births = (np.datetime64("1966-01-01") + rng.integers(0, 12000, n)).astype("datetime64[D]")
    city = bodies["city"].to_numpy()[agency]
    # Officers were mostly born in the city they serve: a current county of it (东莞/中山: the city).
    registry = DivisionRegistry.load()
    regions = np.empty(n, dtype="U6")
    for code in np.unique(city).tolist():
        home = code if code != "440000" else "440100"
        pool = [d.code for d in registry.counties(home)] or [home]
        hit = city == code
        regions[hit] = np.asarray(pool)[rng.integers(0, len(pool), int(hit.sum()))]
    id_numbers = ids.resident_ids(rng, regions, births, male)
    region = bodies["region_code"].to_numpy()[agency]
    field = bodies["field"].to_numpy()[agency]
    # 执法证号 = issuing division (6) + field code (2) + sequence (5): unique per division and field.
    key = np.char.add(region.astype("U6"), np.asarray([FIELD_CODES[f] for f in field.tolist()]))
    sequence = np.zeros(n, dtype=np.int64)
    seen: dict[str, int] = {}
    for i, k in enumerate(key.tolist()):
        seen[k] = seen.get(k, 0) + 1
        sequence[i] = seen[k]
    cert = np.char.add(key, np.char.zfill(sequence.astype("U5"), 5))
    # Certificates issued before the generated period and valid (six years) beyond its end.
    issued = (np.datetime64("2020-07-01") + rng.integers(0, 900, n)).astype("datetime64[D]")
    supervisor = field == JUSTICE
    positions = np.where(
        supervisor,
        np.asarray(SUPERVISOR_POSITIONS)[rng.integers(0, len(SUPERVISOR_POSITIONS), n)],
        np.asarray(POSITIONS)[rng.integers(0, len(POSITIONS), n)],
    )
    frame = pl.DataFrame(
        {
            "agency_index": bodies["agency_index"].to_numpy()[agency],
            "name": names.person_names(rng, n, male).tolist(),
            "cert_number": cert.tolist(),
            "field": field.tolist(),
            "cert_issue_date": issued.astype(dt.date).tolist(),
            "cert_valid_until": (issued + 6 * 365 + 1).astype(dt.date).tolist(),
            "legal_qualification": (supervisor | (rng.random(n) < 0.15)).tolist(),
            "id_number": id_numbers.tolist(),
            "position": positions.tolist(),
        }
    )
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return frame, start, count


def cite_text(cites: tuple[Cite, ...], on: dt.date) -> str:
    """A legal basis as agencies write it, e.g. 《中华人民共和国食品安全法》第三十四条、第一百二十四条."""
    parts: list[str] = []
    last_law = ""
    for cite in cites:
        version = _in_force(cite.law, on)
        article = (
            f"第{int_to_chinese_numeral(cite.article_on(version.effective_from.isoformat()))}条{cite.clause}"
        )
        if cite.law == last_law and parts and parts[-1].endswith(article):
            continue  # one article both forbids and punishes (城市市容和环境卫生管理条例 第三十四条)
        parts.append(article if cite.law == last_law else f"《{version.title}》{article}")
        last_law = cite.law
    return "、".join(parts)


def legal_bases(cites: list[tuple[Cite, ...]], which: np.ndarray, days: np.ndarray) -> pl.Series:
    """Per row, the text of cites[which[row]] in the versions in force on days[row].

    Texts are built once per distinct (catalogue entry, day), not once per row.
    """
    frame = pl.DataFrame({"k": which, "d": pl.Series(days.astype("datetime64[D]"))}).with_row_index("row")
    keyed = frame.unique(["k", "d"], maintain_order=True)
    texts = [cite_text(cites[k], d) for k, d in zip(keyed["k"].to_list(), keyed["d"].to_list(), strict=True)]
    lookup = keyed.select("k", "d").with_columns(pl.Series("basis", texts, dtype=pl.Utf8))
    return frame.join(lookup, on=["k", "d"], how="left", maintain_order="left")["basis"]


@functools.lru_cache(maxsize=4096)
def _in_force(law: str, on: dt.date) -> LawVersion:
    version = LawRegistry.load().in_force(law, on)
    if version is None:
        raise ValueError(f"{law} has no version in force on {on}; fix the synthetic catalogue")
    return version


def _matters() -> pl.DataFrame:
    """The matter catalogue (执法事项清单): one matter per catalogue entry of every action type."""
    rows: list[tuple[str, str, str, str, tuple[Cite, ...]]] = []
    rows += [("AP", v.field, v.key, v.matter, (v.violated, v.punished)) for v in VIOLATIONS]
    rows += [("AL", k.field, k.key, k.matter, (k.basis,)) for k in acts.LICENSES]
    rows += [("AF", k.field, k.key, k.matter, (k.basis,)) for k in acts.COERCIONS]
    rows += [("AC", k.field, k.key, k.name, (k.basis,)) for k in acts.INSPECTIONS]
    rows += [("AE", k.field, k.key, f"{k.item}征收", (k.basis,)) for k in acts.LEVIES]
    rows += [("AR", k.field, k.key, f"{k.reason}中对{k.kind}的征用", (k.basis,)) for k in acts.REQUISITIONS]
    type_no = {"AL": "01", "AP": "02", "AF": "03", "AE": "04", "AC": "06", "AR": "10"}
    out: dict[str, list[object]] = {
        k: [] for k in ("type", "field", "key", "name", "code", "power_code", "supervision_code", "basis")
    }
    sequence: dict[tuple[str, str], int] = {}
    for kind, field, key, name, cites in rows:
        sequence[(kind, field)] = sequence.get((kind, field), 0) + 1
        seq = sequence[(kind, field)]
        out["type"].append(kind)
        out["field"].append(field)
        out["key"].append(key)
        out["name"].append(name)
        out["code"].append(f"4400-{kind}-{FIELD_CODES[field]}-{seq:04d}")
        out["power_code"].append(f"{kind}{FIELD_CODES[field]}{seq:03d}00")
        out["supervision_code"].append(f"44{FIELD_CODES[field]}{type_no[kind]}{seq:04d}0000")
        out["basis"].append(cite_text(cites, MATTER_START))
    return pl.DataFrame(out)


def department_of(field: str) -> str:
    """The agency_field label of a field key."""
    return "司法行政" if field == JUSTICE else DEPARTMENT_BY_FIELD[field].domain


def city_abbr(city_code: str) -> str:
    """The document abbreviation of a prefecture (穗, 深 …), 粤 for the province."""
    return CITY_PROFILE[city_code][0] if city_code in CITY_PROFILE else "粤"


def registry() -> DivisionRegistry:
    """The packaged division registry (shared, cached)."""
    return DivisionRegistry.load()
