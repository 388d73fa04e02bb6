"""Split a generated province by hub: each city hub's own data, and what the province hub receives
itself (the provincial departments, the province-wide registries, and the cities without a hub).

A record goes to the city whose division it lies in (`region_code`, 4-digit city prefix); an officer
goes with its agency. Everything else — laws without a region, the matter list, provincial agencies
and their officers, records of cities not listed — goes to the province. Used by the federation
demo, tests and benchmark: every agency reports once, to the hub of its level.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from enforcehub.standard.model import DATASET_NAMES

PROVINCE = "province"


def split_by_city(source: Path, out: Path, cities: Sequence[str]) -> dict[str, dict[str, int]]:
    """Write `out/<city>/<dataset>.csv` for each 6-digit city code and `out/province/…`; the rows
    written per hub and dataset. `source` holds the generator's CSV files (element-name headers)."""
    prefixes = {city: city[:4] for city in cities}
    counts: dict[str, dict[str, int]] = {hub: {} for hub in (*cities, PROVINCE)}
    agencies = _read(source / "agency.csv")
    agency_city = (
        agencies.select("agency_uscc", _city_of(prefixes).alias("__hub"))
        if agencies is not None
        else pl.DataFrame(schema={"agency_uscc": pl.Utf8, "__hub": pl.Utf8})
    )
    for name in DATASET_NAMES:
        frame = _read(source / f"{name}.csv")
        if frame is None:
            continue
        if "region_code" in frame.columns:
            frame = frame.with_columns(_city_of(prefixes).alias("__hub"))
        elif "agency_uscc" in frame.columns:
            frame = frame.join(agency_city, on="agency_uscc", how="left", maintain_order="left")
        else:
            frame = frame.with_columns(pl.lit(PROVINCE).alias("__hub"))
        frame = frame.with_columns(pl.col("__hub").fill_null(PROVINCE))
        for hub in counts:
            part = frame.filter(pl.col("__hub") == hub).drop("__hub")
            if part.height:
                (out / hub).mkdir(parents=True, exist_ok=True)
                part.write_csv(out / hub / f"{name}.csv")
            counts[hub][name] = part.height
    return counts


def _city_of(prefixes: dict[str, str]) -> pl.Expr:
    region = pl.col("region_code").fill_null("")
    expr = pl.lit(None, dtype=pl.Utf8)
    for city, prefix in prefixes.items():
        expr = pl.when(region.str.starts_with(prefix)).then(pl.lit(city)).otherwise(expr)
    return expr


def _read(path: Path) -> pl.DataFrame | None:
    if not path.exists():
        return None
    return pl.read_csv(path, infer_schema_length=0, encoding="utf8")
