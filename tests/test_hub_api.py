"""The hub over real HTTP, as a separate server process, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from python_calamine import CalamineWorkbook

from enforcehub.pipeline.receipt import verify_receipt
from enforcehub.settings import DEV_SECRET
from tests.servers import HubProcess, run_cli

Hub = Callable[..., HubProcess]


def admin_key(hub: HubProcess) -> str:
    env = (
        {"ENFORCEHUB_DATABASE_URL": hub.env["ENFORCEHUB_DATABASE_URL"]}
        if "ENFORCEHUB_DATABASE_URL" in hub.env
        else {}
    )
    made = run_cli(
        "keys", "create", "--role", "admin", "--format", "json", "--data", str(hub.data_dir), env=env
    )
    assert made.returncode == 0, made.stderr
    key: str = json.loads(made.stdout.strip().splitlines()[-1])["key"]
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def upload(client: httpx.Client, key: str, path: Path, dataset: str, **params: str) -> httpx.Response:
    with path.open("rb") as handle:
        return client.post(
            "/api/v1/submissions",
            params={"dataset": dataset, **params},
            headers=bearer(key),
            files={"file": (path.name, handle, "text/csv")},
        )


def first_rows(path: Path, n: int) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:n]
    return [{k: v for k, v in row.items() if v != ""} for row in rows]


@pytest.fixture
def hub(hub_factory: Hub, backend: dict[str, str]) -> HubProcess:
    return hub_factory(env=backend)


def test_file_submission_receipt_versions_and_idempotence(hub: HubProcess, dirty_province: Path) -> None:
    key = admin_key(hub)
    with hub.client() as client:
        first = upload(client, key, dirty_province / "penalty.csv", "penalty")
        assert first.status_code == 201, first.text
        receipt = first.json()
        counts = receipt["counts"]
        assert receipt["status"] == "done"
        assert counts["received"] == 600 and counts["rejected"] > 0
        assert counts["accepted"] + counts["rejected"] == counts["received"]
        assert counts["created"] + counts["revoked"] == counts["accepted"]
        assert verify_receipt(receipt, DEV_SECRET)
        assert not verify_receipt({**receipt, "counts": {**counts, "accepted": 1}}, DEV_SECRET)

        again = upload(client, key, dirty_province / "penalty.csv", "penalty")
        assert again.status_code == 200
        assert again.json()["duplicate_of"] == receipt["id"]
        assert again.json()["counts"]["created"] == 0

        errors = client.get(f"/api/v1/submissions/{receipt['id']}/errors", headers=bearer(key)).json()
        assert errors["total"] == counts["errors"]
        assert {"row", "field", "code", "message", "value"} <= set(errors["errors"][0])
        bad_rows = {
            e["row"]
            for e in client.get(
                f"/api/v1/submissions/{receipt['id']}/errors", params={"limit": 1000}, headers=bearer(key)
            ).json()["errors"]
        }
        table = client.get(f"/api/v1/submissions/{receipt['id']}/errors.csv", headers=bearer(key))
        assert table.status_code == 200 and table.text.startswith("\ufeff原行号,decision_number")
        lines = list(csv.reader(io.StringIO(table.text.lstrip("\ufeff"))))
        assert lines[0][-1] == "问题说明" and {int(r[0]) for r in lines[1:]} == bad_rows
        book = client.get(f"/api/v1/submissions/{receipt['id']}/errors.xlsx", headers=bearer(key))
        assert book.status_code == 200
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(book.content)).get_sheet_by_index(0).to_python()
        assert sheet[0][0] == "原行号" and sheet[0][-1] == "问题说明"
        assert {int(float(r[0])) for r in sheet[1:]} == bad_rows
        assert all(r[-1] for r in sheet[1:])  # every row says what is wrong, in Chinese

        page = client.get("/api/v1/records/penalty", params={"limit": 1000}, headers=bearer(key)).json()
        assert len(page["records"]) == counts["created"] + counts["revoked"]


def test_same_content_again_changes_nothing_and_a_change_is_a_new_version(
    hub: HubProcess, province: Path
) -> None:
    key = admin_key(hub)
    records = [r for r in first_rows(province / "penalty.csv", 40) if r.get("status") == "有效"][:5]
    with hub.client() as client:
        made = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": records},
        ).json()
        assert made["counts"]["created"] == 5
        # the same content in a different body (reordered keys): no new versions
        reordered = [dict(reversed(list(r.items()))) for r in records]
        same = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": reordered},
        ).json()
        assert (
            same["duplicate_of"] is None
            and same["counts"]["unchanged"] == 5
            and same["counts"]["updated"] == 0
        )
        changed = [{**records[0], "remarks": "更正：补充说明"}]
        update = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": changed},
        ).json()
        assert update["counts"]["updated"] == 1
        page = client.get("/api/v1/records/penalty", headers=bearer(key)).json()["records"]
        target = next(r for r in page if r["data"]["decision_number"] == records[0]["decision_number"])
        history = client.get(f"/api/v1/records/penalty/{target['id']}/versions", headers=bearer(key)).json()
        assert [v["version"] for v in history["versions"]] == [1, 2]
        assert history["versions"][1]["data"]["remarks"] == "更正：补充说明"
        assert history["versions"][1]["lineage"]["submission_id"] == update["id"]
        assert history["versions"][0]["lineage"]["channel"] == "api"
        before = history["versions"][0]["lineage"]["received_at"]
        as_of = client.get(
            f"/api/v1/records/penalty/{target['id']}", params={"as_of": before}, headers=bearer(key)
        ).json()
        assert as_of["current"]["version"] == 1


def test_keys_scopes_and_bad_input(hub: HubProcess, province: Path) -> None:
    key = admin_key(hub)
    records = first_rows(province / "penalty.csv", 40)
    mine = records[0]["agency_uscc"]
    with hub.client() as client:
        agency = client.post(
            "/api/v1/admin/keys",
            headers=bearer(key),
            json={"role": "agency", "agency": mine, "name": "某市场监管局"},
        ).json()
        agency_key = agency["key"]
        own = [r for r in records if r["agency_uscc"] == mine]
        other = next(r for r in records if r["agency_uscc"] != mine)
        ok = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(agency_key),
            json={"records": own},
        )
        assert ok.status_code == 201, ok.text
        refused = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(agency_key),
            json={"records": [*own, other]},
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "out-of-scope"
        assert refused.json()["error"]["detail"]["value"] == other["agency_uscc"]

        assert (
            client.post(
                "/api/v1/submissions", params={"dataset": "penalty"}, json={"records": own}
            ).status_code
            == 401
        )
        assert (
            client.post(
                "/api/v1/submissions",
                params={"dataset": "penalty"},
                headers=bearer("eh_x_y"),
                json={"records": own},
            ).status_code
            == 401
        )
        client.delete(f"/api/v1/admin/keys/{agency['id']}", headers=bearer(key))
        revoked = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(agency_key),
            json={"records": own},
        )
        assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "invalid-key"

        assert (
            client.post(
                "/api/v1/submissions", params={"dataset": "nope"}, headers=bearer(key), json={"records": own}
            ).status_code
            == 404
        )
        broken = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers={**bearer(key), "content-type": "application/json"},
            content=b'{"records": [',
        )
        assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid-json"
        hostile = {
            **records[0],
            "decision_number": "'; DROP TABLE records; --",
            "remarks": "<script>alert(1)</script>",
        }
        stored = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": [hostile]},
        )
        assert stored.status_code == 201 and stored.json()["counts"]["accepted"] == 1
        page = client.get("/api/v1/records/penalty", params={"limit": 1000}, headers=bearer(key)).json()[
            "records"
        ]
        assert any(r["data"]["decision_number"] == "'; DROP TABLE records; --" for r in page)
        tricky = io.BytesIO((province / "penalty.csv").read_bytes())
        named = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            files={"file": ("../../etc/passwd.csv", tricky, "text/csv")},
        ).json()
        assert named["filename"] == "passwd.csv"
        assert not (hub.data_dir.parent / "etc").exists()


def test_entity_profile_and_audit_chain(hub: HubProcess, province: Path) -> None:
    key = admin_key(hub)
    records = first_rows(province / "penalty.csv", 50)
    person = next(r for r in records if r.get("id_number"))
    with hub.client() as client:
        client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": records},
        )
        profile = client.get(f"/api/v1/entities/{person['id_number']}", headers=bearer(key)).json()
        assert profile["by_dataset"].get("penalty", 0) >= 1
        metrics = client.get("/metrics").text
        assert "enforcehub_records" in metrics
        assert client.get("/openapi.json").json()["info"]["title"] == "enforcehub"
    env = (
        {"ENFORCEHUB_DATABASE_URL": hub.env["ENFORCEHUB_DATABASE_URL"]}
        if "ENFORCEHUB_DATABASE_URL" in hub.env
        else {}
    )
    verified = run_cli("audit", "verify", "--data", str(hub.data_dir), env=env)
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_submit_directory_from_the_terminal(hub_factory: Hub, tmp_path: Path) -> None:
    """`enforcehub submit DIR` sends every dataset file of a synth directory, reference data first."""
    from enforcehub.synth import generate

    generate(tmp_path / "province", seed=11, scale=200, error_rate=0.05)
    hub = hub_factory()
    key = admin_key(hub)
    sent = run_cli("submit", str(tmp_path / "province"), "--hub", hub.url, "--key", key)
    assert sent.returncode == 0, sent.stderr
    lines = [line for line in sent.stdout.splitlines() if "│" in line and "done" in line]
    order = [line.split("│")[1].strip() for line in lines]
    assert order[:5] == ["law", "matter", "agency", "officer", "counterparty"]
    assert {"penalty", "license", "inspection"} <= set(order)
    bad = run_cli(
        "submit",
        str(tmp_path / "province" / "penalty.csv"),
        "--hub",
        hub.url,
        "--key",
        "eh_nope_nope",
        "--dataset",
        "penalty",
    )
    assert bad.returncode == 2 and "[invalid-key]" in bad.stderr and "Traceback" not in bad.stderr


def test_city_hub_accepts_only_its_region(hub_factory: Hub, province: Path, tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('hub_id = "gz-city"\nlevel = "city"\nregion = "440100"\n', "utf-8")
    hub = hub_factory(env={"ENFORCEHUB_CONFIG": str(config)})
    key = admin_key(hub)
    rows = first_rows(province / "penalty.csv", 200)
    guangzhou = [r for r in rows if r.get("region_code", "").startswith("4401")][:3]
    elsewhere = next(r for r in rows if not r.get("region_code", "").startswith("4401"))
    with hub.client() as client:
        assert client.get("/readyz").json()["region"] == "440100"
        ok = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": guangzhou},
        )
        assert ok.status_code == 201, ok.text
        refused = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(key),
            json={"records": [*guangzhou, elsewhere]},
        )
        assert refused.status_code == 403 and refused.json()["error"]["detail"]["field"] == "region_code"
