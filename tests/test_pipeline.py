"""The pipeline in process: registry checks against reference data, policies, receipts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from enforcehub.intake.archive import archive_bytes
from enforcehub.pipeline import HubContext, Principal, SubmissionRequest, ingest
from enforcehub.settings import Settings
from enforcehub.standard.loader import standard
from enforcehub.store.db import make_engine, migrate, read_transaction
from enforcehub.store.submissions import list_findings

ADMIN = Principal(name="admin", role="admin")


@pytest.fixture
def ctx(tmp_path: Path) -> HubContext:
    settings = Settings(data_dir=tmp_path / "hub")
    engine = make_engine(settings)
    migrate(settings, engine)
    return HubContext(engine, standard(), settings.hub_id, settings.region, settings.signing_secret)


def rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [{k: v for k, v in r.items() if v != ""} for r in csv.DictReader(handle)]


def submit(ctx: HubContext, dataset: str, records: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    blob = archive_bytes(Path(str(ctx.engine.url.database)).parent / "archive", body)
    return ingest(ctx, SubmissionRequest(dataset=dataset, blob=blob, fmt="json", **kwargs), ADMIN)


def findings(ctx: HubContext, receipt: dict[str, Any]) -> list[list[Any]]:
    with read_transaction(ctx.engine) as conn:
        _total, page = list_findings(conn, submission_id=receipt["id"], limit=1000)
    return sorted([f["row"], f["field"], f["code"]] for f in page if f["severity"] == "error")


def test_registry_checks_once_reference_data_is_reported(ctx: HubContext, province: Path) -> None:
    penalties = [r for r in rows(province / "penalty.csv") if r.get("status") == "有效"][:6]
    # Before any reference data: registries are empty and not checked.
    assert submit(ctx, "penalty", penalties[:1])["counts"]["accepted"] == 1
    for name in ("matter", "agency", "officer"):
        assert submit(ctx, name, rows(province / f"{name}.csv"))["counts"]["rejected"] == 0
    agencies = rows(province / "agency.csv")
    officers = rows(province / "officer.csv")
    base = penalties[1]
    foreign_officer = next(o["cert_number"] for o in officers if o["agency_uscc"] != base["agency_uscc"])
    stranger = "11440100MA59999990"  # a well-formed code that is not in the registry
    from enforcehub.validate.identifiers import uscc_check_char

    stranger = stranger[:17] + uscc_check_char(stranger[:17])
    assert stranger not in {a["agency_uscc"] for a in agencies}
    own = base["officer_cert_numbers"].split(";")
    records = [
        base,
        {**penalties[2], "agency_uscc": stranger, "reporting_unit_uscc": stranger},
        {
            **base,
            "decision_number": base["decision_number"] + "-2",
            "officer_cert_numbers": ";".join([*own[:1], foreign_officer]),
        },
        {
            **base,
            "decision_number": base["decision_number"] + "-3",
            "officer_cert_numbers": ";".join([*own, "4499999999999"]),
        },
        {**base, "decision_number": base["decision_number"] + "-4", "matter_code": "4400-AP-99-9999"},
    ]
    receipt = submit(ctx, "penalty", records)
    assert findings(ctx, receipt) == [
        [2, "agency_uscc", "agency-unknown"],
        [2, "officer_cert_numbers", "officer-other-agency"],  # its officers belong to the real agency
        [3, "officer_cert_numbers", "officer-other-agency"],
        [4, "officer_cert_numbers", "officer-unknown"],
        [5, "matter_code", "matter-unknown"],
    ]
    assert receipt["counts"]["accepted"] == 1 and receipt["counts"]["rejected"] == 4


def test_reject_submission_policy_stores_nothing_when_any_row_is_bad(ctx: HubContext, province: Path) -> None:
    penalties = rows(province / "penalty.csv")[:10]
    broken = [*penalties[:9], {**penalties[9], "decision_date": "不是日期"}]
    refused = submit(ctx, "penalty", broken, policy="reject-submission")
    assert refused["counts"]["accepted"] == 0 and refused["counts"]["rejected"] == 10
    accepted = submit(ctx, "penalty", penalties, policy="reject-submission")
    assert accepted["counts"]["accepted"] == 10
