"""The synthetic province: cities and counties, enforcement agencies, officers.

Divisions come from the packaged GB/T 2260 registry, never from a hand list: 东莞 (441900) and
中山 (442000) have no county level, so their agencies sit at city level (town branches such as
东莞市市场监督管理局长安分局 keep the city code). Agencies carry valid 机关 USCCs (11 + division +
a GB 11714 body), a document-number prefix (穗天市监处罚) and a Zipf weight: a few agencies report
most records, as in real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from enforcehub.standard.registry import DivisionRegistry
from enforcehub.synth import ids

# City → (document abbreviation, relative enforcement volume, a few street or town names).
CITY_PROFILE: dict[str, tuple[str, float]] = {
    "440100": ("穗", 10.0),
    "440200": ("韶", 1.5),
    "440300": ("深", 10.0),
    "440400": ("珠", 2.5),
    "440500": ("汕", 3.0),
    "440600": ("佛", 7.0),
    "440700": ("江", 3.0),
    "440800": ("湛", 3.0),
    "440900": ("茂", 2.5),
    "441200": ("肇", 2.5),
    "441300": ("惠", 4.0),
    "441400": ("梅", 2.0),
    "441500": ("汕尾", 1.2),
    "441600": ("河", 1.5),
    "441700": ("阳", 1.2),
    "441800": ("清", 2.0),
    "441900": ("莞", 7.0),
    "442000": ("中", 3.5),
    "445100": ("潮", 1.2),
    "445200": ("揭", 2.5),
    "445300": ("云", 1.0),
}
# Towns and streets of the two cities without counties; agencies there have town branches.
TOWNS: dict[str, tuple[str, ...]] = {
    "441900": (
        "长安",
        "虎门",
        "厚街",
        "塘厦",
        "常平",
        "凤岗",
        "大朗",
        "寮步",
        "石龙",
        "麻涌",
        "清溪",
        "黄江",
    ),
    "442000": ("小榄", "古镇", "石岐", "东区", "火炬开发区", "三乡", "坦洲", "南头", "黄圃", "沙溪"),
}


@dataclass(frozen=True)
class Department:
    """A kind of enforcement department and how it is named and numbered at each level."""

    field: str
    title: str  # city/county name part: 市场监督管理局
    province: str | None  # provincial counterpart, None when there is none
    abbr: str  # document-number abbreviation: 市监
    word: str  # document-number word: 处罚, 罚, 行罚决字
    branch: bool  # county bodies are branches of the city bureau (广州市公安局天河区分局)
    county_share: float  # chance that a county has this department in the world
    weight: float  # relative enforcement volume
    domain: str  # the agency_field label of the standard (执法领域)


DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "market", "市场监督管理局", "广东省市场监督管理局", "市监", "处罚", False, 0.95, 3.0, "市场监管"
    ),
    Department("environment", "生态环境局", "广东省生态环境厅", "环", "罚", True, 0.6, 1.5, "生态环境"),
    Department("safety", "应急管理局", "广东省应急管理厅", "应急", "罚", False, 0.35, 1.0, "应急管理"),
    Department("transport", "交通运输局", "广东省交通运输厅", "交", "罚", False, 0.3, 1.5, "交通运输"),
    Department("urban", "城市管理和综合执法局", None, "城管", "罚", False, 0.8, 2.0, "城市管理和综合执法"),
    Department(
        "housing", "住房和城乡建设局", "广东省住房和城乡建设厅", "建", "罚", False, 0.3, 0.8, "住房城乡建设"
    ),
    Department("resources", "自然资源局", "广东省自然资源厅", "自然资", "罚", True, 0.35, 0.8, "自然资源"),
    Department("health", "卫生健康局", "广东省卫生健康委员会", "卫健", "罚", False, 0.3, 0.8, "卫生健康"),
    Department(
        "culture", "文化广电旅游局", "广东省文化和旅游厅", "文旅", "罚", False, 0.25, 0.5, "文化广电旅游"
    ),
    Department("police", "公安局", "广东省公安厅", "公", "行罚决字", True, 0.7, 3.0, "公安"),
    Department("agriculture", "农业农村局", "广东省农业农村厅", "农", "罚", False, 0.2, 0.5, "农业农村"),
    Department("water", "水务局", "广东省水利厅", "水", "罚", False, 0.15, 0.3, "水利"),
)
DEPARTMENT_BY_FIELD = {d.field: d for d in DEPARTMENTS}
LEVEL_WEIGHT = {"province": 0.4, "city": 1.0, "county": 0.6, "town": 0.35}


@dataclass(frozen=True)
class Place:
    """A city or county of the generated province."""

    code: str
    name: str
    city: str  # prefecture code
    city_name: str
    abbr: str  # document abbreviation of the county (天), empty for cities


def places(registry: DivisionRegistry | None = None) -> tuple[list[Place], list[Place]]:
    """(cities, counties) from the division registry; counties carry a unique one/two-char abbreviation."""
    registry = registry or DivisionRegistry.load()
    cities: list[Place] = []
    counties: list[Place] = []
    for city in registry.cities():
        if city.code not in CITY_PROFILE:
            continue  # only the 21 current prefectures (the registry may hold others one day)
        cities.append(Place(city.code, city.name, city.code, city.name, ""))
        taken: set[str] = set()
        for county in registry.counties(city.code):
            short = county.name.removesuffix("区").removesuffix("县").removesuffix("市")
            # 天河 → 天; a clash (梅江区/梅县区) falls back to a longer form (梅县).
            abbr = next(a for a in (short[:1], short[:2], county.name[:2], county.name) if a not in taken)
            taken.add(abbr)
            counties.append(Place(county.code, county.name, city.code, city.name, abbr))
    return cities, counties


def _agency_rows(
    rng: np.random.Generator, cities: list[Place], counties: list[Place]
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for dept in DEPARTMENTS:
        if dept.province:
            rows.append(
                {
                    "name": dept.province,
                    "region_code": "440000",
                    "city": "440000",
                    "level": "province",
                    "field": dept.field,
                    "doc_prefix": f"粤{dept.abbr}",
                    "parent": None,
                    "city_weight": 10.0,
                }
            )
    for city in cities:
        abbr, city_weight = CITY_PROFILE[city.code]
        for dept in DEPARTMENTS:
            city_agency = f"{city.name}{dept.title}"
            rows.append(
                {
                    "name": city_agency,
                    "region_code": city.code,
                    "city": city.code,
                    "level": "city",
                    "field": dept.field,
                    "doc_prefix": f"{abbr}{dept.abbr}",
                    "parent": None,
                    "city_weight": city_weight,
                }
            )
            for town in TOWNS.get(city.code, ()):
                # Only the busiest departments keep town branches in 东莞/中山.
                if dept.field in ("market", "police", "urban") and rng.random() < 0.6:
                    rows.append(
                        {
                            "name": f"{city.name}{dept.title}{town}分局",
                            "region_code": city.code,
                            "city": city.code,
                            "level": "town",
                            "field": dept.field,
                            "doc_prefix": f"{abbr}{dept.abbr}{town[:1]}",
                            "parent": city_agency,
                            "city_weight": city_weight,
                        }
                    )
    for county in counties:
        abbr, city_weight = CITY_PROFILE[county.city]
        # A sample of counties: the busiest cities' districts more often than remote counties.
        if rng.random() >= min(0.9, 0.3 + city_weight / 15):
            continue
        for dept in DEPARTMENTS:
            if rng.random() >= dept.county_share:
                continue
            city_agency = f"{county.city_name}{dept.title}"
            district = county.name.endswith("区")
            parent: str | None = None
            if dept.field == "environment" or (dept.branch and district):
                # 生态环境 is vertical below the city (广州市生态环境局天河分局); 公安 and 自然资源
                # districts are branches of the city bureau (广州市公安局天河区分局).
                short = (
                    county.name
                    if dept.field == "police"
                    else county.name.removesuffix("区").removesuffix("县")
                )
                name, parent = f"{city_agency}{short}分局", city_agency
            elif district:
                name = f"{county.city_name}{county.name}{dept.title}"
            else:
                name = f"{county.name}{dept.title}"  # 县/县级市 bodies: 始兴县市场监督管理局
            rows.append(
                {
                    "name": name,
                    "region_code": county.code,
                    "city": county.city,
                    "level": "county",
                    "field": dept.field,
                    "doc_prefix": f"{abbr}{county.abbr}{dept.abbr}",
                    "parent": parent,
                    "city_weight": city_weight,
                }
            )
    return rows


def agencies(
    rng: np.random.Generator, cities: list[Place], counties: list[Place], *, zipf: float = 1.05
) -> pl.DataFrame:
    """Every enforcement agency of the province with USCC, reporting unit, prefix and Zipf weight."""
    frame = pl.DataFrame(
        _agency_rows(rng, cities, counties),
        schema={
            "name": pl.Utf8,
            "region_code": pl.Utf8,
            "city": pl.Utf8,
            "level": pl.Utf8,
            "field": pl.Utf8,
            "doc_prefix": pl.Utf8,
            "parent": pl.Utf8,
            "city_weight": pl.Float64,
        },
    )
    uscc = ids.unique_usccs(rng, "11", frame["region_code"].to_numpy().astype("U6"), style="government")
    frame = frame.with_columns(pl.Series("uscc", uscc.tolist(), dtype=pl.Utf8))
    # Zipf over a noisy size ranking: the biggest city bureaus of the busiest fields report most.
    dept_weight = frame["field"].replace_strict(
        {d.field: d.weight for d in DEPARTMENTS}, return_dtype=pl.Float64
    )
    level_weight = frame["level"].replace_strict(LEVEL_WEIGHT, return_dtype=pl.Float64)
    size = (dept_weight * level_weight * frame["city_weight"]).to_numpy() * rng.lognormal(
        0.0, 0.6, frame.height
    )
    rank = np.empty(frame.height, dtype=np.int64)
    rank[np.argsort(-size, kind="stable")] = np.arange(1, frame.height + 1)
    weight = 1.0 / rank.astype(np.float64) ** zipf
    frame = frame.with_columns(
        pl.Series("weight", weight / weight.sum()),
        pl.Series("agency_index", np.arange(frame.height), dtype=pl.Int64),
    )
    by_name = {
        n: (u, r)
        for n, u, r in zip(
            frame["name"].to_list(), frame["uscc"].to_list(), frame["region_code"].to_list(), strict=True
        )
    }
    # A branch (分局) reports through its city bureau, everything else reports its own records.
    reporting = [
        p if p else n for n, p in zip(frame["name"].to_list(), frame["parent"].to_list(), strict=True)
    ]
    return frame.with_columns(
        pl.Series("reporting_unit", reporting, dtype=pl.Utf8),
        pl.Series("reporting_unit_uscc", [by_name[r][0] for r in reporting], dtype=pl.Utf8),
        pl.Series("reporting_unit_region", [by_name[r][1] for r in reporting], dtype=pl.Utf8),
    )
