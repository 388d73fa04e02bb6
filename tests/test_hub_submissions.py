"""Issue 3 over real HTTP, on SQLite and PostgreSQL: findings paged in the receipt, the scoped listing
of submissions, who may read which receipt, and platform keys limited to the agency registry."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from enforcehub.pipeline.receipt import verify_receipt
from enforcehub.settings import DEV_SECRET
from tests.servers import HubProcess, run_cli
from tests.test_hub_api import Hub, admin_key, bearer, upload


@pytest.fixture
def hub(hub_factory: Hub, backend: dict[str, str]) -> HubProcess:
    return hub_factory(env=backend)


def rows_of(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def new_key(client: httpx.Client, admin: str, **fields: str) -> dict[str, Any]:
    made = client.post("/api/v1/admin/keys", headers=bearer(admin), json=fields)
    assert made.status_code == 201, made.text
    key: dict[str, Any] = made.json()
    return key


def send(client: httpx.Client, key: str, dataset: str, records: list[dict[str, Any]]) -> httpx.Response:
    return client.post(
        "/api/v1/submissions", params={"dataset": dataset}, headers=bearer(key), json={"records": records}
    )


def sent(client: httpx.Client, key: str, dataset: str, records: list[dict[str, Any]]) -> str:
    answer = send(client, key, dataset, records)
    assert answer.status_code == 201, answer.text
    submission_id: str = answer.json()["id"]
    return submission_id


def listed(client: httpx.Client, key: str, **params: Any) -> list[str]:
    """Every submission id the key sees (all pages), in listing order."""
    ids: list[str] = []
    after = None
    while True:
        query = {**params, **({"after": after} if after else {})}
        page = client.get("/api/v1/submissions", params=query, headers=bearer(key))
        assert page.status_code == 200, page.text
        ids += [r["id"] for r in page.json()["submissions"]]
        after = page.json()["next"]
        if after is None:
            return ids


def cli_env(hub: HubProcess) -> dict[str, str]:
    url = hub.env.get("ENFORCEHUB_DATABASE_URL")
    return {"ENFORCEHUB_DATABASE_URL": url} if url else {}


# --- 1. findings paged in the receipt ----------------------------------------------------------------


def test_receipt_pages_its_findings_and_the_signature_covers_the_receipt_not_the_page(
    hub: HubProcess, dirty_province: Path
) -> None:
    key = admin_key(hub)
    with hub.client() as client:
        made = upload(client, key, dirty_province / "penalty.csv", "penalty")
        assert made.status_code == 201, made.text
        posted = made.json()
        assert "errors" not in posted  # the POST answer is the receipt alone
        sid = posted["id"]
        url = f"/api/v1/submissions/{sid}"

        first = client.get(url, headers=bearer(key)).json()
        errors = first.pop("errors")
        assert first == posted  # the same signed receipt
        assert verify_receipt({**first, "errors": errors}, DEV_SECRET)
        everything = client.get(f"{url}/errors", params={"limit": 1000}, headers=bearer(key)).json()
        total = everything["total"]
        assert total == posted["counts"]["errors"] + posted["counts"]["warnings"] > 21
        assert errors["page"] == 1 and errors["page_size"] == 100 and errors["total"] == total
        assert errors["items"] == everything["errors"][:100]
        assert errors["next"] == (2 if total > 100 else None)
        assert set(errors["items"][0]) == {"row", "field", "code", "severity", "message", "value"}

        third = client.get(url, params={"errors_page": 3, "errors_page_size": 7}, headers=bearer(key))
        page = third.json()["errors"]
        assert page["items"] == everything["errors"][14:21] and page["next"] == 4
        last_page = -(-total // 7)
        last = client.get(url, params={"errors_page": last_page, "errors_page_size": 7}, headers=bearer(key))
        assert last.json()["errors"]["next"] is None
        assert last.json()["errors"]["items"] == everything["errors"][(last_page - 1) * 7 :]
        beyond = client.get(url, params={"errors_page": last_page + 1}, headers=bearer(key)).json()
        assert beyond["errors"]["items"] == [] and beyond["errors"]["next"] is None
        only_total = client.get(url, params={"errors_page_size": 0}, headers=bearer(key)).json()["errors"]
        assert only_total == {"items": [], "page": 1, "page_size": 0, "total": total, "next": None}

        # the signature is over the receipt, not the page: any page verifies, a changed count does not
        receipt = third.json()
        assert verify_receipt(receipt, DEV_SECRET)
        assert verify_receipt({**receipt, "errors": {**page, "items": []}}, DEV_SECRET)
        assert not verify_receipt({**receipt, "counts": {**receipt["counts"], "errors": 0}}, DEV_SECRET)

        for bad in ({"errors_page": 0}, {"errors_page_size": 1001}, {"errors_page_size": -1}):
            refused = client.get(url, params=bad, headers=bearer(key))
            assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid-request"

        # a duplicate shows the findings of the submission it repeats
        again = upload(client, key, dirty_province / "penalty.csv", "penalty").json()
        assert again["duplicate_of"] == sid
        duplicate = client.get(f"/api/v1/submissions/{again['id']}", headers=bearer(key)).json()
        assert duplicate["errors"]["total"] == total and duplicate["errors"]["items"] == errors["items"]
        assert (
            client.get(f"/api/v1/submissions/{again['id']}/errors", headers=bearer(key)).json()["total"]
            == total
        )

    shown = run_cli(
        "submissions", "show", sid, "--hub", hub.url, "--key", key,
        "--errors-page", "2", "--errors-page-size", "5", "--format", "json",
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["errors"]["items"] == everything["errors"][5:10]
    table = run_cli("submissions", "show", sid, "--hub", hub.url, "--key", key, "--errors-page-size", "20")
    assert table.returncode == 0 and sid in table.stdout and "--errors-page 2" in table.stdout


# --- 2. the listing, and who sees which submission -------------------------------------------------


def test_each_key_lists_and_reads_only_the_submissions_of_its_scope(hub: HubProcess, province: Path) -> None:
    admin = admin_key(hub)
    agencies = {a["agency_uscc"]: a for a in rows_of(province / "agency.csv")}
    penalties = rows_of(province / "penalty.csv")

    def of_agency(uscc: str) -> list[dict[str, Any]]:
        return [r for r in penalties if r["agency_uscc"] == uscc]

    def busiest(prefix: str) -> str:
        counts: dict[str, int] = {}
        for r in penalties:
            if agencies.get(r["agency_uscc"], {}).get("region_code", "").startswith(prefix):
                counts[r["agency_uscc"]] = counts.get(r["agency_uscc"], 0) + 1
        return max(counts, key=lambda k: counts[k])

    agency_a, agency_b = busiest("4401"), busiest("4403")  # Guangzhou, Shenzhen
    guangzhou = [
        r for r in penalties if agencies.get(r["agency_uscc"], {}).get("region_code", "")[:4] == "4401"
    ]
    shenzhen = [
        r for r in penalties if agencies.get(r["agency_uscc"], {}).get("region_code", "")[:4] == "4403"
    ]
    with hub.client() as client:
        loaded = upload(client, admin, province / "agency.csv", "agency")
        assert loaded.status_code == 201, loaded.text
        registry = loaded.json()["id"]
        a1 = new_key(client, admin, role="agency", agency=agency_a, name="区市场监管局")["key"]
        a2 = new_key(client, admin, role="agency", agency=agency_a, name="A-second")["key"]
        # the same name as a1, another agency: names are not identities
        b1 = new_key(client, admin, role="agency", agency=agency_b, name="区市场监管局")["key"]
        p1 = new_key(client, admin, role="platform", region="440100", name="穗-平台")["key"]
        p2 = new_key(client, admin, role="platform", region="440100", name="穗-平台-新密钥")["key"]
        p3 = new_key(client, admin, role="platform", region="440300", name="深-平台")["key"]
        sup = new_key(client, admin, role="supervisor", region="440100")["key"]
        sup_all = new_key(client, admin, role="supervisor")["key"]
        consumer = new_key(client, admin, role="consumer", consumer="credit")["key"]

        sa1 = sent(client, a1, "penalty", of_agency(agency_a)[:2])
        sa2 = sent(client, a2, "penalty", of_agency(agency_a)[2:3])
        sb1 = sent(client, b1, "penalty", of_agency(agency_b)[:2])
        sp1 = sent(client, p1, "penalty", guangzhou[10:13])
        sp2 = sent(client, p2, "penalty", guangzhou[13:15])
        sp3 = sent(client, p3, "penalty", shenzhen[10:13])
        everything = {registry, sa1, sa2, sb1, sp1, sp2, sp3}

        assert set(listed(client, a1)) == set(listed(client, a2)) == {sa1, sa2}
        assert listed(client, b1) == [sb1]
        assert set(listed(client, p1)) == set(listed(client, p2)) == {sp1, sp2}
        assert listed(client, p3) == [sp3]
        # a region's supervisor: keys of the region, and agency keys whose agency is registered there
        assert set(listed(client, sup)) == {sa1, sa2, sp1, sp2}
        assert set(listed(client, sup_all)) == set(listed(client, admin)) == everything

        # by id: 404 outside the scope, for the receipt, its findings and its rows
        for key, hidden in ((a1, sb1), (b1, sa1), (b1, sa2), (p1, sp3), (p3, sp1), (a1, sp1), (sup, sb1)):
            for suffix in ("", "/errors", "/errors.csv"):
                answer = client.get(f"/api/v1/submissions/{hidden}{suffix}", headers=bearer(key))
                assert answer.status_code == 404, (suffix, answer.text)
                assert answer.json()["error"]["code"] == "unknown-submission"
        assert client.get(f"/api/v1/submissions/{sa1}", headers=bearer(a2)).status_code == 200
        assert client.get(f"/api/v1/submissions/{sp2}", headers=bearer(p1)).status_code == 200
        assert client.get(f"/api/v1/submissions/{sb1}", headers=bearer(sup_all)).status_code == 200
        for path in ("/api/v1/submissions", f"/api/v1/submissions/{sa1}"):
            forbidden = client.get(path, headers=bearer(consumer))
            assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden-role"
            assert client.get(path).status_code == 401

        # newest first, keyset pages of any size give the same sequence, each receipt signed
        whole = client.get("/api/v1/submissions", headers=bearer(admin)).json()
        assert whole["next"] is None and [r["id"] for r in whole["submissions"]] == listed(
            client, admin, limit=2
        )
        stamps = [r["received_at"] for r in whole["submissions"]]
        assert stamps == sorted(stamps, reverse=True) and whole["submissions"][-1]["id"] == registry
        for receipt in whole["submissions"]:
            assert verify_receipt(receipt, DEV_SECRET) and "errors" not in receipt
        one = client.get(f"/api/v1/submissions/{sa1}", headers=bearer(a1)).json()
        one.pop("errors")
        assert one in whole["submissions"]

        # filters
        assert listed(client, admin, dataset="agency") == [registry]
        assert set(listed(client, admin, status="done")) == everything
        assert listed(client, admin, status="failed") == []
        newest = next(r for r in whole["submissions"] if r["id"] == sp1)["received_at"]
        assert set(listed(client, admin, since=newest)) == {sp1, sp2, sp3}
        assert set(listed(client, admin, until=newest)) == everything - {sp1, sp2, sp3}
        later = (dt.datetime.fromisoformat(newest) + dt.timedelta(hours=8)).replace(tzinfo=None)
        in_beijing = later.isoformat() + "+08:00"  # the same instant with an offset
        assert set(listed(client, admin, since=in_beijing)) == {sp1, sp2, sp3}

        for params, status, code in (
            ({"after": "not-a-cursor"}, 422, "invalid-cursor"),
            ({"dataset": "nope"}, 404, "unknown-dataset"),
            ({"status": "lost"}, 422, "invalid-request"),
            ({"limit": 0}, 422, "invalid-request"),
            ({"since": "yesterday"}, 422, "invalid-request"),
        ):
            bad = client.get("/api/v1/submissions", params=params, headers=bearer(admin))
            assert bad.status_code == status and bad.json()["error"]["code"] == code, bad.text
            assert bad.json()["error"]["message"] and bad.json()["error"]["message_en"]

    terminal = run_cli("submissions", "list", "--hub", hub.url, "--key", a1, "--format", "json")
    assert terminal.returncode == 0, terminal.stderr
    assert {r["id"] for r in json.loads(terminal.stdout)["submissions"]} == {sa1, sa2}
    paged = run_cli("submissions", "list", "--hub", hub.url, "--key", admin, "--limit", "3")
    assert paged.returncode == 0 and "next page: --after" in paged.stdout
    refused = run_cli("submissions", "list", "--hub", hub.url, "--key", consumer)
    assert refused.returncode == 2 and "[forbidden-role]" in refused.stderr


# --- 4. platform keys and the agency registry ------------------------------------------------------


def test_platform_keys_submit_only_for_agencies_registered_in_their_region(
    hub: HubProcess, province: Path
) -> None:
    admin = admin_key(hub)
    agencies = rows_of(province / "agency.csv")
    region_of = {a["agency_uscc"]: a["region_code"] for a in agencies}
    penalties = rows_of(province / "penalty.csv")
    guangzhou = [r for r in penalties if region_of.get(r["agency_uscc"], "")[:4] == "4401"][:4]
    shenzhen = next(r for r in penalties if region_of.get(r["agency_uscc"], "")[:4] == "4403")
    # a Shenzhen agency's record claiming a Guangzhou division: only the registry can tell
    disguised = {**shenzhen, "region_code": "440103", "decision_number": shenzhen["decision_number"] + "X"}
    stranger = {**guangzhou[0], "agency_uscc": "11440100MA5XXXXXX1", "decision_number": "穗-未登记-1"}

    def stored(client: httpx.Client) -> int:
        page = client.get("/api/v1/records/penalty", params={"limit": 1000}, headers=bearer(admin))
        return len(page.json()["records"])

    with hub.client() as client:
        city = new_key(client, admin, role="platform", region="440100", name="穗-平台")["key"]
        province_wide = new_key(client, admin, role="platform", region="440000", name="省平台")["key"]

        # no registry yet: a platform key reports no actions at all
        empty = send(client, city, "penalty", guangzhou)
        assert empty.status_code == 403
        assert empty.json()["error"]["detail"]["reason"] == "agency-not-registered"
        # reference data is not limited by the registry: the platform registers its own agencies
        own = [a for a in agencies if a["region_code"].startswith("4401")]
        assert send(client, city, "agency", own).status_code == 201
        assert upload(client, admin, province / "agency.csv", "agency").status_code == 201

        ok = send(client, city, "penalty", guangzhou)
        assert ok.status_code == 201 and ok.json()["counts"]["accepted"] == len(guangzhou), ok.text
        before = stored(client)

        outside = send(client, city, "penalty", [*guangzhou, disguised])
        assert outside.status_code == 403, outside.text
        error = outside.json()["error"]
        assert error["code"] == "out-of-scope"
        assert {k: v for k, v in error["detail"].items() if k != "submission"} == {
            "row": len(guangzhou) + 1,
            "field": "agency_uscc",
            "value": shenzhen["agency_uscc"],
            "scope": "440100",
            "reason": "agency-outside-region",
            "registered_region": region_of[shenzhen["agency_uscc"]],
        }
        assert error["message"].startswith(f"第 {len(guangzhou) + 1} 行")
        assert shenzhen["agency_uscc"] in error["message"] and "440100" in error["message_en"]

        unknown = send(client, city, "penalty", [stranger, *guangzhou])
        assert unknown.status_code == 403
        detail = unknown.json()["error"]["detail"]
        submission = detail.pop("submission")
        assert detail == {
            "row": 1,
            "field": "agency_uscc",
            "value": "11440100MA5XXXXXX1",
            "scope": "440100",
            "reason": "agency-not-registered",
        }
        assert "名录" in unknown.json()["error"]["message"]
        failed = client.get(f"/api/v1/submissions/{submission}", headers=bearer(city)).json()
        assert failed["status"] == "failed" and failed["failure"].startswith("out-of-scope")
        assert failed["counts"]["accepted"] == 0 and stored(client) == before  # nothing stored

        # the province's platform: every registered agency of 44xxxx, still none unregistered
        wide = send(client, province_wide, "penalty", [shenzhen])
        assert wide.status_code == 201, wide.text
        refused = send(client, province_wide, "penalty", [shenzhen, stranger])
        assert refused.status_code == 403
        assert refused.json()["error"]["detail"]["reason"] == "agency-not-registered"

        # agency keys keep their own rule: their agency, registered or not (the registry check
        # then rejects the rows as findings; nothing is refused)
        unregistered = new_key(client, admin, role="agency", agency="11440100MA5XXXXXX1")["key"]
        answer = send(client, unregistered, "penalty", [stranger])
        assert answer.status_code == 201, answer.text
        assert answer.json()["counts"]["rejected"] == 1
