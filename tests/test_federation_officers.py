"""A city's hub key relays officers only of agencies in its region (officers carry no division of
their own): the province judges them by their agency's registered region."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from enforcehub.intake.archive import archive_bytes, archive_chunks
from enforcehub.pipeline import HubContext, Principal, SubmissionRefused, SubmissionRequest, ingest
from enforcehub.pipeline.relay import relay_line
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store.db import make_engine, migrate


def _officer_lines(officers: pl.DataFrame, origin: str) -> bytes:
    std = standard()
    names = std.datasets["officer"].names
    lines = []
    for seq, row in enumerate(officers.iter_rows(named=True), start=1):
        data = json.dumps({n: row.get(n) for n in names}, ensure_ascii=False, separators=(",", ":"))
        lines.append(
            relay_line(
                seq=seq,
                dataset="officer",
                change="created",
                version=1,
                content_hash="0" * 32,
                committed_at=dt.datetime.now(dt.UTC),
                origin_hub=origin,
                origin_submission="S1",
                origin_principal="clerk",
                origin_channel="api",
                source_system=None,
                received_at=dt.datetime.now(dt.UTC),
                data=data,
            )
        )
    return "".join(lines).encode()


def test_a_city_key_cannot_relay_another_citys_officers(province: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    migrate(settings, engine)
    ctx = HubContext(engine, standard(), "gd-province", "440000", "secret")
    agencies = (province / "agency.csv").read_bytes()
    admin = Principal(name="admin", role="admin")
    blob = archive_chunks(settings.archive_dir, [agencies])
    assert (
        ingest(ctx, SubmissionRequest("agency", blob, fmt="csv", filename="agency.csv"), admin)["status"]
        == "done"
    )
    registered = pl.read_csv(province / "agency.csv", infer_schema_length=0).select(
        "agency_uscc", "region_code"
    )
    officers = pl.read_csv(province / "officer.csv", infer_schema_length=0).join(
        registered, on="agency_uscc", how="inner"
    )
    guangzhou = officers.filter(pl.col("region_code").str.starts_with("4401")).drop("region_code").head(20)
    shenzhen = officers.filter(pl.col("region_code").str.starts_with("4403")).drop("region_code").head(1)
    assert guangzhou.height and shenzhen.height
    key = Principal(name="gz-city", role="hub", region="440100")

    def relay(frame: pl.DataFrame) -> dict[str, object]:
        body = archive_bytes(settings.archive_dir, _officer_lines(frame, "gz-city"))
        request = SubmissionRequest("officer", body, fmt="relay", channel="relay")
        return ingest(ctx, request, key)

    with pytest.raises(SubmissionRefused) as refused:
        relay(pl.concat([guangzhou, shenzhen]))
    assert refused.value.status == 403 and refused.value.code == "out-of-scope"
    assert refused.value.detail["row"] == guangzhou.height + 1
    assert refused.value.detail["value"] == shenzhen["agency_uscc"][0]
    receipt = relay(guangzhou)
    assert receipt["status"] == "done" and receipt["counts"]["created"] == guangzhou.height
