"""Registry checks: action records against the reference data the hub holds.

The reference datasets (agency, officer, matter) become registries once reported: an action's
deciding agency must exist, be active and lie in this hub's region; each officer's 执法证号 must
belong to that agency; the matter code must be in the matter list. Findings have the standard
checks' shape. A registry the hub holds nothing of yet is not checked (a new hub starts empty).

The agency registry also limits `platform` keys (`platform_refusal`): a platform key submits action
records only for agencies registered in its region. That is a scope rule, not a finding: a row
outside it refuses the whole submission (403), even while the registry is still empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from enforcehub.standard.model import Dataset, Standard
from enforcehub.store.schema import records
from enforcehub.validate.columns import separators_class
from enforcehub.validate.compiler import Check

ACTIVE = "01"  # agency_status / officer_status 有效


@dataclass(frozen=True)
class Registries:
    agencies: pl.DataFrame  # agency_uscc, status, region
    officers: pl.DataFrame  # cert_number, agency_uscc, status
    matters: frozenset[str]


def no_registries() -> Registries:
    """Empty registries, for a submission that checks nothing against them."""
    return Registries(
        pl.DataFrame(schema={"agency_uscc": pl.Utf8, "status": pl.Utf8, "region": pl.Utf8}),
        pl.DataFrame(schema={"cert_number": pl.Utf8, "agency_uscc": pl.Utf8, "status": pl.Utf8}),
        frozenset(),
    )


def load_registries(conn: Connection) -> Registries:
    """The current agency, officer and matter registries (small: thousands of rows)."""

    def rows(dataset: str) -> list[tuple[str, str | None, str | None, str | None]]:
        query = select(
            records.c.business_key, records.c.status, records.c.region, records.c.agency_uscc
        ).where(records.c.dataset == dataset)
        return [tuple(r) for r in conn.execute(query)]

    agencies = pl.DataFrame(
        [(k, s, r) for k, s, r, _a in rows("agency")],
        schema={"agency_uscc": pl.Utf8, "status": pl.Utf8, "region": pl.Utf8},
        orient="row",
    )
    officers = pl.DataFrame(
        [(k, a, s) for k, s, _r, a in rows("officer")],
        schema={"cert_number": pl.Utf8, "agency_uscc": pl.Utf8, "status": pl.Utf8},
        orient="row",
    )
    return Registries(agencies, officers, frozenset(k for k, *_ in rows("matter")))


def registry_checks(
    standard: Standard, dataset: Dataset, registries: Registries, hub_region: str
) -> list[Check]:
    """Checks for one action dataset; none for reference datasets or registries still empty."""
    if dataset.kind != "action":
        return []
    names = set(dataset.names)
    checks: list[Check] = []

    def add(field: str, code: str, mask: pl.Expr, **params: str) -> None:
        checks.append(Check(field=field, code=code, mask=mask.fill_null(False), params=dict(params)))

    agency = pl.col("agency_uscc")
    if "agency_uscc" in names and registries.agencies.height:
        known = registries.agencies["agency_uscc"].to_list()
        inactive = registries.agencies.filter(pl.col("status") != ACTIVE)["agency_uscc"].to_list()
        add("agency_uscc", "agency-unknown", agency.is_not_null() & ~agency.is_in(known))
        add("agency_uscc", "agency-inactive", agency.is_in(inactive))
        if hub_region != "440000":
            prefix = hub_region[:4] if hub_region.endswith("00") else hub_region
            outside = registries.agencies.filter(~pl.col("region").fill_null("").str.starts_with(prefix))
            add(
                "agency_uscc",
                "agency-outside-region",
                agency.is_in(outside["agency_uscc"].to_list()),
                region=hub_region,
            )
    if "officer_cert_numbers" in names and registries.officers.height:
        separators = separators_class(standard.meta.multi_value_separators)
        officers = registries.officers
        status = pl.struct(pl.col("officer_cert_numbers"), agency).map_batches(
            lambda s: _officer_status(s.struct.unnest(), officers, separators), return_dtype=pl.UInt8
        )
        add("officer_cert_numbers", "officer-unknown", (status & 1) != 0)
        add("officer_cert_numbers", "officer-other-agency", (status & 2) != 0)
    if "matter_code" in names and registries.matters:
        matter = pl.col("matter_code")
        add("matter_code", "matter-unknown", matter.is_not_null() & ~matter.is_in(sorted(registries.matters)))
    return checks


def _officer_status(frame: pl.DataFrame, officers: pl.DataFrame, separators: str) -> pl.Series:
    """Per row: bit 1 = a certificate not in the registry, bit 2 = one registered to another agency."""
    exploded = (
        frame.with_row_index("__i")
        .with_columns(
            pl.col("officer_cert_numbers").str.replace_all(separators, ";").str.split(";").alias("cert")
        )
        .explode("cert")
        .with_columns(pl.col("cert").str.strip_chars())
        .filter(pl.col("cert").is_not_null() & (pl.col("cert") != ""))
        .join(
            officers.rename({"agency_uscc": "registered"}), left_on="cert", right_on="cert_number", how="left"
        )
    )
    flags = exploded.group_by("__i").agg(
        pl.col("registered").is_null().any().alias("unknown"),
        (pl.col("registered").is_not_null() & (pl.col("registered") != pl.col("agency_uscc")))
        .any()
        .alias("other"),
    )
    out = pl.DataFrame({"__i": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32)}).join(
        flags, on="__i", how="left"
    )
    bits = out["unknown"].fill_null(False).cast(pl.UInt8) + out["other"].fill_null(False).cast(pl.UInt8) * 2
    return bits.alias("officers")


def division_prefix(region: str) -> str:
    """The codes in a division, as a prefix at its level: 440000 → 44, 440100 → 4401, 440103 → itself."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region


def platform_refusal(
    frame: pl.DataFrame, dataset: Dataset, registries: Registries, region: str
) -> tuple[str, str, dict[str, Any]] | None:
    """For a platform key of `region`: (message, English message, detail) naming the first row whose
    `agency_uscc` is not an agency registered in that region, or None when every row is.

    Reference datasets are not limited (a platform registers its agencies through them). One
    vectorised `is_in` over the chunk; only the first offending row becomes a Python value.
    """
    if dataset.kind != "action" or "agency_uscc" not in dataset.names:
        return None
    prefix = division_prefix(region)
    agencies = registries.agencies
    inside = agencies.filter(pl.col("region").fill_null("").str.starts_with(prefix))["agency_uscc"]
    agency = pl.col("agency_uscc")
    hits = frame.filter(agency.is_not_null() & ~agency.is_in(inside.implode())).head(1)
    if not hits.height:
        return None
    line, value = hits["__row__"][0], hits["agency_uscc"][0]
    registered = agencies.filter(pl.col("agency_uscc") == value)["region"]
    detail: dict[str, Any] = {"row": line, "field": "agency_uscc", "value": value, "scope": region}
    if not registered.len():
        detail["reason"] = "agency-not-registered"
        return (
            f"第 {line} 行的「agency_uscc」值「{value}」不在本平台的执法主体名录中；平台密钥只能报送"
            f"本区划（{region}）已登记执法主体的行为数据，整批未入库",
            f"row {line}: agency_uscc {value} is not in the hub's agency registry; a platform key "
            f"submits only for agencies registered in its region {region}; nothing was stored",
            detail,
        )
    detail.update(reason="agency-outside-region", registered_region=registered[0])
    return (
        f"第 {line} 行的「agency_uscc」值「{value}」登记在区划 {registered[0]}，不在本平台密钥的"
        f"区划（{region}）内，整批未入库",
        f"row {line}: agency_uscc {value} is registered in region {registered[0]}, outside this "
        f"platform key's region {region}; nothing was stored",
        detail,
    )
