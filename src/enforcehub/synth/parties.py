"""Counterparties (执法对象): enterprises, 个体工商户 and natural persons, located where agencies act.

Each counterparty belongs to one enforcement field (a restaurant meets 市场监管, a plating works
meets 生态环境) and one place. The table is sorted by (field, city, place) so that an agency can
draw "a counterparty of my field in my jurisdiction" as a random index into a contiguous block,
which keeps drawing a million records vectorised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from enforcehub.standard.registry import DivisionRegistry
from enforcehub.synth import ids, names
from enforcehub.synth.common import skewed_offset
from enforcehub.synth.world import CITY_PROFILE, DEPARTMENTS, TOWNS, Place

ORG, IND, PERSON = "法人及非法人组织", "个体工商户", "自然人"
CATEGORIES = (ORG, IND, PERSON)

# Real county-level codes of the provinces most Guangdong migrants come from (resident IDs).
OTHER_PROVINCE_CODES = (
    "430102",
    "430124",
    "430421",
    "430521",
    "430626",
    "431003",
    "431121",
    "450103",
    "450321",
    "450821",
    "450921",
    "451024",
    "510104",
    "511304",
    "511623",
    "360426",
    "360722",
    "362421",
    "420102",
    "421023",
    "410102",
    "411521",
    "520102",
    "522121",
    "350102",
    "350583",
    "460106",
    "130102",
    "370102",
    "320102",
)
STREETS = (
    "中山路",
    "解放路",
    "人民路",
    "建设路",
    "环城路",
    "新华路",
    "东风路",
    "工业大道",
    "江南大道",
    "滨江路",
    "朝阳路",
    "五一路",
    "迎宾大道",
    "站前路",
    "文明路",
    "青年路",
    "光明路",
    "金沙路",
    "兴业路",
    "振华路",
)


@dataclass(frozen=True)
class Parties:
    """The counterparty table plus the block index used to draw from it."""

    table: pl.DataFrame
    blocks: pl.DataFrame  # scope ("field"/"city"/"county"), field, category, place, start, stop


def _birth_dates(
    rng: np.random.Generator, n: int, minors: npt.NDArray[np.bool_]
) -> npt.NDArray[np.datetime64]:
    adult = np.datetime64("1956-01-01") + rng.integers(
        0, (np.datetime64("2004-12-31") - np.datetime64("1956-01-01")).astype(int), n
    )
    # Minors aged 14–17 at the time of their violation (2023–2025): born in 2007 or early 2008.
    minor = np.datetime64("2007-01-01") + rng.integers(0, 540, n)
    return np.where(minors, minor, adult).astype("datetime64[D]")


def _id_regions(
    rng: np.random.Generator,
    cities: npt.NDArray[np.str_],
    births: npt.NDArray[np.datetime64],
    registry: DivisionRegistry,
) -> npt.NDArray[np.str_]:
    """Address codes of ID numbers: mostly a county of the home city that was valid in the birth year."""
    n = len(cities)
    years = births.astype("datetime64[Y]").astype(np.int64) + 1970
    out = np.asarray(OTHER_PROVINCE_CODES)[rng.integers(0, len(OTHER_PROVINCE_CODES), n)].astype("U6")
    local = rng.random(n) < 0.65
    rows = sorted(
        (d for d in registry.all() if d.level == "county" and d.name != "市辖区"),
        key=lambda d: (d.parent or "", d.code, d.valid_from or 0),
    )
    codes = np.asarray([d.code for d in rows])
    parents = np.asarray([d.parent or "" for d in rows])
    valid_from = np.asarray([d.valid_from or 0 for d in rows])
    valid_to = np.asarray([d.valid_to or 9999 for d in rows])
    # 东莞/中山 have no counties: their ID numbers carry the city code itself.
    no_county = local & ~np.isin(cities, parents)
    out[no_county] = cities[no_county]
    todo = np.flatnonzero(local & ~no_county)
    start = np.searchsorted(parents, cities[todo], side="left")
    count = np.searchsorted(parents, cities[todo], side="right") - start
    # Draw a county of the city until it existed in the birth year; a few rounds settle nearly all.
    pending = np.ones(len(todo), dtype=bool)
    pick = np.zeros(len(todo), dtype=np.int64)
    for _ in range(12):
        index = np.flatnonzero(pending)
        if not len(index):
            break
        draw = start[index] + (rng.random(len(index)) * count[index]).astype(np.int64)
        ok = (valid_from[draw] <= years[todo[index]]) & (years[todo[index]] <= valid_to[draw])
        pick[index[ok]] = draw[ok]
        pending[index[ok]] = False
    current = np.flatnonzero(valid_to == 9999)
    for i in np.flatnonzero(pending).tolist():  # rare leftovers: any current county of the city
        candidates = current[parents[current] == cities[todo[i]]]
        pick[i] = candidates[0]
    out[todo] = codes[pick]
    return out


def addresses(
    rng: np.random.Generator, place_names: npt.NDArray[np.str_], cities: npt.NDArray[np.str_]
) -> npt.NDArray[np.str_]:
    """Street addresses: 天河区中山路88号, or 长安镇兴业路12号 in 东莞/中山."""
    n = len(place_names)
    towns = np.asarray([""] * n, dtype="U8")
    for city, pool in TOWNS.items():
        hit = cities == city
        towns[hit] = np.char.add(np.asarray(pool)[rng.integers(0, len(pool), int(hit.sum()))], "镇")
    prefix = np.where(towns != "", towns, place_names)
    street = np.asarray(STREETS)[rng.integers(0, len(STREETS), n)]
    number = rng.integers(1, 400, n).astype("U4")
    return np.char.add(np.char.add(np.char.add(prefix, street), number), "号")


def build(
    rng: np.random.Generator,
    n: int,
    cities: list[Place],
    counties: list[Place],
    registry: DivisionRegistry | None = None,
) -> Parties:
    """About `n` counterparties spread over fields and places by enforcement volume."""
    registry = registry or DivisionRegistry.load()
    # Places where counterparties live: every county, and the city itself where it has none.
    spots = [c for c in counties] + [c for c in cities if not any(k.city == c.code for k in counties)]
    spot_weight = np.asarray(
        [CITY_PROFILE[s.city][1] / max(1, sum(k.city == s.city for k in spots)) for s in spots]
    )
    field_weight = np.asarray([d.weight for d in DEPARTMENTS])
    frames = []
    for f_index, dept in enumerate(DEPARTMENTS):
        share = int(max(len(spots), round(n * field_weight[f_index] / field_weight.sum())))
        # At least one counterparty per place, the rest by volume, so no agency draws from nothing.
        spot = np.concatenate(
            [
                np.arange(len(spots)),
                rng.choice(len(spots), share - len(spots), p=spot_weight / spot_weight.sum()),
            ]
        )
        frames.append(_field_parties(rng, dept.field, [spots[i] for i in spot.tolist()], registry))
    table = pl.concat(frames).sort("field", "category", "city", "county", maintain_order=True)
    table = table.with_row_index("party_index").with_columns(pl.col("party_index").cast(pl.Int64))
    return Parties(table, _blocks(table))


def _blocks(table: pl.DataFrame) -> pl.DataFrame:
    """Contiguous row ranges per (field, category) and per place inside it (the table is sorted so)."""
    spans = []
    for scope, place in (("field", pl.lit("")), ("city", pl.col("city")), ("county", pl.col("county"))):
        spans.append(
            table.with_columns(place.alias("place"))
            .group_by("field", "category", "place", maintain_order=True)
            .agg(
                pl.col("party_index").min().alias("start"),
                (pl.col("party_index").max() + 1).alias("stop"),
            )
            .with_columns(pl.lit(scope).alias("scope"))
        )
    return pl.concat(spans).select("scope", "field", "category", "place", "start", "stop")


def draw(
    rng: np.random.Generator,
    parties: Parties,
    field: npt.NDArray[np.str_],
    category: npt.NDArray[np.str_],
    scope: npt.NDArray[np.str_],
    place: npt.NDArray[np.str_],
) -> npt.NDArray[np.int64]:
    """A counterparty row per record: of the field and wanted category, in the agency's jurisdiction.

    `scope` is "county", "city" or "field" (province-wide); when the jurisdiction has no counterparty
    of that category, the city, then the province, then any category of the field is used.
    """
    wanted = pl.DataFrame(
        {
            "field": field.tolist(),
            "category": category.tolist(),
            "scope": scope.tolist(),
            "place": place.tolist(),
        }
    ).with_row_index("row")
    blocks = parties.blocks
    county = wanted.join(
        blocks, on=["scope", "field", "category", "place"], how="left", maintain_order="left"
    )
    city_place = (
        pl.when(pl.col("scope") == "county")
        .then(pl.col("place").str.slice(0, 4) + "00")
        .otherwise(pl.col("place"))
    )
    city = wanted.with_columns(city_place.alias("place"), pl.lit("city").alias("scope")).join(
        blocks, on=["scope", "field", "category", "place"], how="left", maintain_order="left"
    )
    whole = wanted.with_columns(pl.lit("").alias("place"), pl.lit("field").alias("scope")).join(
        blocks, on=["scope", "field", "category", "place"], how="left", maintain_order="left"
    )
    any_category = (
        blocks.filter(pl.col("scope") == "field")
        .group_by("field")
        .agg(pl.col("start").min(), pl.col("stop").max())
    )
    fallback = wanted.join(any_category, on="field", how="left", maintain_order="left")
    bounds = pl.DataFrame(
        {
            f"{k}{i}": frame[k]
            for i, frame in enumerate((county, city, whole, fallback))
            for k in ("start", "stop")
        }
    ).select(
        pl.coalesce([f"start{i}" for i in range(4)]).alias("start"),
        pl.coalesce([f"stop{i}" for i in range(4)]).alias("stop"),
    )
    start, stop = bounds["start"].to_numpy(), bounds["stop"].to_numpy()
    count = stop - start
    # Lean towards a few repeat counterparties, then scatter them over the block with a bijection
    # (multiplying by a prime modulo the block size) so the first county of a city is not favoured.
    offset = (skewed_offset(rng, count) * 7919) % np.maximum(count, 1)
    return np.asarray(start + offset, dtype=np.int64)


def _field_parties(
    rng: np.random.Generator, field: str, spots: list[Place], registry: DivisionRegistry
) -> pl.DataFrame:
    n = len(spots)
    city = np.asarray([s.city for s in spots])
    county = np.asarray([s.code for s in spots])
    city_names = np.asarray([s.city_name for s in spots])
    place_names = np.asarray([s.name if s.code != s.city else "" for s in spots])
    mix = {"police": (0.15, 0.25, 0.6), "transport": (0.35, 0.2, 0.45), "urban": (0.3, 0.45, 0.25)}.get(
        field, (0.55, 0.38, 0.07)
    )
    category = np.asarray(CATEGORIES)[rng.choice(3, n, p=np.asarray(mix))]
    is_org, is_ind, is_person = category == ORG, category == IND, category == PERSON

    male = rng.random(n) < 0.62
    minors = is_person & (rng.random(n) < 0.02)
    births = _birth_dates(rng, n, minors)
    person = names.person_names(rng, n, male)
    person_id = ids.resident_ids(rng, _id_regions(rng, city, births, registry), births, male)

    # Enterprises name their district when registered there (广州市天河区…), shops always do.
    # 广州市天河区… for districts; counties and county-level cities stand alone (信宜市…, 始兴县…).
    district = np.char.endswith(place_names, "区")
    with_district = np.where(
        district | (place_names == ""), np.char.add(city_names, place_names), place_names
    )
    org_place = np.where(rng.random(n) < 0.5, with_district, city_names)
    org_names = names.enterprise_names(rng, org_place, field)
    shop_names = names.shop_names(rng, with_district, field, person)
    name = np.where(is_org, org_names, np.where(is_ind, shop_names, person))

    register = np.where(rng.random(n) < 0.6, county, city)  # registration authority: county or city bureau
    uscc = np.full(n, "", dtype="U18")
    taken: set[str] = set()
    if is_org.any():
        # Seven in ten firms were registered after 2015 (MA… bodies); the rest kept their old code.
        new_style = is_org & (rng.random(n) < 0.7)
        old_style = is_org & ~new_style
        uscc[new_style] = ids.unique_usccs(rng, "91", register[new_style], style="new", taken=taken)
        uscc[old_style] = ids.unique_usccs(rng, "91", register[old_style], style="old", taken=taken)
    if is_ind.any():
        uscc[is_ind] = ids.unique_usccs(rng, "92", register[is_ind], style="new", taken=taken)
    founded = np.datetime64("2000-01-01") + rng.integers(0, 8400, n)
    address = addresses(rng, place_names, city)
    return pl.DataFrame(
        {
            "field": np.full(n, field).tolist(),
            "city": city.tolist(),
            "county": county.tolist(),
            "category": category.tolist(),
            "name": name.tolist(),
            "uscc": uscc.tolist(),
            "legal_representative": np.where(is_person, "", person).tolist(),
            "person_name": person.tolist(),
            "id_number": person_id.tolist(),
            "birth_date": births.astype(dt.date).tolist(),
            "male": male.tolist(),
            "founded": founded.astype("datetime64[D]").astype(dt.date).tolist(),
            "address": address.tolist(),
        }
    ).with_columns(
        pl.when(pl.col("category") == ORG)
        .then(pl.col("uscc").str.slice(8, 9))
        .otherwise(None)
        .alias("org_code"),
        pl.col("uscc").replace("", None),
        pl.col("legal_representative").replace("", None),
    )
