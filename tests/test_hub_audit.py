"""The audit log's admin API over real HTTP, on SQLite and PostgreSQL: entries paged by keyset, the
chain verified, a tampered entry found; admin keys only."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.servers import HubProcess, run_cli
from tests.test_hub_api import Hub, admin_key, bearer, first_rows


@pytest.fixture
def hub(hub_factory: Hub, backend: dict[str, str]) -> HubProcess:
    return hub_factory(env=backend)


def database_url(hub: HubProcess) -> str:
    return (
        hub.env.get("ENFORCEHUB_DATABASE_URL") or f"sqlite+pysqlite:///{hub.data_dir / 'enforcehub.sqlite3'}"
    )


def tamper(hub: HubProcess, statement: str, **params: Any) -> None:
    """Change the audit log behind the hub's back, as someone with database access could."""
    engine = create_engine(database_url(hub))
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def entries(client: httpx.Client, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry (all pages), in chain order."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get("/api/v1/admin/audit", params={**params, "after": after}, headers=bearer(key))
        assert page.status_code == 200, page.text
        found += page.json()["entries"]
        if page.json()["next"] is None:
            return found
        after = page.json()["next"]


def test_admin_reads_and_verifies_the_audit_log_and_finds_a_tampered_entry(
    hub: HubProcess, province: Path
) -> None:
    key = admin_key(hub)
    records = first_rows(province / "penalty.csv", 30)
    people = [r["id_number"] for r in records if r.get("id_number")][:2]
    with hub.client() as client:
        agency = client.post(
            "/api/v1/admin/keys",
            headers=bearer(key),
            json={"role": "agency", "agency": records[0]["agency_uscc"], "name": "某局"},
        ).json()
        others = {
            role: client.post("/api/v1/admin/keys", headers=bearer(key), json={"role": role}).json()["key"]
            for role in ("supervisor", "platform", "consumer", "hub")
        }
        own = [r for r in records if r["agency_uscc"] == records[0]["agency_uscc"]]
        submitted = []
        for batch in (records[:10], records[10:20]):
            made = client.post(
                "/api/v1/submissions",
                params={"dataset": "penalty"},
                headers=bearer(key),
                json={"records": batch},
            )
            assert made.status_code == 201, made.text
            submitted.append(made.json()["id"])
        mine = client.post(
            "/api/v1/submissions",
            params={"dataset": "penalty"},
            headers=bearer(agency["key"]),
            json={"records": own},
        )
        assert mine.status_code == 201, mine.text
        submitted.append(mine.json()["id"])
        for code in people:
            assert client.get(f"/api/v1/entities/{code}", headers=bearer(key)).status_code == 200

        log = entries(client, key)
        assert len(log) == 3 + len(people)
        assert [e["id"] for e in log] == sorted(e["id"] for e in log)
        assert [e["action"] for e in log] == ["submit"] * 3 + ["read-entity"] * len(people)
        assert log[0]["prev_hash"] == "0" * 64
        assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(log))
        assert [e["target"] for e in log[:3]] == submitted
        assert log[0]["detail"]["dataset"] == "penalty" and log[0]["principal"] != "某局"
        assert {e["target"] for e in log if e["action"] == "read-entity"} == set(people)
        # keyset pages of one entry walk the same log
        assert entries(client, key, limit=1) == log
        first = client.get("/api/v1/admin/audit", params={"limit": 2}, headers=bearer(key)).json()
        assert first["next"] == log[1]["id"] and first["entries"] == log[:2]
        rest = client.get("/api/v1/admin/audit", params={"after": first["next"]}, headers=bearer(key)).json()
        assert rest["entries"] == log[2:] and rest["next"] is None
        # filters
        assert entries(client, key, action="read-entity") == log[3:]
        assert entries(client, key, principal="某局") == [log[2]]
        assert entries(client, key, action="submit", principal="某局") == [log[2]]
        assert entries(client, key, action="nothing") == []

        verified = client.get("/api/v1/admin/audit/verify", headers=bearer(key)).json()
        assert verified == {"ok": True, "checked": len(log), "first_broken": None}

        # only admin keys; no key at all is 401
        for path in ("/api/v1/admin/audit", "/api/v1/admin/audit/verify"):
            missing = client.get(path)
            assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing-key"
            for other in (agency["key"], *others.values()):
                refused = client.get(path, headers=bearer(other))
                assert refused.status_code == 403, refused.text
                assert refused.json()["error"]["code"] == "forbidden-role"
                assert refused.json()["error"]["detail"] == {"allowed": ["admin"]}
        for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}):
            invalid = client.get("/api/v1/admin/audit", params=bad, headers=bearer(key))
            assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid-request"

        # someone with database access rewrites whose profile was read: that entry breaks
        tamper(
            hub, "UPDATE audit_log SET target = :t WHERE id = :id", t="440000000000000000", id=log[3]["id"]
        )
        broken = client.get("/api/v1/admin/audit/verify", headers=bearer(key)).json()
        assert broken["ok"] is False and broken["checked"] == 3
        assert broken["first_broken"]["id"] == log[3]["id"] and broken["first_broken"]["reason"] == "hash"
        assert broken["first_broken"]["target"] == "440000000000000000"
        # … and the CLI over the same database agrees
        env = (
            {"ENFORCEHUB_DATABASE_URL": hub.env["ENFORCEHUB_DATABASE_URL"]}
            if "ENFORCEHUB_DATABASE_URL" in hub.env
            else {}
        )
        cli = run_cli("audit", "verify", "--data", str(hub.data_dir), env=env)
        assert cli.returncode == 1 and f"entry {log[3]['id']}" in cli.stderr
        listed = run_cli(
            "audit", "list", "--action", "submit", "--format", "json", "--data", str(hub.data_dir), env=env
        )
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == {"entries": log[:3], "next": None}
        table = run_cli("audit", "list", "--limit", "2", "--data", str(hub.data_dir), env=env)
        assert table.returncode == 0 and f"--after {log[1]['id']}" in table.stdout

        # an entry removed from the middle: the one after it no longer points at its predecessor
        tamper(hub, "DELETE FROM audit_log WHERE id = :id", id=log[1]["id"])
        gap = client.get("/api/v1/admin/audit/verify", headers=bearer(key)).json()
        assert gap["ok"] is False and gap["checked"] == 1
        assert gap["first_broken"]["id"] == log[2]["id"] and gap["first_broken"]["reason"] == "prev-hash"
